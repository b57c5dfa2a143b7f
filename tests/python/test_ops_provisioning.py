"""What `billing-admin doctor` checks exists locally as the template deploys
it: CloudWatch alarms with their topic actions, the schedules of the SAM
`ScheduleV2` events, the statements bucket's notification, and the list of
stack resources the CLI reads in place of CloudFormation.

The alarms are tested with template variants (the provisioner works by
resource type, whichever alarms the template defines).
"""

import copy

import local_aws


def _with_alarms(template, alarm_email=""):
    """The template plus an alarm topic, an optional e-mail subscription
    (condition HasAlarmEmail) and two alarms, as the operations template
    defines them."""
    variant = copy.deepcopy(template)
    variant.setdefault("Parameters", {})["AlarmEmail"] = {"Type": "String", "Default": alarm_email}
    variant.setdefault("Conditions", {})["HasAlarmEmail"] = {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    resources = variant["Resources"]
    resources["AlarmTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {}}
    resources["AlarmEmailSubscription"] = {
        "Type": "AWS::SNS::Subscription",
        "Condition": "HasAlarmEmail",
        "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
    }
    resources["DocumentsDeadLetterAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": "A documents message failed five times. Runbook: docs/operations.md",
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DocumentsDeadLetterQueue", "QueueName"]}}],
            "Statistic": "Maximum",
            "Period": "60",
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
        },
    }
    resources["InvoicePdfErrorsAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": "${AWS::StackName}-invoice-pdf-errors"},
            "Metrics": [
                {
                    "Id": "errors",
                    "ReturnData": "true",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/Lambda",
                            "MetricName": "Errors",
                            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "InvoicePdfFunction"}}],
                        },
                        "Period": 300,
                        "Stat": "Sum",
                    },
                }
            ],
            "EvaluationPeriods": "1",
            "Threshold": "1",
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]},
        },
    }
    resources["WebhookServerErrorsAlarm"] = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "Namespace": "AWS/ApiGateway",
            "MetricName": "5xx",
            # An attribute the emulator does not provision (no HTTP API).
            "Dimensions": [{"Name": "ApiId", "Value": {"Fn::Sub": "${BillingHttpApi.ApiId}"}}],
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
        },
    }
    return variant


def test_alarms_are_provisioned_with_resolved_dimensions_and_topic_actions(template, tmp_path_factory):
    # GIVEN a template with an alarm topic, two alarms and no alarm e-mail
    variant = _with_alarms(template)
    with local_aws.emulator(tmp_path_factory.mktemp("moto") / "moto.log") as endpoint:
        # WHEN it is provisioned
        stack = local_aws.provision(endpoint, variant)
        cloudwatch = local_aws._client("cloudwatch", endpoint)
        sns = local_aws._client("sns", endpoint)
        alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
        topic = stack.refs["AlarmTopic"]
        # THEN each alarm exists under its (generated or given) name ...
        dead_letter = alarms[stack.names["DocumentsDeadLetterAlarm"]]
        errors = alarms["billing-local-invoice-pdf-errors"]
        # ... with the topic as its action and the resources' names resolved
        assert dead_letter["AlarmActions"] == [topic]
        assert dead_letter["Dimensions"] == [
            {"Name": "QueueName", "Value": stack.names["DocumentsDeadLetterQueue"]}
        ]
        assert dead_letter["Period"] == 60 and dead_letter["Threshold"] == 0.0
        assert errors["AlarmActions"] == [topic]
        assert errors["OKActions"] == []
        # ... an alarm on a resource the emulator lacks gets a stand-in dimension
        webhook = alarms[stack.names["WebhookServerErrorsAlarm"]]
        assert webhook["Dimensions"] == [{"Name": "ApiId", "Value": "billing-local-BillingHttpApi-ApiId"}]
        assert webhook["AlarmActions"] == [topic]
        metric = errors["Metrics"][0]["MetricStat"]["Metric"]
        assert metric["Dimensions"] == [{"Name": "FunctionName", "Value": "billing-local-InvoicePdfFunction"}]
        # ... the e-mail subscription's condition is false: no subscriber
        assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
        # ... and the stack's resource list names them as CloudFormation would
        listed = {(r["logical_id"], r["type"]): r["physical_id"] for r in stack.resources}
        assert listed[("InvoicePdfErrorsAlarm", "AWS::CloudWatch::Alarm")] == "billing-local-invoice-pdf-errors"
        assert listed[("AlarmTopic", "AWS::SNS::Topic")] == topic
        assert ("AlarmEmailSubscription", "AWS::SNS::Subscription") not in listed


def test_an_alarm_email_creates_the_subscription(template, tmp_path_factory):
    # GIVEN the alarm e-mail parameter set
    variant = _with_alarms(template, alarm_email="ops@example.com")
    with local_aws.emulator(tmp_path_factory.mktemp("moto") / "moto.log") as endpoint:
        stack = local_aws.provision(endpoint, variant)
        sns = local_aws._client("sns", endpoint)
        cloudwatch = local_aws._client("cloudwatch", endpoint)
        # THEN the topic has the e-mail subscriber and Fn::If took its branch
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=stack.refs["AlarmTopic"])["Subscriptions"]
        assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]
        errors = cloudwatch.describe_alarms(AlarmNames=["billing-local-invoice-pdf-errors"])["MetricAlarms"][0]
        assert errors["OKActions"] == [stack.refs["AlarmTopic"]]


def test_every_schedule_event_is_an_enabled_schedule_on_its_function(template, provisioned_stack, client):
    scheduler = client("scheduler")
    events = [
        (logical_id, name, event["Properties"])
        for logical_id, res in local_aws.resources_of_type(template, "AWS::Serverless::Function").items()
        for name, event in res["Properties"].get("Events", {}).items()
        if event["Type"] == "ScheduleV2"
    ]
    assert events, "the template defines no schedule"
    for logical_id, event_name, props in events:
        schedule = scheduler.get_schedule(Name=f"{logical_id}{event_name}")
        assert schedule["State"] == "ENABLED"
        assert schedule["ScheduleExpression"] == props["ScheduleExpression"]
        assert schedule["Target"]["Arn"] == provisioned_stack.attributes[logical_id]["Arn"]
        assert schedule["Target"]["Input"] == props["Input"]


def test_s3_events_are_the_buckets_notifications_to_their_function(template, provisioned_stack, client):
    s3 = client("s3")
    events = [
        (logical_id, event["Properties"])
        for logical_id, res in local_aws.resources_of_type(template, "AWS::Serverless::Function").items()
        for event in res["Properties"].get("Events", {}).values()
        if event["Type"] == "S3"
    ]
    assert events, "the template defines no S3 event"
    for logical_id, props in events:
        bucket = provisioned_stack.names[props["Bucket"]["Ref"]]
        configurations = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
        (configuration,) = [
            c for c in configurations if c["LambdaFunctionArn"] == provisioned_stack.attributes[logical_id]["Arn"]
        ]
        assert configuration["Events"] == [props["Events"]]
        assert configuration["Filter"]["Key"]["FilterRules"] == props["Filter"]["S3Key"]["Rules"]


def test_the_resource_list_holds_every_provisioned_resource_once(provisioned_stack):
    ids = [r["logical_id"] for r in provisioned_stack.resources]
    assert len(ids) == len(set(ids))
    for logical_id in provisioned_stack.names:
        assert logical_id in ids, logical_id

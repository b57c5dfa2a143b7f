"""Issue 26: the stack's security posture. The IaC scanner gate holds (and
fails when it should), the access logs say who did what without personal
data, every store can take the customer's key, and nothing asynchronous
fails silently."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import local_aws

ROOT = Path(__file__).resolve().parents[2]
SCAN = ROOT / "tools" / "iac_scan.py"
SECURITY_DOC = ROOT / "docs" / "security.md"


def scan(tmp_path: Path, template_text: str) -> subprocess.CompletedProcess:
    variant = tmp_path / "template.yaml"
    variant.write_text(template_text)
    return subprocess.run([sys.executable, str(SCAN), str(variant)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def template_text():
    return local_aws.TEMPLATE.read_text()


# ------------------------------------------------------------- the gate


def test_the_template_passes_the_scanner_with_every_skip_explained(tmp_path, template_text):
    done = scan(tmp_path, template_text)
    assert done.returncode == 0, done.stderr
    assert "0 failed" in done.stdout


def test_the_gate_fails_an_api_without_access_logs(tmp_path, template_text):
    """GIVEN the template with the HTTP API's access log settings removed
    WHEN the gate runs THEN it fails and names the check and the API."""
    start = template_text.index("      AccessLogSettings:\n")
    end = template_text.index("      DefaultRouteSettings:\n", start)
    done = scan(tmp_path, template_text[:start] + template_text[end:])
    assert done.returncode == 1
    assert "FAILED CKV_AWS_95 AWS::Serverless::HttpApi.BillingHttpApi" in done.stderr


def test_the_gate_fails_a_skip_without_a_reason(tmp_path, template_text):
    """A skip cannot be added silently: one without a comment fails the gate."""
    reason = "            comment: This bucket is the access-log target"
    start = template_text.index(reason)
    end = template_text.index("\n", start) + 1
    done = scan(tmp_path, template_text[:start] + template_text[end:])
    assert done.returncode == 1
    assert "SKIPPED WITHOUT REASON CKV_AWS_18 AWS::S3::Bucket.AccessLogsBucket" in done.stderr


def test_the_gate_fails_a_webhook_without_its_concurrency_limit(tmp_path, template_text):
    line = "      ReservedConcurrentExecutions: !Ref WebhookConcurrency\n"
    assert line in template_text
    done = scan(tmp_path, template_text.replace(line, ""))
    assert done.returncode == 1
    assert "FAILED CKV_AWS_115 AWS::Serverless::Function.OpportunityWebhookFunction" in done.stderr


def test_the_gate_says_when_the_scanner_cannot_run(tmp_path, template_text):
    variant = tmp_path / "template.yaml"
    variant.write_text(template_text)
    done = subprocess.run(
        [sys.executable, str(SCAN), str(variant), "--checkov", str(tmp_path / "no-checkov")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "not found" in done.stderr


# ---------------------------------------------------------- access logs

# What an access log line may carry: who (role), what (route, a path of
# ids), the answer and how long it took. Everything else (source IP, user
# agent, the caller's id or e-mail, headers, bodies, query strings) is out.
ALLOWED_CONTEXT = {
    "$context.requestId",
    "$context.requestTime",
    "$context.httpMethod",
    "$context.routeKey",
    "$context.path",
    "$context.status",
    "$context.protocol",
    "$context.responseLength",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.integrationStatus",
    "$context.integrationErrorMessage",
    "$context.authorizer.error",
    "$context.authorizer.claims.cognito:groups",
}


def access_log_format(template: dict) -> dict:
    settings = template["Resources"]["BillingHttpApi"]["Properties"]["AccessLogSettings"]
    return json.loads(settings["Format"])


def test_the_access_log_is_one_json_object_of_allowed_context_variables(template):
    fields = access_log_format(template)
    for key in ("requestId", "routeKey", "status", "responseLatency", "role"):
        assert key in fields, key
    for key, value in fields.items():
        assert value in ALLOWED_CONTEXT, f"{key}: {value} is not an allowed access-log variable"


def test_the_access_log_format_is_the_documented_one(template):
    """docs/security.md lists each field of the access log line; the
    template logs exactly those."""
    documented = dict(re.findall(r"^\| `(\w+)` \| `(\$context\.[^`]+)` \|", SECURITY_DOC.read_text(), re.MULTILINE))
    assert documented == access_log_format(template)


def test_logged_paths_carry_only_ids():
    """The access log keeps the path: every path parameter of the staff API
    is an id or a fixed kind, never a name, an address or a number a
    person would be found by. A booking period (`month`, YYYY-MM), an
    export's file name (`file`: kind, seller id and period) and a mandate
    reference (`reference`: the creditor's id for a mandate, never the
    debtor's IBAN or name) and a collection file's batch (`batch_id`,
    derived from seller, scheme and date) are such ids."""
    spec = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    parameters = {name for path in spec["paths"] for name in re.findall(r"\{(\w+)\}", path)}
    allowed = {"account_id", "invoice_id", "run_id", "source", "org", "crm_id", "kind", "subject"}
    allowed |= {"month", "file", "reference", "batch_id"}
    assert parameters <= allowed, parameters


def test_the_api_and_every_function_log_to_a_group_with_the_stacks_retention(template, provisioned_stack, client):
    logs = client("logs")
    retention = int(template["Parameters"]["LogRetentionDays"]["Default"])
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    api_group = template["Resources"]["BillingHttpApi"]["Properties"]["AccessLogSettings"]["DestinationArn"]
    assert api_group == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert groups[provisioned_stack.names["ApiAccessLogGroup"]]["retentionInDays"] == retention
    for logical_id, function in local_aws.resources_of_type(template, "AWS::Serverless::Function").items():
        ref = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert template["Resources"][ref]["Type"] == "AWS::Logs::LogGroup", logical_id
        assert groups[provisioned_stack.names[ref]]["retentionInDays"] == retention, logical_id


def test_the_archive_and_statements_log_every_access_to_the_log_bucket(template, provisioned_stack, client):
    s3 = client("s3")
    target = provisioned_stack.names["AccessLogsBucket"]
    for logical_id, prefix in (("DocumentsBucket", "documents/"), ("StatementsBucket", "statements/")):
        enabled = s3.get_bucket_logging(Bucket=provisioned_stack.names[logical_id])["LoggingEnabled"]
        assert (enabled["TargetBucket"], enabled["TargetPrefix"]) == (target, prefix), logical_id
    rules = s3.get_bucket_lifecycle_configuration(Bucket=target)["Rules"]
    days = int(template["Parameters"]["ArchiveAccessLogRetentionDays"]["Default"])
    assert [r["Expiration"]["Days"] for r in rules] == [days]
    assert days >= 3650, "access to the books is kept as long as the books (ten years)"


def test_s3_refuses_access_logging_until_the_log_bucket_lets_it(tmp_path):
    """Why the buckets depend on the log bucket's policy: without it S3
    refuses to log into the bucket (the emulator checks as S3 does)."""
    template = local_aws.load_template()
    del template["Resources"]["AccessLogsBucketPolicy"]
    with local_aws.emulator(tmp_path / "moto.log") as endpoint:
        with pytest.raises(Exception, match="InvalidTargetBucketForLogging"):
            local_aws.provision(endpoint, template)


# --------------------------------------------------------- customer key


def test_without_a_customer_key_every_store_uses_aws_managed_encryption(template, provisioned_stack, client):
    sqs = client("sqs")
    for logical_id in local_aws.resources_of_type(template, "AWS::SQS::Queue"):
        url = sqs.get_queue_url(QueueName=provisioned_stack.names[logical_id])["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attrs["SqsManagedSseEnabled"] == "true", logical_id
        assert "KmsMasterKeyId" not in attrs, logical_id
    ddb, kms = client("dynamodb"), client("kms")
    for logical_id in local_aws.resources_of_type(template, "AWS::DynamoDB::Table"):
        sse = ddb.describe_table(TableName=provisioned_stack.names[logical_id])["Table"]["SSEDescription"]
        key_id = sse["KMSMasterKeyArn"].rsplit("/", 1)[1]
        aliases = {a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]}
        # The AWS-managed key (aws/dynamodb): encrypted, no key policy to keep.
        assert (sse["Status"], aliases) == ("ENABLED", {"alias/aws/dynamodb"}), logical_id
    assert "CustomerKeyUsePolicy" not in provisioned_stack.active("AWS::IAM::ManagedPolicy")


def test_a_customer_key_encrypts_the_table_archive_queues_secret_topic_and_logs(tmp_path):
    """GIVEN a customer-managed key WHEN the stack is provisioned with
    CustomerKmsKeyArn THEN every store names that key."""
    with local_aws.emulator(tmp_path / "moto.log") as endpoint:
        kms = local_aws._client("kms", endpoint)
        key = kms.create_key(Description="billing")["KeyMetadata"]["Arn"]
        stack = local_aws.provision(endpoint, parameters={"CustomerKmsKeyArn": key})
        ddb = local_aws._client("dynamodb", endpoint)
        for logical_id in stack.active("AWS::DynamoDB::Table"):
            sse = ddb.describe_table(TableName=stack.names[logical_id])["Table"]["SSEDescription"]
            assert (sse["SSEType"], sse["KMSMasterKeyArn"]) == ("KMS", key), logical_id
        s3 = local_aws._client("s3", endpoint)
        for logical_id in ("DocumentsBucket", "StatementsBucket"):
            rule = s3.get_bucket_encryption(Bucket=stack.names[logical_id])["ServerSideEncryptionConfiguration"]["Rules"][0]
            assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
        # S3 delivers access logs only into SSE-S3 buckets: that one stays.
        rule = s3.get_bucket_encryption(Bucket=stack.names["AccessLogsBucket"])["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        sqs = local_aws._client("sqs", endpoint)
        for logical_id in stack.active("AWS::SQS::Queue"):
            url = sqs.get_queue_url(QueueName=stack.names[logical_id])["QueueUrl"]
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            assert attrs["KmsMasterKeyId"] == key, logical_id
        secrets = local_aws._client("secretsmanager", endpoint)
        for logical_id in stack.active("AWS::SecretsManager::Secret"):
            assert secrets.describe_secret(SecretId=stack.refs[logical_id])["KmsKeyId"] == key, logical_id
        sns = local_aws._client("sns", endpoint)
        for logical_id in stack.active("AWS::SNS::Topic"):
            attrs = sns.get_topic_attributes(TopicArn=stack.refs[logical_id])["Attributes"]
            assert attrs["KmsMasterKeyId"] == key, logical_id
        logs = local_aws._client("logs", endpoint)
        keys = {g["logGroupName"]: g.get("kmsKeyId") for g in logs.describe_log_groups()["logGroups"]}
        for logical_id in stack.active("AWS::Logs::LogGroup"):
            assert keys[stack.names[logical_id]] == key, logical_id
        assert "CustomerKeyUsePolicy" in stack.active("AWS::IAM::ManagedPolicy")


def test_every_function_and_the_pipes_may_use_the_customer_key(template):
    use_key = {"Fn::If": ["UseCustomerKey", {"Ref": "CustomerKeyUsePolicy"}, {"Ref": "AWS::NoValue"}]}
    for logical_id, function in local_aws.resources_of_type(template, "AWS::Serverless::Function").items():
        assert use_key in function["Properties"]["Policies"], logical_id
    for logical_id, role in local_aws.resources_of_type(template, "AWS::IAM::Role").items():
        assert use_key in role["Properties"]["ManagedPolicyArns"], logical_id
    statement = template["Resources"]["CustomerKeyUsePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement == [
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": {"Ref": "CustomerKmsKeyArn"},
        }
    ]


def test_the_customer_key_parameter_takes_only_a_key_arn(template):
    pattern = re.compile(template["Parameters"]["CustomerKmsKeyArn"]["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch("arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    assert not pattern.fullmatch("alias/billing")
    assert not pattern.fullmatch("arn:aws:kms:eu-central-1:123456789012:alias/billing")


# ------------------------------------------ concurrency and async failures


def test_the_webhook_the_staff_api_and_the_run_worker_reserve_their_concurrency(template):
    functions = template["Resources"]
    assert functions["OpportunityWebhookFunction"]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": "WebhookConcurrency"}
    assert functions["BillingApiFunction"]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": "StaffApiConcurrency"}
    worker = functions["InvoiceRunWorkerFunction"]["Properties"]
    (source,) = [e for e in worker["Events"].values() if e["Type"] == "SQS"]
    # Equal, so the queue never hands a batch to a throttled worker.
    assert worker["ReservedConcurrentExecutions"] == source["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    defaults = [int(template["Parameters"][p]["Default"]) for p in ("WebhookConcurrency", "StaffApiConcurrency", "RunWorkerConcurrency")]
    # AWS keeps 100 of an account's concurrency unreserved; 1,000 is the default quota.
    assert sum(defaults) <= 1000 - 100


def test_every_queue_consumer_is_bounded(template):
    for logical_id, function in local_aws.resources_of_type(template, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                assert "MaximumConcurrency" in event["Properties"].get("ScalingConfig", {}), logical_id


def test_every_asynchronously_invoked_function_has_an_on_failure_destination(template):
    """Schedules and S3 events invoke asynchronously: what fails after
    Lambda's retries lands in FailedInvocationsQueue, and a schedule that
    cannot invoke at all dead-letters there too."""
    failed = {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}
    asynchronous = {"ScheduleV2", "S3", "Schedule", "EventBridgeRule", "SNS"}
    found = 0
    for logical_id, function in local_aws.resources_of_type(template, "AWS::Serverless::Function").items():
        events = function["Properties"].get("Events", {}).values()
        if not any(e["Type"] in asynchronous for e in events):
            continue
        found += 1
        on_failure = function["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert (on_failure["Type"], on_failure["Destination"]) == ("SQS", failed), logical_id
        for event in events:
            if event["Type"] == "ScheduleV2":
                assert event["Properties"]["DeadLetterConfig"]["Arn"] == failed, logical_id
    assert found == 4, "the planner, the dunning sweep, the payment import and the collection step"


def test_the_security_document_names_every_store_of_the_template(template):
    """docs/security.md is the data inventory: each table, bucket, queue,
    secret and log group of the template appears in it by logical id."""
    text = SECURITY_DOC.read_text()
    for type_name in (
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::SecretsManager::Secret",
        "AWS::SNS::Topic",
    ):
        for logical_id in local_aws.resources_of_type(template, type_name):
            assert f"`{logical_id}`" in text, f"{logical_id} ({type_name}) is missing from docs/security.md"
    assert "`ApiAccessLogGroup`" in text



def test_every_bucket_refuses_requests_without_tls(template):
    """Each bucket has a policy that refuses plain HTTP
    (left out locally only: the emulator speaks plain HTTP on loopback)."""
    policies = {
        policy["Properties"]["Bucket"]["Ref"]: policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in local_aws.resources_of_type(template, "AWS::S3::BucketPolicy").values()
    }
    for logical_id in local_aws.resources_of_type(template, "AWS::S3::Bucket"):
        assert any(local_aws._requires_tls(s) for s in policies.get(logical_id, [])), logical_id


def test_ses_and_alarms_can_publish_to_their_encrypted_topics(template):
    """SES and CloudWatch alarms cannot use the AWS-managed SNS key: without
    a customer key both topics use the stack's own key, whose policy lets
    exactly those two services publish."""
    for topic in ("SesEventsTopic", "AlarmTopic"):
        key = template["Resources"][topic]["Properties"]["KmsMasterKeyId"]
        assert key == {"Fn::If": ["UseCustomerKey", {"Ref": "CustomerKmsKeyArn"}, {"Ref": "TopicKey"}]}, topic
    services = {
        s["Principal"]["Service"]
        for s in template["Resources"]["TopicKey"]["Properties"]["KeyPolicy"]["Statement"]
        if "Service" in s["Principal"]
    }
    assert services == {"ses.amazonaws.com", "cloudwatch.amazonaws.com"}

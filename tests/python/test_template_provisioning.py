"""The local endpoint holds exactly what infra/template.yaml defines.

These tests read the template independently of the provisioner's output and
compare it with what the emulator reports through the AWS APIs, so a template
change that the provisioner ignores (or mangles) fails here.
"""

import json

import pytest

import local_aws


def _key_schema(schema):
    return sorted((k["AttributeName"], k["KeyType"]) for k in schema)


def test_every_table_matches_the_template(template, provisioned_stack, client):
    ddb = client("dynamodb")
    tables = local_aws.resources_of_type(template, "AWS::DynamoDB::Table")
    assert tables, "the template defines no table"
    for logical_id, resource in tables.items():
        props = resource["Properties"]
        name = provisioned_stack.names[logical_id]
        described = ddb.describe_table(TableName=name)["Table"]

        assert _key_schema(described["KeySchema"]) == _key_schema(props["KeySchema"]), logical_id
        assert sorted(
            (a["AttributeName"], a["AttributeType"]) for a in described["AttributeDefinitions"]
        ) == sorted((a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]), logical_id
        assert described["BillingModeSummary"]["BillingMode"] == props["BillingMode"]

        expected_indexes = {
            gsi["IndexName"]: gsi for gsi in props.get("GlobalSecondaryIndexes", [])
        }
        actual_indexes = {gsi["IndexName"]: gsi for gsi in described.get("GlobalSecondaryIndexes", [])}
        assert set(actual_indexes) == set(expected_indexes), logical_id
        for index_name, expected in expected_indexes.items():
            actual = actual_indexes[index_name]
            assert _key_schema(actual["KeySchema"]) == _key_schema(expected["KeySchema"]), index_name
            assert actual["Projection"]["ProjectionType"] == expected["Projection"]["ProjectionType"], index_name
            assert sorted(actual["Projection"].get("NonKeyAttributes", [])) == sorted(
                expected["Projection"].get("NonKeyAttributes", [])
            ), index_name

        stream = props.get("StreamSpecification")
        if stream:
            assert described["StreamSpecification"] == {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }, logical_id
            assert described["LatestStreamArn"]
        else:
            assert not described.get("StreamSpecification", {}).get("StreamEnabled"), logical_id

        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        expected_ttl = props.get("TimeToLiveSpecification")
        if expected_ttl:
            assert ttl["TimeToLiveStatus"] == "ENABLED", logical_id
            assert ttl["AttributeName"] == expected_ttl["AttributeName"], logical_id
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED", logical_id

        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        assert pitr == ("ENABLED" if props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] else "DISABLED")


def test_every_bucket_matches_the_template(template, provisioned_stack, client):
    s3 = client("s3")
    buckets = local_aws.resources_of_type(template, "AWS::S3::Bucket")
    assert buckets, "the template defines no bucket"
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for logical_id, resource in buckets.items():
        props = provisioned_stack.resolve(resource["Properties"])
        name = provisioned_stack.names[logical_id]
        assert name in existing, logical_id
        versioning = s3.get_bucket_versioning(Bucket=name)
        assert versioning.get("Status") == props["VersioningConfiguration"]["Status"], logical_id
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert block == {k: True for k in props["PublicAccessBlockConfiguration"]}, logical_id
        encryption = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        assert [r["ApplyServerSideEncryptionByDefault"] for r in encryption] == [
            r["ServerSideEncryptionByDefault"] for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ], logical_id
        logging_config = props.get("LoggingConfiguration")
        logging_enabled = s3.get_bucket_logging(Bucket=name).get("LoggingEnabled")
        if logging_config:
            assert logging_enabled["TargetBucket"] == logging_config["DestinationBucketName"], logical_id
            assert logging_enabled["TargetPrefix"] == logging_config["LogFilePrefix"], logical_id
        else:
            assert logging_enabled is None, logical_id
        if props.get("ObjectLockEnabled"):
            lock = s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
            retention = lock["Rule"]["DefaultRetention"]
            expected = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
            assert lock["ObjectLockEnabled"] == "Enabled"
            assert retention["Mode"] == expected["Mode"]
            assert retention["Years"] == int(expected["Years"])


def test_documents_bucket_keeps_invoices_eight_years_by_default(template):
    """The retention the law asks for is the template's default, not a local choice."""
    assert template["Parameters"]["DocumentRetentionYears"]["Default"] == 8
    bucket = template["Resources"]["DocumentsBucket"]["Properties"]
    assert bucket["ObjectLockEnabled"] is True
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"


def test_every_queue_matches_the_template(template, provisioned_stack, client):
    sqs = client("sqs")
    queues = local_aws.resources_of_type(template, "AWS::SQS::Queue")
    assert queues, "the template defines no queue"
    for logical_id, resource in queues.items():
        props = resource.get("Properties", {})
        url = sqs.get_queue_url(QueueName=provisioned_stack.names[logical_id])["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if key in props:
                assert attrs[key] == str(props[key]), f"{logical_id}.{key}"
        redrive = props.get("RedrivePolicy")
        if redrive:
            actual = json.loads(attrs["RedrivePolicy"])
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            target_url = sqs.get_queue_url(QueueName=provisioned_stack.names[target])["QueueUrl"]
            target_arn = sqs.get_queue_attributes(QueueUrl=target_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            assert actual["deadLetterTargetArn"] == target_arn, logical_id
            assert int(actual["maxReceiveCount"]) == redrive["maxReceiveCount"], logical_id
        else:
            assert "RedrivePolicy" not in attrs, logical_id


def test_every_work_queue_has_a_dead_letter_queue(template):
    """Issue rule: each queue that carries work redrives to a dead-letter queue."""
    queues = local_aws.resources_of_type(template, "AWS::SQS::Queue")
    dead_letter_targets = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q.get("Properties", {})
    }
    consumed = set()
    for function in local_aws.resources_of_type(template, "AWS::Serverless::Function").values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                consumed.add(event["Properties"]["Queue"]["Fn::GetAtt"][0])
    assert consumed, "no function consumes a queue"
    for queue in consumed:
        assert "RedrivePolicy" in queues[queue]["Properties"], f"{queue} has no dead-letter queue"
        assert queue not in dead_letter_targets


def test_topic_subscriptions_deliver_to_their_queues(template, provisioned_stack, client):
    sns, sqs = client("sns"), client("sqs")
    for logical_id, resource in local_aws.resources_of_type(template, "AWS::SNS::Subscription").items():
        props = resource["Properties"]
        if props["Protocol"] != "sqs":
            continue  # the alarm topic's e-mail subscriber: nothing to receive locally
        topic_arn = provisioned_stack.refs[props["TopicArn"]["Ref"]]
        queue_id = props["Endpoint"]["Fn::GetAtt"][0]
        queue_url = provisioned_stack.refs[queue_id]
        sns.publish(TopicArn=topic_arn, Message=json.dumps({"probe": logical_id}))
        received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2).get("Messages", [])
        assert received, f"{logical_id}: nothing arrived on {queue_id}"
        envelope = json.loads(received[0]["Body"])
        assert json.loads(envelope["Message"]) == {"probe": logical_id}


def test_sender_identities_exist_with_their_configuration_set(template, provisioned_stack, client):
    sesv2 = client("sesv2")
    identities = local_aws.resources_of_type(template, "AWS::SES::EmailIdentity")
    assert identities, "the template defines no sender identity"
    for logical_id, resource in identities.items():
        name = provisioned_stack.refs[logical_id]
        assert name == local_aws.Stack(endpoint="", template=template).parameter_default("SenderIdentity")
        found = sesv2.get_email_identity(EmailIdentity=name)
        configuration_set = resource["Properties"]["ConfigurationSetAttributes"]["ConfigurationSetName"]
        assert found["ConfigurationSetName"] == provisioned_stack.refs[configuration_set["Ref"]]


def test_every_secret_exists_with_the_shape_the_template_generates(template, provisioned_stack, client):
    secretsmanager = client("secretsmanager")
    secrets = local_aws.resources_of_type(template, "AWS::SecretsManager::Secret")
    assert secrets, "the template defines no secret"
    for logical_id, resource in secrets.items():
        value = secretsmanager.get_secret_value(SecretId=provisioned_stack.refs[logical_id])["SecretString"]
        spec = resource["Properties"].get("GenerateSecretString")
        if spec is None:
            assert value == resource["Properties"]["SecretString"]
            continue
        generated = json.loads(value)[spec["GenerateStringKey"]]
        assert len(generated) == spec["PasswordLength"]
        if spec.get("ExcludePunctuation"):
            assert generated.isalnum()


def test_generated_secrets_hold_each_character_type_and_refuse_unknown_options():
    for _ in range(200):
        password = local_aws.generated_secret_string({"PasswordLength": 4})
        assert len(password) == 4
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)
    with pytest.raises(ValueError, match="ExcludeCharacters"):
        local_aws.generated_secret_string({"ExcludeCharacters": "x"})
    with pytest.raises(ValueError, match="go together"):
        local_aws.generated_secret_string({"GenerateStringKey": "current"})


def test_the_webhook_is_given_the_provisioned_secret(provisioned_stack):
    arn = provisioned_stack.function_environments()["opportunity-webhook"]["WEBHOOK_SECRET_ARN"]
    assert arn == provisioned_stack.refs["WebhookSecret"]
    assert arn.startswith("arn:aws:secretsmanager:")


def test_function_environments_name_only_provisioned_resources(provisioned_stack):
    envs = provisioned_stack.function_environments()
    assert "opportunity-webhook" in envs
    known = set(provisioned_stack.names.values()) | set(provisioned_stack.refs.values())
    for function, variables in envs.items():
        for key, value in variables.items():
            if key.endswith(("_TABLE", "_BUCKET", "_QUEUE_URL", "_CONFIGURATION_SET")):
                assert value in known, f"{function}: {key}={value} is not a provisioned resource"


def test_the_pipes_target_queues_are_exported_for_playing_the_pipes(provisioned_stack):
    queues = local_aws.pipe_target_queues(provisioned_stack)
    # Both pipes (finalized invoices, recorded dunning letters) feed the
    # documents queue, which no function's environment names.
    assert queues == {"DOCUMENTS_QUEUE_URL": provisioned_stack.refs["DocumentsQueue"]}
    assert local_aws.process_environment(provisioned_stack)["DOCUMENTS_QUEUE_URL"] == queues[
        "DOCUMENTS_QUEUE_URL"
    ]


def test_every_function_is_built_with_cargo_lambda_for_the_architecture_parameter(template):
    functions = local_aws.resources_of_type(template, "AWS::Serverless::Function")
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "provided.al2023"
    # x86_64 by default (what make test builds and checks), arm64 allowed.
    assert globals_["Architectures"] == [{"Ref": "Architecture"}]
    architecture = template["Parameters"]["Architecture"]
    assert (architecture["Default"], architecture["AllowedValues"]) == ("x86_64", ["x86_64", "arm64"])
    for function in functions.values():
        assert "Architectures" not in function["Properties"], "one architecture for all functions"
    assert globals_["LoggingConfig"]["LogFormat"] == "JSON"
    for logical_id, function in functions.items():
        assert function["Metadata"]["BuildMethod"] == "rust-cargolambda", logical_id
        assert function["Metadata"]["BuildProperties"]["Binary"], logical_id
        events = function["Properties"].get("Events", {})
        asynchronous = any(e["Type"] in ("ScheduleV2", "S3") for e in events.values())
        if asynchronous:
            destination = function["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
            assert destination["Type"] == "SQS", logical_id
        for event in events.values():
            if event["Type"] == "SQS":
                assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id

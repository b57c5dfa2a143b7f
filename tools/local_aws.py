#!/usr/bin/env python3
"""Local AWS for tests and the demo: a moto server on loopback, provisioned
from infra/template.yaml.

The template is the only definition of the tables, buckets, queues and topics;
this tool reads it and creates exactly those on the emulator, then derives each
function's environment (resource names, queue URLs) from the template's own
`Environment` blocks. Nothing here restates a key schema or a queue setting.

Usage:
  local_aws.py run [--keep-going] -- CMD ...   start, provision, run CMD with the
                                                environment, always stop afterwards
  local_aws.py start | stop | status            a long-lived emulator for a dev shell
                                                (state in .local-aws/)
  local_aws.py env                              print `export` lines for the running one

`run` stops the emulator by PID when CMD ends, fails or is interrupted
(SIGINT, SIGTERM, SIGHUP); the emulator also gets SIGTERM from the kernel if
this process dies without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
STATE_DIR = Path(os.environ.get("LOCAL_AWS_STATE_DIR", ROOT / ".local-aws"))
REGION = "eu-central-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "billing-local"

# ----------------------------------------------------------------- template


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation's short-form intrinsics."""


def _intrinsic(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict:
    """The template as plain data, intrinsics as their long form."""
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def resources_of_type(template: dict, type_name: str) -> dict[str, dict]:
    return {
        logical_id: res
        for logical_id, res in template.get("Resources", {}).items()
        if res.get("Type") == type_name
    }


# ------------------------------------------------------------ local naming


def physical_name(logical_id: str, type_name: str) -> str:
    """Deterministic local name, shaped like the names CloudFormation generates."""
    if type_name == "AWS::S3::Bucket":
        return f"{STACK_NAME}-{logical_id}".lower()
    return f"{STACK_NAME}-{logical_id}"


# `Ref: AWS::NoValue`: the property it stands in for is left out.
NO_VALUE = object()


@dataclass
class Stack:
    """What was provisioned: enough to resolve Ref/GetAtt/Sub/If like CloudFormation.

    `parameters` overrides the template's defaults, as `sam deploy
    --parameter-overrides` does."""

    endpoint: str
    template: dict
    names: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    # What CloudFormation's ListStackResources would list: logical id, type
    # (as deployed, after the SAM transform) and physical id. billing-admin
    # reads it from stack.json where a deployed stack has CloudFormation.
    resources: list[dict[str, str]] = field(default_factory=list)
    # While set, an attribute of a resource the emulator does not provision
    # (an HTTP API's id, a pipe's ARN) resolves to a stable stand-in: alarm
    # dimensions name such resources, and only the alarm's actions matter
    # locally.
    lenient: bool = False

    def record(self, logical_id: str, type_name: str, physical_id: str) -> None:
        self.resources.append({"logical_id": logical_id, "type": type_name, "physical_id": physical_id})

    def parameter_default(self, name: str) -> str:
        params = self.template.get("Parameters", {})
        if name not in params:
            raise KeyError(f"template has no parameter or resource named {name}")
        if name in self.parameters:
            return str(self.parameters[name])
        return str(params[name].get("Default", ""))

    def condition(self, name: str) -> bool:
        """A named condition of the template, evaluated on the parameters."""
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise KeyError(f"template has no condition named {name}")
        return self._truth(conditions[name])

    def _truth(self, expression: Any) -> bool:
        (key, arg), = expression.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(v) for v in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(v) for v in arg)
        if key == "Fn::Or":
            return any(self._truth(v) for v in arg)
        if key == "Condition":
            return self.condition(arg)
        raise ValueError(f"condition function {key} not supported locally")

    def active(self, type_name: str) -> dict[str, dict]:
        """The template's resources of a type that exist with these parameters
        (a resource whose `Condition` is false is not created)."""
        return {
            logical_id: res
            for logical_id, res in resources_of_type(self.template, type_name).items()
            if "Condition" not in res or self.condition(res["Condition"])
        }

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.refs:
            return self.refs[name]
        resource = self.template.get("Resources", {}).get(name)
        if resource is not None:
            # Not provisioned locally (a secret, a user pool): a stable fake ARN.
            kind = resource["Type"].split("::")[1].lower()
            return f"arn:aws:{kind}:{REGION}:{ACCOUNT_ID}:{STACK_NAME}-{name}"
        return self.parameter_default(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            if self.lenient and logical_id in self.template.get("Resources", {}):
                return f"{STACK_NAME}-{logical_id}-{attribute}"
            raise KeyError(f"{logical_id}.{attribute} is not available locally") from None

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsics the template uses in names and environments."""
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::GetAtt":
                return self.get_att(arg[0], arg[1])
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                return arg[0].join(str(self.resolve(v)) for v in arg[1])
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
        if isinstance(value, dict):
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        return value

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        out, i = [], 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.index("}", start)
            name = text[start + 2 : end]
            if name in extra:
                out.append(str(self.resolve(extra[name])))
            elif "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                out.append(self.get_att(logical_id, attribute))
            else:
                out.append(self.ref(name))
            i = end + 1
        return "".join(out)

    def function_environments(self) -> dict[str, dict[str, str]]:
        """Each function's environment exactly as the template defines it."""
        globals_env = (
            self.template.get("Globals", {})
            .get("Function", {})
            .get("Environment", {})
            .get("Variables", {})
        )
        envs = {}
        for logical_id, res in self.active("AWS::Serverless::Function").items():
            variables = dict(globals_env)
            variables.update(res.get("Properties", {}).get("Environment", {}).get("Variables", {}))
            binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary", logical_id)
            envs[binary] = {k: str(self.resolve(v)) for k, v in variables.items()}
        return envs


# --------------------------------------------------------------- provision


def _client(service: str, endpoint: str):
    import boto3  # imported late: only the venv has it

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def provision(endpoint: str, template: dict | None = None, parameters: dict[str, str] | None = None) -> Stack:
    """Create every table, bucket, queue and topic the template defines,
    with the template's parameter defaults or the given overrides."""
    template = template or load_template()
    stack = Stack(endpoint=endpoint, template=template, parameters=dict(parameters or {}))
    _provision_log_groups(stack)
    _provision_queues(stack)
    _provision_tables(stack)
    _provision_buckets(stack)
    _provision_topics(stack)
    _provision_mail_configuration(stack)
    _provision_secrets(stack)
    _provision_functions(stack)
    _provision_bucket_notifications(stack)
    _provision_schedules(stack)
    _provision_alarms(stack)
    return stack


def _provision_log_groups(stack: Stack) -> None:
    """Log groups with their retention and key, so a Ref yields the name
    and a GetAtt the ARN as on AWS."""
    logs = _client("logs", stack.endpoint)
    for logical_id, res in stack.active("AWS::Logs::LogGroup").items():
        props = stack.resolve(res.get("Properties", {}))
        name = props.get("LogGroupName") or physical_name(logical_id, "AWS::Logs::LogGroup")
        kwargs = {"kmsKeyId": props["KmsKeyId"]} if "KmsKeyId" in props else {}
        logs.create_log_group(logGroupName=name, **kwargs)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        stack.refs[logical_id] = name
        stack.attributes[logical_id] = {"Arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*"}
        stack.names[logical_id] = name
        stack.record(logical_id, "AWS::Logs::LogGroup", name)


def _provision_tables(stack: Stack) -> None:
    ddb = _client("dynamodb", stack.endpoint)
    for logical_id, res in stack.active("AWS::DynamoDB::Table").items():
        props = stack.resolve(res["Properties"])
        name = physical_name(logical_id, "AWS::DynamoDB::Table")
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": props["StreamSpecification"]["StreamViewType"],
            }
        if props.get("SSESpecification"):
            sse = props["SSESpecification"]
            kwargs["SSESpecification"] = {"Enabled": bool(sse["SSEEnabled"])}
            if "SSEType" in sse:
                kwargs["SSESpecification"]["SSEType"] = sse["SSEType"]
            if "KMSMasterKeyId" in sse:
                kwargs["SSESpecification"]["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
        if "DeletionProtectionEnabled" in props:
            kwargs["DeletionProtectionEnabled"] = bool(props["DeletionProtectionEnabled"])
        description = ddb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
            )
        pitr = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        if pitr:
            ddb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        stack.refs[logical_id] = name
        attrs = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attrs["StreamArn"] = description["LatestStreamArn"]
        stack.attributes[logical_id] = attrs
        stack.names[logical_id] = name
        stack.record(logical_id, "AWS::DynamoDB::Table", name)


def _provision_buckets(stack: Stack) -> None:
    s3 = _client("s3", stack.endpoint)
    for logical_id, res in stack.active("AWS::S3::Bucket").items():
        props = stack.resolve(res.get("Properties", {}))
        name = physical_name(logical_id, "AWS::S3::Bucket")
        s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": REGION},
            ObjectLockEnabledForBucket=bool(props.get("ObjectLockEnabled", False)),
        )
        if props.get("VersioningConfiguration"):
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
            )
        lock = props.get("ObjectLockConfiguration")
        if lock:
            retention = dict(lock["Rule"]["DefaultRetention"])
            for unit in ("Years", "Days"):
                if unit in retention:
                    retention[unit] = int(retention[unit])
            s3.put_object_lock_configuration(
                Bucket=name,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": lock["ObjectLockEnabled"],
                    "Rule": {"DefaultRetention": retention},
                },
            )
        if props.get("BucketEncryption"):
            # CloudFormation lists the rules under other names than the S3 API.
            rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                            "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
                        }
                        for rule in rules
                    ]
                },
            )
        if props.get("PublicAccessBlockConfiguration"):
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={k: bool(v) for k, v in props["PublicAccessBlockConfiguration"].items()},
            )
        lifecycle = props.get("LifecycleConfiguration")
        if lifecycle:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in lifecycle["Rules"]]}
            )
        stack.refs[logical_id] = name
        stack.attributes[logical_id] = {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}
        stack.names[logical_id] = name
        stack.record(logical_id, "AWS::S3::Bucket", name)
    # Bucket policies (S3 checks the log bucket's before it accepts
    # logging), without their TLS-only statements: the emulator listens on
    # plain HTTP on loopback and enforces them, so they would refuse every
    # request (tests/python/test_template_provisioning.py checks that every
    # bucket has one).
    for res in stack.active("AWS::S3::BucketPolicy").values():
        props = stack.resolve(res["Properties"])
        document = dict(props["PolicyDocument"])
        document["Statement"] = [s for s in document["Statement"] if not _requires_tls(s)]
        if document["Statement"]:
            s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
    # Access logging names another bucket of the stack: once all exist.
    for logical_id, res in stack.active("AWS::S3::Bucket").items():
        logging_config = stack.resolve(res.get("Properties", {})).get("LoggingConfiguration")
        if logging_config:
            enabled = {
                "TargetBucket": logging_config["DestinationBucketName"],
                "TargetPrefix": logging_config.get("LogFilePrefix", ""),
            }
            if "TargetObjectKeyFormat" in logging_config:
                enabled["TargetObjectKeyFormat"] = logging_config["TargetObjectKeyFormat"]
            s3.put_bucket_logging(Bucket=stack.names[logical_id], BucketLoggingStatus={"LoggingEnabled": enabled})


def _requires_tls(statement: dict) -> bool:
    """A statement that denies requests made without TLS."""
    condition = statement.get("Condition", {}).get("Bool", {})
    return statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false"


def _lifecycle_rule(rule: dict) -> dict:
    """A CloudFormation lifecycle rule in the S3 API's shape (the rules this
    template uses; any other property is refused, not dropped)."""
    supported = {"Id", "Status", "Prefix", "ExpirationInDays", "NoncurrentVersionExpiration"}
    unsupported = set(rule) - supported
    if unsupported:
        raise ValueError(f"LifecycleConfiguration rule: {sorted(unsupported)} not supported locally")
    out: dict[str, Any] = {"ID": rule.get("Id", ""), "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    return out


_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "VisibilityTimeout",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled": "SqsManagedSseEnabled",
    "KmsMasterKeyId": "KmsMasterKeyId",
    "FifoQueue": "FifoQueue",
    "ContentBasedDeduplication": "ContentBasedDeduplication",
}


def _provision_queues(stack: Stack) -> None:
    sqs = _client("sqs", stack.endpoint)
    pending = dict(stack.active("AWS::SQS::Queue"))
    # Dead-letter queues first: a redrive policy names its target's ARN.
    while pending:
        progressed = False
        for logical_id, res in list(pending.items()):
            props = res.get("Properties", {})
            redrive = props.get("RedrivePolicy")
            if redrive:
                target = redrive["deadLetterTargetArn"]
                target_id = target.get("Fn::GetAtt", [None])[0] if isinstance(target, dict) else None
                if target_id in pending:
                    continue
            resolved = stack.resolve(props)
            attributes = {
                aws_name: _attribute_text(resolved[key])
                for key, aws_name in _QUEUE_ATTRIBUTES.items()
                if key in resolved
            }
            if redrive:
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": resolved["RedrivePolicy"]["deadLetterTargetArn"],
                        "maxReceiveCount": int(resolved["RedrivePolicy"]["maxReceiveCount"]),
                    }
                )
            name = physical_name(logical_id, "AWS::SQS::Queue")
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            stack.refs[logical_id] = url
            stack.attributes[logical_id] = {"Arn": arn, "QueueUrl": url, "QueueName": name}
            stack.names[logical_id] = name
            stack.record(logical_id, "AWS::SQS::Queue", url)
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise ValueError(f"queues with unresolvable redrive targets: {sorted(pending)}")


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _provision_topics(stack: Stack) -> None:
    sns = _client("sns", stack.endpoint)
    for logical_id, res in stack.active("AWS::SNS::Topic").items():
        name = physical_name(logical_id, "AWS::SNS::Topic")
        props = stack.resolve(res.get("Properties", {}))
        attributes = {"KmsMasterKeyId": props["KmsMasterKeyId"]} if "KmsMasterKeyId" in props else {}
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        stack.refs[logical_id] = arn
        stack.attributes[logical_id] = {"TopicArn": arn, "TopicName": name}
        stack.names[logical_id] = name
        stack.record(logical_id, "AWS::SNS::Topic", arn)
    # A subscription under a false condition (e.g. no alarm e-mail given)
    # is not created, as on AWS.
    for logical_id, res in stack.active("AWS::SNS::Subscription").items():
        props = stack.resolve(res["Properties"])
        attributes = {}
        if "RawMessageDelivery" in props:
            attributes["RawMessageDelivery"] = _attribute_text(props["RawMessageDelivery"])
        arn = sns.subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
        )["SubscriptionArn"]
        stack.refs[logical_id] = arn
        stack.record(logical_id, "AWS::SNS::Subscription", arn)


def _provision_mail_configuration(stack: Stack) -> None:
    """SES configuration sets, so a Ref to one yields its name as on AWS."""
    ses = _client("ses", stack.endpoint)
    for logical_id, res in stack.active("AWS::SES::ConfigurationSet").items():
        props = stack.resolve(res.get("Properties", {}))
        name = props.get("Name") or physical_name(logical_id, "AWS::SES::ConfigurationSet")
        ses.create_configuration_set(ConfigurationSet={"Name": name})
        stack.refs[logical_id] = name
        stack.names[logical_id] = name
        stack.record(logical_id, "AWS::SES::ConfigurationSet", name)
    # Sender identities: the emulator treats a created identity as verified,
    # so mail from the billing entity's address is accepted as on a set-up
    # account, and mail from any other domain is refused as unverified.
    sesv2 = _client("sesv2", stack.endpoint)
    for logical_id, res in stack.active("AWS::SES::EmailIdentity").items():
        props = stack.resolve(res.get("Properties", {}))
        identity = props["EmailIdentity"]
        kwargs = {"EmailIdentity": identity}
        configuration_set = props.get("ConfigurationSetAttributes", {}).get("ConfigurationSetName")
        if configuration_set:
            kwargs["ConfigurationSetName"] = configuration_set
        sesv2.create_email_identity(**kwargs)
        stack.refs[logical_id] = identity
        stack.names[logical_id] = identity
        stack.record(logical_id, "AWS::SES::EmailIdentity", identity)


# The GenerateSecretString properties implemented here; any other is refused
# rather than silently ignored, so the local value cannot drift from AWS's.
_GENERATE_SECRET_KEYS = {"SecretStringTemplate", "GenerateStringKey", "PasswordLength", "ExcludePunctuation"}
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generated_secret_string(spec: dict) -> str:
    """A value shaped as CloudFormation's GenerateSecretString makes it: a
    random password of letters, digits and (unless excluded) punctuation,
    with at least one character of each (RequireEachIncludedType, on by
    default), under GenerateStringKey in the JSON SecretStringTemplate, or
    on its own when neither is given."""
    unsupported = set(spec) - _GENERATE_SECRET_KEYS
    if unsupported:
        raise ValueError(f"GenerateSecretString: {sorted(unsupported)} not supported locally")
    if ("SecretStringTemplate" in spec) != ("GenerateStringKey" in spec):
        raise ValueError("GenerateSecretString: SecretStringTemplate and GenerateStringKey go together")
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits]
    if not spec.get("ExcludePunctuation"):
        classes.append(_PUNCTUATION)
    length = int(spec.get("PasswordLength", 32))
    if length < len(classes):
        raise ValueError(f"GenerateSecretString: PasswordLength {length} cannot hold one of each character type")
    alphabet = "".join(classes)
    chars = [secrets.choice(group) for group in classes]
    chars += [secrets.choice(alphabet) for _ in range(length - len(classes))]
    secrets.SystemRandom().shuffle(chars)
    password = "".join(chars)
    if "SecretStringTemplate" not in spec:
        return password
    value = json.loads(spec["SecretStringTemplate"])
    value[spec["GenerateStringKey"]] = password
    return json.dumps(value)


def _provision_secrets(stack: Stack) -> None:
    """Secrets Manager secrets with a generated or given value, so a Ref
    yields the secret's ARN as on AWS and functions read it as deployed."""
    client = _client("secretsmanager", stack.endpoint)
    for logical_id, res in stack.active("AWS::SecretsManager::Secret").items():
        props = stack.resolve(res.get("Properties", {}))
        name = props.get("Name") or physical_name(logical_id, "AWS::SecretsManager::Secret")
        if "SecretString" in props:
            value = str(props["SecretString"])
        else:
            value = generated_secret_string(props.get("GenerateSecretString", {}))
        kwargs = {"KmsKeyId": props["KmsKeyId"]} if "KmsKeyId" in props else {}
        created = client.create_secret(Name=name, SecretString=value, Description=props.get("Description", ""), **kwargs)
        stack.refs[logical_id] = created["ARN"]
        stack.names[logical_id] = name
        stack.record(logical_id, "AWS::SecretsManager::Secret", created["ARN"])


def _function_events(stack: Stack, event_type: str) -> Iterator[tuple[str, str, dict]]:
    """(function logical id, event name, resolved event properties) of
    every SAM function event of `event_type` (`S3`, `ScheduleV2`, ...)."""
    for logical_id, res in stack.active("AWS::Serverless::Function").items():
        for event_name, event in res.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") == event_type:
                yield logical_id, event_name, stack.resolve(event.get("Properties", {}))


def _provision_functions(stack: Stack) -> None:
    """Names only: the emulator runs no functions (tests call the handlers),
    but alarms, schedules and bucket notifications name them, and
    billing-admin doctor checks those names. A Ref yields the function's
    name and GetAtt Arn its ARN, as on AWS."""
    for logical_id in stack.active("AWS::Serverless::Function"):
        name = physical_name(logical_id, "AWS::Lambda::Function")
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        stack.refs[logical_id] = name
        stack.attributes[logical_id] = {"Arn": arn}
        stack.names[logical_id] = name
        stack.record(logical_id, "AWS::Lambda::Function", name)


def _provision_bucket_notifications(stack: Stack) -> None:
    """The S3 events of SAM functions as the bucket's notification
    configuration (what SAM deploys for `Type: S3`). The emulator finds no
    function to invoke and drops the event: tests call the handler."""
    configurations: dict[str, list[dict]] = {}
    for logical_id, _, props in _function_events(stack, "S3"):
        events = props["Events"] if isinstance(props["Events"], list) else [props["Events"]]
        configuration: dict[str, Any] = {"LambdaFunctionArn": stack.get_att(logical_id, "Arn"), "Events": events}
        rules = props.get("Filter", {}).get("S3Key", {}).get("Rules")
        if rules:
            configuration["Filter"] = {"Key": {"FilterRules": rules}}
        configurations.setdefault(props["Bucket"], []).append(configuration)
    s3 = _client("s3", stack.endpoint)
    for bucket, lambda_configurations in configurations.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"LambdaFunctionConfigurations": lambda_configurations},
        )


def _provision_schedules(stack: Stack) -> None:
    """EventBridge Scheduler schedules: the SAM `ScheduleV2` events (named
    `<Function><Event>`, as SAM names them) and plain
    `AWS::Scheduler::Schedule` resources."""
    scheduler = _client("scheduler", stack.endpoint)
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/{STACK_NAME}-scheduler"
    schedules: list[tuple[str, dict]] = []
    for function_id, event_name, props in _function_events(stack, "ScheduleV2"):
        target: dict[str, Any] = {"Arn": stack.get_att(function_id, "Arn"), "RoleArn": props.get("RoleArn", role)}
        for key in ("Input", "RetryPolicy", "DeadLetterConfig"):
            if key in props:
                target[key] = props[key]
        keys = ("ScheduleExpression", "ScheduleExpressionTimezone", "Description", "State")
        schedule = {k: props[k] for k in keys if k in props}
        schedule["Name"] = props.get("Name", f"{function_id}{event_name}")
        schedule["FlexibleTimeWindow"] = props.get("FlexibleTimeWindow", {"Mode": "OFF"})
        schedule["Target"] = target
        schedules.append((f"{function_id}{event_name}", schedule))
    for logical_id, res in stack.active("AWS::Scheduler::Schedule").items():
        schedule = stack.resolve(res["Properties"])
        schedule.setdefault("Name", physical_name(logical_id, "AWS::Scheduler::Schedule"))
        schedules.append((logical_id, schedule))
    for logical_id, schedule in schedules:
        retry = schedule["Target"].get("RetryPolicy")
        if retry:
            schedule["Target"]["RetryPolicy"] = {k: int(v) for k, v in retry.items()}
        scheduler.create_schedule(**schedule)
        stack.names[logical_id] = schedule["Name"]
        stack.record(logical_id, "AWS::Scheduler::Schedule", schedule["Name"])


# PutMetricAlarm's parameters that are not strings in the API.
_ALARM_INTEGERS = {"Period", "EvaluationPeriods", "DatapointsToAlarm"}
_ALARM_BOOLEANS = {"ActionsEnabled", "ReturnData"}


def _alarm_value(key: str, value: Any) -> Any:
    """CloudFormation's property values as PutMetricAlarm takes them (YAML
    may give `Period: "300"` or `Threshold: 1`)."""
    if isinstance(value, dict):
        return {k: _alarm_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_alarm_value(key, v) for v in value]
    if key in _ALARM_INTEGERS:
        return int(value)
    if key == "Threshold":
        return float(value)
    if key in _ALARM_BOOLEANS:
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return value


def _provision_alarms(stack: Stack) -> None:
    """CloudWatch alarms with their resolved properties (the topic ARNs in
    their actions included), so billing-admin doctor finds them as deployed."""
    cloudwatch = _client("cloudwatch", stack.endpoint)
    for logical_id, res in stack.active("AWS::CloudWatch::Alarm").items():
        stack.lenient = True
        try:
            resolved = stack.resolve(res["Properties"])
        finally:
            stack.lenient = False
        props = {k: _alarm_value(k, v) for k, v in resolved.items()}
        props.setdefault("AlarmName", physical_name(logical_id, "AWS::CloudWatch::Alarm"))
        cloudwatch.put_metric_alarm(**props)
        stack.refs[logical_id] = props["AlarmName"]
        stack.attributes[logical_id] = {
            "Arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{props['AlarmName']}"
        }
        stack.names[logical_id] = props["AlarmName"]
        stack.record(logical_id, "AWS::CloudWatch::Alarm", props["AlarmName"])


# ---------------------------------------------------------------- emulator


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _term_when_parent_dies() -> None:
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _die_with_parent() -> None:
    """Runs in the emulator's child process: own session, SIGTERM when we die."""
    _term_when_parent_dies()
    os.setsid()


def _own_group_dying_with_parent() -> None:
    """Runs in the command's child process: its own process group (so signals
    can reach all of it), SIGTERM when we die."""
    _term_when_parent_dies()
    os.setpgid(0, 0)


def _moto_command(port: int) -> list[str]:
    # tools/moto_server.py is moto_server with DynamoDB requests serialized
    # (see its docstring for the emulator race this avoids).
    return [sys.executable, str(ROOT / "tools" / "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)]


def start_emulator(log_path: Path, tie_to_parent: bool = True) -> tuple[subprocess.Popen, str]:
    """Start moto on a free loopback port; returns (process, endpoint URL)."""
    port = _free_loopback_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the emulator
    process = subprocess.Popen(
        _moto_command(port),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if tie_to_parent else os.setsid,  # noqa: PLW1509
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1):
                return process, endpoint
        except OSError:
            time.sleep(0.1)
    stop_process(process.pid)
    raise RuntimeError(f"moto server did not answer on {endpoint} within 30 s; see {log_path}")


def stop_process(pid: int) -> None:
    """Stop the emulator (its whole session) by PID: TERM, then KILL."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = pid if not _alive(pid) else 0
        if finished:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def emulator(log_path: Path | None = None) -> Iterator[str]:
    """A provisioned-nothing emulator for the duration of a `with` block."""
    process, endpoint = start_emulator(log_path or STATE_DIR / "moto.log")
    try:
        yield endpoint
    finally:
        stop_process(process.pid)


def process_environment(stack: Stack) -> dict[str, str]:
    """What code under test sees: the SDK's standard variables, then every
    function's template-defined variables (they agree where they overlap)."""
    env = {
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "LOCAL_AWS_STACK": str(STATE_DIR / "stack.json"),
    }
    for function, variables in stack.function_environments().items():
        for key, value in variables.items():
            if key in env and env[key] != value and key not in ("AWS_ENDPOINT_URL",):
                raise ValueError(f"{function} defines {key} differently from another function")
            env[key] = value
    env.update(pipe_target_queues(stack))
    return env


def pipe_target_queues(stack: Stack) -> dict[str, str]:
    """The queues the template's EventBridge Pipes feed, as
    `<QUEUE_LOGICAL_ID>_URL` (DocumentsQueue -> DOCUMENTS_QUEUE_URL): the
    emulator runs no pipes, so tests and the demo play them by sending to
    these queues, and no function is told their URLs."""
    queues = {}
    for pipe in stack.active("AWS::Pipes::Pipe").values():
        target = pipe.get("Properties", {}).get("Target", {})
        logical_id = str(target.get("Fn::GetAtt", [""])[0]) if isinstance(target, dict) else ""
        if logical_id and stack.template.get("Resources", {}).get(logical_id, {}).get("Type") == "AWS::SQS::Queue":
            snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", logical_id).upper()
            queues[f"{snake}_URL"] = str(stack.ref(logical_id))
    return queues


def write_state(stack: Stack, pid: int | None) -> dict[str, str]:
    STATE_DIR.mkdir(exist_ok=True)
    env = process_environment(stack)
    (STATE_DIR / "stack.json").write_text(
        json.dumps(
            {
                "endpoint": stack.endpoint,
                "pid": pid,
                "names": stack.names,
                "attributes": stack.attributes,
                "functions": stack.function_environments(),
                "resources": stack.resources,
            },
            indent=2,
            sort_keys=True,
        )
    )
    (STATE_DIR / "env").write_text("".join(f"export {k}={_shell_quote(v)}\n" for k, v in sorted(env.items())))
    return env


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def summary(stack: Stack) -> str:
    lines = [f"local AWS at {stack.endpoint} (region {REGION}), provisioned from {TEMPLATE.relative_to(ROOT)}:"]
    for type_name, label in (
        ("AWS::DynamoDB::Table", "table"),
        ("AWS::S3::Bucket", "bucket"),
        ("AWS::SQS::Queue", "queue"),
        ("AWS::SNS::Topic", "topic"),
        ("AWS::SES::ConfigurationSet", "mail"),
        ("AWS::SES::EmailIdentity", "sender"),
        ("AWS::SecretsManager::Secret", "secret"),
        ("AWS::Logs::LogGroup", "logs"),
        ("AWS::CloudWatch::Alarm", "alarm"),
    ):
        for logical_id in stack.active(type_name):
            lines.append(f"  {label:<7} {logical_id:<32} {stack.names[logical_id]}")
    return "\n".join(lines)


# --------------------------------------------------------------------- CLI


class _Interrupted(Exception):
    pass


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise _Interrupted(signal.Signals(signum).name)


def cmd_run(argv: list[str]) -> int:
    quiet = False
    if argv and argv[0] == "--quiet":
        quiet, argv = True, argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("local_aws.py run: nothing to run (usage: run [--quiet] -- CMD ...)", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupted)
    process = None
    child = None
    try:
        process, endpoint = start_emulator(STATE_DIR / "moto.log")
        stack = provision(endpoint)
        env = write_state(stack, process.pid)
        if not quiet:
            print(summary(stack), flush=True)
        child = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            preexec_fn=_own_group_dying_with_parent,  # noqa: PLW1509
        )
        return child.wait()
    except _Interrupted as interrupted:
        print(f"local_aws.py: {interrupted}, stopping", file=sys.stderr)
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGINT)
            with contextlib.suppress(Exception):
                child.wait(timeout=10)
        return 130
    finally:
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        if process is not None:
            stop_process(process.pid)
            print(f"local AWS stopped (pid {process.pid})", file=sys.stderr, flush=True)


def cmd_start() -> int:
    pid_file = STATE_DIR / "moto.pid"
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        print(f"already running (pid {pid_file.read_text().strip()}); `make local-aws-stop` first")
        return 1
    process, endpoint = start_emulator(STATE_DIR / "moto.log", tie_to_parent=False)
    try:
        stack = provision(endpoint)
    except Exception:
        stop_process(process.pid)
        raise
    write_state(stack, process.pid)
    pid_file.write_text(str(process.pid))
    print(summary(stack))
    print(f"pid {process.pid}; load the environment with: source {STATE_DIR}/env")
    return 0


def cmd_stop() -> int:
    pid_file = STATE_DIR / "moto.pid"
    if not pid_file.exists():
        print("not running")
        return 0
    pid = int(pid_file.read_text())
    stop_process(pid)
    pid_file.unlink()
    print(f"stopped (pid {pid})")
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return cmd_run(rest)
    if command == "start":
        return cmd_start()
    if command == "stop":
        return cmd_stop()
    if command == "env":
        print((STATE_DIR / "env").read_text(), end="")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

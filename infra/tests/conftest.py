"""Fixtures for the template tests: the decoded template, a moto server on loopback,
and the stack deployed into it.

How the stack gets deployed
---------------------------
1. The whole template goes through moto's CloudFormation (`create_stack`) and must
   reach CREATE_COMPLETE. moto (pinned in infra/infra.mk) builds the table, the KMS key
   and alias, the log groups, the IAM roles and managed policy, the functions, the
   Lambda permissions, the SQS queue, the SNS topic and the dashboard.
2. moto's CloudFormation has no model for some resource types: it skips them with a
   warning and leaves them out of the stack's resource list. Those are listed in
   MOTO_CFN_UNSUPPORTED (checked exactly by a test, so a moto upgrade that adds one
   shows up). For them, this file does what CloudFormation would: it resolves their
   template properties (Ref, Fn::GetAtt, Fn::Sub, Fn::If, conditions) against the
   deployed stack and creates them through the service APIs, so the property shapes are
   still validated by a service model. moto has no Logs Insights query definitions: those
   are validated against botocore's PutQueryDefinition input shape and not created.
3. Some properties of supported types are dropped by moto's CloudFormation models
   (MOTO_CFN_IGNORED_PROPERTIES). Where a service API can set them, they are applied
   from the template through that API (the key policy; the table's TTL and point-in-time
   recovery; the function environments, whose *_SECRET_ARN values moto resolved to nothing because
   the secrets were skipped). The rest (Architectures, LoggingConfig, TracingConfig,
   the table's SSESpecification, which moto reads under another key) are checked on
   the template itself, decoded with cfn-lint's CloudFormation-aware loader.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator
from cfnlint.decode import decode
from moto.server import ThreadedMotoServer

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"
REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"  # moto's default account
CODE_BUCKET = "spartan-sync-test-code"
CODE_KEYS = {
    "DeltaSyncCodeKey": "delta-sync/0123abcd.zip",
    "WebhookCodeKey": "webhook/4567cdef.zip",
    "LeadsApiCodeKey": "leads-api/89ab0123.zip",
}

# Resource types moto 5.2.5's CloudFormation cannot create (it skips them).
MOTO_CFN_UNSUPPORTED = frozenset(
    {
        "AWS::SecretsManager::Secret",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Stage",
        "AWS::Scheduler::Schedule",
        "AWS::CloudWatch::Alarm",
        "AWS::SNS::Subscription",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Logs::QueryDefinition",
    }
)

# Properties moto 5.2.5's CloudFormation models accept but do not apply.
MOTO_CFN_IGNORED_PROPERTIES = {
    "AWS::DynamoDB::Table": {
        "TimeToLiveSpecification",  # applied below with UpdateTimeToLive
        "PointInTimeRecoverySpecification",  # applied below with UpdateContinuousBackups
        "SSESpecification",  # moto reads "Enabled", CloudFormation says "SSEEnabled"
    },
    # stored as a dict, which breaks DescribeKey; re-applied below with PutKeyPolicy
    "AWS::KMS::Key": {"KeyPolicy"},
    "AWS::Lambda::Function": {"Architectures", "LoggingConfig", "TracingConfig"},
}

NO_VALUE = object()


def pytest_configure(config):
    # moto warns once per skipped resource; MOTO_CFN_UNSUPPORTED already says which.
    config.addinivalue_line(
        "filterwarnings", "ignore:Tried to parse .* not supported by moto:UserWarning"
    )


def load_template() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE_PATH))
    assert not matches, f"template does not decode: {matches}"
    assert template is not None
    return template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def moto_endpoint():
    # Loopback only, on a free port chosen by the OS.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def aws(moto_endpoint, monkeypatch_session):
    # Never let a stray client reach real AWS with real credentials.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch_session.delenv(name, raising=False)
    monkeypatch_session.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch_session.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch_session.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch_session.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch_session.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )

    def client(service: str):
        return session.client(service, endpoint_url=moto_endpoint)

    return client


@pytest.fixture(scope="session")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="session")
def code_bucket(aws):
    s3 = aws("s3")
    s3.create_bucket(
        Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\necho not a real function\n")
    for key in CODE_KEYS.values():
        s3.put_object(Bucket=CODE_BUCKET, Key=key, Body=buf.getvalue())
    return CODE_BUCKET


def deploy(aws, template: dict[str, Any], stack_name: str, parameters: dict[str, str]) -> "Deployed":
    cfn = aws("cloudformation")
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=TEMPLATE_PATH.read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    deadline = time.monotonic() + 60
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            break
        assert time.monotonic() < deadline, "stack creation did not finish in 60 s"
        time.sleep(0.2)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    summaries = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    physical = {
        s["LogicalResourceId"]: s["PhysicalResourceId"]
        for s in summaries
        if s["LogicalResourceId"]
    }
    deployed = Deployed(aws, template, stack_name, parameters, physical)
    deployed.complete_unsupported()
    return deployed


class Deployed:
    """The stack as deployed to moto, plus a small CloudFormation-intrinsics resolver."""

    def __init__(self, aws, template, stack_name, parameters, physical):
        self.aws = aws
        self.template = template
        self.stack_name = stack_name
        self.physical: dict[str, str] = dict(physical)
        self.created_by_cfn = frozenset(physical)
        self.params = {
            name: str(spec.get("Default", ""))
            for name, spec in template.get("Parameters", {}).items()
        }
        self.params.update(parameters)
        self.secret_values: dict[str, str] = {}
        self.query_definitions: dict[str, dict[str, Any]] = {}
        self.skipped = {
            logical
            for logical, res in template["Resources"].items()
            if self.condition_holds(res.get("Condition")) and logical not in physical
        }

    # -- intrinsic functions -------------------------------------------------
    def condition_holds(self, name: str | None) -> bool:
        if name is None:
            return True
        return bool(self.resolve(self.template["Conditions"][name]))

    def pseudo(self, name: str):
        return {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }[name]

    def ref(self, name: str):
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.params:
            return self.params[name]
        return self.physical[name]

    def getatt(self, logical: str, attr: str) -> str:
        rtype = self.template["Resources"][logical]["Type"]
        phys = self.physical[logical]
        if (rtype, attr) == ("AWS::KMS::Key", "Arn"):
            return self.aws("kms").describe_key(KeyId=phys)["KeyMetadata"]["Arn"]
        if (rtype, attr) == ("AWS::DynamoDB::Table", "Arn"):
            return self.aws("dynamodb").describe_table(TableName=phys)["Table"]["TableArn"]
        if (rtype, attr) == ("AWS::IAM::Role", "Arn"):
            return self.aws("iam").get_role(RoleName=phys)["Role"]["Arn"]
        if (rtype, attr) == ("AWS::Lambda::Function", "Arn"):
            return self.aws("lambda").get_function(FunctionName=phys)["Configuration"]["FunctionArn"]
        if (rtype, attr) == ("AWS::SQS::Queue", "Arn"):
            return self.aws("sqs").get_queue_attributes(QueueUrl=phys, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        if (rtype, attr) == ("AWS::SQS::Queue", "QueueName"):
            return phys.rsplit("/", 1)[-1]
        if (rtype, attr) == ("AWS::Logs::LogGroup", "Arn"):
            return f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{phys}:*"
        raise NotImplementedError(f"Fn::GetAtt {logical}.{attr} ({rtype})")

    def sub(self, text: str, extra: dict[str, Any]) -> str:
        def one(m: re.Match) -> str:
            expr = m.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in extra:
                return str(extra[expr])
            if "." in expr and not expr.startswith("AWS::"):
                logical, attr = expr.split(".", 1)
                return self.getatt(logical, attr)
            return str(self.ref(expr))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1:
                (key, value), = node.items()
                if key == "Ref":
                    return self.ref(value)
                if key == "Fn::GetAtt":
                    logical, attr = value if isinstance(value, list) else value.split(".", 1)
                    return self.getatt(logical, attr)
                if key == "Fn::Sub":
                    if isinstance(value, list):
                        text, variables = value
                        return self.sub(text, {k: self.resolve(v) for k, v in variables.items()})
                    return self.sub(value, {})
                if key == "Fn::If":
                    cond, yes, no = value
                    return self.resolve(yes if self.condition_holds(cond) else no)
                if key == "Fn::Equals":
                    a, b = (self.resolve(v) for v in value)
                    return str(a) == str(b)
                if key == "Fn::Not":
                    return not self.resolve(value[0])
                if key == "Fn::And":
                    return all(self.resolve(v) for v in value)
                if key == "Fn::Or":
                    return any(self.resolve(v) for v in value)
                if key == "Condition":
                    return self.condition_holds(value)
                if key == "Fn::Join":
                    sep, parts = value
                    return sep.join(str(self.resolve(p)) for p in parts)
                if key.startswith("Fn::"):
                    raise NotImplementedError(key)
            out = {}
            for k, v in node.items():
                r = self.resolve(v)
                if r is not NO_VALUE:
                    out[k] = r
            return out
        if isinstance(node, list):
            return [r for r in (self.resolve(v) for v in node) if r is not NO_VALUE]
        return node

    def props(self, logical: str) -> dict[str, Any]:
        return self.resolve(self.template["Resources"][logical].get("Properties", {}))

    # -- what moto's CloudFormation skipped, created through the service APIs --
    def complete_unsupported(self) -> None:
        order = [
            "AWS::SecretsManager::Secret",
            "AWS::Lambda::EventInvokeConfig",
            "AWS::SNS::Subscription",
            "AWS::ApiGatewayV2::Api",
            "AWS::ApiGatewayV2::Integration",
            "AWS::ApiGatewayV2::Route",
            "AWS::ApiGatewayV2::Stage",
            "AWS::Scheduler::Schedule",
            "AWS::CloudWatch::Alarm",
            "AWS::Logs::QueryDefinition",
        ]
        self.apply_key_policies()
        resources = self.template["Resources"]
        unknown = {resources[l]["Type"] for l in self.skipped} - set(order)
        assert not unknown, f"moto skipped resource types this test cannot create: {unknown}"
        for rtype in order:
            for logical in sorted(l for l in self.skipped if resources[l]["Type"] == rtype):
                self.physical[logical] = self.create(logical, rtype, self.props(logical))
        self.reapply_function_environments()
        self.apply_table_settings()
        self.write_parameter_store_secrets()

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """Calls an API with template values coerced to the operation's input shape,
        as CloudFormation does (e.g. a Number parameter arrives as a string)."""
        client = self.aws(service)
        model = client.meta.service_model.operation_model(operation)
        method = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
        return getattr(client, method)(**coerce(params, model.input_shape))

    def create(self, logical: str, rtype: str, p: dict[str, Any]) -> str:
        if rtype == "AWS::SecretsManager::Secret":
            gen = p.pop("GenerateSecretString")
            value = self.call("secretsmanager", "GetRandomPassword", **gen)["RandomPassword"]
            arn = self.call(
                "secretsmanager",
                "CreateSecret",
                Name=f"{logical}-{self.stack_name}",
                SecretString=value,
                **p,
            )["ARN"]
            self.secret_values[logical] = value
            return arn
        if rtype == "AWS::Lambda::EventInvokeConfig":
            self.call("lambda", "PutFunctionEventInvokeConfig", **p)
            return f"{p['FunctionName']}:{p['Qualifier']}"
        if rtype == "AWS::SNS::Subscription":
            return self.call("sns", "Subscribe", ReturnSubscriptionArn=True, **p)["SubscriptionArn"]
        if rtype == "AWS::ApiGatewayV2::Api":
            return self.call("apigatewayv2", "CreateApi", **p)["ApiId"]
        if rtype == "AWS::ApiGatewayV2::Integration":
            return self.call("apigatewayv2", "CreateIntegration", **p)["IntegrationId"]
        if rtype == "AWS::ApiGatewayV2::Route":
            return self.call("apigatewayv2", "CreateRoute", **p)["RouteId"]
        if rtype == "AWS::ApiGatewayV2::Stage":
            return self.call("apigatewayv2", "CreateStage", **p)["StageName"]
        if rtype == "AWS::Scheduler::Schedule":
            self.call("scheduler", "CreateSchedule", **p)
            return p["Name"]
        if rtype == "AWS::CloudWatch::Alarm":
            self.call("cloudwatch", "PutMetricAlarm", **p)
            return p["AlarmName"]
        if rtype == "AWS::Logs::QueryDefinition":
            # moto implements no query definitions: check the shape only.
            model = self.aws("logs").meta.service_model.operation_model("PutQueryDefinition")
            api = {k[0].lower() + k[1:]: v for k, v in p.items()}  # Name -> name, ...
            report = ParamValidator().validate(api, model.input_shape)
            assert not report.has_errors(), report.generate_report()
            self.query_definitions[p["Name"]] = p
            return p["Name"]
        raise NotImplementedError(rtype)

    def reapply_function_environments(self) -> None:
        lam = self.aws("lambda")
        for logical, res in self.template["Resources"].items():
            if res["Type"] != "AWS::Lambda::Function":
                continue
            env = self.props(logical).get("Environment")
            if env:
                lam.update_function_configuration(
                    FunctionName=self.physical[logical], Environment=env
                )

    def apply_key_policies(self) -> None:
        # moto's KMS model stores a CloudFormation KeyPolicy as a dict and then fails
        # (HTTP 500) on every DescribeKey; PutKeyPolicy with the template's policy as
        # JSON text fixes the stored form.
        for logical, res in self.template["Resources"].items():
            if res["Type"] == "AWS::KMS::Key" and logical in self.physical:
                policy = self.props(logical)["KeyPolicy"]
                self.call(
                    "kms",
                    "PutKeyPolicy",
                    KeyId=self.physical[logical],
                    PolicyName="default",
                    Policy=json.dumps(policy),
                )

    def apply_table_settings(self) -> None:
        for logical, res in self.template["Resources"].items():
            if res["Type"] != "AWS::DynamoDB::Table":
                continue
            p = self.props(logical)
            name = self.physical[logical]
            if "TimeToLiveSpecification" in p:
                self.call(
                    "dynamodb",
                    "UpdateTimeToLive",
                    TableName=name,
                    TimeToLiveSpecification=p["TimeToLiveSpecification"],
                )
            if "PointInTimeRecoverySpecification" in p:
                self.call(
                    "dynamodb",
                    "UpdateContinuousBackups",
                    TableName=name,
                    PointInTimeRecoverySpecification=p["PointInTimeRecoverySpecification"],
                )

    def write_parameter_store_secrets(self) -> None:
        """What make deploy (webhook secret) and make set-api-key (API key) do when the
        secrets live in SSM Parameter Store: CloudFormation cannot create SecureStrings."""
        if self.params["SecretStore"] != "ParameterStore":
            return
        ssm = self.aws("ssm")
        for name, value in (
            ("twenty-api-key", "test-api-key-" + "k" * 40),
            ("webhook-secret", "test-webhook-secret-" + "s" * 30),
        ):
            ssm.put_parameter(
                Name=f"/{self.stack_name}/{name}", Value=value, Type="SecureString"
            )
            self.secret_values[name] = value

    def outputs(self) -> dict[str, str]:
        return {
            name: self.resolve(spec["Value"])
            for name, spec in self.template.get("Outputs", {}).items()
            if self.condition_holds(spec.get("Condition"))
        }


def coerce(value: Any, shape) -> Any:
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: coerce(v, shape.members.get(k)) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [coerce(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: coerce(v, shape.value) for k, v in value.items()}
    if shape.type_name in ("integer", "long") and isinstance(value, str):
        return int(value)
    if shape.type_name in ("float", "double") and isinstance(value, str):
        return float(value)
    if shape.type_name == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    return value


BASE_PARAMETERS = {
    "TwentyApiUrl": "https://api.twenty.com",
    "CodeBucket": CODE_BUCKET,
    **CODE_KEYS,
}


@pytest.fixture(scope="session")
def stack(aws, template, code_bucket) -> Deployed:
    return deploy(
        aws, template, "spartan-test", {**BASE_PARAMETERS, "AlarmEmail": "ops@example.com"}
    )


@pytest.fixture(scope="session")
def stack_without_email(aws, template, code_bucket) -> Deployed:
    return deploy(aws, template, "spartan-quiet", dict(BASE_PARAMETERS))


# Every option with a monthly fee turned on, and the optional reservation.
PAID_OPTIONS = {
    "SecretStore": "SecretsManager",
    "EncryptionKey": "CustomerManaged",
    "CloudWatchDashboard": "Enabled",
    "DeltaSyncReservedConcurrency": "1",
    "Tracing": "Active",
}


@pytest.fixture(scope="session")
def stack_paid(aws, template, code_bucket) -> Deployed:
    return deploy(
        aws,
        template,
        "spartan-paid",
        {**BASE_PARAMETERS, **PAID_OPTIONS, "AlarmEmail": "ops@example.com"},
    )

"""Tests of infra/template.yaml: deployed to moto (see conftest.py for how), then checked
through the service APIs; what moto ignores is checked on the decoded template.

Run with `make infra-check` (which also runs cfn-lint and checkov)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ACCOUNT_ID, CODE_BUCKET, CODE_KEYS, MOTO_CFN_UNSUPPORTED, REGION

FUNCTIONS = {
    # logical id: (suffix of the function name, memory MB, timeout s, env var names with
    # the default SecretStore=ParameterStore; with SecretsManager *_PARAMETER becomes
    # *_SECRET_ARN)
    "DeltaSyncFunction": (
        "delta-sync",
        256,
        900,
        {
            "TWENTY_API_URL",
            "TWENTY_API_KEY_PARAMETER",
            "LEADS_TABLE",
            "TWENTY_OBJECT",
            "TWENTY_OBJECTS",
            "SYNC_LOOKBACK_SECONDS",
            "CONFLICT_POLICY",
            "CONFLICT_RULES",
            "METRICS_NAMESPACE",
        },
    ),
    "WebhookFunction": (
        "webhook",
        128,
        10,
        {"LEADS_TABLE", "TWENTY_OBJECT", "TWENTY_OBJECTS", "TWENTY_WEBHOOK_SECRET_PARAMETER", "METRICS_NAMESPACE"},
    ),
    # nothing it does not read: no conflict policy, no namespace; POST /sync's target
    "LeadsApiFunction": (
        "leads-api",
        128,
        10,
        {"LEADS_TABLE", "TWENTY_OBJECT", "TWENTY_OBJECTS", "DELTA_SYNC_FUNCTION"},
    ),
}

LEADS_ROUTES = {
    "GET /leads",
    "POST /leads",
    "GET /leads/{id}",
    "PATCH /leads/{id}",
    "DELETE /leads/{id}",
    "GET /conflicts",
    "POST /conflicts/{id}/resolve",
    "GET /sync",
    "POST /sync",
    "GET /changes",
    "GET /objects/{plural}",
    "GET /objects/{plural}/{id}",
    "GET /openapi.json",
}
WEBHOOK_ROUTE = "POST /api/webhooks/twenty"

# The fields of the functions' JSON log lines (shared/src/metrics.rs) that the saved
# queries chart. shared/src/metrics.rs checks the Rust side against this template.
SYNC_RUN_FIELDS = {
    "LeadsFetched", "LeadsChanged", "Requests", "ResponseBytes", "Retries", "RateLimited",
    "RunDurationMs", "RunSucceeded", "RunFailed", "RunSkipped", "RunPartial",
    "WatermarkLagSeconds", "HardDeletesRemoved", "PushedChanges", "PushFailures",
    "PushConflicts", "OpenConflicts",
}
WEBHOOK_FIELDS = {
    "WebhookApplied", "WebhookDuplicate", "WebhookStale", "WebhookIgnored",
    "WebhookUnauthorized", "WebhookBadRequest", "WebhookError", "WebhookLatencyMs",
}
ALARMS = {"sync-stopped", "sync-failing", "webhook-unauthorized", "api-5xx"}


def resources_of(template, rtype):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def env_names(stack, logical):
    names = FUNCTIONS[logical][3]
    if stack.params["SecretStore"] == "SecretsManager":
        by_arn = {
            "TWENTY_API_KEY_PARAMETER": "TWENTY_API_KEY_SECRET_ARN",
            "TWENTY_WEBHOOK_SECRET_PARAMETER": "TWENTY_WEBHOOK_SECRET_ARN",
        }
        names = {by_arn.get(n, n) for n in names}
    return names


# ---------------------------------------------------------------------------
# The deployment itself
# ---------------------------------------------------------------------------
@pytest.fixture(scope="session", params=["default", "paid"])
def any_stack(request):
    """The default stack and the one with every paid option on."""
    return request.getfixturevalue("stack" if request.param == "default" else "stack_paid")


def test_moto_skips_exactly_the_known_unsupported_types(stack, stack_paid):
    skipped_types = {
        s.template["Resources"][l]["Type"] for s in (stack, stack_paid) for l in s.skipped
    }
    assert skipped_types == set(MOTO_CFN_UNSUPPORTED), (
        "moto's CloudFormation support changed: update MOTO_CFN_UNSUPPORTED and the "
        "conftest docstring (and report it)"
    )
    # Everything else was really created by moto's CloudFormation.
    for s in (stack, stack_paid):
        for logical, res in s.template["Resources"].items():
            if res["Type"] not in MOTO_CFN_UNSUPPORTED and s.condition_holds(res.get("Condition")):
                assert logical in s.created_by_cfn, logical


def test_plain_cloudformation_without_transform(template):
    assert "Transform" not in template
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"


def test_defaults_have_no_monthly_fee(stack, template):
    """The default stack creates nothing with a fixed monthly fee: no KMS key, no
    Secrets Manager secret, no dashboard (DEPLOY.md prices each option)."""
    created = {template["Resources"][l]["Type"] for l in stack.physical}
    for rtype in ("AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::CloudWatch::Dashboard"):
        assert rtype not in created, rtype
    # and each is one parameter away
    assert {"AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::CloudWatch::Dashboard"} <= {
        template["Resources"][l]["Type"] for l in stack_paid_logicals(template)
    }


def stack_paid_logicals(template):
    from conftest import PAID_OPTIONS

    conditions = {
        "UseSecretsManager": PAID_OPTIONS["SecretStore"] == "SecretsManager",
        "UseCustomerKey": PAID_OPTIONS["EncryptionKey"] == "CustomerManaged",
        "CreateDashboard": PAID_OPTIONS["CloudWatchDashboard"] == "Enabled",
    }
    return [
        l for l, r in template["Resources"].items() if conditions.get(r.get("Condition"), True)
    ]


# ---------------------------------------------------------------------------
# DynamoDB
# ---------------------------------------------------------------------------
def test_table_keys_billing_and_index(any_stack):
    stack = any_stack
    ddb = stack.aws("dynamodb")
    table = ddb.describe_table(TableName=stack.physical["LeadsTable"])["Table"]
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        ("pk", "HASH"),
        ("sk", "RANGE"),
    }
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {
        "pk": "S",
        "sk": "S",
        "_kind": "S",
        "_changedAt": "S",
        "_pendingQueue": "S",
        "_pendingSince": "S",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    gsis = {g["IndexName"]: g for g in table["GlobalSecondaryIndexes"]}
    assert set(gsis) == {"byKind", "bySweep", "byPending"}
    assert [(k["AttributeName"], k["KeyType"]) for k in gsis["byKind"]["KeySchema"]] == [
        ("_kind", "HASH"),
        ("_changedAt", "RANGE"),
    ]
    assert gsis["byKind"]["Projection"]["ProjectionType"] == "ALL"
    # The sweep's index: small items (what shared/src/store/queries.rs sweep_entries
    # projects), in key order so a checkpointed position stays valid.
    assert [(k["AttributeName"], k["KeyType"]) for k in gsis["bySweep"]["KeySchema"]] == [
        ("_kind", "HASH"),
        ("pk", "RANGE"),
    ]
    assert gsis["bySweep"]["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(gsis["bySweep"]["Projection"]["NonKeyAttributes"]) == [
        "_generation",
        "_pending",
        "_syncedAt",
    ]
    assert [(k["AttributeName"], k["KeyType"]) for k in gsis["byPending"]["KeySchema"]] == [
        ("_pendingQueue", "HASH"),
        ("_pendingSince", "RANGE"),
    ]
    assert gsis["byPending"]["Projection"]["ProjectionType"] == "KEYS_ONLY"
    # moto's table model misreads CloudFormation's SSESpecification: check the template.
    sse = stack.props("LeadsTable")["SSESpecification"]
    if stack.params["EncryptionKey"] == "CustomerManaged":
        assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
        assert sse["KMSMasterKeyId"] == stack.physical["DataKey"]
    else:
        # DynamoDB's AWS owned key: encrypted, no KMS charge
        assert sse == {"SSEEnabled": False}


def test_table_ttl_and_point_in_time_recovery(stack, template):
    ddb = stack.aws("dynamodb")
    name = stack.physical["LeadsTable"]
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == "_expiresAt"
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    # moto's CloudFormation drops both settings; conftest applied them from the template
    # through the APIs above, so check the template says so too.
    props = template["Resources"]["LeadsTable"]["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "_expiresAt", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_customer_data_is_retained(template):
    for logical in ("LeadsTable", "DataKey"):
        res = template["Resources"][logical]
        assert res["DeletionPolicy"] == "Retain", logical
        assert res["UpdateReplacePolicy"] == "Retain", logical


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_function_runtime_memory_timeout(any_stack, logical):
    stack = any_stack
    suffix, memory, timeout, _ = FUNCTIONS[logical]
    lam = stack.aws("lambda")
    fn = lam.get_function(FunctionName=f"{stack.stack_name}-{suffix}")
    cfg = fn["Configuration"]
    assert stack.physical[logical] == f"{stack.stack_name}-{suffix}"
    assert cfg["Runtime"] == "provided.al2023"
    assert cfg["Handler"] == "bootstrap"
    assert cfg["MemorySize"] == memory
    assert cfg["Timeout"] == timeout
    reserved = fn.get("Concurrency", {}).get("ReservedConcurrentExecutions")
    if logical == "DeltaSyncFunction" and stack.params["DeltaSyncReservedConcurrency"] == "1":
        assert reserved == 1
    else:
        # the default reserves nothing: new accounts (quota 10) cannot
        assert reserved is None


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_function_properties_moto_ignores(template, logical):
    # moto's Lambda model drops Architectures, LoggingConfig and TracingConfig, so these
    # are checked on the template.
    suffix = FUNCTIONS[logical][0]
    props = template["Resources"][logical]["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == "provided.al2023"
    assert props["Code"] == {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": props["Code"]["S3Key"]["Ref"]}}
    assert props["Code"]["S3Key"]["Ref"].endswith("CodeKey")
    logging = props["LoggingConfig"]
    assert logging["LogFormat"] == "JSON"
    group = template["Resources"][logging["LogGroup"]["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{suffix}"}


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_function_environment_holds_no_secret(any_stack, logical):
    stack = any_stack
    suffix = FUNCTIONS[logical][0]
    cfg = stack.aws("lambda").get_function_configuration(FunctionName=f"{stack.stack_name}-{suffix}")
    env = cfg["Environment"]["Variables"]
    assert set(env) == env_names(stack, logical)
    secret_values = set(stack.secret_values.values())
    assert len(secret_values) == 2
    for name, value in env.items():
        assert str(value) not in secret_values, f"{name} holds a secret value"
        if re.search(r"SECRET|KEY|TOKEN|PASSWORD", name):
            if name.endswith("_PARAMETER"):
                assert str(value).startswith(f"/{stack.stack_name}/")
            else:
                assert name.endswith("_SECRET_ARN"), f"{name} looks like a secret"
                assert str(value).startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:")
    assert env["LEADS_TABLE"] == stack.physical["LeadsTable"]
    assert env["TWENTY_OBJECT"] == "leads"
    assert env["TWENTY_OBJECTS"] == "leads,notes,noteTargets"
    if logical == "DeltaSyncFunction":
        assert env["METRICS_NAMESPACE"] == "SpartanSync"
        if stack.params["SecretStore"] == "SecretsManager":
            assert env["TWENTY_API_KEY_SECRET_ARN"] == stack.physical["TwentyApiKeySecret"]
        else:
            assert env["TWENTY_API_KEY_PARAMETER"] == f"/{stack.stack_name}/twenty-api-key"
        assert env["TWENTY_API_URL"] == "https://api.twenty.com"
        assert str(env["SYNC_LOOKBACK_SECONDS"]) == "120"
        assert env["CONFLICT_POLICY"] == "remote-wins"
        assert env["CONFLICT_RULES"] == ""
    if logical == "WebhookFunction":
        if stack.params["SecretStore"] == "SecretsManager":
            assert env["TWENTY_WEBHOOK_SECRET_ARN"] == stack.physical["WebhookSecret"]
        else:
            assert env["TWENTY_WEBHOOK_SECRET_PARAMETER"] == f"/{stack.stack_name}/webhook-secret"


def test_secrets_are_never_parameters_and_are_read_by_reference(stack, stack_paid, template):
    # default: SecureString parameters the stack's functions read by name
    ssm = stack.aws("ssm")
    for name in ("twenty-api-key", "webhook-secret"):
        p = ssm.get_parameter(Name=f"/{stack.stack_name}/{name}", WithDecryption=True)["Parameter"]
        assert p["Type"] == "SecureString"
    # SecretsManager: generated by CloudFormation, never typed into a template
    sm = stack_paid.aws("secretsmanager")
    for logical in ("TwentyApiKeySecret", "WebhookSecret"):
        value = sm.get_secret_value(SecretId=stack_paid.physical[logical])["SecretString"]
        assert len(value) >= 32 and value.isalnum(), logical
        gen = template["Resources"][logical]["Properties"]["GenerateSecretString"]
        assert gen["ExcludePunctuation"] is True and gen["PasswordLength"] >= 32
    for name, spec in template["Parameters"].items():
        assert "NoEcho" not in spec, name
        if name == "SecretStore":  # where the secrets live, not a secret
            continue
        assert not re.search(r"secret|password|token|apikey", name, re.I), name


def test_roles_read_only_their_own_secret_and_decrypt_only(any_stack, template):
    """The DynamoDB actions are test_iam_matches_code.py's business; this checks the rest."""
    stack = any_stack
    own_secret = {"DeltaSyncRole": "twenty-api-key", "WebhookRole": "webhook-secret", "LeadsApiRole": None}
    sm_logical = {"twenty-api-key": "TwentyApiKeySecret", "webhook-secret": "WebhookSecret"}
    for role, secret in own_secret.items():
        (policy,) = template["Resources"][role]["Properties"]["Policies"]
        statements = stack.resolve(policy["PolicyDocument"])["Statement"]
        by_service: dict[str, list[dict]] = {}
        for s in statements:
            assert s["Effect"] == "Allow"
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            for a in actions:
                by_service.setdefault(a.split(":")[0], []).append(s)
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            for r in resources:
                assert r != "*" and not r.endswith(":*:*"), f"{role}: wildcard resource"
        # The leads API may start a sync run (POST /sync): invoke delta-sync, nothing else.
        invokes = by_service.pop("lambda", [])
        if role == "LeadsApiRole":
            (s,) = invokes
            assert s["Action"] == "lambda:InvokeFunction"
            assert s["Resource"] == stack.getatt("DeltaSyncFunction", "Arn")
        else:
            assert invokes == [], role
        assert set(by_service) <= {"dynamodb", "ssm", "secretsmanager", "kms", "logs"}, role
        reads = by_service.get("ssm", []) + by_service.get("secretsmanager", [])
        if secret is None:
            assert reads == [], role
        elif stack.params["SecretStore"] == "SecretsManager":
            (s,) = reads
            assert s["Action"] == "secretsmanager:GetSecretValue"
            assert s["Resource"] == stack.physical[sm_logical[secret]]
        else:
            (s,) = reads
            assert s["Action"] == "ssm:GetParameter"
            assert s["Resource"] == (
                f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/{stack.stack_name}/{secret}"
            )
        kms = by_service.get("kms", [])
        if stack.params["EncryptionKey"] == "CustomerManaged":
            (s,) = kms
            assert s["Action"] == "kms:Decrypt", "reading needs Decrypt only"
            assert s["Resource"] == stack.getatt("DataKey", "Arn")
            via = s["Condition"]["StringEquals"]["kms:ViaService"]
            assert f"dynamodb.{REGION}.amazonaws.com" in via
        else:
            assert kms == [], f"{role}: AWS owned and managed keys need no KMS permission"
        iam = stack.aws("iam")
        assert len(iam.list_role_policies(RoleName=stack.physical[role])["PolicyNames"]) == 1


# ---------------------------------------------------------------------------
# Secrets Manager, KMS (the paid options)
# ---------------------------------------------------------------------------
def test_secrets_use_the_stack_key(stack_paid):
    sm = stack_paid.aws("secretsmanager")
    key_id = stack_paid.physical["DataKey"]
    for logical in ("TwentyApiKeySecret", "WebhookSecret"):
        desc = sm.describe_secret(SecretId=stack_paid.physical[logical])
        assert key_id in desc["KmsKeyId"]


def test_key_rotates_and_has_no_public_principal(stack_paid, template):
    kms = stack_paid.aws("kms")
    assert kms.get_key_rotation_status(KeyId=stack_paid.physical["DataKey"])["KeyRotationEnabled"]
    policy = stack_paid.resolve(template["Resources"]["DataKey"]["Properties"]["KeyPolicy"])
    for s in policy["Statement"]:
        assert s["Principal"] != "*" and s["Principal"] != {"AWS": "*"}


# ---------------------------------------------------------------------------
# HTTP API
# ---------------------------------------------------------------------------
def test_http_api_routes(stack):
    api = stack.aws("apigatewayv2")
    api_id = stack.physical["HttpApi"]
    assert api.get_api(ApiId=api_id)["ProtocolType"] == "HTTP"
    integrations = {i["IntegrationId"]: i for i in api.get_integrations(ApiId=api_id)["Items"]}
    fn_arn = {
        name: stack.aws("lambda").get_function(FunctionName=f"{stack.stack_name}-{name}")["Configuration"]["FunctionArn"]
        for name in ("webhook", "leads-api")
    }
    routes = {r["RouteKey"]: r for r in api.get_routes(ApiId=api_id)["Items"]}
    assert set(routes) == LEADS_ROUTES | {WEBHOOK_ROUTE}
    for key, route in routes.items():
        integration = integrations[route["Target"].removeprefix("integrations/")]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["PayloadFormatVersion"] == "2.0"
        if key == WEBHOOK_ROUTE:
            assert route["AuthorizationType"] == "NONE"
            assert integration["IntegrationUri"] == fn_arn["webhook"]
        else:
            assert route["AuthorizationType"] == "AWS_IAM", key
            assert integration["IntegrationUri"] == fn_arn["leads-api"]


def test_http_api_stage_throttles_and_logs(stack, template):
    api = stack.aws("apigatewayv2")
    stage = api.get_stage(ApiId=stack.physical["HttpApi"], StageName="$default")
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 50
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 20
    # the public route has a bucket of its own, sized for Twenty (one delivery per change)
    webhook = stage["RouteSettings"][WEBHOOK_ROUTE]
    assert webhook["ThrottlingBurstLimit"] == 25 and webhook["ThrottlingRateLimit"] == 5
    assert set(stage["RouteSettings"]) == {WEBHOOK_ROUTE}
    assert "WebhookRoute" in str(template["Resources"]["HttpApiStage"]["DependsOn"])
    dest = stage["AccessLogSettings"]["DestinationArn"]
    assert dest.endswith(f":log-group:/aws/apigateway/{stack.stack_name}-http-api")
    json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", stage["AccessLogSettings"]["Format"]))


def test_lambda_permissions_are_scoped_to_the_api(stack, template):
    api_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{stack.physical['HttpApi']}/"
    perms = resources_of(template, "AWS::Lambda::Permission")
    assert {p["Properties"]["FunctionName"]["Ref"] for p in perms.values()} == {
        "WebhookFunction",
        "LeadsApiFunction",
    }
    for logical in perms:
        props = stack.props(logical)
        assert props["Principal"] == "apigateway.amazonaws.com"
        assert props["SourceArn"].startswith(api_arn), logical
    assert stack.props("WebhookInvokePermission")["SourceArn"].endswith("/POST/api/webhooks/twenty")


def test_outputs(any_stack):
    stack = any_stack
    outputs = stack.outputs()
    api_id = stack.physical["HttpApi"]
    assert outputs["WebhookUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/api/webhooks/twenty"
    assert outputs["LeadsApiUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com"
    assert outputs["TableName"] == stack.physical["LeadsTable"]
    assert outputs["DeltaSyncFunctionName"] == f"{stack.stack_name}-delta-sync"
    assert outputs["WebhookFunctionName"] == f"{stack.stack_name}-webhook"
    assert outputs["LeadsApiFunctionName"] == f"{stack.stack_name}-leads-api"
    assert outputs["SecretStore"] == stack.params["SecretStore"]
    if stack.params["SecretStore"] == "SecretsManager":
        assert outputs["WebhookSecretArn"] == stack.physical["WebhookSecret"]
        assert outputs["TwentyApiKeySecretArn"] == stack.physical["TwentyApiKeySecret"]
        assert outputs["DataKeyArn"] == stack.getatt("DataKey", "Arn")
        assert outputs["DashboardUrl"].endswith(f"#dashboards:name={stack.stack_name}")
    else:
        assert outputs["TwentyApiKeyParameter"] == f"/{stack.stack_name}/twenty-api-key"
        assert outputs["WebhookSecretParameter"] == f"/{stack.stack_name}/webhook-secret"
        assert "DashboardUrl" not in outputs and "DataKeyArn" not in outputs
    secret_values = set(stack.secret_values.values())
    assert not secret_values & set(outputs.values())
    # and what moto's CloudFormation resolved itself agrees
    cfn = stack.aws("cloudformation")
    moto_outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName=stack.stack_name)["Stacks"][0]["Outputs"]
    }
    for key in ("TableName", "DeltaSyncFunctionName", "SecretStore"):
        assert moto_outputs[key] == outputs[key]


# ---------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------
def test_schedule_every_five_minutes_with_retries_and_dlq(any_stack):
    stack = any_stack
    sched = stack.aws("scheduler").get_schedule(Name=f"{stack.stack_name}-delta-sync")
    assert sched["ScheduleExpression"] == "rate(5 minutes)"
    assert sched["State"] == "ENABLED"
    assert sched["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = sched["Target"]
    assert target["Arn"].endswith(f":function:{stack.stack_name}-delta-sync")
    assert json.loads(target["Input"]) == {}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 300}
    dlq_arn = stack.getatt("ScheduleDlq", "Arn")
    assert target["DeadLetterConfig"]["Arn"] == dlq_arn
    attrs = stack.aws("sqs").get_queue_attributes(
        QueueUrl=stack.physical["ScheduleDlq"], AttributeNames=["All"]
    )["Attributes"]
    assert attrs["MessageRetentionPeriod"] == "1209600"
    props = stack.props("ScheduleDlq")
    if stack.params["EncryptionKey"] == "CustomerManaged":
        assert attrs.get("KmsMasterKeyId") and "SqsManagedSseEnabled" not in props
    else:
        assert props["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in props


def test_a_full_pass_reconciles_once_a_day_by_itself(any_stack):
    stack = any_stack
    sched = stack.aws("scheduler").get_schedule(Name=f"{stack.stack_name}-reconcile")
    assert sched["ScheduleExpression"] == "rate(1 day)"
    assert sched["State"] == "ENABLED"
    target = sched["Target"]
    assert target["Arn"].endswith(f":function:{stack.stack_name}-delta-sync")
    assert json.loads(target["Input"]) == {"mode": "full"}
    assert target["DeadLetterConfig"]["Arn"] == stack.getatt("ScheduleDlq", "Arn")


def test_scheduler_role_may_only_invoke_and_dead_letter(any_stack, template):
    stack = any_stack
    (policy,) = template["Resources"]["SchedulerRole"]["Properties"]["Policies"]
    statements = stack.resolve(policy["PolicyDocument"])["Statement"]
    by_action = {}
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        for a in actions:
            by_action[a] = s["Resource"]
    assert by_action.pop("lambda:InvokeFunction") == stack.getatt("DeltaSyncFunction", "Arn")
    assert by_action.pop("sqs:SendMessage") == stack.getatt("ScheduleDlq", "Arn")
    # what is left is the DLQ's key (only when it has one), usable only through SQS
    if stack.params["EncryptionKey"] == "CustomerManaged":
        assert set(by_action) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    else:
        assert by_action == {}
    trust = template["Resources"]["SchedulerRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}


def test_delta_sync_async_invocations_are_not_retried_by_lambda(stack):
    cfg = stack.aws("lambda").get_function_event_invoke_config(
        FunctionName=f"{stack.stack_name}-delta-sync", Qualifier="$LATEST"
    )
    assert cfg["MaximumRetryAttempts"] == 0
    assert cfg["MaximumEventAgeInSeconds"] < 300


# ---------------------------------------------------------------------------
# Monitoring (what the alarms do over time: test_alarm_behaviour.py)
# ---------------------------------------------------------------------------
def deployed_alarms(stack):
    cw = stack.aws("cloudwatch")
    return {
        a["AlarmName"].removeprefix(f"{stack.stack_name}-"): a
        for a in cw.describe_alarms(AlarmNamePrefix=f"{stack.stack_name}-")["MetricAlarms"]
    }


def test_alarms(stack):
    alarms = deployed_alarms(stack)
    assert set(alarms) == ALARMS
    topic = stack.physical["AlarmTopic"]
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]
        assert alarm["Period"] == 300 and alarm["Statistic"] == "Sum"
        assert alarm["AlarmDescription"]

    a = alarms["sync-stopped"]
    assert (a["Namespace"], a["MetricName"]) == ("AWS/Lambda", "Invocations")
    assert a["Dimensions"] == [{"Name": "FunctionName", "Value": f"{stack.stack_name}-delta-sync"}]
    assert (a["EvaluationPeriods"], a["DatapointsToAlarm"], a["Threshold"]) == (3, 3, 1.0)
    assert a["ComparisonOperator"] == "LessThanThreshold"
    assert a["TreatMissingData"] == "breaching"

    a = alarms["sync-failing"]
    assert (a["Namespace"], a["MetricName"]) == ("AWS/Lambda", "Errors")
    assert a["Dimensions"] == [{"Name": "FunctionName", "Value": f"{stack.stack_name}-delta-sync"}]
    assert (a["EvaluationPeriods"], a["DatapointsToAlarm"], a["Threshold"]) == (6, 6, 1.0)
    assert a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert a["TreatMissingData"] == "notBreaching"

    a = alarms["webhook-unauthorized"]
    assert (a["Namespace"], a["MetricName"]) == ("SpartanSync", "WebhookUnauthorized")
    assert a["Dimensions"] == [{"Name": "Function", "Value": "webhook"}]
    assert (a["EvaluationPeriods"], a["DatapointsToAlarm"], a["Threshold"]) == (6, 3, 1.0)
    assert a["TreatMissingData"] == "notBreaching"

    a = alarms["api-5xx"]
    assert (a["Namespace"], a["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert a["Dimensions"] == [{"Name": "ApiId", "Value": stack.physical["HttpApi"]}]
    assert (a["EvaluationPeriods"], a["DatapointsToAlarm"], a["Threshold"]) == (4, 3, 1.0)
    assert a["TreatMissingData"] == "notBreaching"


def test_only_one_custom_metric(template):
    """Custom metrics cost 0.30 USD each a month: the alarms read one, and the webhook
    publishes it only when it refuses a signature."""
    custom = set()
    for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values():
        p = alarm["Properties"]
        stats = [p] + [m["MetricStat"]["Metric"] for m in p.get("Metrics", []) if "MetricStat" in m]
        for s in stats:
            if "MetricName" in s and not str(s.get("Namespace", "")).startswith("AWS/"):
                custom.add(s["MetricName"])
    assert custom == {"WebhookUnauthorized"}


def test_alarm_email_subscription(stack):
    sns = stack.aws("sns")
    subs = sns.list_subscriptions_by_topic(TopicArn=stack.physical["AlarmTopic"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "ops@example.com")]


def test_no_topic_and_no_alarm_actions_without_email(stack_without_email):
    s = stack_without_email
    assert "AlarmTopic" not in s.physical and "AlarmEmailSubscription" not in s.physical
    alarms = deployed_alarms(s)
    assert set(alarms) == ALARMS
    assert all(a["AlarmActions"] == [] for a in alarms.values())


def saved_queries(stack):
    return {name.removeprefix(f"{stack.stack_name}/"): q for name, q in stack.query_definitions.items()}


def test_saved_queries_chart_every_logged_field(stack):
    queries = saved_queries(stack)
    assert len(queries) >= 8
    delta_group = f"/aws/lambda/{stack.stack_name}-delta-sync"
    webhook_group = f"/aws/lambda/{stack.stack_name}-webhook"
    text = {g: " ".join(q["QueryString"] for q in queries.values() if g in q["LogGroupNames"])
            for g in (delta_group, webhook_group)}
    for field in SYNC_RUN_FIELDS:
        assert field in text[delta_group], field
    for field in WEBHOOK_FIELDS:
        assert field in text[webhook_group], field
    # the run statuses are exclusive flags: a partial run is not stacked on a success
    assert "sum(RunSucceeded) as succeeded, sum(RunPartial) as partial" in queries["sync-runs"]["QueryString"]
    errors = queries["errors"]
    assert len(errors["LogGroupNames"]) == 3


def test_dashboard_shows_the_saved_queries_and_aws_metrics(stack_paid):
    stack = stack_paid
    cw = stack.aws("cloudwatch")
    body = json.loads(cw.get_dashboard(DashboardName=stack.stack_name)["DashboardBody"])
    queries = {q["QueryString"] for q in saved_queries(stack).values()}
    log_widgets = [w for w in body["widgets"] if w["type"] == "log"]
    shown = set()
    for w in log_widgets:
        query = w["properties"]["query"]
        sources = re.findall(r"SOURCE '([^']+)' \| ", query)
        shown.add(re.sub(r"^(SOURCE '[^']+' \| )+", "", query))
        assert sources and all(s.startswith("/aws/lambda/spartan-paid-") for s in sources)
    assert shown == queries, "the dashboard's log widgets are the saved queries"
    seen: dict[tuple[str, str], set[str]] = {}
    for widget in body["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            names = [m for m in metric if isinstance(m, str)]
            seen.setdefault((names[0], names[1]), set()).add(names[3])
    for name in ("Invocations", "Errors", "Throttles", "Duration"):
        assert seen[("AWS/Lambda", name)] == {
            f"{stack.stack_name}-{f}" for f in ("delta-sync", "webhook", "leads-api")
        }
    assert ("AWS/ApiGateway", "5xx") in seen
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in seen
    assert not any(ns == "SpartanSync" for ns, _ in seen), "custom metrics cost; log fields do not"


def test_alarm_widget_lists_the_real_alarm_arns(stack_paid):
    cw = stack_paid.aws("cloudwatch")
    arns = {a["AlarmArn"] for a in cw.describe_alarms(AlarmNamePrefix=f"{stack_paid.stack_name}-")["MetricAlarms"]}
    body = json.loads(stack_paid.props("Dashboard")["DashboardBody"])
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert set(alarm_widget["properties"]["alarms"]) == arns
    assert len(arns) == len(ALARMS)


def test_code_comes_from_the_bucket_parameters(stack):
    assert stack.params["CodeBucket"] == CODE_BUCKET
    for param, key in CODE_KEYS.items():
        assert stack.params[param] == key

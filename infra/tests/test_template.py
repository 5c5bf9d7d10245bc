"""Tests of infra/template.yaml: deployed to moto (see conftest.py for how), then checked
through the service APIs; what moto ignores is checked on the decoded template.

Run with `make infra-check` (which also runs cfn-lint and checkov)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ACCOUNT_ID, CODE_BUCKET, CODE_KEYS, MOTO_CFN_UNSUPPORTED, REGION

FUNCTIONS = {
    # logical id: (suffix of the function name, memory MB, timeout s, env var names)
    "DeltaSyncFunction": (
        "delta-sync",
        256,
        900,
        {
            "TWENTY_API_URL",
            "TWENTY_API_KEY_SECRET_ARN",
            "LEADS_TABLE",
            "TWENTY_OBJECT",
            "SYNC_LOOKBACK_SECONDS",
            "CONFLICT_POLICY",
            "METRICS_NAMESPACE",
        },
    ),
    "WebhookFunction": (
        "webhook",
        128,
        10,
        {"LEADS_TABLE", "TWENTY_OBJECT", "TWENTY_WEBHOOK_SECRET_ARN", "METRICS_NAMESPACE"},
    ),
    "LeadsApiFunction": (
        "leads-api",
        128,
        10,
        {"LEADS_TABLE", "TWENTY_OBJECT", "CONFLICT_POLICY", "METRICS_NAMESPACE"},
    ),
}

LEADS_ROUTES = {
    "GET /leads",
    "POST /leads",
    "GET /leads/{id}",
    "PATCH /leads/{id}",
    "DELETE /leads/{id}",
    "GET /conflicts",
}
WEBHOOK_ROUTE = "POST /api/webhooks/twenty"

DELTA_SYNC_METRICS = {
    "LeadsFetched", "LeadsChanged", "Requests", "ResponseBytes", "Retries", "RateLimited",
    "RunDurationMs", "RunSucceeded", "RunFailed", "RunSkipped", "RunPartial",
    "WatermarkLagSeconds", "HardDeletesRemoved", "PushedChanges", "PushFailures",
    "PushConflicts",
}
WEBHOOK_METRICS = {
    "WebhookApplied", "WebhookDuplicate", "WebhookStale", "WebhookIgnored",
    "WebhookUnauthorized", "WebhookBadRequest", "WebhookError", "WebhookLatencyMs",
}


def resources_of(template, rtype):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


# ---------------------------------------------------------------------------
# The deployment itself
# ---------------------------------------------------------------------------
def test_moto_skips_exactly_the_known_unsupported_types(stack):
    skipped_types = {stack.template["Resources"][l]["Type"] for l in stack.skipped}
    assert skipped_types == set(MOTO_CFN_UNSUPPORTED), (
        "moto's CloudFormation support changed: update MOTO_CFN_UNSUPPORTED and the "
        "conftest docstring (and report it)"
    )
    # Everything else was really created by moto's CloudFormation.
    for logical, res in stack.template["Resources"].items():
        if res["Type"] not in MOTO_CFN_UNSUPPORTED and stack.condition_holds(res.get("Condition")):
            assert logical in stack.created_by_cfn, logical


def test_plain_cloudformation_without_transform(template):
    assert "Transform" not in template
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"


# ---------------------------------------------------------------------------
# DynamoDB
# ---------------------------------------------------------------------------
def test_table_keys_billing_and_index(stack):
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
    assert set(gsis) == {"byKind", "byPending"}
    assert [(k["AttributeName"], k["KeyType"]) for k in gsis["byKind"]["KeySchema"]] == [
        ("_kind", "HASH"),
        ("_changedAt", "RANGE"),
    ]
    assert gsis["byKind"]["Projection"]["ProjectionType"] == "ALL"
    assert [(k["AttributeName"], k["KeyType"]) for k in gsis["byPending"]["KeySchema"]] == [
        ("_pendingQueue", "HASH"),
        ("_pendingSince", "RANGE"),
    ]
    assert gsis["byPending"]["Projection"]["ProjectionType"] == "KEYS_ONLY"
    # moto's table model misreads CloudFormation's SSESpecification: check the template.
    sse = stack.props("LeadsTable")["SSESpecification"]
    assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyId"] == stack.physical["DataKey"]


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
def test_function_runtime_memory_timeout(stack, logical):
    suffix, memory, timeout, _ = FUNCTIONS[logical]
    lam = stack.aws("lambda")
    fn = lam.get_function(FunctionName=f"{stack.stack_name}-{suffix}")
    cfg = fn["Configuration"]
    assert stack.physical[logical] == f"{stack.stack_name}-{suffix}"
    assert cfg["Runtime"] == "provided.al2023"
    assert cfg["Handler"] == "bootstrap"
    assert cfg["MemorySize"] == memory
    assert cfg["Timeout"] == timeout
    if logical == "DeltaSyncFunction":
        assert fn["Concurrency"]["ReservedConcurrentExecutions"] == 1
    else:
        assert "Concurrency" not in fn or "ReservedConcurrentExecutions" not in fn["Concurrency"]


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
def test_function_environment_holds_no_secret(stack, logical):
    suffix, _, _, names = FUNCTIONS[logical]
    cfg = stack.aws("lambda").get_function_configuration(FunctionName=f"{stack.stack_name}-{suffix}")
    env = cfg["Environment"]["Variables"]
    assert set(env) == names
    secret_values = set(stack.secret_values.values())
    assert len(secret_values) == 2
    for name, value in env.items():
        assert str(value) not in secret_values, f"{name} holds a secret value"
        if re.search(r"SECRET|KEY|TOKEN|PASSWORD", name):
            assert name.endswith("_SECRET_ARN"), f"{name} looks like a secret"
            assert str(value).startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:")
    assert env["METRICS_NAMESPACE"] == "SpartanSync"
    assert env["LEADS_TABLE"] == stack.physical["LeadsTable"]
    assert env["TWENTY_OBJECT"] == "leads"
    if logical == "DeltaSyncFunction":
        assert env["TWENTY_API_KEY_SECRET_ARN"] == stack.physical["TwentyApiKeySecret"]
        assert env["TWENTY_API_URL"] == "https://api.twenty.com"
        assert str(env["SYNC_LOOKBACK_SECONDS"]) == "120"
        assert env["CONFLICT_POLICY"] == "remote-wins"
    if logical == "WebhookFunction":
        assert env["TWENTY_WEBHOOK_SECRET_ARN"] == stack.physical["WebhookSecret"]


def test_secrets_are_generated_never_parameters(stack, template):
    sm = stack.aws("secretsmanager")
    for logical in ("TwentyApiKeySecret", "WebhookSecret"):
        value = sm.get_secret_value(SecretId=stack.physical[logical])["SecretString"]
        assert len(value) >= 32 and value.isalnum(), logical
        gen = template["Resources"][logical]["Properties"]["GenerateSecretString"]
        assert gen["ExcludePunctuation"] is True and gen["PasswordLength"] >= 32
    for name, spec in template["Parameters"].items():
        assert "NoEcho" not in spec, name
        assert not re.search(r"secret|password|token|apikey", name, re.I), name


def test_roles_are_least_privilege(template, stack):
    def statements(role):
        (policy,) = template["Resources"][role]["Properties"]["Policies"]
        return policy["PolicyDocument"]["Statement"]

    table_resources = [
        {"Fn::GetAtt": ["LeadsTable", "Arn"]},
        {"Fn::Sub": "${LeadsTable.Arn}/index/*"},
    ]
    expected_dynamo = {
        "DeltaSyncRole": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem",
                          "BatchWriteItem", "Query", "ConditionCheckItem"},
        "WebhookRole": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"},
        "LeadsApiRole": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem"},
    }
    expected_secret = {"DeltaSyncRole": "TwentyApiKeySecret", "WebhookRole": "WebhookSecret", "LeadsApiRole": None}
    for role, actions in expected_dynamo.items():
        stmts = statements(role)
        dynamo = [s for s in stmts if any(str(a).startswith("dynamodb:") for a in s["Action"])]
        assert len(dynamo) == 1
        assert {a.split(":")[1] for a in dynamo[0]["Action"]} == actions
        assert dynamo[0]["Resource"] == table_resources
        secrets = [s for s in stmts if "secretsmanager:GetSecretValue" in str(s["Action"])]
        if expected_secret[role] is None:
            assert secrets == []
        else:
            (s,) = secrets
            assert s["Resource"] == {"Ref": expected_secret[role]}
        for s in stmts:
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            for r in resources:
                assert r != "*", f"{role}: wildcard resource"
        # the role exists in moto with that policy attached
        iam = stack.aws("iam")
        names = iam.list_role_policies(RoleName=stack.physical[role])["PolicyNames"]
        assert len(names) == 1


# ---------------------------------------------------------------------------
# Secrets Manager, KMS
# ---------------------------------------------------------------------------
def test_secrets_use_the_stack_key(stack):
    sm = stack.aws("secretsmanager")
    key_id = stack.physical["DataKey"]
    for logical in ("TwentyApiKeySecret", "WebhookSecret"):
        desc = sm.describe_secret(SecretId=stack.physical[logical])
        assert key_id in desc["KmsKeyId"]


def test_key_rotates_and_has_no_public_principal(stack, template):
    kms = stack.aws("kms")
    assert kms.get_key_rotation_status(KeyId=stack.physical["DataKey"])["KeyRotationEnabled"]
    policy = stack.resolve(template["Resources"]["DataKey"]["Properties"]["KeyPolicy"])
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


def test_http_api_stage_throttles_and_logs(stack):
    api = stack.aws("apigatewayv2")
    stage = api.get_stage(ApiId=stack.physical["HttpApi"], StageName="$default")
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 50
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 20
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


def test_outputs(stack):
    outputs = stack.outputs()
    api_id = stack.physical["HttpApi"]
    assert outputs["WebhookUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/api/webhooks/twenty"
    assert outputs["LeadsApiUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com"
    assert outputs["TableName"] == stack.physical["LeadsTable"]
    assert outputs["DeltaSyncFunctionName"] == f"{stack.stack_name}-delta-sync"
    assert outputs["WebhookFunctionName"] == f"{stack.stack_name}-webhook"
    assert outputs["LeadsApiFunctionName"] == f"{stack.stack_name}-leads-api"
    assert outputs["WebhookSecretArn"] == stack.physical["WebhookSecret"]
    assert outputs["TwentyApiKeySecretArn"] == stack.physical["TwentyApiKeySecret"]
    assert outputs["DashboardUrl"].endswith(f"#dashboards:name={stack.stack_name}")
    secret_values = set(stack.secret_values.values())
    assert not secret_values & set(outputs.values())
    # and what moto's CloudFormation resolved itself agrees
    cfn = stack.aws("cloudformation")
    moto_outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName=stack.stack_name)["Stacks"][0]["Outputs"]
    }
    for key in ("TableName", "DeltaSyncFunctionName", "DashboardUrl"):
        assert moto_outputs[key] == outputs[key]


# ---------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------
def test_schedule_every_five_minutes_with_retries_and_dlq(stack):
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
    assert attrs.get("KmsMasterKeyId")


def test_scheduler_role_may_only_invoke_and_dead_letter(stack, template):
    (policy,) = template["Resources"]["SchedulerRole"]["Properties"]["Policies"]
    statements = stack.resolve(policy["PolicyDocument"])["Statement"]
    by_action = {}
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        for a in actions:
            by_action[a] = s["Resource"]
    assert by_action.pop("lambda:InvokeFunction") == stack.getatt("DeltaSyncFunction", "Arn")
    assert by_action.pop("sqs:SendMessage") == stack.getatt("ScheduleDlq", "Arn")
    # what is left is the DLQ's key, usable only through SQS
    assert set(by_action) <= {"kms:Decrypt", "kms:GenerateDataKey*"}
    trust = template["Resources"]["SchedulerRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}


def test_delta_sync_async_invocations_are_not_retried_by_lambda(stack):
    cfg = stack.aws("lambda").get_function_event_invoke_config(
        FunctionName=f"{stack.stack_name}-delta-sync", Qualifier="$LATEST"
    )
    assert cfg["MaximumRetryAttempts"] == 0
    assert cfg["MaximumEventAgeInSeconds"] < 300


# ---------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------
def test_alarms(stack):
    cw = stack.aws("cloudwatch")
    alarms = {
        a["AlarmName"].removeprefix(f"{stack.stack_name}-"): a
        for a in cw.describe_alarms(AlarmNamePrefix=stack.stack_name)["MetricAlarms"]
    }
    assert set(alarms) == {
        "sync-not-succeeding",
        "watermark-lag",
        "webhook-unauthorized",
        "webhook-errors",
        "api-5xx",
        "schedule-dlq-not-empty",
    }
    topic = stack.physical["AlarmTopic"]
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic]

    a = alarms["sync-not-succeeding"]
    assert (a["Namespace"], a["MetricName"], a["Statistic"]) == ("SpartanSync", "RunSucceeded", "Sum")
    assert a["Dimensions"] == [{"Name": "Function", "Value": "delta-sync"}]
    assert (a["Period"], a["EvaluationPeriods"], a["Threshold"]) == (300, 3, 1.0)
    assert a["ComparisonOperator"] == "LessThanThreshold"
    assert a["TreatMissingData"] == "breaching"

    a = alarms["watermark-lag"]
    assert a["MetricName"] == "WatermarkLagSeconds"
    assert a["Threshold"] == 1800.0 and a["ComparisonOperator"] == "GreaterThanThreshold"

    a = alarms["webhook-unauthorized"]
    assert (a["MetricName"], a["Statistic"], a["Period"]) == ("WebhookUnauthorized", "Sum", 300)
    assert a["Dimensions"] == [{"Name": "Function", "Value": "webhook"}]
    assert a["Threshold"] == 10.0 and a["ComparisonOperator"] == "GreaterThanThreshold"

    a = alarms["webhook-errors"]
    metrics = {m["Id"]: m for m in a["Metrics"]}
    assert metrics["reported"]["MetricStat"]["Metric"]["MetricName"] == "WebhookError"
    assert metrics["crashed"]["MetricStat"]["Metric"]["Namespace"] == "AWS/Lambda"
    assert a["Threshold"] == 1.0 and a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"

    a = alarms["api-5xx"]
    assert (a["Namespace"], a["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert a["Dimensions"] == [{"Name": "ApiId", "Value": stack.physical["HttpApi"]}]

    a = alarms["schedule-dlq-not-empty"]
    assert (a["Namespace"], a["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert a["Dimensions"][0]["Value"] == stack.getatt("ScheduleDlq", "QueueName")
    assert a["Threshold"] == 0.0 and a["ComparisonOperator"] == "GreaterThanThreshold"


def test_alarm_email_subscription(stack):
    sns = stack.aws("sns")
    subs = sns.list_subscriptions_by_topic(TopicArn=stack.physical["AlarmTopic"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "ops@example.com")]


def test_no_topic_and_no_alarm_actions_without_email(stack_without_email):
    s = stack_without_email
    assert "AlarmTopic" not in s.physical and "AlarmEmailSubscription" not in s.physical
    cw = s.aws("cloudwatch")
    alarms = cw.describe_alarms(AlarmNamePrefix=f"{s.stack_name}-")["MetricAlarms"]
    assert len(alarms) == 6
    assert all(a["AlarmActions"] == [] for a in alarms)


def test_dashboard_shows_every_metric(stack):
    cw = stack.aws("cloudwatch")
    body = json.loads(cw.get_dashboard(DashboardName=stack.stack_name)["DashboardBody"])
    seen: dict[tuple[str, str], set[str]] = {}
    titles = []
    for widget in body["widgets"]:
        props = widget["properties"]
        titles.append(props.get("title", ""))
        for metric in props.get("metrics", []):
            names = [m for m in metric if isinstance(m, str)]
            namespace, name, dims = names[0], names[1], names[2:]
            seen.setdefault((namespace, name), set()).add(tuple(dims))
    for name in DELTA_SYNC_METRICS:
        assert ("Function", "delta-sync") in seen[("SpartanSync", name)], name
    for name in WEBHOOK_METRICS:
        assert ("Function", "webhook") in seen[("SpartanSync", name)], name
    for name in ("Errors", "Throttles", "Duration"):
        fns = {d[1] for d in seen[("AWS/Lambda", name)]}
        assert fns == {f"{stack.stack_name}-{f}" for f in ("delta-sync", "webhook", "leads-api")}
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in seen
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == 6


def test_alarm_widget_lists_the_real_alarm_arns(stack):
    cw = stack.aws("cloudwatch")
    arns = {a["AlarmArn"] for a in cw.describe_alarms(AlarmNamePrefix=f"{stack.stack_name}-")["MetricAlarms"]}
    body = json.loads(stack.props("Dashboard")["DashboardBody"])
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    assert set(alarm_widget["properties"]["alarms"]) == arns


def test_code_comes_from_the_bucket_parameters(stack):
    assert stack.params["CodeBucket"] == CODE_BUCKET
    for param, key in CODE_KEYS.items():
        assert stack.params[param] == key

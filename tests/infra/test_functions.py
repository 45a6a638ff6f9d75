"""One function per manifest function, each with exactly the grants its ``uses`` declare."""

from __future__ import annotations

import gzip
import json

from infra import layer_build
from infra.components.functions import S3_MODEL, function_uses, layer_ships_conditional_put
from infra.components.permissions import TABLE_READ_ACTIONS, TABLE_STREAM_ACTIONS, TABLE_WRITE_ACTIONS
from skills_ideas import events, routes
from tests.infra.helpers import function_of_alias, functions_by_name, ref, refs_in, role_actions

WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "s3:PutObject",
    "s3:DeleteObject",
    "cloudfront:CreateInvalidation",
}
BASELINE = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
EXPECTED_BY_USE = {
    "table:read": set(TABLE_READ_ACTIONS),
    "table:write": set(TABLE_WRITE_ACTIONS),
    "catalogue:read": {"s3:GetObject", "s3:ListBucket"},
    "catalogue:write": {"s3:PutObject"},
    "secret:read": {"secretsmanager:GetSecretValue"},
    "cdn:invalidate": {"cloudfront:CreateInvalidation"},
    "cursor:sign": set(),  # an environment value only: no API call
    "table:stream": set(TABLE_STREAM_ACTIONS),
    "events:publish": {"events:PutEvents"},
}
#: What reading a subscription's queue adds to its consumer's role.
QUEUE_CONSUMER_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
}
#: What an event source mapping adds to its function's role (infra/components/events.py): the
#: stream's listing and its on-failure queue, or the reading of a subscription's queue (and the
#: sending to it, for a subscription that ``continues``).
MAPPING_ACTIONS = {
    "events": {"dynamodb:ListStreams", "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
    **{
        sub.function: QUEUE_CONSUMER_ACTIONS | ({"sqs:SendMessage"} if sub.continues else set())
        for sub in events.SUBSCRIPTIONS
    },
}
#: The environment a subscription adds: its queue's URL, for one that ``continues``.
SUBSCRIPTION_ENV = {sub.function: {sub.queue_url_variable} for sub in events.SUBSCRIPTIONS if sub.continues}
ENV_BY_USE = {
    "table:read": {"TABLE_NAME"},
    "table:write": {"TABLE_NAME"},
    "catalogue:read": {"CATALOGUE_BUCKET", "CATALOGUE_KEY"},
    "catalogue:write": {"CATALOGUE_BUCKET", "CATALOGUE_KEY"},
    "secret:read": {"JWT_SECRET_NAME", "JWT_ISSUER", "JWT_AUDIENCE"},
    "cdn:invalidate": {"CDN_DISTRIBUTION_ID"},
    "cursor:sign": {"CURSOR_KEY"},
    "table:stream": set(),
    "events:publish": {"EVENT_BUS_NAME"},
}
ALWAYS_ENV = {"STAGE", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "CORS_ALLOW_ORIGIN"}


def test_one_function_per_manifest_function_plus_the_authorizer(stack):
    assert sorted(functions_by_name(stack)) == sorted(set(routes.functions()))


def test_every_function_runs_python_312_on_arm64_with_json_logs_tracing_and_both_layers(stack):
    for name, lid in functions_by_name(stack).items():
        props = stack.props(lid)
        assert props["Runtime"] == "python3.12", name
        assert props["Architectures"] == ["arm64"], name
        assert props["Handler"] == "app.lambda_handler", name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert props["LoggingConfig"]["LogFormat"] == "JSON", name
        assert len(props["Layers"]) == 2, name
        settings = stack.config.function(name)
        assert props["MemorySize"] == settings.memory_mb, name
        assert props["Timeout"] == settings.timeout_seconds, name


def test_each_function_logs_to_its_own_log_group_with_retention(stack):
    groups = stack.of_type("AWS::Logs::LogGroup")
    seen = set()
    for name, lid in functions_by_name(stack).items():
        group = ref(stack.props(lid)["LoggingConfig"]["LogGroup"])
        assert groups[group]["Properties"]["RetentionInDays"] == stack.config.log_retention_days
        assert group not in seen, f"{name} shares a log group"
        seen.add(group)


def test_roles_hold_exactly_the_actions_their_uses_grant(stack):
    actions = role_actions(stack)
    for name, uses in function_uses().items():
        expected = set(BASELINE).union(*(EXPECTED_BY_USE[use] for use in uses), MAPPING_ACTIONS.get(name, set()))
        assert actions[name] == expected, name


def test_read_only_functions_hold_no_write_action_and_nothing_scans(stack):
    actions = role_actions(stack)
    read_only = [n for n, uses in function_uses().items() if not any(u.endswith(("write", "invalidate")) for u in uses)]
    assert {"me", "get_idea", "list_ideas", "list_skills", "health"} <= set(read_only)
    for name in read_only:
        assert not actions[name] & WRITE_ACTIONS, name
    for name, held in actions.items():
        assert "dynamodb:Scan" not in held, name
        assert not any(action.endswith("*") for action in held), name


def test_grants_are_scoped_to_the_table_catalogue_key_and_secret(stack):
    table = next(iter(stack.of_type("AWS::DynamoDB::GlobalTable")))
    (secret,) = {
        ref(env["JWT_SECRET_NAME"])
        for lid in functions_by_name(stack).values()
        if "JWT_SECRET_NAME" in (env := stack.props(lid)["Environment"]["Variables"])
    }
    (catalogue_bucket,) = {
        ref(env["CATALOGUE_BUCKET"])
        for lid in functions_by_name(stack).values()
        if "CATALOGUE_BUCKET" in (env := stack.props(lid)["Environment"]["Variables"])
    }
    for policy in stack.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            listed = statement["Action"]
            listed = [listed] if isinstance(listed, str) else listed
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            if any(a.startswith("dynamodb:") for a in listed):
                assert refs_in(resources) == {table}
            if listed == ["secretsmanager:GetSecretValue"]:
                assert resources == [{"Ref": secret}]
            if set(listed) <= {"s3:GetObject", "s3:PutObject"} and len(resources) == 1:
                joined = resources[0]["Fn::Join"][1]
                assert joined[-1] == f"/{stack.config.catalogue_key}"
            if "s3:ListBucket" in listed:
                # the catalogue bucket itself (so a missing key is a 404, not a 403), nothing else
                assert listed == ["s3:ListBucket"] or listed == "s3:ListBucket"
                assert {ref(r) for r in resources} == {catalogue_bucket}


def test_environment_follows_uses(stack):
    for name, uses in function_uses().items():
        env = stack.props(functions_by_name(stack)[name])["Environment"]["Variables"]
        expected = ALWAYS_ENV.union(*(ENV_BY_USE[use] for use in uses), SUBSCRIPTION_ENV.get(name, set()))
        assert set(env) == expected, name
        assert env["POWERTOOLS_SERVICE_NAME"] == "skills-ideas"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "SkillsIdeas"
        assert env["STAGE"] == stack.config.stage
        assert "JWT_SECRET" not in env  # the key itself never travels in an env var


def test_every_function_has_a_live_alias_shifted_by_codedeploy_with_alarm_rollback(stack):
    aliases = function_of_alias(stack)
    assert sorted(aliases.values()) == sorted(functions_by_name(stack))
    groups = stack.of_type("AWS::CodeDeploy::DeploymentGroup")
    expected_config = (
        "CodeDeployDefault.LambdaCanary10Percent5Minutes"
        if stack.config.canary_deploys
        else "CodeDeployDefault.LambdaAllAtOnce"
    )
    for lid, alias in stack.of_type("AWS::Lambda::Alias").items():
        assert alias["Properties"]["Name"] == "live"
        group_id = ref(alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"])
        group = groups[group_id]["Properties"]
        assert group["DeploymentConfigName"] == expected_config, aliases[lid]
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
        (alarm,) = group["AlarmConfiguration"]["Alarms"]
        alarm_props = stack.props(ref(alarm["Name"]))
        metrics = {query["Id"]: query for query in alarm_props["Metrics"]}
        # Errors and invocations of this alias ("<function>:live"), not the whole function.
        for name, metric_name in (("errors", "Errors"), ("invocations", "Invocations")):
            metric = metrics[name]["MetricStat"]["Metric"]
            assert metric["MetricName"] == metric_name
            assert refs_in(metric["Dimensions"]) == {ref(alias["Properties"]["FunctionName"])}
            assert ":live" in json.dumps(metric["Dimensions"])


def test_one_error_does_not_roll_a_deploy_back(stack):
    # Twenty aliases shift at once: with "one error in a minute" any cold-start timeout on any
    # of them would undo the whole deploy. Rollback needs a sustained error rate.
    thresholds = stack.config.alarms
    for lid, alarm in stack.of_type("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        if not str(props.get("AlarmName", "")).endswith("-deploy-errors"):
            continue
        (expression,) = [q for q in props["Metrics"] if "Expression" in q]
        assert expression["Expression"] == (
            f"IF(errors >= {thresholds.deploy_rollback_min_errors}, 100 * errors / invocations, 0)"
        ), lid
        assert thresholds.deploy_rollback_min_errors > 1
        assert props["Threshold"] == thresholds.deploy_rollback_error_rate_percent
        assert (props["DatapointsToAlarm"], props["EvaluationPeriods"]) == (
            thresholds.deploy_rollback_datapoints,
            thresholds.deploy_rollback_periods,
        )
        assert props["DatapointsToAlarm"] > 1
        assert props["TreatMissingData"] == "notBreaching"


def _put_object_model(layer, members: dict) -> None:
    model = layer / "python" / S3_MODEL
    model.parent.mkdir(parents=True)
    with gzip.open(model, "wt", encoding="utf-8") as written:
        json.dump({"shapes": {"PutObjectRequest": {"members": members}}}, written)


def test_a_layer_ships_conditional_puts_only_with_a_botocore_that_knows_if_match(tmp_path):
    assert not layer_ships_conditional_put(tmp_path / "no-botocore")
    _put_object_model(tmp_path / "old", {"Bucket": {}, "Key": {}, "IfNoneMatch": {}})
    assert not layer_ships_conditional_put(tmp_path / "old")
    _put_object_model(tmp_path / "new", {"Bucket": {}, "Key": {}, "IfNoneMatch": {}, "IfMatch": {}})
    assert layer_ships_conditional_put(tmp_path / "new")


def test_synth_warns_while_admin_writes_depend_on_the_runtimes_boto3(stack):
    # Admin catalogue writes put with IfMatch; the layer drops boto3 for the runtime's, whose
    # version AWS picks. The warning stands exactly as long as the built layer lacks it.
    metadata = json.loads((stack.assembly_dir / f"{stack.config.stack_name}.metadata.json").read_text())
    warnings = [
        entry["data"]
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:warning" and "IfMatch" in str(entry["data"])
    ]
    assert bool(warnings) is not layer_ships_conditional_put(layer_build.DEFAULT_OUT)
    assert all("What the dependencies layer must ship" in str(w) for w in warnings)

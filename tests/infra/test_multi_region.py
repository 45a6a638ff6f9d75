"""A stage in several regions (docs/multi-region.md, "The stack"): one global stack in us-east-1,
one regional stack per region, a catalogue replica per secondary, all from one configuration;
and the single-region default unchanged."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from infra import cfn_lint
from infra.components.permissions import TABLE_WRITE_ACTIONS
from infra.config import (
    CLOUDFRONT_REGION,
    EXAMPLE_REGION_SETTINGS,
    REGION_SETTINGS,
    STAGES,
    SettingsError,
    deployment_config,
    example_context,
    example_settings,
)
from infra.stack import ROOT
from skills_ideas import routes
from skills_ideas_tools import capacity
from tests.infra.helpers import MultiRegionApp, check_alarm_topic, ref, refs_in

STAGE = "prod"
PRIMARY, SECONDARY = EXAMPLE_REGION_SETTINGS["regions"].split(",")
GLOBAL = f"SkillsIdeas-{STAGE}-global"
REGIONAL = {region: f"SkillsIdeas-{STAGE}-{region}" for region in (PRIMARY, SECONDARY)}
REPLICA = f"SkillsIdeas-{STAGE}-catalogue-{SECONDARY}"
FAILOVER = f"SkillsIdeas-{STAGE}-failover-alarms"


def _functions(app: MultiRegionApp, stack: str) -> dict[str, dict]:
    """Manifest function name -> properties of its AWS::Lambda::Function in ``stack``."""
    prefix = f"{app.config.prefix}-"
    return {
        r["Properties"]["FunctionName"].removeprefix(prefix): r["Properties"]
        for r in app.of_type(stack, "AWS::Lambda::Function").values()
        if str(r["Properties"].get("FunctionName", "")).startswith(prefix)
    }


def _statements_of(app: MultiRegionApp, stack: str, function: str) -> list[dict]:
    role = ref(_functions(app, stack)[function]["Role"])
    return [
        statement
        for policy in app.of_type(stack, "AWS::IAM::Policy").values()
        if any(ref(r) == role for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


# ------------------------------------------------------------------ the single-region default
def test_the_default_stays_one_region_with_the_same_stacks_and_logical_ids(prod):
    # A deployed single-region stage must update in place: same stacks, same logical ids.
    assert prod.config.regions == (CLOUDFRONT_REGION,) and not prod.config.multi_region
    stacks = sorted(p.name for p in prod.assembly_dir.glob("*.template.json") if ".nested." not in p.name)
    assert stacks == ["SkillsIdeas-account.template.json", "SkillsIdeas-prod.template.json"]
    root = prod.stacks.template["Resources"]
    for logical_id in (
        "DataTableLayout2EBD9012B",
        "SecretsSigningKey427004F6",
        "ApiRestApiE35FEAFE",
        "DeliveryCdnBD7D6E95",
    ):
        assert logical_id in root
    nested = next(iter(prod.stacks.nested.values())).template["Resources"]
    assert {"FunctionsLogin53C97D7C", "FunctionsLoginLive6F68409B"} <= set(nested)
    # nothing of the multi-region stage leaks in
    ((_, table),) = prod.of_type("AWS::DynamoDB::GlobalTable").items()
    assert [r.get("Region") for r in table["Properties"]["Replicas"]] == [None] or len(
        table["Properties"]["Replicas"]
    ) == 1
    assert not prod.of_type("AWS::Route53::RecordSet") and not prod.of_type("AWS::Route53::HealthCheck")
    for props in (prod.props(lid) for lid in prod.of_type("AWS::Lambda::Function")):
        assert not {"HOME_REGION", "REGIONS"} & set(props.get("Environment", {}).get("Variables", {}))


# ------------------------------------------------------------------ configuration
def test_regions_come_from_the_settings_primary_first():
    config = deployment_config(STAGE, {**example_settings(STAGE), **EXAMPLE_REGION_SETTINGS})
    assert config.regions == (PRIMARY, SECONDARY) and config.secondaries == (SECONDARY,)
    assert config.origin_domain == f"api-origin-{STAGE}.{EXAMPLE_REGION_SETTINGS['hostedZoneName']}"
    # one region given is the single-region stage itself
    assert deployment_config("dev", {"regions": "us-east-1"}) == STAGES["dev"]
    assert set(REGION_SETTINGS) == {"regions", "hostedZoneId", "hostedZoneName"}
    assert example_context(STAGE, multi_region=True).endswith("-c hostedZoneName=example.com")


def test_several_regions_without_a_domain_refuse_to_synthesize_and_say_why():
    with pytest.raises(SettingsError) as refused:
        deployment_config("dev", {"regions": "us-east-1,eu-west-1"})
    message = str(refused.value)
    assert "latency-routed" in message and "needs" in message
    for key in ("hostedZoneId", "hostedZoneName"):
        assert key in message and REGION_SETTINGS[key] in message


@pytest.mark.parametrize(
    ("regions", "complaint"),
    [
        ("eu-west-1,us-east-1", "primary and must be us-east-1"),
        ("us-east-1,us-east-1", "twice"),
        ("us-east-1,mars-1", "not a list of AWS regions"),
    ],
)
def test_regions_that_cannot_work_are_refused(regions, complaint):
    zone = {"hostedZoneId": "Z0123456789ABC", "hostedZoneName": "example.org"}
    with pytest.raises(SettingsError, match=complaint):
        deployment_config("dev", {"regions": regions, **zone})


def test_a_stage_config_in_several_regions_needs_its_zone():
    with pytest.raises(ValueError, match="hosted zone"):
        replace(STAGES["dev"], regions=("us-east-1", "eu-west-1"))


# ------------------------------------------------------------------ the stacks
def test_one_global_stack_in_us_east_1_and_one_regional_stack_per_region(multi_region):
    assert multi_region.regions == {
        "SkillsIdeas-account": PRIMARY,
        f"SkillsIdeas-account-{SECONDARY}": SECONDARY,
        REPLICA: SECONDARY,
        GLOBAL: PRIMARY,
        REGIONAL[PRIMARY]: PRIMARY,
        REGIONAL[SECONDARY]: SECONDARY,
        FAILOVER: PRIMARY,
    }
    for region, stack in REGIONAL.items():
        assert len(_functions(multi_region, stack)) == len(set(routes.functions())), region
        assert len(multi_region.of_type(stack, "AWS::ApiGateway::RestApi")) == 1
        assert {r["Properties"]["Scope"] for r in multi_region.of_type(stack, "AWS::WAFv2::WebACL").values()} == {
            "REGIONAL"
        }
        assert multi_region.of_type(stack, "AWS::CloudWatch::Dashboard")


def test_the_global_parts_live_only_in_the_global_stack_in_us_east_1(multi_region):
    global_only = ("AWS::CloudFront::Distribution", "AWS::CloudFront::CachePolicy")
    for stack in multi_region.stacks:
        for resource_type in global_only:
            assert bool(multi_region.of_type(stack, resource_type)) == (stack == GLOBAL), (stack, resource_type)
    edge_acls = [
        stack
        for stack in multi_region.stacks
        for acl in multi_region.of_type(stack, "AWS::WAFv2::WebACL").values()
        if acl["Properties"]["Scope"] == "CLOUDFRONT"
    ]
    assert edge_acls == [GLOBAL] and multi_region.regions[GLOBAL] == CLOUDFRONT_REGION
    # the edge alarms (CloudFront's 5xx rate) sit with the distribution
    cdn_alarms = [
        a
        for a in multi_region.of_type(GLOBAL, "AWS::CloudWatch::Alarm").values()
        if "AWS/CloudFront" in json.dumps(a["Properties"])
    ]
    assert cdn_alarms
    # the primary catalogue bucket too, replicated to the secondary's bucket
    buckets = multi_region.of_type(GLOBAL, "AWS::S3::Bucket")
    (replicated,) = [b for b in buckets.values() if "ReplicationConfiguration" in b["Properties"]]
    (rule,) = replicated["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    reader = ref(rule["Destination"]["Bucket"])
    assert multi_region.merged(GLOBAL)["Resources"][reader]["Type"] == "Custom::CrossRegionExportReader"
    (replica,) = multi_region.of_type(REPLICA, "AWS::S3::Bucket").values()
    assert replica["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_cloudfront_reaches_the_apis_through_the_latency_routed_name(multi_region):
    (distribution,) = multi_region.of_type(GLOBAL, "AWS::CloudFront::Distribution").values()
    origins = distribution["Properties"]["DistributionConfig"]["Origins"]
    (api,) = [o for o in origins if "CustomOriginConfig" in o]
    assert api["DomainName"] == multi_region.config.origin_domain
    assert api.get("OriginPath", "") == ""  # each custom domain maps the stage at its root
    for region, stack in REGIONAL.items():
        (record,) = multi_region.of_type(stack, "AWS::Route53::RecordSet").values()
        props = record["Properties"]
        assert (props["Name"], props["Type"], props["Region"]) == (f"{multi_region.config.origin_domain}.", "A", region)
        assert props["SetIdentifier"].endswith(region)
        (check_id,) = multi_region.of_type(stack, "AWS::Route53::HealthCheck")
        assert ref(props["HealthCheckId"]) == check_id
        check = multi_region.of_type(stack, "AWS::Route53::HealthCheck")[check_id]["Properties"]["HealthCheckConfig"]
        assert (check["Type"], check["ResourcePath"]) == ("HTTPS", f"/{STAGE}/api/health")
        assert (check["RequestInterval"], check["FailureThreshold"]) == (10, 3)
        (domain,) = multi_region.of_type(stack, "AWS::ApiGateway::DomainName").values()
        assert domain["Properties"]["DomainName"] == multi_region.config.origin_domain
        # the stage's web ACL admits the health check without CloudFront's token, and nothing else
        (acl,) = multi_region.of_type(stack, "AWS::WAFv2::WebACL").values()
        rules = {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}
        assert list(rules) == ["ThroughCloudFront", "HealthCheckFlood", "HealthChecks"]
        assert "Block" in acl["Properties"]["DefaultAction"]
        assert f"/{STAGE}/api/health" in json.dumps(rules["HealthChecks"]["Statement"])


def test_the_primary_owns_the_global_table_and_the_secondaries_use_their_replica(multi_region):
    (table,) = multi_region.of_type(REGIONAL[PRIMARY], "AWS::DynamoDB::GlobalTable").values()
    assert sorted(r["Region"] for r in table["Properties"]["Replicas"]) == sorted([PRIMARY, SECONDARY])
    assert table["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert not multi_region.of_type(REGIONAL[SECONDARY], "AWS::DynamoDB::GlobalTable")
    secondary = multi_region.merged(REGIONAL[SECONDARY])["Resources"]
    # the table's name reaches the secondary through CDK's cross-region reference, not a copy
    for name, props in _functions(multi_region, REGIONAL[SECONDARY]).items():
        table_name = props["Environment"]["Variables"].get("TABLE_NAME")
        if table_name is not None:
            assert secondary[ref(table_name)]["Type"] == "Custom::CrossRegionExportReader", name
    # and its events read the replica's own stream
    (mapping,) = [
        m
        for m in multi_region.of_type(REGIONAL[SECONDARY], "AWS::Lambda::EventSourceMapping").values()
        if "dynamodb" in json.dumps(m["Properties"]).lower() or "ReplicaStream" in json.dumps(m["Properties"])
    ]
    assert "ReplicaStream" in json.dumps(mapping["Properties"]["EventSourceArn"])


def test_the_keys_are_replicated_to_every_secondary(multi_region):
    secrets = multi_region.of_type(REGIONAL[PRIMARY], "AWS::SecretsManager::Secret").values()
    assert len(secrets) == 2  # the JWT signing key and the cursor key
    for secret in secrets:
        assert secret["Properties"]["ReplicaRegions"] == [{"Region": SECONDARY}]
    (origin_verify,) = multi_region.of_type(GLOBAL, "AWS::SecretsManager::Secret").values()
    assert origin_verify["Properties"]["ReplicaRegions"] == [{"Region": SECONDARY}]
    assert not multi_region.of_type(REGIONAL[SECONDARY], "AWS::SecretsManager::Secret")
    # a secondary's functions read the replica, by the name the primary's stack passes
    env = _functions(multi_region, REGIONAL[SECONDARY])["login"]["Environment"]["Variables"]
    resources = multi_region.merged(REGIONAL[SECONDARY])["Resources"]
    (source,) = refs_in(env["JWT_SECRET_NAME"])
    assert resources[source]["Type"] == "Custom::CrossRegionExportReader"


def test_stacks_in_other_regions_are_tied_by_cdk_references_never_copied_values(multi_region):
    for stack in (REPLICA, GLOBAL, REGIONAL[PRIMARY], REGIONAL[SECONDARY]):
        assert multi_region.of_type(stack, "Custom::CrossRegionExportWriter"), stack
    for stack in (GLOBAL, REGIONAL[SECONDARY], FAILOVER):
        assert multi_region.of_type(stack, "Custom::CrossRegionExportReader"), stack
    # no account id and no physical name of another stack's resource is written into a template
    for stack in multi_region.stacks.values():
        for template in stack.all():
            text = json.dumps(template)
            assert not re.search(r"(?<![0-9A-Fa-f])[0-9]{12}(?![0-9A-Fa-f])", text)
            assert not re.search(r"arn:aws:[a-z0-9-]+:[a-z0-9-]*:[0-9]", text)


def test_every_function_knows_the_home_region_and_only_register_writes_there(multi_region):
    for region, stack in REGIONAL.items():
        for name, props in _functions(multi_region, stack).items():
            assert props["Environment"]["Variables"]["HOME_REGION"] == PRIMARY, (region, name)
            assert props["Environment"]["Variables"]["REGIONS"] == f"{PRIMARY},{SECONDARY}", (region, name)
    home_writes = {
        name
        for name in _functions(multi_region, REGIONAL[SECONDARY])
        for statement in _statements_of(multi_region, REGIONAL[SECONDARY], name)
        if f":dynamodb:{PRIMARY}:" in json.dumps(statement["Resource"])
    }
    assert home_writes == {"register"}
    (statement,) = [
        s
        for s in _statements_of(multi_region, REGIONAL[SECONDARY], "register")
        if f":dynamodb:{PRIMARY}:" in json.dumps(s["Resource"])
    ]
    assert set(statement["Action"]) == set(TABLE_WRITE_ACTIONS)
    # in the home region the local table is the home table: no second grant
    for statement in _statements_of(multi_region, REGIONAL[PRIMARY], "register"):
        assert f":dynamodb:{SECONDARY}:" not in json.dumps(statement["Resource"])


def _alarms(app: MultiRegionApp, stack: str) -> dict[str, dict]:
    """Alarm name -> properties of every alarm of ``stack``."""
    return {
        a["Properties"]["AlarmName"]: a["Properties"] for a in app.of_type(stack, "AWS::CloudWatch::Alarm").values()
    }


def _source_of(app: MultiRegionApp, consumer: str, value: dict) -> tuple[str, str]:
    """(stack, logical id) of the resource whose value ``consumer`` reads from another stack:
    an export of a stack in its region, or an SSM parameter a stack in another region writes."""
    if "Fn::ImportValue" in value:
        ((name, lid),) = [
            (name, ref(output["Value"]))
            for name in app.stacks
            for output in app.merged(name).get("Outputs", {}).values()
            if output.get("Export", {}).get("Name") == value["Fn::ImportValue"]
        ]
        assert app.regions[name] == app.regions[consumer]
        return name, str(lid)
    reader, parameter = value["Fn::GetAtt"]
    assert app.merged(consumer)["Resources"][reader]["Type"] == "Custom::CrossRegionExportReader"
    ((name, lid),) = [
        (name, ref(writer["Properties"]["WriterProps"]["exports"][parameter]))
        for name in app.stacks
        for writer in app.of_type(name, "Custom::CrossRegionExportWriter").values()
        if parameter in writer["Properties"]["WriterProps"]["exports"]
    ]
    return name, str(lid)


def test_each_region_alarms_on_replication_latency_and_its_own_5xx_rate(multi_region):
    prefix = multi_region.config.prefix
    for region, stack in REGIONAL.items():
        alarms = _alarms(multi_region, stack)
        other = SECONDARY if region == PRIMARY else PRIMARY
        # one alarm on the slowest receiving region (here the only other one)
        latency = alarms[f"{prefix}-{region}-replication-latency"]
        (query,) = [q for q in latency["Metrics"] if "MetricStat" in q]
        (expression,) = [q["Expression"] for q in latency["Metrics"] if q.get("ReturnData", True)]
        assert expression == f"MAX([{query['Id']}])"
        assert (query["MetricStat"]["Metric"]["MetricName"], latency["Threshold"]) == ("ReplicationLatency", 60_000)
        assert {"Name": "ReceivingRegion", "Value": other} in query["MetricStat"]["Metric"]["Dimensions"]
        five_xx = alarms[f"{prefix}-{region}-api-5xx-rate"]
        (query,) = [q for q in five_xx["Metrics"] if "MetricStat" in q]
        assert query["MetricStat"]["Metric"]["MetricName"] == "5XXError"
        assert five_xx["Threshold"] == multi_region.config.alarms.region_5xx_rate_percent
        topics = set(multi_region.of_type(stack, "AWS::SNS::Topic"))
        for alarm in (latency, five_xx):
            assert refs_in(alarm["AlarmActions"]) <= topics and alarm["AlarmActions"]


def test_every_regions_health_check_alarms_in_us_east_1_to_the_operators(multi_region):
    # Route 53 publishes HealthCheckStatus in us-east-1 only, and an alarm lives in its metric's region.
    assert multi_region.regions[FAILOVER] == "us-east-1"
    resources = multi_region.merged(FAILOVER)["Resources"]
    topic = check_alarm_topic(resources, multi_region.config.alarm_emails)
    assert multi_region.config.alarm_emails  # the example names the operators
    alarms = _alarms(multi_region, FAILOVER)
    assert set(alarms) == {f"{multi_region.config.prefix}-{region}-health-check" for region in REGIONAL}
    for region, stack in REGIONAL.items():
        alarm = alarms[f"{multi_region.config.prefix}-{region}-health-check"]
        metric = (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"], alarm["Period"])
        assert metric == ("AWS/Route53", "HealthCheckStatus", "Minimum", 60)
        # 1 is healthy: below it for one minute alarms, and so does a check that reports nothing
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
        assert alarm["TreatMissingData"] == "breaching"
        assert alarm["AlarmActions"] == [{"Ref": topic}]
        # the region's own health check, the one its latency record fails over on
        (dimension,) = alarm["Dimensions"]
        assert dimension["Name"] == "HealthCheckId"
        (check,) = multi_region.of_type(stack, "AWS::Route53::HealthCheck")
        assert _source_of(multi_region, FAILOVER, dimension["Value"]) == (stack, check)
    assert not multi_region.of_type(FAILOVER, "AWS::Route53::HealthCheck")


def test_every_stack_passes_cdk_nag_and_cfn_lint_and_keeps_room(multi_region):
    report = json.loads((multi_region.assembly_dir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []
    checked = {c["constructPath"].split("/")[0] for v in nag["suppressedViolations"] for c in v["violatingConstructs"]}
    assert {GLOBAL, REPLICA, *REGIONAL.values()} <= checked
    result = cfn_lint.run([multi_region.assembly_dir])
    assert result.returncode == 0, result.stdout + result.stderr
    for stack in multi_region.stacks.values():
        for template in stack.all():
            assert len(template["Resources"]) <= 450
            assert len(template.get("Outputs", {})) <= 180 and len(template.get("Parameters", {})) <= 180


def test_the_cost_of_a_region_counts_what_a_regional_stack_holds(multi_region):
    # docs/capacity.md ("A second and a third region") prices these counts
    stack = REGIONAL[SECONDARY]
    metrics = 0
    # the regional stack's alarms, and the alarm on its health check (in us-east-1)
    health_check = _alarms(multi_region, FAILOVER)[f"{multi_region.config.prefix}-{SECONDARY}-health-check"]
    for alarm in [
        *(a["Properties"] for a in multi_region.of_type(stack, "AWS::CloudWatch::Alarm").values()),
        health_check,
    ]:
        queries = alarm.get("Metrics")
        metrics += len([q for q in queries if "MetricStat" in q]) if queries else 1
    assert metrics == capacity.REGION_ALARM_METRICS
    (acl,) = multi_region.of_type(stack, "AWS::WAFv2::WebACL").values()
    assert len(acl["Properties"]["Rules"]) == capacity.REGION_WAF_RULES
    replicated = [
        secret
        for name in (GLOBAL, REGIONAL[PRIMARY])
        for secret in multi_region.of_type(name, "AWS::SecretsManager::Secret").values()
        if {"Region": SECONDARY} in secret["Properties"].get("ReplicaRegions", [])
    ]
    assert len(replicated) == capacity.REGION_SECRET_REPLICAS
    (check,) = multi_region.of_type(stack, "AWS::Route53::HealthCheck").values()
    config = check["Properties"]["HealthCheckConfig"]
    # the priced optional features: HTTPS and the fast (10 s) interval, nothing else
    assert (config["Type"], config["RequestInterval"]) == ("HTTPS", 10) and capacity.REGION_HEALTH_CHECK_FEATURES == 2
    assert "SearchString" not in config and not config.get("MeasureLatency")
    assert len(multi_region.of_type(stack, "AWS::KMS::Key")) == 1
    assert len(multi_region.of_type(stack, "AWS::CloudWatch::Dashboard")) == 1
    assert "## A second and a third region" in (ROOT / "docs" / "capacity.md").read_text(encoding="utf-8")


def test_each_extra_region_pays_every_write_unit_again_and_its_bytes():
    # From the measurements docs/capacity.md is written from: a replica applies each write to
    # its table and indexes, so it is billed the same write units as the region that took it.
    raw = json.loads((ROOT / "bench" / "capacity-measurements.json").read_text())
    measured = [capacity.Measurement(**m) for m in raw["measurements"]]
    largest = max(m.size for m in measured)
    by_request = {m.request: m for m in measured if m.size == largest}
    prices = capacity.load_prices()
    units, unit_cost, transfer = capacity.replicated_write_costs(by_request, prices)
    origin_units = sum(share * by_request[name].wcu for name, share in capacity.mix().items())
    assert units == pytest.approx(origin_units * 1e6)
    price = prices["multiRegion"]["dynamodbOnDemandPerMillionReplicatedWriteUnits"]
    assert unit_cost == pytest.approx(origin_units * price)
    writes = sum(share for name, share in capacity.mix().items() if by_request[name].wcu)
    assert transfer == pytest.approx(writes * capacity.IDEA_BYTES / 1e3 * 0.02)
    # every fixed item is priced, and prod also keeps its provisioned minimum in each replica
    prod, dev = capacity.region_fixed_costs(prices, (30, 15)), capacity.region_fixed_costs(prices, None)
    assert set(prod) - set(dev) == {"provisioned minimum 30 RCU + 15 replicated WCU"}
    assert all(cost > 0 for cost in prod.values())
    assert "FROM MEMORY" in prices["multiRegion"]["note"]

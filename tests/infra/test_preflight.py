"""``skills-ideas preflight``: what it finds in an account, on the stages' real templates, with
AWS emulated by moto (and the two Lambda/CloudFront reads moto lacks answered in place of AWS).
Nothing here reaches AWS."""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stdout
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.components.waf import MANAGED_RULES
from infra.config import STAGES, is_example
from skills_ideas_tools import cli, preflight
from skills_ideas_tools.preflight import (
    StackState,
    Templates,
    check_bootstrap,
    check_concurrency,
    check_managed_rules,
    check_names,
    check_settings,
    check_stack,
    concurrency_needs,
    fixed_names,
    report,
    run_checks,
)

REAL_ORIGIN = "https://skills.yourcompany.com"
REAL_EMAIL = "oncall@yourcompany.com"


def _templates(stack, *, origin: str | None = None, email: str | None = None) -> Templates:
    """The stage's synthesized template, optionally with other deployment settings baked in."""
    template = copy.deepcopy(stack.json)
    for resource in template["Resources"].values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        if origin and "CORS_ALLOW_ORIGIN" in variables:
            variables["CORS_ALLOW_ORIGIN"] = origin
        if email and resource["Type"] == "AWS::SNS::Subscription":
            resource["Properties"]["Endpoint"] = email
    return Templates(stack.config.stage, template)


def _answer(session: boto3.Session, service_operation: str, response: dict[str, Any]) -> None:
    """Answer one AWS call that moto does not implement, for every client of ``session``."""

    def handler(**_: Any) -> tuple[Any, dict[str, Any]]:
        return SimpleNamespace(status_code=200), copy.deepcopy(response)

    session.events.register(f"before-call.{service_operation}", handler)


def _managed_groups(session: boto3.Session, extra_rules: tuple[str, ...] = (), dropped: tuple[str, ...] = ()) -> None:
    """AWS's managed rule groups as DescribeManagedRuleGroup describes them (moto lacks it)."""

    def handler(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        group = json.loads(params["body"])["Name"]  # the request as serialized for WAF's JSON API
        rules = [*MANAGED_RULES[group], *extra_rules]
        return SimpleNamespace(status_code=200), {"Rules": [{"Name": r} for r in rules if r not in dropped]}

    session.events.register("before-call.wafv2.DescribeManagedRuleGroup", handler)


def _account(
    session: boto3.Session,
    *,
    quota: int = 1000,
    unreserved: int = 1000,
    cache_policies: tuple[str, ...] = (),
    managed_groups: bool = True,
) -> None:
    """The account's Lambda limits, custom CloudFront policies and AWS's managed WAF groups
    (reads moto lacks)."""
    if managed_groups:
        _managed_groups(session)
    _answer(
        session,
        "lambda.GetAccountSettings",
        {"AccountLimit": {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}},
    )
    items = [{"Type": "custom", "CachePolicy": {"CachePolicyConfig": {"Name": name}}} for name in cache_policies]
    _answer(
        session,
        "cloudfront.ListCachePolicies",
        {"CachePolicyList": {"MaxItems": 100, "Quantity": len(items), **({"Items": items} if items else {})}},
    )
    _answer(
        session,
        "cloudfront.ListResponseHeadersPolicies",
        {"ResponseHeadersPolicyList": {"MaxItems": 100, "Quantity": 0}},
    )


@pytest.fixture
def aws():
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def _bootstrap(session: boto3.Session, version: str = "30") -> None:
    session.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value=version, Type="String")


def _failed(findings) -> list[str]:
    return [f.message for f in findings if not f.ok and f.blocking]


# ------------------------------------------------------------------ concurrency
def test_prod_on_a_new_account_with_a_quota_of_50_is_told_what_to_request(prod, aws):
    # Given prod's template and an account with the quota new accounts often get
    _account(aws, quota=50, unreserved=50)
    needs = concurrency_needs(_templates(prod))
    # When the concurrency is checked
    (finding,) = check_concurrency(aws.client("lambda"), _templates(prod), deployed=False)
    # Then it fails, naming what to request and how
    assert not finding.ok and finding.blocking
    assert f"Request a quota of at least {needs.total + 100}" in finding.message
    assert f"--quota-code L-B99A9384 --desired-value {needs.total + 100}" in finding.message
    assert "login provisions" in finding.message


def test_what_other_functions_reserve_is_not_available_to_the_stage(prod, aws):
    needs = concurrency_needs(_templates(prod))
    # 1,000 executions, 950 reserved by other functions: 50 left, of which 100 must stay free
    _account(aws, quota=1000, unreserved=50)
    (finding,) = check_concurrency(aws.client("lambda"), _templates(prod), deployed=False)
    assert not finding.ok
    assert f"at least {950 + needs.total + 100}" in finding.message


def test_prod_fits_an_account_with_the_default_quota(prod, aws):
    _account(aws, quota=1000, unreserved=1000)
    (finding,) = check_concurrency(aws.client("lambda"), _templates(prod), deployed=False)
    assert finding.ok, finding.message


def test_dev_deploys_even_into_an_account_with_a_quota_of_10(dev, aws):
    _account(aws, quota=10, unreserved=10)
    (finding,) = check_concurrency(aws.client("lambda"), _templates(dev), deployed=False)
    assert finding.ok and "nothing" in finding.message


# ------------------------------------------------------------------ bootstrap
@pytest.mark.parametrize(("version", "ok"), [(None, False), ("5", False), ("6", True), ("30", True)])
def test_the_cdk_bootstrap_version_must_be_one_the_template_accepts(prod, aws, version, ok):
    if version:
        _bootstrap(aws, version)
    (finding,) = check_bootstrap(aws.client("ssm"), _templates(prod), "123456789012")
    assert finding.ok is ok, finding.message
    if not ok:
        assert "npx cdk bootstrap aws://123456789012/us-east-1" in finding.message


def test_the_required_bootstrap_version_is_read_from_the_template(prod):
    assert preflight.required_bootstrap_version(_templates(prod)) == ("/cdk-bootstrap/hnb659fds/version", 6)


# ------------------------------------------------------------------ settings
def test_prod_with_the_example_settings_of_make_synth_does_not_deploy(prod):
    findings = check_settings(_templates(prod), STAGES["prod"].required_settings, is_example)
    failed = _failed(findings)
    assert any("example" in message and "SKILLS_IDEAS_CORS_ORIGIN" in message for message in failed)
    assert any("example" in message and "SKILLS_IDEAS_ALARM_EMAILS" in message for message in failed)


def test_prod_with_real_settings_passes_and_reminds_to_confirm_the_subscription(prod):
    templates = _templates(prod, origin=REAL_ORIGIN, email=REAL_EMAIL)
    findings = check_settings(templates, STAGES["prod"].required_settings, is_example)
    assert not _failed(findings)
    assert any("confirm the subscription" in f.message for f in findings)


def test_dev_may_be_open_to_any_origin_and_alarm_nobody_with_a_warning(dev):
    findings = check_settings(_templates(dev), STAGES["dev"].required_settings, is_example)
    assert not _failed(findings)
    assert [f.message for f in findings if not f.ok] == [
        "no alarm e-mail: alarms would notify nobody; set SKILLS_IDEAS_ALARM_EMAILS"
    ]


# ------------------------------------------------------------------ stack state and names
@pytest.mark.parametrize(
    ("state", "ok", "blocking"),
    [
        (StackState(False), True, True),
        (StackState(True, "UPDATE_COMPLETE"), True, True),
        (StackState(True, "ROLLBACK_COMPLETE"), False, False),
        (StackState(True, "UPDATE_IN_PROGRESS"), False, True),
        (StackState(True, "UPDATE_ROLLBACK_FAILED"), False, True),
    ],
)
def test_the_stack_must_be_in_a_state_a_deploy_starts_from(state, ok, blocking):
    (finding,) = check_stack(state, "SkillsIdeas-prod")
    assert (finding.ok, finding.blocking) == (ok, blocking), finding.message


def test_the_stacks_fixed_names_are_the_literal_ones_and_nothing_retained_is_among_them(prod):
    names = fixed_names(_templates(prod))
    kinds = {name.resource_type for name in names}
    assert "AWS::Lambda::Function" in kinds and "AWS::WAFv2::WebACL" in kinds
    # what is retained carries no fixed name (test_lifecycle.py): no table, secret, log group
    assert not kinds & {"AWS::DynamoDB::GlobalTable", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"}


def test_names_taken_by_leftovers_fail_the_check_and_are_listed(prod, aws):
    # Given an account holding leftovers under names the stack creates
    _account(aws)
    templates = _templates(prod)
    alarm = next(n.name for n in fixed_names(templates) if n.resource_type == "AWS::CloudWatch::Alarm")
    aws.client("sns").create_topic(Name="skills-ideas-prod-alarms")
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm,
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    aws.client("wafv2").create_web_acl(
        Name="skills-ideas-prod-cloudfront",
        Scope="CLOUDFRONT",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "x"},
    )
    # When a first create is checked
    lookup = preflight.NameLookup(aws, "123456789012")
    (finding,) = check_names(lookup, templates, StackState(False))
    # Then the deploy would fail, and each leftover is named
    assert not finding.ok and finding.blocking
    for taken in ("skills-ideas-prod-alarms", alarm, "skills-ideas-prod-cloudfront"):
        assert taken in finding.message
    # But names the stage's own stack holds are its own (an update)
    owned = StackState(
        True, "UPDATE_COMPLETE", frozenset({"skills-ideas-prod-alarms", alarm, "skills-ideas-prod-cloudfront"})
    )
    (finding,) = check_names(lookup, templates, owned)
    assert finding.ok, finding.message


def test_a_cloudfront_cache_policy_of_the_same_name_is_found(prod, aws):
    templates = _templates(prod)
    name = next(n.name for n in fixed_names(templates) if n.resource_type == "AWS::CloudFront::CachePolicy")
    _account(aws, cache_policies=(name, "someone-elses-policy"))
    (finding,) = check_names(preflight.NameLookup(aws, "123456789012"), templates, StackState(False))
    assert not finding.ok and name in finding.message


# ------------------------------------------------------------------ managed WAF rules
def test_the_overridden_managed_rules_are_the_groups_rules(prod, aws):
    _managed_groups(aws)
    findings = check_managed_rules(aws.client("wafv2"), _templates(prod))
    assert len(findings) == len(MANAGED_RULES) and all(f.ok for f in findings)


def test_a_rule_aws_added_since_is_named_so_it_can_answer_in_the_envelope(prod, aws):
    _managed_groups(aws, extra_rules=("BrandNewRule_BODY",))
    findings = check_managed_rules(aws.client("wafv2"), _templates(prod))
    warnings = [f for f in findings if not f.ok]
    assert warnings and all(not f.blocking and "BrandNewRule_BODY" in f.message for f in warnings)


def test_an_override_of_a_rule_aws_removed_fails(prod, aws):
    _managed_groups(aws, dropped=("Log4JRCE_BODY",))
    findings = check_managed_rules(aws.client("wafv2"), _templates(prod))
    (failed,) = _failed(findings)
    assert "Log4JRCE_BODY" in failed and "MANAGED_RULES" in failed


# ------------------------------------------------------------------ the whole run
def test_a_ready_account_passes_and_the_command_says_so(prod, aws):
    _account(aws)
    _bootstrap(aws)
    findings = run_checks(aws, _templates(prod, origin=REAL_ORIGIN, email=REAL_EMAIL))
    out = io.StringIO()
    with redirect_stdout(out):
        code = report(findings, "prod")
    assert code == 0, out.getvalue()
    assert "Ready: make deploy STAGE=prod" in out.getvalue()
    checks = {f.check for f in findings}
    assert {"settings", "bootstrap", "account", "stack", "waf", "concurrency", "names"} <= checks


def test_an_unprepared_account_fails_with_every_problem_listed(prod, aws):
    _account(aws, quota=50, unreserved=50)  # and no bootstrap, and the example settings
    findings = run_checks(aws, _templates(prod))
    out = io.StringIO()
    with redirect_stdout(out):
        code = report(findings, "prod")
    assert code == 1
    text = out.getvalue()
    assert text.count("[FAIL]") == len(_failed(findings)) >= 4
    assert "a deploy of prod would fail" in text


def test_the_command_is_wired_and_needs_the_synthesized_templates(tmp_path, capsys):
    args = cli.build_parser().parse_args(["preflight", "--stage", "prod", "--assembly", str(tmp_path)])
    assert args.run(args) == 2
    assert "synthesize the stage first" in capsys.readouterr().err


def test_a_stage_in_several_regions_is_refused_with_the_reason(multi_region, capsys):
    args = cli.build_parser().parse_args(["preflight", "--stage", "prod", "--assembly", str(multi_region.assembly_dir)])
    assert args.run(args) == 2
    assert "several regions" in capsys.readouterr().err


def test_templates_load_from_a_cloud_assembly(prod):
    loaded = Templates.load(prod.assembly_dir, "prod")
    assert loaded.template == prod.json
    assert json.dumps(loaded.template)  # plain data

"""Production differs from dev exactly where it should; deployment settings come from outside
the repository; every stage fits an account's Lambda concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from infra.config import (
    EXAMPLE_SETTINGS,
    SETTINGS,
    STAGES,
    FunctionSettings,
    SettingsError,
    deployment_config,
    example_context,
    is_example,
    stage_config,
)
from infra.stack import ROOT
from skills_ideas_tools.preflight import LAMBDA_UNRESERVED_MINIMUM, Templates, concurrency_needs
from tests.infra.helpers import function_of_alias

LATENCY_CRITICAL = {"login", "list_ideas", "list_skills"}


def _provisioned(stack) -> dict[str, int]:
    names = function_of_alias(stack)
    return {
        names[lid]: alias["Properties"]["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"]
        for lid, alias in stack.of_type("AWS::Lambda::Alias").items()
        if "ProvisionedConcurrencyConfig" in alias["Properties"]
    }


def test_prod_keeps_latency_critical_functions_warm_with_a_fixed_provisioned_concurrency(prod):
    assert set(_provisioned(prod)) == LATENCY_CRITICAL
    assert all(count >= 1 for count in _provisioned(prod).values())
    # Not autoscaled: Application Auto Scaling cannot change provisioned concurrency while
    # CodeDeploy weights the alias (prod canaries every deploy), so the two would clash.
    assert prod.config.canary_deploys
    assert not prod.of_type("AWS::ApplicationAutoScaling::ScalableTarget")
    assert not prod.of_type("AWS::ApplicationAutoScaling::ScalingPolicy")


def test_dev_has_no_provisioned_concurrency(dev):
    assert _provisioned(dev) == {}


def test_no_stage_reserves_concurrency_and_each_fits_the_account_quota_it_documents(stack):
    # Reservations come out of the account quota, and Lambda keeps 100 unreserved: prod
    # reserving 150 (plus its provisioned concurrency) could not deploy into an account with
    # the 10 or 50 executions new accounts often get. Per-client limits are the WAF's.
    needs = concurrency_needs(Templates(stack.config.stage, stack.json))
    assert needs.reserved == {}
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    if stack.config.stage == "dev":
        # dev takes nothing from the quota: it deploys into any account
        assert needs.total == 0 and needs.quota_needed == 0
    else:
        # the first-deploy checklist asks for a quota the stage fits in
        assert needs.total == sum(_provisioned(stack).values())
        assert needs.quota_needed == needs.total + LAMBDA_UNRESERVED_MINIMUM
        assert f"at least **{needs.quota_needed}**" in operations


def test_prod_retains_data_and_dev_does_not(dev, prod):
    for resource_type in ("AWS::DynamoDB::GlobalTable", "AWS::SecretsManager::Secret", "AWS::S3::Bucket"):
        assert {r["DeletionPolicy"] for r in prod.of_type(resource_type).values()} <= {"RetainExceptOnCreate", "Delete"}
        assert "RetainExceptOnCreate" in {r["DeletionPolicy"] for r in prod.of_type(resource_type).values()}
        assert {r["DeletionPolicy"] for r in dev.of_type(resource_type).values()} == {"Delete"}


def test_prod_canaries_while_dev_shifts_all_at_once(dev, prod):
    def configs(stack):
        groups = stack.of_type("AWS::CodeDeploy::DeploymentGroup").values()
        return {g["Properties"]["DeploymentConfigName"] for g in groups}

    assert configs(prod) == {"CodeDeployDefault.LambdaCanary10Percent5Minutes"}
    assert configs(dev) == {"CodeDeployDefault.LambdaAllAtOnce"}


def test_prod_takes_its_origin_and_alarm_emails_from_the_settings(prod):
    assert prod.config.cors_origins == (EXAMPLE_SETTINGS["corsOrigin"],)
    assert prod.config.alarm_emails == (EXAMPLE_SETTINGS["alarmEmails"],)
    # nothing deployment-specific is written in the repository's stage config
    assert STAGES["prod"].cors_origins == () and STAGES["prod"].alarm_emails == ()


def test_prod_refuses_to_synthesize_without_its_settings_and_says_what_to_set():
    with pytest.raises(SettingsError) as refused:
        deployment_config("prod")
    message = str(refused.value)
    for key, variable in SETTINGS.items():
        assert key in message and variable in message
    with pytest.raises(SettingsError, match="alarmEmails"):
        deployment_config("prod", {"corsOrigin": "https://app.example.org"})


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"corsOrigin": "*"}, "any web page"),
        ({"corsOrigin": "http://app.example.org"}, "not an origin"),
        ({"corsOrigin": "https://app.example.org/path"}, "not an origin"),
        ({"alarmEmails": "oncall"}, "not a list of e-mail"),
    ],
)
def test_prod_refuses_settings_that_are_not_an_origin_or_e_mails(settings, complaint):
    valid = {"corsOrigin": "https://app.example.org", "alarmEmails": "a@example.org, b@example.org"}
    with pytest.raises(SettingsError, match=complaint):
        deployment_config("prod", {**valid, **settings})
    config = deployment_config("prod", valid)
    assert (config.cors_origins, config.alarm_emails) == (
        ("https://app.example.org",),
        ("a@example.org", "b@example.org"),
    )


def test_dev_needs_no_settings_but_takes_them():
    assert deployment_config("dev").cors_origins == ("*",)
    assert deployment_config("dev", {"alarmEmails": "me@example.org"}).alarm_emails == ("me@example.org",)


def test_the_app_fails_with_the_message_not_a_traceback_when_prod_settings_are_unset():
    # What `cdk synth -c stage=prod` runs, with neither context nor environment settings
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS.values()}
    result = subprocess.run(
        [sys.executable, "-c", "import runpy; runpy.run_path('infra/app.py', run_name='__main__')"],
        cwd=ROOT,
        env={**env, "CDK_CONTEXT_JSON": '{"stage": "prod"}'},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "stage prod cannot be synthesized without" in result.stderr
    assert "SKILLS_IDEAS_CORS_ORIGIN" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_synth_gives_prod_example_settings_that_preflight_refuses():
    assert example_context("dev") == ""
    assert example_context("prod") == " ".join(f"-c {k}={v}" for k, v in EXAMPLE_SETTINGS.items())
    assert all(is_example(value) for value in EXAMPLE_SETTINGS.values())
    assert not is_example("https://skills.yourcompany.com") and not is_example("oncall@yourcompany.com")


def test_unknown_stage_and_wrong_region_are_refused():
    with pytest.raises(ValueError, match="unknown stage"):
        stage_config("staging")
    with pytest.raises(ValueError, match="us-east-1"):
        replace(STAGES["dev"], region="eu-west-1")


def test_function_settings_have_no_autoscaling_knob_to_clash_with_canaries():
    assert set(FunctionSettings.__dataclass_fields__) == {
        "memory_mb",
        "timeout_seconds",
        "reserved_concurrency",
        "provisioned",
    }

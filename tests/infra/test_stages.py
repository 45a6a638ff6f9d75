"""Production differs from dev exactly where it should."""

from __future__ import annotations

import pytest

from infra.config import STAGES, stage_config
from tests.infra.helpers import function_of_alias

LATENCY_CRITICAL = {"login", "list_ideas", "list_skills"}


def _provisioned(stack) -> set[str]:
    names = function_of_alias(stack)
    return {
        names[lid]
        for lid, alias in stack.of_type("AWS::Lambda::Alias").items()
        if "ProvisionedConcurrencyConfig" in alias["Properties"]
    }


def test_prod_keeps_latency_critical_functions_warm_with_autoscaled_provisioned_concurrency(prod):
    assert _provisioned(prod) == LATENCY_CRITICAL
    targets = prod.of_type("AWS::ApplicationAutoScaling::ScalableTarget")
    lambda_targets = [t for t in targets.values() if t["Properties"]["ServiceNamespace"] == "lambda"]
    assert len(lambda_targets) == len(LATENCY_CRITICAL)
    for target in lambda_targets:
        assert target["Properties"]["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
        assert target["Properties"]["MaxCapacity"] > target["Properties"]["MinCapacity"]
    policies = prod.of_type("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    utilization = [
        p
        for p in policies
        if p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        == "LambdaProvisionedConcurrencyUtilization"
    ]
    assert len(utilization) == len(LATENCY_CRITICAL)


def test_dev_has_no_provisioned_concurrency(dev):
    assert _provisioned(dev) == set()
    assert not dev.of_type("AWS::ApplicationAutoScaling::ScalableTarget")


def test_prod_retains_data_and_dev_does_not(dev, prod):
    for resource_type in ("AWS::DynamoDB::GlobalTable", "AWS::SecretsManager::Secret"):
        assert {r["DeletionPolicy"] for r in prod.of_type(resource_type).values()} == {"Retain"}
        assert {r["DeletionPolicy"] for r in dev.of_type(resource_type).values()} == {"Delete"}


def test_prod_canaries_while_dev_shifts_all_at_once(dev, prod):
    def configs(stack):
        groups = stack.of_type("AWS::CodeDeploy::DeploymentGroup").values()
        return {g["Properties"]["DeploymentConfigName"] for g in groups}

    assert configs(prod) == {"CodeDeployDefault.LambdaCanary10Percent5Minutes"}
    assert configs(dev) == {"CodeDeployDefault.LambdaAllAtOnce"}


def test_prod_cors_is_not_wide_open():
    assert stage_config("prod").cors_origins != ("*",)


def test_unknown_stage_and_wrong_region_are_refused():
    with pytest.raises(ValueError, match="unknown stage"):
        stage_config("staging")
    from dataclasses import replace

    with pytest.raises(ValueError, match="us-east-1"):
        replace(STAGES["dev"], region="eu-west-1")

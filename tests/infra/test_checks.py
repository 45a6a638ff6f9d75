"""cdk-nag ran and passed on every stage; cfn-lint finds no error in any template; outputs."""

from __future__ import annotations

import json

from infra import cfn_lint
from tests.infra.conftest import STAGES


def test_cdk_nag_ran_and_every_finding_is_acknowledged_with_a_reason(stack):
    report = json.loads((stack.assembly_dir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    assert nag["suppressedViolations"], "cdk-nag reported nothing at all: is it running?"
    for violation in nag["suppressedViolations"]:
        assert len(violation["reason"]) > 20, violation["ruleName"]


def test_cfn_lint_finds_no_error_in_any_stage(synthesized):
    dirs = [synthesized(stage).assembly_dir for stage in STAGES]
    result = cfn_lint.run(dirs)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_stack_stays_within_cloudformations_500_resources(dev, prod):
    # A stack over the limit synthesizes only until CloudFormation refuses it at deploy time
    for stack in (dev, prod):
        assert len(stack.resources) <= 500

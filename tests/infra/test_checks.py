"""cdk-nag ran and passed on every stage; cfn-lint finds no error in any template; every stack
(nested ones too) fits CloudFormation's limits with room to grow."""

from __future__ import annotations

import json

from infra import cfn_lint
from skills_ideas_tools.assembly import nested_template_files
from tests.infra.conftest import STAGES
from tests.infra.helpers import functions_by_name, refs_in


def test_cdk_nag_ran_and_every_finding_is_acknowledged_with_a_reason(stack):
    report = json.loads((stack.assembly_dir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    assert nag["suppressedViolations"], "cdk-nag reported nothing at all: is it running?"
    for violation in nag["suppressedViolations"]:
        assert len(violation["reason"]) > 20, violation["ruleName"]


def test_cdk_nag_checks_the_nested_functions_stack_too(stack):
    # The functions' findings (Python 3.12 runtime, the X-Ray wildcard) are acknowledged on
    # resources of the nested stack: cdk-nag visited them.
    report = json.loads((stack.assembly_dir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    nested_prefix = f"{stack.config.stack_name}/Functions/Functions/"
    checked = {
        violation["ruleName"].split("[")[0]
        for violation in nag["suppressedViolations"]
        for construct in violation["violatingConstructs"]
        if construct["constructPath"].startswith(nested_prefix)
    }
    assert {"AwsSolutions-L1", "AwsSolutions-IAM5"} <= checked


def test_cfn_lint_finds_no_error_in_any_stage(synthesized):
    dirs = [synthesized(stage).assembly_dir for stage in STAGES]
    linted = {path.name for path in cfn_lint.templates(dirs)}
    # every template CloudFormation receives, nested ones included
    for stage in STAGES:
        stacks = synthesized(stage).stacks
        assert stacks.nested, "the functions' nested stack is gone"
        assert set(nested_template_files(stacks.template).values()) <= linted
    result = cfn_lint.run(dirs)
    assert result.returncode == 0, result.stdout + result.stderr


#: CloudFormation's limits per template: 500 resources, 200 parameters, 200 outputs.
RESOURCE_LIMIT, PARAMETER_LIMIT, OUTPUT_LIMIT = 500, 200, 200
#: What each stack must leave free, so that the next endpoints (8 to 12 resources each, two
#: outputs of the functions' stack each) do not break the build.
RESOURCE_ROOM, REFERENCE_ROOM = 50, 20


def test_each_stack_stays_within_cloudformations_500_resources_with_room(stack):
    # A stack over the limit synthesizes only until CloudFormation refuses it at deploy time.
    # Every template: the stage's and each nested stack's.
    templates = stack.stacks.all()
    assert len(templates) >= 2
    for template in templates:
        assert len(template["Resources"]) <= RESOURCE_LIMIT - RESOURCE_ROOM, template.get("Description")
        assert len(template.get("Parameters", {})) <= PARAMETER_LIMIT - REFERENCE_ROOM
        assert len(template.get("Outputs", {})) <= OUTPUT_LIMIT - REFERENCE_ROOM


def test_the_functions_live_in_their_own_nested_stack(stack):
    ours = set(functions_by_name(stack).values())
    (functions_stack,) = stack.stacks.nested.values()
    nested = {lid for lid, r in functions_stack.template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    assert ours == nested
    assert not ours & set(stack.stacks.template["Resources"])


def test_the_merged_view_resolves_every_reference_between_the_stacks(stack):
    # Each parameter of the nested stack is replaced by what the stage's stack passes, each
    # nested output by its value: what remains names a resource, a parameter of the stage's
    # stack or a pseudo parameter, as in one stack.
    known = set(stack.resources) | set(stack.json.get("Parameters", {}))
    assert refs_in(stack.resources) <= known
    assert refs_in(stack.json.get("Outputs", {})) <= known

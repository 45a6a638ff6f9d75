"""A stack and its nested stacks read as one template (``skills_ideas_tools.assembly``): what the
operator commands and the infrastructure tests see of a stage whose functions are nested."""

from __future__ import annotations

import json

import pytest

from skills_ideas_tools import assembly

NESTED_FILE = "StageFunctions.nested.template.json"


def _stage(tmp_path, nested_resources: dict) -> assembly.StackTemplates:
    (tmp_path / NESTED_FILE).write_text(
        json.dumps(
            {
                "Parameters": {"referencetoTableArn": {"Type": "String"}},
                "Resources": nested_resources,
                "Outputs": {"FnArn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}}},
            }
        )
    )
    stage = tmp_path / "Stage.template.json"
    stage.write_text(
        json.dumps(
            {
                "Parameters": {"BootstrapVersion": {"Type": "String"}},
                "Resources": {
                    "Table": {"Type": "AWS::DynamoDB::GlobalTable"},
                    "Nested": {
                        "Type": "AWS::CloudFormation::Stack",
                        "Properties": {"Parameters": {"referencetoTableArn": {"Fn::GetAtt": ["Table", "Arn"]}}},
                        "Metadata": {"aws:asset:path": NESTED_FILE},
                    },
                    "Method": {
                        "Type": "AWS::ApiGateway::Method",
                        "DependsOn": ["Nested", "Table"],
                        "Properties": {"Uri": {"Fn::GetAtt": ["Nested", "Outputs.FnArn"]}},
                    },
                },
                "Outputs": {"TableName": {"Value": {"Ref": "Table"}}},
            }
        )
    )
    return assembly.load(stage)


def test_the_merged_template_reads_like_one_stack(tmp_path):
    policy = {"Type": "AWS::IAM::Policy", "Properties": {"Resource": {"Ref": "referencetoTableArn"}}}
    stacks = _stage(tmp_path, {"Fn": {"Type": "AWS::Lambda::Function"}, "Policy": policy})

    merged = stacks.merged()

    assert set(merged["Resources"]) == {"Table", "Method", "Fn", "Policy"}
    # the parameter becomes what the parent passes, the output what it stands for
    assert merged["Resources"]["Policy"]["Properties"]["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert merged["Resources"]["Method"]["Properties"]["Uri"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    # a dependency on the nested stack is a dependency on what it held, now in the same template
    assert merged["Resources"]["Method"]["DependsOn"] == ["Table"]
    assert merged["Parameters"] == {"BootstrapVersion": {"Type": "String"}}
    assert merged["Outputs"] == {"TableName": {"Value": {"Ref": "Table"}}}
    assert [len(t["Resources"]) for t in stacks.all()] == [3, 2]


def test_a_logical_id_in_both_stacks_is_refused(tmp_path):
    stacks = _stage(tmp_path, {"Fn": {"Type": "AWS::Lambda::Function"}, "Table": {"Type": "AWS::SQS::Queue"}})
    with pytest.raises(ValueError, match="logical id Table"):
        stacks.merged()


def test_a_nested_stack_without_its_template_file_is_refused():
    template = {"Resources": {"Nested": {"Type": "AWS::CloudFormation::Stack", "Properties": {}}}}
    with pytest.raises(ValueError, match="does not name its template"):
        assembly.nested_template_files(template)

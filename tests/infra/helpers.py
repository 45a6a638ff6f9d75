"""Read the synthesized template the way an operator thinks of it: by function and by route.

The stage's stack and its nested stacks are read as one template (``Synthesized.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from infra.config import StageConfig
from skills_ideas_tools.assembly import StackTemplates
from skills_ideas_tools.preflight import ref as ref  # one reading of Ref/GetAtt for tools and tests


@dataclass(frozen=True)
class Synthesized:
    config: StageConfig
    assembly_dir: Path
    template: Template
    json: dict[str, Any]
    #: The account settings stack synthesized with it.
    account: dict[str, Any]
    #: The stage's stack and its nested stacks, each template as synthesized (``json`` merges them).
    stacks: StackTemplates

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.json["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == resource_type}

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})


def refs_in(value: Any) -> set[str]:
    """Every logical id referenced anywhere inside ``value`` (pseudo parameters left out)."""
    found: set[str] = set()
    if isinstance(value, dict):
        target = ref(value)
        if target and not target.startswith("AWS::"):
            found.add(target)
        for item in value.values():
            found |= refs_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs_in(item)
    return found


def functions_by_name(stack: Synthesized) -> dict[str, str]:
    """Manifest function name -> logical id of its AWS::Lambda::Function (ours only)."""
    prefix = f"{stack.config.prefix}-"
    found = {}
    for lid, resource in stack.of_type("AWS::Lambda::Function").items():
        name = resource["Properties"].get("FunctionName")
        if isinstance(name, str) and name.startswith(prefix):
            found[name.removeprefix(prefix)] = lid
    return found


def function_of_alias(stack: Synthesized) -> dict[str, str]:
    """Alias logical id -> manifest function name."""
    by_lid = {lid: name for name, lid in functions_by_name(stack).items()}
    return {
        lid: by_lid[ref(alias["Properties"]["FunctionName"])]
        for lid, alias in stack.of_type("AWS::Lambda::Alias").items()
    }


def resource_paths(stack: Synthesized) -> dict[str, str]:
    """API Gateway resource logical id -> its full path ("/" for the root)."""
    resources = stack.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(lid: str) -> str:
        if lid not in paths:
            props = resources[lid]["Properties"]
            parent = props["ParentId"]
            parent_path = "" if "Fn::GetAtt" in parent else path_of(ref(parent))
            paths[lid] = f"{parent_path}/{props['PathPart']}"
        return paths[lid]

    for lid in resources:
        path_of(lid)
    return paths


def methods(stack: Synthesized) -> list[tuple[str, str, dict[str, Any]]]:
    """(HTTP method, path, properties) of every API Gateway method."""
    paths = resource_paths(stack)
    found = []
    for method in stack.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = "/" if "Fn::GetAtt" in resource else paths[ref(resource)]
        found.append((props["HttpMethod"], path, props))
    return found


def role_actions(stack: Synthesized) -> dict[str, set[str]]:
    """Manifest function name -> every IAM action its role holds (inline policies)."""
    role_to_function = {ref(stack.props(lid)["Role"]): name for name, lid in functions_by_name(stack).items()}
    actions: dict[str, set[str]] = {name: set() for name in role_to_function.values()}
    for policy in stack.of_type("AWS::IAM::Policy").values():
        for role in policy["Properties"].get("Roles", []):
            name = role_to_function.get(ref(role))
            if name is None:
                continue
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                listed = statement["Action"]
                actions[name].update([listed] if isinstance(listed, str) else listed)
    return actions


@dataclass(frozen=True)
class MultiRegionApp:
    """A stage synthesized in several regions: every stack's template (with its nested stacks)."""

    config: StageConfig
    assembly_dir: Path
    #: Stack name -> the stack and its nested stacks, each template as synthesized.
    stacks: dict[str, StackTemplates]
    #: Stack name -> the region it deploys to.
    regions: dict[str, str]

    def merged(self, stack_name: str) -> dict[str, Any]:
        """One stack with its nested stacks, as one template."""
        return self.stacks[stack_name].merged()

    def of_type(self, stack_name: str, resource_type: str) -> dict[str, dict[str, Any]]:
        resources = self.merged(stack_name)["Resources"]
        return {lid: r for lid, r in resources.items() if r["Type"] == resource_type}


def check_alarm_topic(resources: dict[str, dict[str, Any]], emails: tuple[str, ...]) -> str:
    """Assert that ``resources`` (one template's) hold one alarm topic as the stage needs it:
    encrypted with a rotating key CloudWatch may use, TLS only, CloudWatch of this account
    allowed to publish (a topic policy replaces SNS's default one: with only the TLS Deny in it,
    every alarm would fire into the void), ``emails`` subscribed. Returns the topic's logical id."""

    def of_type(resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in resources.items() if r["Type"] == resource_type}

    ((topic_id, topic),) = of_type("AWS::SNS::Topic").items()
    key = resources[ref(topic["Properties"]["KmsMasterKeyId"]) or ""]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert "cloudwatch.amazonaws.com" in json.dumps(key["KeyPolicy"])
    (policy,) = of_type("AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [
        s for s in statements if s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    actions = allow["Action"] if isinstance(allow["Action"], list) else [allow["Action"]]
    assert "sns:Publish" in actions and allow["Resource"] == {"Ref": topic_id}
    # only this account's alarms
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in json.dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    # the only Deny is for requests without TLS, and there is one
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert denies and all(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    assert {s["Properties"]["Endpoint"] for s in of_type("AWS::SNS::Subscription").values()} == set(emails)
    return topic_id

"""cdk-nag (AwsSolutions) on every synth, and acknowledgments that each carry a reason."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from aws_cdk import Acknowledgment, App, CfnElement, Names, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def add_checks(app: App) -> None:
    """Fail synth on any unacknowledged AwsSolutions finding (cdk-nag 3: a validation plugin)."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge rules on ``scope`` and everything under it.

    Keys are rule ids without the pack prefix; a finding with evidence must be acknowledged by
    its full id, e.g. ``{"IAM5[Resource::*]": "why"}`` (the bare ``IAM5`` does not cover it).
    """
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason) for rule, reason in reasons.items())
    )


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of an L2's resource, as cdk-nag prints it in evidence."""
    stack = Stack.of(construct)
    resource = construct.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource of its own")
    return stack.resolve(stack.get_logical_id(resource))


def nested_reference(construct: IConstruct, attribute: str) -> str:
    """The parameter through which a nested stack reads ``attribute`` (e.g. ``Arn``) of an L2's
    resource in its parent, as cdk-nag prints it in evidence (CDK names it
    ``referenceto<unique id of the resource><attribute>``)."""
    resource = construct.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource of its own")
    return f"referenceto{Names.node_unique_id(resource.node)}{attribute}"


_NOT_ALPHANUMERIC = re.compile("[^A-Za-z0-9]")


def _unique_id(components: list[str]) -> str:
    """CDK's ``makeUniqueId`` of a path: its readable part, then eight hex digits of its MD5."""
    components = [c for c in components if c != "Default"]
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    kept: list[str] = []
    for component in components:
        if not kept or not kept[-1].endswith(component):
            kept.append(component)
    return "".join(_NOT_ALPHANUMERIC.sub("", c) for c in kept if c != "Resource")[:240] + digest


def cross_region_reference(
    construct: IConstruct, consumer: Stack, attribute: str | None = None, *, in_nested_stack: bool = False
) -> str:
    """A value of an L2's resource (its ``Ref``, or ``attribute``) as ``consumer``, a stack in
    another region, reads it with a strong cross-region reference, as cdk-nag prints it in
    evidence: the attribute of CDK's ``ExportsReader`` named after the SSM parameter the
    producer writes (or, in a nested stack of ``consumer``, the parameter that passes it on).
    Names follow CDK's own scheme; if an upgrade changes it, synth fails and prints the
    evidence to acknowledge instead."""
    producer = Stack.of(construct)
    lid = logical_id(construct)
    reference = {"Ref": lid} if attribute is None else {"Fn::GetAtt": [lid, attribute]}
    export = f"/cdk/exports/{consumer.stack_name}/" + _unique_id(
        [producer.stack_name, producer.region, json.dumps(reference, separators=(",", ":"))]
    )
    if in_nested_stack:
        reader = _unique_id([consumer.node.id, "ExportsReader", "Resource"])
        return f"<referenceto{reader}{_NOT_ALPHANUMERIC.sub('', export)}>"
    return f"<{_unique_id(['ExportsReader', 'Resource'])}.{export}>"


def managed_policy(name: str) -> str:
    """cdk-nag's evidence for an AWS managed policy, e.g. ``service-role/AWSLambdaBasicExecutionRole``."""
    return f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]"

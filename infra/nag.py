"""cdk-nag (AwsSolutions) on every synth, and acknowledgments that each carry a reason."""

from __future__ import annotations

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


def managed_policy(name: str) -> str:
    """cdk-nag's evidence for an AWS managed policy, e.g. ``service-role/AWSLambdaBasicExecutionRole``."""
    return f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]"

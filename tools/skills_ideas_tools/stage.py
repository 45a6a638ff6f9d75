"""A deployed stage as the operator commands (migrate, admin) see it: command-line options,
the operator's own AWS session, and the outputs of the stage's CloudFormation stack."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from skills_ideas.deployment import OUTPUT_BUCKET, OUTPUT_TABLE, STACK_NAME


class StageError(RuntimeError):
    """The stage's stack cannot be read; the message says why."""


def add_stage_arguments(parser: argparse.ArgumentParser, action: str, *, bucket: bool = False) -> None:
    target = parser.add_argument_group("deployed stage (default: the local state of make dev)")
    target.add_argument("--stage", help=f"{action} in this deployed stage, with your AWS credentials")
    target.add_argument("--stack", help=f"stack name (default: {STACK_NAME})")
    target.add_argument("--profile", help="AWS profile to use")
    target.add_argument("--region", help="AWS region (default: $AWS_REGION, else us-east-1)")
    target.add_argument("--table", help=f"table name (default: the stack output {OUTPUT_TABLE})")
    if bucket:
        target.add_argument("--bucket", help=f"catalogue bucket (default: the stack output {OUTPUT_BUCKET})")


@dataclass(frozen=True)
class Stage:
    session: Any  # boto3.Session
    region: str
    stack: str
    outputs: dict[str, str]


def open_stage(args: argparse.Namespace, client_config: Any = None) -> Stage:
    """The operator's session (profile, environment or SSO) and the stack's outputs."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    stack = args.stack or STACK_NAME.format(stage=args.stage)
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if args.profile:
        os.environ["AWS_PROFILE"] = args.profile  # clients made elsewhere (pynamodb, CDN) use it too
    session = boto3.Session(profile_name=args.profile, region_name=region)
    try:
        cloudformation = session.client("cloudformation", config=client_config)
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        raise StageError(f"cannot read stack {stack} in {region}: {error}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Stage(session, region, stack, outputs)


def missing_outputs(stage: Stage, names: list[str], flags: str) -> str:
    listed = ", ".join(sorted(stage.outputs)) or "none"
    return f"stack {stage.stack} has no output {' / '.join(map(repr, names))} (outputs: {listed}); pass {flags}"

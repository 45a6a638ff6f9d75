"""``skills-ideas admin grant|revoke USERNAME`` against a deployed stage (moto stands in for the
account: a CloudFormation stack with the TableName output, and the table). The local default
(the state of ``make dev``) is exercised end to end in test_local_gateway.py."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from skills_ideas import models, users
from skills_ideas.config import TableConfig
from skills_ideas_tools import cli

STACK_TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"TableName": {"Value": os.environ["TABLE_NAME"]}},
}


@pytest.fixture
def stack(aws):
    """Creates stacks in the (shared) moto world and removes them afterwards."""
    cloudformation = boto3.client("cloudformation")
    created: list[str] = []

    def create(name: str, template: dict) -> None:
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
        created.append(name)

    yield create
    for name in created:
        cloudformation.delete_stack(StackName=name)


@pytest.fixture
def stage(stack):
    """The dev stage's stack, and a registered user 'Ada'."""
    stack("SkillsIdeas-dev", STACK_TEMPLATE)
    models.bind(TableConfig.from_env())
    users.register("Ada", "correct horse battery")
    return "dev"


def role_of(username: str) -> str:
    found = users.find_login(username)
    assert found is not None
    return found[0].role


def test_grant_then_revoke_on_a_deployed_stage(stage, capsys):
    assert cli.main(["admin", "grant", "ada", "--stage", stage]) == 0
    assert role_of("Ada") == "admin"
    out = capsys.readouterr().out
    assert "Ada is now 'admin'" in out and os.environ["TABLE_NAME"] in out
    assert "takes effect within 60 s (the authorizer cache TTL of stage dev)" in out
    assert cli.main(["admin", "revoke", "ADA", "--stage", stage]) == 0
    assert role_of("Ada") == "user"


def test_an_unknown_user_is_an_error(stage, capsys):
    assert cli.main(["admin", "grant", "nobody", "--stage", stage]) == 1
    assert "No user named 'nobody'" in capsys.readouterr().err


def test_a_stack_without_the_table_output_says_so(stack, capsys):
    stack("SkillsIdeas-prod", {"Resources": STACK_TEMPLATE["Resources"]})
    assert cli.main(["admin", "grant", "ada", "--stage", "prod"]) == 1
    assert "no output 'TableName'" in capsys.readouterr().err


def test_a_missing_stack_says_so(aws, capsys):
    assert cli.main(["admin", "grant", "ada", "--stage", "qa"]) == 1
    assert "cannot read stack SkillsIdeas-qa" in capsys.readouterr().err


def test_table_can_be_named_explicitly(stage):
    assert cli.main(["admin", "grant", "ada", "--stage", "x", "--table", os.environ["TABLE_NAME"]]) == 0
    assert role_of("ada") == "admin"


def test_the_stack_name_follows_the_infra_configuration():
    from infra.config import stage_config
    from skills_ideas.deployment import STACK_NAME

    assert STACK_NAME.format(stage="prod") == stage_config("prod").stack_name


def test_the_role_reaches_the_token_at_the_next_login(stage):
    from skills_ideas import tokens
    from skills_ideas.config import AuthConfig

    auth = AuthConfig.from_env()
    before = users.authenticate("ada", "correct horse battery")
    assert before is not None and before.role == "user"
    cli.main(["admin", "grant", "ada", "--stage", stage])
    after = users.authenticate("ada", "correct horse battery")
    assert after is not None and after.role == "admin"
    token = tokens.issue(auth, user_id=after.id, username=after.username, role=after.role)
    assert tokens.verify(auth, token).role == "admin"

"""``skills-ideas admin sessions|end-sessions|finish-deletions`` against a deployed stage (moto
stands in for the account: a stack with the TableName output, and the table)."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from skills_ideas import account, ideas, models, passwords, sessions, users
from skills_ideas.config import TableConfig
from skills_ideas_tools import cli
from tests.support import authorize, bearer


@pytest.fixture
def stage(aws):
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TableName": {"Value": os.environ["TABLE_NAME"]}},
    }
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(StackName="SkillsIdeas-prod", TemplateBody=json.dumps(template))
    models.bind(TableConfig.from_env())
    yield "prod"
    cloudformation.delete_stack(StackName="SkillsIdeas-prod")


def _token(user: users.User, session: sessions.Session) -> str:
    from skills_ideas import tokens
    from skills_ideas.config import AuthConfig

    return tokens.issue(
        AuthConfig.from_env(), user_id=user.id, username=user.username, role=user.role, session_id=session.id
    )


def _allowed(token: str) -> bool:
    return authorize(bearer(token))["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_sessions_lists_and_end_sessions_ends_them_with_the_stages_delay(stage, capsys):
    user = users.register("Ada", "correct horse battery")
    now = sessions.clock()
    made = [
        sessions.create(user.id, epoch=0, ttl_seconds=600, now=now + n, user_agent=f"agent {n}", source_ip="::1")
        for n in range(2)
    ]
    assert cli.main(["admin", "sessions", "ada", "--stage", stage]) == 0
    out = capsys.readouterr().out
    assert "2 live session(s) of Ada" in out and all(s.id in out for s in made) and "agent 1" in out
    token = _token(user, made[0])
    assert _allowed(token)
    assert cli.main(["admin", "end-sessions", "ADA", "--stage", stage]) == 0
    out = capsys.readouterr().out
    assert "ended 2 session(s) of Ada" in out and "within 300 s (the authorizer cache TTL of stage prod)" in out
    assert not _allowed(token)


def test_finish_deletions_removes_what_a_large_deletion_left(stage, capsys, monkeypatch):
    user = users.User("u-big", "big", "user", models.now_iso())
    users.put_user(user, passwords.hash_password("correct horse battery"))
    for n in range(4):
        ideas.create(user.id, {"title": f"idea {n}", "description": None, "status": "Concept"})
    session = sessions.create(user.id, epoch=0, ttl_seconds=600, now=sessions.clock(), user_agent="", source_ip="")
    monkeypatch.setattr(account, "DELETE_IDEAS_PER_REQUEST", 1)
    from skills_ideas.http import Caller, Client

    deletion = account.delete_account(
        Caller(user.id, "big", "user", session.id), {"password": "correct horse battery"}, Client("::1", "")
    )
    assert not deletion.complete
    assert cli.main(["admin", "finish-deletions", "--stage", stage]) == 0
    assert "u-big: 3 ideas removed, done" in capsys.readouterr().out
    assert cli.main(["admin", "finish-deletions", "--stage", stage]) == 0
    assert "no deletion pending" in capsys.readouterr().out


def test_an_unknown_user_is_an_error(stage, capsys):
    assert cli.main(["admin", "end-sessions", "nobody", "--stage", stage]) == 1
    assert "No user named 'nobody'" in capsys.readouterr().err

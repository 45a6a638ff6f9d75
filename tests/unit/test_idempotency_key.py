"""POST /api/ideas with an Idempotency-Key: a retry answers the first response and creates
nothing; the same key with another body is a 422; keys belong to their caller."""

from __future__ import annotations

import os

import pytest

from tests.support import event, invoke

ADA = {"userId": "u-ada", "username": "ada", "role": "user"}
BOB = {"userId": "u-bob", "username": "bob", "role": "user"}


def post(body: dict, key: str | None, caller: dict = ADA) -> tuple[int, dict]:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return invoke("create_idea", event("POST", "/api/ideas", body=body, caller=caller, headers=headers))


def feed(user_id: str = "u-ada") -> list[dict]:
    return invoke("list_ideas", event("GET", "/api/ideas", query={"userId": user_id}))[1]["data"]


def test_a_retried_create_with_the_same_key_answers_the_first_response_and_creates_nothing(aws):
    # Given a create sent with a key
    first = post({"title": "Tide clock"}, "retry-7f3a")
    # When the client retries it (its connection dropped before the answer)
    again = post({"title": "Tide clock"}, "retry-7f3a")
    # Then the retry gets the very same 201, and there is one idea
    assert first[0] == again[0] == 201
    assert again[1] == first[1]
    assert [i["id"] for i in feed()] == [first[1]["data"]["id"]]


def test_the_same_key_with_another_body_is_422_and_writes_nothing(aws):
    assert post({"title": "Tide clock"}, "k-1")[0] == 201
    status, body = post({"title": "Something else"}, "k-1")
    assert status == 422
    assert body == {"success": False, "message": "This Idempotency-Key was already used with a different request body"}
    assert [i["title"] for i in feed()] == ["Tide clock"]


def test_keys_belong_to_their_caller_and_creates_without_a_key_are_independent(aws):
    # Bob's key does not collide with Ada's of the same spelling
    assert post({"title": "Ada's"}, "shared-key")[0] == 201
    assert post({"title": "Bob's"}, "shared-key", caller=BOB)[0] == 201
    assert [i["title"] for i in feed("u-bob")] == ["Bob's"]
    # Without a key, two sends are two ideas (the header is how a client asks for once-only)
    assert post({"title": "twice"}, None)[0] == post({"title": "twice"}, None)[0] == 201
    assert [i["title"] for i in feed()].count("twice") == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "non-ascii-é", "tab\tkey"])
def test_a_malformed_key_is_400(aws, key):
    status, body = post({"title": "t"}, key)
    assert status == 400
    assert "Idempotency-Key" in body["message"]
    assert feed() == []


def test_a_rejected_request_is_not_remembered(aws):
    # A 400 is not stored against the key: the corrected request with the same key goes through
    assert post({"title": ""}, "fix-and-retry")[0] == 400
    assert post({"title": "Fixed"}, "fix-and-retry")[0] == 201


def register(body: dict, key: str | None) -> tuple[int, dict]:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return invoke("register", event("POST", "/api/register", body=body, headers=headers))


def test_a_retried_registration_with_its_key_answers_201_again_and_creates_one_account(aws):
    body = {"username": "grace", "password": "correct-horse-battery"}
    first = register(body, "signup-1")
    again = register(body, "signup-1")
    assert first[0] == again[0] == 201 and again[1] == first[1]
    # without the key, the same request is a second registration of a taken name
    assert register(body, None)[0] == 409


def test_a_registration_key_reused_with_another_password_or_name_is_422(aws):
    assert register({"username": "grace", "password": "correct-horse-battery"}, "signup-2")[0] == 201
    other_password = register({"username": "grace", "password": "another-password-1"}, "signup-2")
    other_name = register({"username": "hopper", "password": "correct-horse-battery"}, "signup-2")
    assert other_password[0] == other_name[0] == 422
    assert invoke("login", event("POST", "/api/login", body={"username": "hopper", "password": "x" * 12}))[0] == 401


def test_the_idempotency_record_never_holds_the_password(aws):
    import boto3

    register({"username": "grace", "password": "correct-horse-battery"}, "signup-3")
    table = boto3.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"])["Items"]
    records = [item for item in table if item["PK"]["S"].startswith("IDEMPOTENCY#register")]
    assert records and "correct-horse-battery" not in str(records)

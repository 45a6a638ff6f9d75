"""POST /api/register: the legacy contract, the new rules, and uniqueness under concurrency."""

from __future__ import annotations

import os
import threading

import boto3
import pytest
from moto.dynamodb.models import DynamoDBBackend

from tests.support import event, invoke

PASSWORD = "correct-horse-9"


def register(body=None, **kwargs):
    return invoke("register", event("POST", "/api/register", body=body, **kwargs))


def table_items(prefix: str) -> list[dict]:
    # A test-side look at the whole table (never done on a request path).
    items = boto3.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"])["Items"]
    return [item for item in items if item["PK"]["S"].startswith(prefix)]


def test_register_creates_a_user_with_the_legacy_201_shape(aws):
    # Given a new username and a valid password
    # When the user registers
    status, body = register({"username": "ada.lovelace", "password": PASSWORD})
    # Then the answer is 201 in the legacy envelope, with the new id and the name as typed
    assert status == 201
    assert body["success"] is True
    assert body["message"] == "User registered successfully"
    assert set(body["data"]) == {"id", "username"}
    assert body["data"]["username"] == "ada.lovelace"
    assert body["data"]["id"]
    # And the password is stored only as an argon2id hash
    [user] = table_items("USER#")
    assert user["passwordHash"]["S"].startswith("$argon2id$")
    assert PASSWORD not in str(user)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "ada"},
        {"password": PASSWORD},
        {"username": "", "password": PASSWORD},
        {"username": "ada_l", "password": ""},
    ],
    ids=["nothing", "no-password", "no-username", "empty-username", "empty-password"],
)
def test_register_without_username_or_password_is_400_with_the_legacy_message(aws, body):
    # Given a request missing a credential
    # When it is sent
    status, answer = register(body)
    # Then the legacy message comes back and nobody is created
    assert (status, answer) == (400, {"success": False, "message": "Username and password are required"})
    assert table_items("USER#") == []


@pytest.mark.parametrize("username", ["ab", "x" * 51, "has space", "semi;colon", "ünïcode", "a/b"])
def test_register_rejects_a_username_outside_the_rules(aws, username):
    # Given a username that is too short, too long or has forbidden characters
    # When it is registered
    status, body = register({"username": username, "password": PASSWORD})
    # Then it is refused with 400 and the rule
    assert status == 400
    assert body["success"] is False
    assert "Username must be 3-50 characters" in body["message"]
    assert table_items("USER#") == []


@pytest.mark.parametrize("username", ["abc", "A" * 50, "a.b-c_9"])
def test_register_accepts_usernames_at_the_edges_of_the_rules(aws, username):
    status, _ = register({"username": username, "password": PASSWORD})
    assert status == 201


@pytest.mark.parametrize("password", ["short", "1234567", "p" * 129])
def test_register_rejects_a_password_under_8_or_over_128_characters(aws, password):
    # Given a password outside 8-128 characters
    # When it is registered
    status, body = register({"username": "grace", "password": password})
    # Then it is 400 with the rule
    assert (status, body) == (400, {"success": False, "message": "Password must be 8-128 characters long"})


@pytest.mark.parametrize("password", ["p" * 8, "p" * 128])
def test_register_accepts_passwords_of_8_and_128_characters(aws, password):
    status, _ = register({"username": f"len{len(password)}", "password": password})
    assert status == 201


@pytest.mark.parametrize("second", ["grace", "GRACE", "Grace", "gRaCe"])
def test_register_a_taken_name_in_any_letter_case_is_409(aws, second):
    # Given "Grace" is registered
    assert register({"username": "Grace", "password": PASSWORD})[0] == 201
    # When the same name is registered again, in some letter case
    status, body = register({"username": second, "password": "another-pass-1"})
    # Then it is 409 with the legacy message and there is still one user
    assert (status, body) == (409, {"success": False, "message": "User already exists"})
    assert len(table_items("USER#")) == 1
    assert len(table_items("USERNAME#")) == 1


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"ada"', "null", "42"])
def test_register_with_a_body_that_is_not_a_json_object_is_400(aws, raw):
    # Given a body that is malformed JSON, or JSON but not an object
    # When it is sent
    status, body = register(raw_body=raw)
    # Then it is a 400 in the envelope (never a 500)
    assert status == 400
    assert body["success"] is False
    assert body["message"] in (
        "Request body must be valid JSON",
        "Request body must be a JSON object",
        "Username and password are required",
    )


def test_register_with_non_string_credentials_is_400(aws):
    status, body = register({"username": ["ada"], "password": 12345678})
    assert status == 400 and body["success"] is False


def test_register_accepts_a_base64_encoded_body(aws):
    # Given the body arrives base64-encoded (API Gateway does that for binary media types)
    # When the user registers
    status, body = register({"username": "b64user", "password": PASSWORD}, base64_body=True)
    # Then it works as with a plain body
    assert status == 201
    assert body["data"]["username"] == "b64user"


def test_register_with_an_invalid_base64_body_is_400(aws):
    status, body = register(
        raw_body="%%%not-base64%%%", base64_body=False, headers={"Content-Type": "application/octet-stream"}
    )
    assert status == 400
    evt = event("POST", "/api/register", raw_body="x")
    evt["body"], evt["isBase64Encoded"] = "/w==", True  # valid base64 of a non-UTF-8 byte
    status, body = invoke("register", evt)
    assert (status, body["success"]) == (400, False)


@pytest.fixture
def atomic_moto(monkeypatch):
    """DynamoDB executes each write atomically; moto does not when threads share it (it
    checks, then writes, and restores a copy of the table when a transaction fails). Give
    moto DynamoDB's atomicity so the race below tests our code, not moto's."""
    lock = threading.RLock()
    for name in ("transact_write_items", "put_item", "update_item", "delete_item", "get_item"):
        original = getattr(DynamoDBBackend, name)

        def serialized(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, serialized)


def test_concurrent_registrations_of_one_name_create_exactly_one_user(aws, atomic_moto):
    # Given eight clients about to register one name in different letter cases at once
    names = ["Racer", "racer", "RACER", "rAcer", "racER", "RaCeR", "raceR", "Racer"]
    start = threading.Barrier(len(names))
    results: list[tuple[int, dict]] = []

    def attempt(name: str) -> None:
        start.wait()
        results.append(register({"username": name, "password": PASSWORD}))

    # When they all send at the same moment
    threads = [threading.Thread(target=attempt, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one gets 201, every other one 409, and the table holds one user and one claim
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (len(names) - 1), results
    assert all(body["message"] == "User already exists" for status, body in results if status == 409)
    assert len(table_items("USER#")) == 1
    assert len(table_items("USERNAME#")) == 1


@pytest.fixture
def transaction_in_flight(monkeypatch):
    """Makes DynamoDB answer the next registration transaction the way it does while another
    transaction on the same items is still running: cancelled with ``TransactionConflict``.
    ``rival`` (a username) first commits that other registration, as the real race would."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    original = BaseClient._make_api_call
    state = {"pending": 1, "rival": None, "sent": 0}

    def conflicting(self, operation_name, api_params):
        if operation_name == "TransactWriteItems":
            state["sent"] += 1
            if state["pending"]:
                state["pending"] -= 1
                if state["rival"]:
                    register({"username": state["rival"], "password": PASSWORD})
                raise ClientError(
                    {
                        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                        "CancellationReasons": [
                            {"Code": "None"},
                            {"Code": "TransactionConflict", "Message": "Transaction is ongoing"},
                        ],
                    },
                    operation_name,
                )
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", conflicting)
    return state


def test_a_registration_cancelled_by_a_transaction_in_flight_is_retried(aws, transaction_in_flight):
    # Given DynamoDB cancels the first attempt: another transaction holds the claim (and then fails)
    # When the user registers
    status, body = register({"username": "patient", "password": PASSWORD})
    # Then the retried transaction succeeds: 201, one user, not a 500
    assert status == 201, body
    assert transaction_in_flight["sent"] == 2
    assert len(table_items("USER#")) == 1


def test_a_registration_that_lost_to_a_transaction_in_flight_is_409(aws, transaction_in_flight):
    # Given the same name is being registered by a transaction still in flight, which commits
    transaction_in_flight["rival"] = "Twin"
    # When the user registers that name
    status, body = register({"username": "twin", "password": PASSWORD})
    # Then the retry meets the rival's claim: 409 User already exists, not a 500
    assert (status, body) == (409, {"success": False, "message": "User already exists"})
    [user] = table_items("USER#")
    assert user["username"]["S"] == "Twin"

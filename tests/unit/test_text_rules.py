"""Text that means one thing: usernames matched whole and unique in every spelling of one
name, migrated names still logging in, and no control characters, NUL or unpaired surrogates
in any stored text (docs/security.md, "Input rules")."""

from __future__ import annotations

import os
import unicodedata

import bcrypt
import boto3
import pytest

from skills_ideas import models, users
from tests.support import bind_models, event, invoke

PASSWORD = "correct-horse-9"
ADA = {"userId": "u-ada", "username": "ada", "role": "user"}
ADMIN = {"userId": "u-root", "username": "root", "role": "admin"}
SKILL = {"name": "Kotlin", "category": "Programming Language", "proficiency": "Intermediate"}


def register(username: str, password: str = PASSWORD) -> tuple[int, dict]:
    return invoke("register", event("POST", "/api/register", body={"username": username, "password": password}))


def login(username: str, password: str = PASSWORD) -> tuple[int, dict]:
    return invoke("login", event("POST", "/api/login", body={"username": username, "password": password}))


def claims() -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"])["Items"]
    return sorted(item["PK"]["S"] for item in items if item["PK"]["S"].startswith("USERNAME#"))


def migrated_user(user_id: str, username: str, password: str, *, claim_key: str) -> None:
    """A legacy user as the migration wrote it: a bcryptjs hash, and the username claim under
    ``claim_key`` (``users.legacy_username_key`` for a claim written before keys were folded)."""
    bind_models()
    legacy_hash = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(10, prefix=b"2a")).decode()
    user = users.User(user_id, username, "user", "2024-03-01T10:00:00.000Z")
    item, claim = users.user_items(user, legacy_hash, legacy_id=user_id)
    claim.pk = claim_key
    item.save()
    claim.save()


# ---------------------------------------------------------------- usernames
@pytest.mark.parametrize("username", ["ada\n", "ada\r\n", "ad\x00a", "ada\t", "\x1bada", "ada\x85", "ad\u0007a"])
def test_a_username_with_a_control_character_is_refused_at_registration(aws, username):
    # Given a name that looks like "ada" but ends in a newline or hides a control character
    # When it is registered
    status, body = register(username)
    # Then it is a 400 naming the field and the character, and nobody is created
    assert status == 400
    assert body["message"].startswith("Username must not contain control characters (found U+")
    assert claims() == []


def test_ada_with_a_trailing_newline_is_not_a_second_account_and_does_not_log_in(aws):
    # Given "ada" is registered
    assert register("ada")[0] == 201
    # When "ada\n" registers and logs in
    second = register("ada\n", "another-pass-1")
    signed_in = login("ada\n")
    # Then both are refused and there is still one name
    assert second[0] == 400 and signed_in[0] == 400
    assert claims() == ["USERNAME#ada"]


@pytest.mark.parametrize("second", ["ADA", "Ada", "aDa"])
def test_one_name_in_another_letter_case_is_taken(aws, second):
    assert register("ada")[0] == 201
    assert register(second, "another-pass-1") == (409, {"success": False, "message": "User already exists"})


@pytest.mark.parametrize("spelling", ["ada", "ADA", "ａｄａ", "ＡＤＡ", "Ａda"])
def test_every_spelling_of_a_name_logs_into_the_one_account(aws, spelling):
    # Given "Ada" is registered
    status, body = register("Ada")
    assert status == 201
    # When they log in with the name in another case, or typed in full-width letters
    status, answer = login(spelling)
    # Then it is the same account, shown as registered
    assert status == 200, answer
    assert answer["user"] == {"id": body["data"]["id"], "username": "Ada"}


def test_a_full_width_name_cannot_be_registered(aws):
    # Full-width letters read as "ada", but new names are ASCII letters, digits, "_", "." or "-"
    status, body = register("ａｄａ")
    assert status == 400 and body["message"].startswith("Username must be 3-50 characters")


def test_the_claim_key_is_the_nfkc_case_fold(aws):
    # Given a name registered in mixed case
    assert register("Grace.Hopper")[0] == 201
    # Then its claim key is the case fold, the same key every spelling of it maps to
    assert claims() == ["USERNAME#grace.hopper"]
    assert {models.username_key(n) for n in ("GRACE.HOPPER", "ｇｒａｃｅ．ｈｏｐｐｅｒ")} == {"USERNAME#grace.hopper"}


# ---------------------------------------------------------------- migrated names
@pytest.mark.parametrize("name", ["Straße", "ａｄａ", "Ǆemal", "ﬁona"])
def test_a_migrated_name_claimed_under_the_old_lower_cased_key_still_logs_in(aws, name):
    # Given a legacy user whose claim the migration wrote under the old key, name.lower(),
    # which is not the name's case fold
    old_key = users.legacy_username_key(name)
    assert old_key != models.username_key(name)
    migrated_user("31", name, "legacy-secret", claim_key=old_key)
    # When they log in with their name as they always typed it
    status, body = login(name, "legacy-secret")
    # Then it works, and the user is the migrated one
    assert status == 200, body
    assert body["user"] == {"id": "31", "username": name}
    # And a wrong password is still refused
    assert login(name, "not-the-secret") == (401, {"success": False, "message": "Invalid credentials"})


def test_a_migrated_name_claimed_under_the_new_key_logs_in_in_any_spelling(aws):
    # Given a legacy user whose claim was written under the case fold
    migrated_user("32", "Straße", "legacy-secret", claim_key=models.username_key("Straße"))
    # When they log in as "STRASSE" (the same name, case folded)
    status, body = login("STRASSE", "legacy-secret")
    # Then it is their account
    assert (status, body["user"]["id"]) == (200, "32")


def test_a_new_ascii_name_does_not_take_over_the_login_of_a_migrated_look_alike(aws):
    # Given a migrated user "ａｄａ" (full-width, old key) and, later, a new user "ada"
    migrated_user("33", "ａｄａ", "legacy-secret", claim_key=users.legacy_username_key("ａｄａ"))
    status, body = register("ada", "new-secret-99")
    assert status == 201
    # When each logs in with their own name
    legacy = login("ａｄａ", "legacy-secret")
    new = login("ada", "new-secret-99")
    # Then each reaches their own account
    assert (legacy[0], legacy[1]["user"]["id"]) == (200, "33")
    assert (new[0], new[1]["user"]["id"]) == (200, body["data"]["id"])


# ---------------------------------------------------------------- passwords
@pytest.mark.parametrize(("password", "found"), [("correct\x00horse", "U+0000"), ("correct-horse\ud800", "U+D800")])
@pytest.mark.parametrize("endpoint", ["register", "login"])
def test_a_password_with_nul_or_an_unpaired_surrogate_is_a_400(aws, endpoint, password, found):
    status, body = invoke(endpoint, event("POST", f"/api/{endpoint}", body={"username": "ada", "password": password}))
    assert status == 400
    assert body["message"].startswith("Password must not contain") and found in body["message"]


def test_a_password_may_hold_any_other_character(aws):
    # Given a password with tabs, accents, an emoji and a DEL
    password = "pässwörd\t🙂\x7f ok"
    # When it is registered and used to log in
    assert register("unicode_pw", password)[0] == 201
    # Then it works, exactly as typed
    assert login("unicode_pw", password)[0] == 200
    assert login("unicode_pw", password.replace("\t", " "))[0] == 401


# ---------------------------------------------------------------- ideas
def create(body: dict) -> tuple[int, dict]:
    return invoke("create_idea", event("POST", "/api/ideas", body=body, caller=ADA))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": "Solar\x00kettle"}, "Title must not contain control characters (found U+0000)"),
        ({"title": "Solar kettle\n"}, "Title must not contain control characters (found U+000A)"),
        ({"title": "Solar\tkettle"}, "Title must not contain control characters (found U+0009)"),
        ({"title": "Solar \ud83d kettle"}, "Title must not contain unpaired surrogate characters (found U+D83D)"),
        ({"title": "T", "description": "bell\x07"}, "Description must not contain control characters (found U+0007)"),
        ({"title": "T", "description": "old\rmac"}, "Description must not contain control characters (found U+000D)"),
        (
            {"title": "T", "description": "\udfff"},
            "Description must not contain unpaired surrogate characters (found U+DFFF)",
        ),
        ({"title": "T", "status": "Concept\n"}, "Status must not contain control characters (found U+000A)"),
        ({"title": "T", "status": "\x00Planning"}, "Status must not contain control characters (found U+0000)"),
    ],
)
def test_an_idea_field_with_a_control_character_is_refused_naming_the_field(aws, body, message):
    assert create(body) == (400, {"success": False, "message": message})


def test_descriptions_keep_newlines_and_tabs_and_store_crlf_as_lf(aws):
    # Given a multi-line description typed on Windows, with a tab
    status, body = create({"title": "Lines", "description": "first\r\n\tsecond\nthird"})
    # Then it is stored with LF line ends, tab kept
    assert status == 201
    assert body["data"]["description"] == "first\n\tsecond\nthird"


def test_text_is_stored_in_nfc(aws):
    # Given a title typed with a combining accent (NFD), as some keyboards send it
    status, body = create({"title": "Cafe\u0301 crawl", "description": "Cre\u0300me"})
    # Then it is stored composed, so it equals the same title typed precomposed
    assert status == 201
    assert body["data"]["title"] == "Café crawl" == unicodedata.normalize("NFC", "Cafe\u0301 crawl")
    assert body["data"]["description"] == "Crème"


@pytest.mark.parametrize(("function", "method"), [("replace_idea", "PUT"), ("update_idea", "PATCH")])
def test_replace_and_change_refuse_control_characters_too(aws, function, method):
    _, created = create({"title": "Clean"})
    idea_id = created["data"]["id"]
    evt = event(
        method,
        f"/api/ideas/{idea_id}",
        resource="/api/ideas/{id}",
        path_params={"id": idea_id},
        body={"title": "Dirty\x1b[2J"},
        caller=ADA,
    )
    assert invoke(function, evt) == (
        400,
        {"success": False, "message": "Title must not contain control characters (found U+001B)"},
    )


# ---------------------------------------------------------------- skills
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Kot\x00lin"}, "Name must not contain control characters (found U+0000)"),
        ({"name": "Kotlin\n"}, "Name must not contain control characters (found U+000A)"),
        ({"category": "\x1b[31mLanguage"}, "Category must not contain control characters (found U+001B)"),
        ({"proficiency": "Expert\x00"}, "Proficiency must not contain control characters (found U+0000)"),
        ({"description": "JVM\x7f"}, "Description must not contain control characters (found U+007F)"),
        ({"name": "\ud800"}, "Name must not contain unpaired surrogate characters (found U+D800)"),
    ],
)
def test_a_skill_field_with_a_control_character_is_refused_naming_the_field(aws, changes, message):
    create_skill = invoke("create_skill", event("POST", "/api/skills", body={**SKILL, **changes}, caller=ADMIN))
    update_skill = invoke(
        "update_skill",
        event(
            "PATCH", "/api/skills/1", resource="/api/skills/{id}", path_params={"id": "1"}, body=changes, caller=ADMIN
        ),
    )
    assert create_skill == update_skill == (400, {"success": False, "message": message})


def test_a_skill_description_keeps_newlines_and_tabs(aws):
    body = {**SKILL, "description": "JVM language\n\tby JetBrains\r\nsince 2011"}
    status, answer = invoke("create_skill", event("POST", "/api/skills", body=body, caller=ADMIN))
    assert status == 201
    assert answer["data"]["description"] == "JVM language\n\tby JetBrains\nsince 2011"


def test_skill_names_differing_only_in_unicode_composition_are_one_name(aws):
    # Given a skill "Café" typed precomposed
    first = invoke("create_skill", event("POST", "/api/skills", body={**SKILL, "name": "Café"}, caller=ADMIN))
    assert first[0] == 201
    # When "Café" typed with a combining accent is added
    second = invoke("create_skill", event("POST", "/api/skills", body={**SKILL, "name": "Cafe\u0301"}, caller=ADMIN))
    # Then it is the same name: 409
    assert second == (409, {"success": False, "message": "A skill with this name already exists"})

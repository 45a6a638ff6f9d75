"""The contract (skills_ideas.contract) is the one source of the API's limits: the validators
enforce exactly what it says, the modules that keep a copy agree with it, and the OpenAPI
document built from it is valid JSON Schema and covers every route."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from skills_ideas import catalogue, catalogue_edits, contract, cursors, ideas, passwords, users
from skills_ideas.errors import BadRequest
from skills_ideas.routes import ROUTES
from skills_ideas_tools import openapi


def test_modules_that_keep_their_own_copy_agree_with_the_contract():
    assert catalogue.PROFICIENCIES == contract.PROFICIENCIES
    assert catalogue.PAGE_MAX == contract.PAGE_MAX
    assert (passwords.MIN_LENGTH, passwords.MAX_LENGTH) == (contract.PASSWORD_MIN, contract.PASSWORD_MAX)
    assert cursors.MAX_LENGTH == contract.CURSOR_MAX


@pytest.mark.parametrize(
    ("validate", "shape", "base"),
    [
        (ideas.validate_full, contract.IDEA_INPUT, {"title": "T"}),
        (ideas.validate_patch, contract.IDEA_PATCH, {}),
        (catalogue_edits.validate_full, contract.SKILL_INPUT, {"name": "N", "category": "C", "proficiency": "Expert"}),
        (catalogue_edits.validate_patch, contract.SKILL_PATCH, {}),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_validators_take_exactly_the_lengths_the_contract_documents(validate, shape, base):
    # Given each text field of the body with a maximum length
    limited = {name: kind for name, kind in shape.fields.items() if isinstance(kind, contract.Text) and kind.max_length}
    assert limited
    for name, kind in limited.items():
        # Then a value of exactly that length is taken, and one character more is a 400
        assert validate({**base, name: "x" * kind.max_length})[name] == "x" * kind.max_length
        with pytest.raises(BadRequest, match=f"at most {kind.max_length} characters"):
            validate({**base, name: "x" * (kind.max_length + 1)})


def test_validators_take_exactly_the_enums_and_fields_the_contract_documents():
    for status in contract.STATUSES:
        assert ideas.validate_patch({"status": status.upper()}) == {"status": status}
    for proficiency in contract.PROFICIENCIES:
        assert catalogue_edits.validate_patch({"proficiency": proficiency.lower()}) == {"proficiency": proficiency}
    with pytest.raises(BadRequest, match="Unknown field"):
        ideas.validate_full({"title": "T", "owner": "me"})
    # read-only fields are listed and ignored
    assert ideas.validate_full({"title": "T", **dict.fromkeys(contract.IDEA_INPUT.ignored, "x")})["title"] == "T"


def test_only_the_fields_documented_as_multi_line_take_newlines():
    for validate, shape, base in (
        (ideas.validate_patch, contract.IDEA_PATCH, {}),
        (catalogue_edits.validate_patch, contract.SKILL_PATCH, {}),
    ):
        for name, kind in shape.fields.items():
            if not isinstance(kind, contract.Text):
                continue
            if kind.single_line:
                with pytest.raises(BadRequest, match="control characters"):
                    validate({**base, name: "two\nlines"})
            else:
                assert validate({**base, name: "two\nlines"})[name] == "two\nlines"


def test_usernames_and_passwords_have_the_documented_bounds():
    low, high = contract.USERNAME_MIN, contract.USERNAME_MAX
    for name, valid in (("a" * low, True), ("a" * (low - 1), False), ("a" * high, True), ("a" * (high + 1), False)):
        assert (users.USERNAME_RE.fullmatch(name) is not None) is valid
    users.validate_new("ada", "p" * contract.PASSWORD_MIN)
    with pytest.raises(BadRequest, match=f"{contract.PASSWORD_MIN}-{contract.PASSWORD_MAX}"):
        users.validate_new("ada", "p" * (contract.PASSWORD_MIN - 1))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"_limit": str(contract.PAGE_MAX + 1)}, f"_limit must be an integer from 1 to {contract.PAGE_MAX}"),
        ({"_page": str(contract.LEGACY_WINDOW + 1)}, f"from 1 to {contract.LEGACY_WINDOW}"),
        ({"_page": "3", "_limit": str(contract.LEGACY_WINDOW // 2)}, f"_page × _limit ≤ {contract.LEGACY_WINDOW}"),
        ({"order": "up"}, "order must be one of: asc, desc"),
        ({"sort": "updatedAt"}, "sort must be one of: createdAt, status"),
    ],
)
def test_the_ideas_listing_enforces_the_documented_query_limits(params, message):
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        ideas.parse_list_query(params)


def test_the_contract_covers_every_route():
    for route in ROUTES:
        assert route.function in contract.REPLIES, route.function
        assert set(route.query) == set(contract.QUERIES.get(route.function, {})), route.function
        if "{" in route.path:
            assert route.path in contract.PATH_PARAMETERS, route.path
    # Every write takes a body, but logout (nothing to send); deleting the account takes the password
    writes = {r.function for r in ROUTES if r.method in ("POST", "PUT", "PATCH")}
    assert set(contract.BODIES) == writes - {"logout"} | {"delete_account"}


def test_the_document_is_openapi_3_1_with_valid_json_schemas():
    document = openapi.build()
    assert document["openapi"] == "3.1.0"
    json.dumps(document, allow_nan=False)  # plain JSON all through
    schemas = list(document["components"]["schemas"].values())
    for item in document["paths"].values():
        for operation in item.values():
            schemas += [parameter["schema"] for parameter in operation.get("parameters", [])]
            for response in operation["responses"].values():
                schemas += [media["schema"] for media in response.get("content", {}).values()]
    for schema in schemas:
        Draft202012Validator.check_schema(schema)


def test_every_operation_documents_what_its_access_level_can_answer():
    document = openapi.build()
    for route in ROUTES:
        responses = document["paths"][route.path][route.method.lower()]["responses"]
        # Public routes answer 401 only where a credential is exchanged: a password, a refresh token
        exchanges = route.function in ("login", "refresh_token")
        assert ("401" in responses) == (route.protected or exchanges), route.function
        refused = 403 in contract.REFUSALS.get(route.function, {})  # a wrong password of the caller's own account
        assert ("403" in responses) == (route.access in ("owner", "admin") or refused), route.function
        assert ("503" in responses) == bool(route.uses), route.function
        if route.uses and route.function != "health":
            assert "Retry-After" in responses["503"]["headers"]
        assert not any(status.startswith("5") and status != "503" for status in responses), route.function

"""Text rules and usernames: validation refuses exactly the characters it should, never
raises anything but a 400, and its results are stable; every spelling of one name has one
claim key."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skills_ideas import ideas, models, users, validation
from skills_ideas.errors import BadRequest
from tests.properties.conftest import BOUNDED, any_char, any_text


def forbidden(char: str, *, multiline: bool = False) -> bool:
    """The rule, stated with Unicode's own categories: controls (Cc) and surrogates (Cs);
    multi-line text may also hold newline and tab."""
    if multiline and char in "\n\t":
        return False
    return unicodedata.category(char) in ("Cc", "Cs")


# ---------------------------------------------------------------- text fields
@BOUNDED
@given(any_text, st.booleans())
def test_clean_text_refuses_exactly_controls_and_lone_surrogates(value, multiline):
    checked = value.replace("\r\n", "\n") if multiline else value  # multi-line text may end lines in CRLF
    expected_refusal = any(forbidden(c, multiline=multiline) for c in checked)
    try:
        result = validation.clean_text(value, "Title", multiline=multiline)
    except BadRequest as refused:
        assert expected_refusal
        assert refused.message.startswith("Title must not contain ")
        return
    assert not expected_refusal
    # What is kept is NFC, holds nothing forbidden, and is a fixed point
    assert unicodedata.is_normalized("NFC", result)
    assert not any(forbidden(c, multiline=multiline) for c in result)
    assert validation.clean_text(result, "Title", multiline=multiline) == result
    if multiline:
        assert "\r" not in result
        assert result.count("\n") == value.replace("\r\n", "\n").count("\n")


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text)
json_fields = st.one_of(json_scalars, st.lists(json_scalars, max_size=2), st.dictionaries(any_text, json_scalars))


@BOUNDED
@given(json_fields, st.booleans(), st.booleans())
def test_a_text_field_of_any_json_value_is_clean_text_or_a_400(value, required, multiline):
    body = {"title": value}
    try:
        result = validation.text(body, "title", max_length=200, required=required, multiline=multiline)
    except BadRequest as refused:
        assert refused.message.startswith("Title ")
        return
    assert isinstance(result, str) and len(result) <= 200
    assert result == result.strip()
    assert not any(forbidden(c, multiline=multiline) for c in result)


@BOUNDED
@given(json_fields)
def test_a_status_of_any_json_value_is_canonical_or_a_400(value):
    try:
        changes = ideas.validate_patch({"status": value})
    except BadRequest as refused:
        assert "Status" in refused.message or "Provide at least one" in refused.message
        return
    assert changes["status"] in ideas.STATUSES


@BOUNDED
@given(any_text, st.integers(min_value=0, max_value=60))
def test_shown_text_is_safe_to_quote(value, limit):
    quoted = validation.shown(value, limit)
    assert not any(forbidden(c) for c in quoted)
    if len(value) <= limit and not any(forbidden(c) for c in value):
        assert quoted == value


# ---------------------------------------------------------------- usernames
@BOUNDED
@given(any_text)
def test_the_case_fold_is_idempotent(name):
    folded = validation.caseless(name)
    assert validation.caseless(folded) == folded
    assert models.username_key(folded) == models.username_key(name)


@BOUNDED
@given(any_text)
def test_canonically_and_compatibly_equivalent_names_have_one_claim_key(name):
    keys = {models.username_key(unicodedata.normalize(form, name)) for form in ("NFC", "NFD", "NFKC", "NFKD")}
    assert keys == {models.username_key(name)}


ascii_names = st.from_regex(r"\A[A-Za-z0-9_.-]{3,50}\Z")


def full_width(name: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in name)


@BOUNDED
@given(ascii_names)
def test_a_name_in_any_case_or_full_width_collides_with_itself(name):
    spellings = {name, name.upper(), name.lower(), name.swapcase(), full_width(name), full_width(name.upper())}
    assert {models.username_key(s) for s in spellings} == {models.username_key(name)}
    assert models.username_key(name) == f"USERNAME#{name.lower()}" == users.legacy_username_key(name)


@BOUNDED
@given(any_text, any_text)
def test_credentials_accept_a_name_only_without_control_characters(username, password):
    try:
        name, secret = users.credentials({"username": username, "password": password})
    except BadRequest as refused:
        assert refused.status == 400
        return
    assert (name, secret) == (username, password)
    assert not any(forbidden(c) for c in name)
    assert "\x00" not in secret and not any(unicodedata.category(c) == "Cs" for c in secret)


@BOUNDED
@given(st.one_of(ascii_names, any_text), st.sampled_from(["", "\n", "\r\n", "\x00", " "]))
def test_registration_matches_the_whole_name(name, suffix):
    # A name valid only up to a trailing newline (or anything else) is not valid
    whole = name + suffix
    valid = users.USERNAME_RE.fullmatch(whole) is not None
    try:
        users.validate_new(whole, "long-enough-password")
    except BadRequest:
        assert not valid
    else:
        assert valid and suffix == ""
        assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in whole)


@pytest.mark.parametrize("char", [chr(cp) for cp in range(0x20)] + ["\x7f", "\x85", "\ud800", "\udfff"])
def test_every_control_character_and_lone_surrogate_is_refused_in_a_single_line_field(char):
    with pytest.raises(BadRequest):
        validation.clean_text(f"a{char}b", "Name")


@BOUNDED
@given(any_char)
def test_single_characters_follow_the_rule(char):
    try:
        validation.clean_text(char, "Name")
    except BadRequest:
        assert forbidden(char)
    else:
        assert not forbidden(char)

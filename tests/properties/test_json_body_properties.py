"""The JSON body parser: any bytes, any text and any JSON document give a dict or a
BadRequest, never another exception, and the dict is exactly the document sent."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from skills_ideas import http, validation
from skills_ideas.errors import BadRequest
from tests.properties.conftest import BOUNDED, any_text, jsonish_text


def parsed(body: str, *, encoded: bool = False) -> dict[str, Any] | BadRequest:
    """``json_body`` of an event with ``body``: the dict, or the BadRequest it raised. Any
    other exception escapes and fails the property."""
    try:
        return http.json_body({"body": body, "isBase64Encoded": encoded})
    except BadRequest as refused:
        assert refused.status == 400 and refused.message
        return refused


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def acceptable_numbers(value: Any) -> bool:
    """No NaN or infinity, and no integer of more than the allowed digits, anywhere."""
    if isinstance(value, dict):
        return all(map(acceptable_numbers, value.values()))
    if isinstance(value, list):
        return all(map(acceptable_numbers, value))
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return len(str(abs(value))) <= validation.MAX_INTEGER_DIGITS
    return True


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**120), max_value=10**120),
    st.floats(),  # NaN and infinities included: they must be refused
    any_text,
)
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4), max_leaves=30
)


@BOUNDED
@given(st.binary(max_size=300))
def test_any_bytes_as_a_base64_body_give_a_dict_or_a_400(data):
    parsed(base64.b64encode(data).decode(), encoded=True)


@BOUNDED
@given(st.one_of(any_text, jsonish_text))
def test_any_text_as_a_body_gives_a_dict_or_a_400(text):
    result = parsed(text)
    assert isinstance(result, BadRequest | dict)


@BOUNDED
@given(st.one_of(any_text, jsonish_text))
def test_any_text_as_a_base64_body_gives_a_dict_or_a_400(text):
    parsed(base64.b64encode(text.encode("utf-8", "surrogatepass")).decode(), encoded=True)


@BOUNDED
@given(documents, st.booleans())
def test_any_json_document_is_the_dict_sent_or_a_400_saying_why(document, ascii_only):
    # Given any JSON document, written with or without \\u escapes
    text = json.dumps(document, ensure_ascii=ascii_only)
    # When it is the body
    result = parsed(text)
    # Then an object within the limits comes back exactly; anything else is a 400
    acceptable = isinstance(document, dict) and depth(document) <= validation.MAX_DEPTH
    acceptable = acceptable and acceptable_numbers(document)
    if not ascii_only and any("\ud800" <= c <= "\udfff" for c in text):
        acceptable = False  # a raw lone surrogate is not UTF-8
    if acceptable:
        assert result == document
    else:
        assert isinstance(result, BadRequest)


@BOUNDED
@given(st.integers(min_value=0, max_value=3000), st.sampled_from(["[", '{"k":']))
def test_nesting_beyond_the_limit_is_a_400_at_any_depth(levels, opener):
    closer = "]" if opener == "[" else "}"
    result = parsed('{"k":' + opener * levels + "1" + closer * levels + "}")
    if levels + 1 <= validation.MAX_DEPTH:
        assert isinstance(result, dict)
    else:
        assert isinstance(result, BadRequest) and "nested too deeply" in result.message


@BOUNDED
@given(documents)
def test_the_depth_pre_scan_measures_what_the_parser_would_nest(document):
    for text in (json.dumps(document), json.dumps(document, ensure_ascii=False), json.dumps(document, indent=1)):
        assert validation.nesting_depth(text) == depth(document)


@BOUNDED
@given(st.lists(st.tuples(any_text, scalars), min_size=1, max_size=5), st.integers(min_value=0, max_value=4))
def test_an_object_with_a_repeated_key_is_refused(pairs, repeat):
    # Given an object in which one key appears twice
    key = pairs[repeat % len(pairs)][0]
    members = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in [*pairs, (key, None)]]
    # Then the body is refused for a duplicate key (unless a number was refused first)
    result = parsed("{" + ", ".join(members) + "}")
    assert isinstance(result, BadRequest)
    if all(acceptable_numbers(v) for _, v in pairs):
        assert result.message.startswith("Duplicate key '") and result.message.endswith("' in request body")

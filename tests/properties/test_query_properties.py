"""Query strings of the two lists: any parameters, any values (cursors included) give a list
or a 400 in the envelope from the real handlers, never a 5xx."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from skills_ideas.routes import ROUTES
from tests.properties.conftest import BOUNDED, any_text, jsonish_text
from tests.support import event, invoke


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: Values a client could mean, mixed with printable noise and hostile text.
PLAUSIBLE = {
    "sort": ["createdAt", "title", "status", "name", "NAME", "price"],
    "order": ["asc", "desc", "DESC", "up"],
    "_limit": ["1", "2", "20", "100", "0", "101", " 5 ", "-1", "1e3", "9" * 5000],
    "_page": ["1", "2", "100", "101", "0"],
    "status": ["Concept", "in progress", "On Hold", "Done"],
    "userId": ["u-ada", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "a b", "x" * 65],
    "proficiency": ["Expert", "beginner", "Guru"],
    "category": ["data", "Framework", "Programming Language", ""],
    "q": ["python", "SQL", "é", ""],
}
printable = st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=20)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=10,
)
hostile_string = st.one_of(st.just(""), any_text, printable)
#: The shapes the two lists write into their cursors, with hostile parts: the ideas cursor
#: {v, q, p: {shard: position}}, the skills cursor {v, q, n, a}.


def ideas_position(shard: str):
    """A saved position in one feed shard: finished, unread, or a key with hostile parts."""
    key = st.fixed_dictionaries(
        {
            "PK": st.fixed_dictionaries({"S": hostile_string}),
            "SK": st.fixed_dictionaries({"S": hostile_string}),
            "feedShard": st.just({"S": shard}) | st.fixed_dictionaries({"S": hostile_string}),
            "createdSort": st.fixed_dictionaries({"S": hostile_string}),
        }
    )
    return st.one_of(st.none(), st.just("done"), key, key, json_values)


ideas_cursor = st.fixed_dictionaries(
    {
        "v": st.sampled_from([1, 1, 1, 2]),
        "q": st.sampled_from(["createdAt|desc||", "createdAt|desc||", "title|asc||"]) | any_text,
        "p": st.one_of(
            st.fixed_dictionaries({f"FEED#{n}": ideas_position(f"FEED#{n}") for n in range(4)}),
            st.fixed_dictionaries({f"FEED#{n}": ideas_position(f"FEED#{n}") for n in range(4)}),
            json_values,
        ),
    }
)
skills_cursor = st.fixed_dictionaries(
    {
        "v": st.sampled_from([1, 1, 2]),
        "q": st.sampled_from(["|||", "|||name"]) | any_text,
        "n": st.integers(min_value=-2, max_value=102) | json_values,
        "a": st.lists(st.one_of(st.integers(), hostile_string), max_size=3) | json_values,
    }
)
#: Cursors: noise, base64 of noise or of JSON-looking text, and the tampered shapes above.
cursors = st.one_of(
    any_text,
    st.binary(max_size=120).map(_b64),
    jsonish_text.map(lambda t: _b64(t.encode("utf-8", "surrogatepass"))),
    st.one_of(ideas_cursor, skills_cursor).map(lambda c: _b64(json.dumps(c).encode())),
)


def values_for(names: tuple[str, ...]):
    def value(name: str):
        plausible = st.sampled_from(PLAUSIBLE.get(name, [""]))
        return st.one_of(plausible, plausible, plausible, printable, any_text)

    known = st.fixed_dictionaries({}, optional={name: value(name) for name in names if name != "cursor"})
    unknown = st.dictionaries(st.one_of(printable, any_text), printable, max_size=2)
    return st.tuples(known, unknown, st.none() | cursors)


def answer_of(function: str, path: str, params: dict[str, str]) -> tuple[int, dict]:
    status, body = invoke(function, event("GET", path, query=params or None))
    assert status in (200, 400), (status, body)
    assert body["success"] is (status == 200)
    if status == 200:
        assert isinstance(body["data"], list) and body["count"] == len(body["data"])
    else:
        assert isinstance(body["message"], str) and body["message"]
    return status, body


def _query_names(function: str) -> tuple[str, ...]:
    return next(r for r in ROUTES if r.function == function).query


@BOUNDED
@given(values_for((*_query_names("list_ideas"), "status", "userId", "_page")))
def test_any_ideas_query_gives_a_list_or_a_400(moto_world, params):
    known, unknown, cursor = params
    query = {**unknown, **known, **({"cursor": cursor} if cursor is not None else {})}
    answer_of("list_ideas", "/api/ideas", query)


@BOUNDED
@given(values_for(_query_names("list_skills")))
def test_any_skills_query_gives_a_list_or_a_400(moto_world, params):
    known, unknown, cursor = params
    query = {**unknown, **known, **({"cursor": cursor} if cursor is not None else {})}
    answer_of("list_skills", "/api/skills", query)


@BOUNDED
@given(cursors, st.sampled_from([{}, {"_limit": "2"}]))
def test_any_cursor_of_the_ideas_list_gives_a_page_or_a_400(moto_world, cursor, params):
    answer_of("list_ideas", "/api/ideas", {**params, "cursor": cursor})


@BOUNDED
@given(cursors, st.sampled_from([{}, {"_limit": "2"}, {"sort": "name"}]))
def test_any_cursor_of_the_skills_list_gives_a_page_or_a_400(moto_world, cursor, params):
    answer_of("list_skills", "/api/skills", {**params, "cursor": cursor})


@BOUNDED
@given(any_text, any_text)
def test_a_control_character_in_any_query_value_is_a_400_naming_the_parameter(moto_world, before, after):
    # Given a search term holding a control character somewhere
    status, body = answer_of("list_skills", "/api/skills", {"q": f"{before}\x1f{after}"})
    # Then the parameter is named (whatever else is wrong with the query)
    assert status == 400
    assert body["message"].startswith("Query parameter 'q' must not contain")

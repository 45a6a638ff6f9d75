"""The lexical model: tokens, phrases, aliases, the threshold and the explanations."""

from __future__ import annotations

import json

import pytest

from skills_ideas.skill_matcher import LIMIT, THRESHOLD, SkillMatcher, matcher_for, normalise, tokenize
from tests.support import DEFAULT_CATALOGUE

SKILLS = json.loads(DEFAULT_CATALOGUE.read_text())["skills"]
MATCHER = SkillMatcher(SKILLS)
ID = {s["name"]: s["id"] for s in SKILLS}


def names(title: str, description: str = "") -> list[str]:
    by_id = {s["id"]: s["name"] for s in SKILLS}
    return [by_id[m.skill_id] for m in MATCHER.recommend(title, description)]


@pytest.mark.parametrize(
    ("written", "term"),
    [
        ("C++", "cpp"),
        ("c#", "csharp"),
        (".NET", "dotnet"),
        ("Node.js", "nodejs"),
        ("NodeJS", "nodejs"),
        ("tests", "test"),
        ("testing", "test"),
        ("queries", "query"),
        ("visualisation", "visualiz"),
        ("visualization", "visualiz"),
        ("running", "run"),
    ],
)
def test_words_are_normalised_so_spellings_meet(written, term):
    assert normalise(written) == term


def test_tokens_keep_symbols_and_drop_punctuation():
    assert [t.surface for t in tokenize("Port C++/C# code to .NET, then Node.js!")] == [
        "Port",
        "C++",
        "C#",
        "code",
        "to",
        ".NET",
        "then",
        "Node.js",
    ]


def test_a_multi_word_name_matches_as_a_phrase_and_explains_its_words():
    matches = MATCHER.recommend("Journey tests", "Write end-to-end tests of the checkout")
    assert matches[0].skill_id == ID["End-to-End Testing"]
    assert matches[0].matched[0] == "end-to-end tests"
    # "tests" is explained by End-to-End Testing: it is no evidence for Unit Testing
    assert ID["Unit Testing"] not in [m.skill_id for m in matches]


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("Autoscaling on k8s", "Kubernetes"),
        ("Move the data to postgres", "PostgreSQL"),
        ("A small JS widget", "JavaScript"),
        ("Deploy with gh actions", "GitHub Actions"),
        ("A dashboard of charts", "Data Visualization"),
        ("Visualise who knows what as a chart", "Data Visualization"),
    ],
)
def test_aliases_and_descriptions_find_skills_the_name_does_not(text, skill):
    assert names(text)[0] == skill


def test_everyday_words_named_like_skills_need_the_names_capitals():
    assert "Go" not in names("Let's go hiking", "We react to the weather and express our joy")
    assert "React" not in names("We react to the weather")
    assert names("A Go service")[0] == "Go"
    assert "Go" in names("Ported from Python to Golang")


def test_an_idea_that_needs_no_skill_gets_nothing():
    assert names("Community garden rota", "Neighbours sign up to water the plots on weekends.") == []
    assert names("") == []


def test_scores_are_ranked_bounded_and_above_the_threshold():
    text = " ".join(s["name"] for s in SKILLS)  # every skill named once
    matches = MATCHER.recommend("Everything", text)
    assert len(matches) == LIMIT
    assert all(m.score >= THRESHOLD for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_a_framework_lends_its_language_some_evidence_but_not_enough_alone():
    # Django's description names Python: a Django idea is some evidence for Python, explained by "Django"
    python = next(m for m in MATCHER.score("A Django site") if m.skill_id == ID["Python"])
    assert python.matched == ("Django",)
    assert 0 < python.score < THRESHOLD
    assert names("A Django site") == ["Django"]


def test_the_model_is_built_once_per_catalogue_version():
    first = matcher_for(SKILLS, "etag-1")
    assert matcher_for(SKILLS, "etag-1") is first
    assert matcher_for(SKILLS, "etag-2") is not first


def test_malformed_skills_are_ignored_not_fatal():
    matcher = SkillMatcher([{"id": "x", "name": 3}, {"id": 1, "name": "Kubernetes", "aliases": [None, "k8s"]}])
    assert [m.skill_id for m in matcher.recommend("k8s")] == [1]

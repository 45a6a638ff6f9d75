"""The lexical model behind skill recommendations: which catalogue skills an idea's text
most likely needs, each with a score and the words that matched (docs/recommendations.md).

Pure Python over the catalogue itself (names, curated ``aliases``, descriptions and
categories): nothing is downloaded and nothing is trained, so it builds in about a
millisecond from the catalogue a function already holds and explains every score.

Scoring, per skill, from the idea's title and description:

- a **phrase** (the skill's name or one of its aliases) found as a whole, in order, is strong
  evidence: ``PHRASE_WEIGHT``. Names that are also everyday words (Go, React, Express, Rust,
  Spring) count only when written with the name's own capitals;
- a **single word of a multi-word name** ("testing" of Unit Testing) is weaker:
  ``NAME_TERM_WEIGHT`` scaled by the word's rarity in the catalogue (idf);
- words of the **description** and **category**, scaled by idf with BM25's saturation and
  length normalisation over the skill's description, are weak evidence that adds up;
- a skill whose name appears in the description of a skill matched by name (Python in
  Django's "Python web framework") gets ``IMPLIED_WEIGHT`` of the evidence: frameworks
  imply their language.

A skill is suggested when its score reaches ``THRESHOLD``: one phrase, or several specific
description words together; a lone common word never is.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

PHRASE_WEIGHT = 3.0
NAME_TERM_WEIGHT = 1.2
DESCRIPTION_WEIGHT = 0.8
CATEGORY_WEIGHT = 0.3
IMPLIED_WEIGHT = 0.3
THRESHOLD = 1.0
LIMIT = 10
BM25_K1 = 1.2
BM25_B = 0.5

#: Words that say nothing about a skill (English function words and the vocabulary every
#: project idea and skill description shares).
_STOPWORDS = """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each even every few for from further get had
    has have having he her here hers him his how i if in into is it its itself just let like lot me more most
    my no nor not now of off on once one only or other our ours out over own same she should so some such
    than that the their them then there these they this those through to too under until up us very via was
    we were what when where which while who whom why will with within without would you your yours
    able across along among around based best better big easy etc fast good great help helps keep lets
    little make makes making many much need needs new nice simple small thing things tiny try use used
    uses using want way ways well work works
    app apps application applications build building built create creating develop developing development
    feature features idea ideas modern platform product project projects service services solution system
    systems tool tools
"""
STOPWORDS = frozenset(_STOPWORDS.split())

#: Words that are also skill names but mean something else in everyday text: as a name (or
#: alias) they only count when written with the name's capitals ("Go", not "go").
AMBIGUOUS = frozenset({"go", "react", "express", "rust", "spring", "swift", "dart", "ruby", "flutter"})

_SYMBOLS = {"c++": "cpp", "c#": "csharp", "f#": "fsharp", ".net": "dotnet", "asp.net": "aspdotnet"}
_TOKEN = re.compile(r"\.net\b|[a-z0-9]+(?:[.+#][a-z0-9]+)*(?:\+\+|#)?", re.IGNORECASE)


class Token(NamedTuple):
    term: str  # the normalised, stemmed form every comparison uses
    surface: str  # the word as written
    start: int = 0  # where it is in the text
    end: int = 0


def _stem(word: str) -> str:
    """A light suffix stripper (plural, -ing, -ed, final e), enough to make "tests",
    "testing" and "test" one term; words with digits or symbols are left alone."""
    if not word.isalpha() or len(word) <= 3:
        return word
    for british, american in (("isation", "ization"), ("ising", "izing"), ("ised", "ized"), ("ise", "ize")):
        if word.endswith(british) and len(word) - len(british) >= 4:
            word = word[: -len(british)] + american  # visualise, visualisation -> visualiz...
            break
    for suffix in ("ization", "izing", "ized", "ize"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + "iz"
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is", "js")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # running -> run
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def normalise(word: str) -> str:
    """One word's term: lower case, symbols spelled out (C++ -> cpp, .NET -> dotnet), inner
    dots dropped (Node.js -> nodejs), then stemmed."""
    lowered = word.lower()
    if lowered in _SYMBOLS:
        return _SYMBOLS[lowered]
    if lowered.endswith("++"):
        lowered = lowered[:-2] + "pp"
    elif lowered.endswith("#"):
        lowered = lowered[:-1] + "sharp"
    return _stem(lowered.replace(".", "").replace("+", "plus"))


def tokenize(text: str) -> list[Token]:
    """Every word of ``text`` in order (stop words included: phrases need their positions)."""
    text = unicodedata.normalize("NFKC", text or "")
    return [Token(normalise(m.group()), m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def content_terms(text: str) -> list[str]:
    return [token.term for token in tokenize(text) if token.term not in STOPWORDS]


class Phrase(NamedTuple):
    terms: tuple[str, ...]
    surface: str  # as the catalogue writes it (for the capital-letters rule)

    @property
    def ambiguous(self) -> bool:
        return len(self.terms) == 1 and self.terms[0] in AMBIGUOUS


class _Skill(NamedTuple):
    id: int
    name: str
    phrases: list[Phrase]
    name_terms: set[str]
    description_tf: dict[str, int]
    description_length: int
    category_terms: set[str]
    implies: list[int]


class Match(NamedTuple):
    skill_id: int
    score: float
    matched: tuple[str, ...]  # the idea's words that matched, as written, in order of weight


def _phrase(text: str) -> Phrase | None:
    terms = tuple(token.term for token in tokenize(text))
    return Phrase(terms, text.strip()) if terms else None


def _positions(tokens: Sequence[Token]) -> dict[str, list[int]]:
    where: dict[str, list[int]] = {}
    for n, token in enumerate(tokens):
        where.setdefault(token.term, []).append(n)
    return where


def _find(phrase: Phrase, tokens: Sequence[Token], where: dict[str, list[int]], text: str = "") -> str | None:
    """The text (as written) of the first occurrence of ``phrase`` in ``tokens``, or None."""
    n = len(phrase.terms)
    for start in where.get(phrase.terms[0], ()):
        window = tokens[start : start + n]
        if tuple(token.term for token in window) != phrase.terms:
            continue
        if phrase.ambiguous and not _capitalised_like(window[0].surface, phrase.surface):
            continue
        if text and n > 1:
            return " ".join(text[window[0].start : window[-1].end].split())
        return " ".join(token.surface for token in window)
    return None


def _capitalised_like(written: str, name: str) -> bool:
    return written[:1].isupper() and written[:1] == name[:1]


class SkillMatcher:
    """The model for one version of the catalogue (build once per catalogue ETag)."""

    def __init__(self, skills: Iterable[dict[str, Any]]) -> None:
        self.skills: list[_Skill] = []
        descriptions: dict[int, str] = {}
        for raw in skills:
            if not isinstance(raw.get("id"), int) or not isinstance(raw.get("name"), str):
                continue
            names = [raw["name"], *[a for a in raw.get("aliases") or () if isinstance(a, str)]]
            phrases = [p for p in (_phrase(n) for n in names) if p is not None]
            name_terms = {t for p in phrases[:1] for t in p.terms if t not in STOPWORDS}
            descriptions[raw["id"]] = str(raw.get("description") or "")
            description = content_terms(descriptions[raw["id"]])
            tf: dict[str, int] = {}
            for term in description:
                tf[term] = tf.get(term, 0) + 1
            category = set(content_terms(str(raw.get("category") or "")))
            self.skills.append(_Skill(raw["id"], raw["name"], phrases, name_terms, tf, len(description), category, []))
        documents = [s.name_terms | set(s.description_tf) | s.category_terms for s in self.skills]
        total = max(len(documents), 1)
        frequency: dict[str, int] = {}
        for document in documents:
            for term in document:
                frequency[term] = frequency.get(term, 0) + 1
        # BM25's idf, scaled to (0, 1]: a word only one skill has weighs 1.
        top = math.log(1 + (total - 0.5) / 1.5)
        self.idf = {t: math.log(1 + (total - f + 0.5) / (f + 0.5)) / top for t, f in frequency.items()}
        lengths = [s.description_length for s in self.skills]
        self.average_length = (sum(lengths) / len(lengths)) if lengths else 1.0
        by_name = {s.phrases[0].terms: s.id for s in self.skills if s.phrases}
        for skill in self.skills:  # Django's description names Python: Django implies Python
            description_tokens = tokenize(str(descriptions.get(skill.id, "")))
            where = _positions(description_tokens)
            skill.implies.extend(
                other
                for terms, other in by_name.items()
                if other != skill.id and _find(Phrase(terms, ""), description_tokens, where) is not None
            )

    def score(self, title: str, description: str | None = None) -> list[Match]:
        """Every skill with any evidence, best first (ties in catalogue order)."""
        text = unicodedata.normalize("NFKC", f"{title}\n{description or ''}")
        tokens = tokenize(text)
        where = _positions(tokens)
        surfaces: dict[str, str] = {}
        for token in tokens:
            if token.term not in STOPWORDS:
                surfaces.setdefault(token.term, token.surface)
        terms = set(surfaces)
        scores: dict[int, float] = {}
        evidence: dict[int, dict[str, float]] = {}
        phrase_hits: dict[int, float] = {}
        phrases: dict[int, list[str]] = {}
        for skill in self.skills:
            found_phrases = [s for s in (_find(p, tokens, where, text) for p in skill.phrases) if s is not None]
            if found_phrases:  # the longest first; one inside another ("REST" in "REST API") adds nothing
                found_phrases.sort(key=len, reverse=True)
                phrases[skill.id] = [
                    s for n, s in enumerate(found_phrases) if not any(s in longer for longer in found_phrases[:n])
                ]
        # Words a skill's name or alias explains are no evidence for any other skill
        # ("unit tests" names Unit Testing; its "tests" says nothing more about End-to-End Testing).
        explained = {t.term for found in phrases.values() for s in found for t in tokenize(s)}
        for skill in self.skills:
            found: dict[str, float] = {}
            # A name or alias counts once, however many of them the idea writes.
            for n, surface in enumerate(phrases.get(skill.id, ())):
                found[surface] = PHRASE_WEIGHT if n == 0 else 0.0
            if found:
                phrase_hits[skill.id] = PHRASE_WEIGHT
            for term in terms - explained:
                weight = 0.0
                idf = self.idf.get(term, 0.0)
                if term in skill.name_terms and term not in AMBIGUOUS:
                    weight += NAME_TERM_WEIGHT * idf
                tf = skill.description_tf.get(term, 0)
                if tf:
                    norm = 1 - BM25_B + BM25_B * skill.description_length / self.average_length
                    weight += DESCRIPTION_WEIGHT * idf * tf * (BM25_K1 + 1) / (tf + BM25_K1 * norm)
                if term in skill.category_terms:
                    weight += CATEGORY_WEIGHT * idf
                if weight:
                    found[surfaces[term]] = found.get(surfaces[term], 0.0) + weight
            if found:
                scores[skill.id] = sum(found.values())
                evidence[skill.id] = found
        for skill in self.skills:
            strength = phrase_hits.get(skill.id)
            if strength is None:
                continue
            for other in skill.implies:
                bonus = IMPLIED_WEIGHT * strength
                scores[other] = scores.get(other, 0.0) + bonus
                words = evidence.setdefault(other, {})
                for surface, weight in evidence[skill.id].items():
                    if weight >= PHRASE_WEIGHT:
                        words[surface] = words.get(surface, 0.0) + bonus
        order = {skill.id: n for n, skill in enumerate(self.skills)}
        ranked = sorted(scores, key=lambda sid: (-scores[sid], order[sid]))
        return [
            Match(
                sid,
                round(scores[sid], 3),
                tuple(sorted(evidence[sid], key=lambda w: (-evidence[sid][w], w.lower()))),
            )
            for sid in ranked
        ]

    def recommend(
        self, title: str, description: str | None = None, *, limit: int = LIMIT, threshold: float = THRESHOLD
    ) -> list[Match]:
        """At most ``limit`` skills the idea most likely needs, best first, none below ``threshold``."""
        return [m for m in self.score(title, description) if m.score >= threshold][:limit]


_cache: tuple[str, SkillMatcher] | None = None


def matcher_for(skills: Iterable[dict[str, Any]], version: str) -> SkillMatcher:
    """The model of one catalogue version, built once per ``version`` (the catalogue ETag)."""
    global _cache
    if _cache is None or _cache[0] != version or not version:
        _cache = (version, SkillMatcher(skills))
    return _cache[1]

"""Offline evaluation of skill recommendations against the labelled ideas (``make eval``).

Prints precision@3, recall@5 and MRR of the model (``skills_ideas.skill_matcher``) and of a
naive baseline (a skill is suggested when its name occurs in the text as a substring), on
the dev split (used for tuning), the held-out test split, and both together.

Metrics, per idea, averaged over the ideas of a split:

- precision@3: of the skills shown in the top 3 (fewer when fewer pass the threshold), the
  share the idea needs. An idea shown nothing counts 1 if it needs nothing, else 0;
- recall@5: of the skills the idea needs, the share in the top 5 (ideas that need none are
  left out: nothing to find);
- MRR: 1 / rank of the first needed skill, 0 if none is shown (same ideas as recall).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "layers/common/python"))

from skills_ideas.skill_matcher import SkillMatcher  # noqa: E402

LABELLED = Path(__file__).with_name("labelled_ideas.json")
CATALOGUE = REPO / "layers/common/python/skills_ideas/data/skills.json"
SPLITS = ("dev", "test", "all")

Ranker = Callable[[dict[str, Any]], list[int]]


def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(labelled ideas, catalogue skills)."""
    ideas = json.loads(LABELLED.read_text())["ideas"]
    skills = json.loads(CATALOGUE.read_text())["skills"]
    return ideas, skills


def model_ranker(skills: list[dict[str, Any]]) -> Ranker:
    matcher = SkillMatcher(skills)
    return lambda idea: [m.skill_id for m in matcher.recommend(idea["title"], idea["description"])]


def baseline_ranker(skills: list[dict[str, Any]]) -> Ranker:
    """Skill names found as substrings of the text, in order of first occurrence."""

    def rank(idea: dict[str, Any]) -> list[int]:
        text = f"{idea['title']}\n{idea['description']}".lower()
        found = [(text.find(s["name"].lower()), n, s["id"]) for n, s in enumerate(skills)]
        return [sid for position, _, sid in sorted(found) if position >= 0]

    return rank


def precision_at(ranked: list[int], needed: set[int], k: int) -> float:
    shown = ranked[:k]
    if not shown:
        return 1.0 if not needed else 0.0
    return sum(1 for s in shown if s in needed) / len(shown)


def recall_at(ranked: list[int], needed: set[int], k: int) -> float:
    return sum(1 for s in ranked[:k] if s in needed) / len(needed)


def reciprocal_rank(ranked: list[int], needed: set[int]) -> float:
    return next((1 / n for n, s in enumerate(ranked, 1) if s in needed), 0.0)


def metrics(rank: Ranker, ideas: list[dict[str, Any]]) -> dict[str, float]:
    precision, recall, rr = [], [], []
    for idea in ideas:
        ranked, needed = rank(idea), set(idea["skills"])
        precision.append(precision_at(ranked, needed, 3))
        if needed:
            recall.append(recall_at(ranked, needed, 5))
            rr.append(reciprocal_rank(ranked, needed))
    return {
        "precision@3": sum(precision) / len(precision),
        "recall@5": sum(recall) / len(recall),
        "MRR": sum(rr) / len(rr),
        "ideas": len(ideas),
    }


def in_split(ideas: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    return ideas if split == "all" else [i for i in ideas if i["split"] == split]


def evaluate() -> dict[str, dict[str, dict[str, float]]]:
    """{split: {"model": metrics, "baseline": metrics}}."""
    ideas, skills = load()
    rankers = {"model": model_ranker(skills), "baseline": baseline_ranker(skills)}
    return {split: {name: metrics(r, in_split(ideas, split)) for name, r in rankers.items()} for split in SPLITS}


def mistakes(split: str) -> list[str]:
    """The ideas of ``split`` the model gets wrong: what it showed and what was needed."""
    ideas, skills = load()
    names = {s["id"]: s["name"] for s in skills}
    rank = model_ranker(skills)
    lines = []
    for idea in in_split(ideas, split):
        shown, needed = rank(idea)[:5], set(idea["skills"])
        if set(shown[:3]) - needed or needed - set(shown):
            lines.append(
                f"#{idea['id']} {idea['title']!r}: shown {[names[s] for s in shown]}, "
                f"needed {[names[s] for s in sorted(needed)]}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mistakes", choices=SPLITS, help="also list the ideas of this split the model gets wrong")
    args = parser.parse_args(argv)
    results = evaluate()
    print(f"{'split':<6} {'ranker':<9} {'ideas':>5} {'precision@3':>12} {'recall@5':>9} {'MRR':>6}")
    for split, by_ranker in results.items():
        for name, m in by_ranker.items():
            print(
                f"{split:<6} {name:<9} {m['ideas']:>5} {m['precision@3']:>12.3f} {m['recall@5']:>9.3f} {m['MRR']:>6.3f}"
            )
    if args.mistakes:
        print(f"\nmistakes ({args.mistakes}):")
        print("\n".join(mistakes(args.mistakes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

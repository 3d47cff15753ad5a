"""Building the JSON explanation that comes with every verdict."""
from __future__ import annotations

from typing import TYPE_CHECKING

from detection.text import Analysis

if TYPE_CHECKING:  # imported for type hints only; scoring imports this module
    from detection.scoring import Detector, SentenceEvidence

PASSAGE_CHARS = 300
MAX_TERMS = 12
ACTOR_ROLES = ("actor_a", "actor_b", "joint")


def explain(detector: "Detector", analysis: Analysis, parts: dict, evidence: list,
            vec: dict, value: float, lang: str | None) -> dict:
    terms = _terms(detector, analysis, vec)
    passage = _passage(detector, analysis, evidence)
    gated = sum(1 for e in evidence if e.strength)
    return {
        "topic": detector.topic.name,
        "detector": detector.version,
        "lang": lang,
        "score": round(value, 4),
        "threshold": detector.threshold,
        "parts": {k: round(v, 4) for k, v in parts.items()},
        "gated_sentences": gated,
        "sentences": len(analysis.segments),
        "terms": terms,
        "passage": passage,
        "summary": _summary(detector, terms, gated, len(analysis.segments), passage),
    }


def _terms(detector: "Detector", analysis: Analysis, vec: dict) -> list[dict]:
    forms: dict[str, dict[str, int]] = {}
    for _pos, form, concept in analysis.hits:
        bucket = forms.setdefault(concept, {})
        bucket[form] = bucket.get(form, 0) + 1
    profile = detector.profile.weights
    concepts = detector.topic.lexicon.concepts
    rows = []
    for concept, weight in vec.items():
        rows.append({
            "concept": concept,
            "label": concepts[concept].label,
            "group": concepts[concept].group,
            "weight": round(profile.get(concept, 0.0) * weight, 4),
            "count": sum(forms.get(concept, {}).values()),
            "forms": sorted(forms.get(concept, {}), key=lambda f: -forms[concept][f])[:5],
        })
    rows.sort(key=lambda r: (-r["weight"], -r["count"]))
    return rows[:MAX_TERMS]


def _passage(detector: "Detector", analysis: Analysis, evidence: list) -> str:
    """The sentence carrying the most actor-pair/event evidence, else the most on-profile one."""
    if not analysis.segments:
        return ""
    profile = detector.profile.weights
    def on_profile(i: int) -> float:
        seg = analysis.segments[i]
        return sum(profile.get(c, 0.0) * n for c, n in seg.concepts.items())
    # A sentence with no evidence and no concept has the key (0, 0, -i): only the first of
    # them can be the best, so the others (most sentences of most articles) are not weighed.
    candidates, blank = [], None
    for i, e in enumerate(evidence):
        if e.strength or analysis.segments[i].concepts:
            candidates.append(i)
        elif blank is None:
            blank = i
    if blank is not None:
        candidates.append(blank)
    best = max(candidates, key=lambda i: (evidence[i].strength, on_profile(i), -i))
    seg = analysis.segments[best]
    text = " ".join(analysis.text[seg.start:seg.end].split())
    if len(text) <= PASSAGE_CHARS:
        return text
    return text[:PASSAGE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _summary(detector: "Detector", terms: list[dict], gated: int, total: int, passage: str) -> str:
    gate = detector.topic.gate
    actor_groups = {gate[r] for r in ACTOR_ROLES}
    actors = [t["label"] for t in terms if t["group"] in actor_groups][:3]
    events = [t["label"].split(" /")[0] for t in terms if t["group"] == gate["event"]][:3]
    bits = [" + ".join(actors) + " actors" if actors else "no actor pair"]
    bits.append(", ".join(events) + " terms" if events else "no engagement terms")
    bits.append(f"{gated}/{total} sentences pair both sides with an event")
    if passage:
        bits.append(f"closest passage: \"{passage[:80]}{'…' if len(passage) > 80 else ''}\"")
    return "; ".join(bits)

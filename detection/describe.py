"""Human-readable and JSON views of a topic profile (backs `seedwatch topic show`)."""
from __future__ import annotations

from collections import Counter

from detection.profile import build_profile
from detection.scoring import DETECTOR_VERSION
from detection.topic import Topic

MAX_FORMS = 6


def profile_as_dict(topic: Topic) -> dict:
    """JSON-able profile: which concepts drive the match, their weights and seed wording."""
    profile = build_profile(topic)
    concepts = topic.lexicon.concepts
    rows = []
    for name, weight in sorted(profile.weights.items(), key=lambda kv: -kv[1]):
        seen = profile.seed_forms.get(name, Counter())
        rows.append({
            "concept": name,
            "label": concepts[name].label,
            "group": concepts[name].group,
            "weight": round(weight, 4),
            "seed_mentions": sum(seen.values()),
            "seed_forms": [f for f, _ in seen.most_common(MAX_FORMS)],
            "korean_forms": [f for f in concepts[name].forms if _has_hangul(f)][:MAX_FORMS],
        })
    return {
        "name": topic.name,
        "description": topic.description,
        "file": str(topic.path),
        "detector": DETECTOR_VERSION,
        "threshold": topic.threshold,
        "seeds": [name for name, _ in topic.seeds],
        "examples": {"positive": len(topic.positive_examples),
                     "negative": len(topic.negative_examples)},
        "gate": dict(topic.gate),
        "concepts": rows,
    }


def describe_profile(topic: Topic) -> str:
    """Plain-text profile for people: gate, threshold, then concepts by weight."""
    data = profile_as_dict(topic)
    gate = data["gate"]
    lines = [
        f"Topic: {data['name']}  (threshold {data['threshold']}, detector {data['detector']})",
        data["description"],
        f"Seeds: {', '.join(data['seeds'])}; examples: {data['examples']['positive']} positive, "
        f"{data['examples']['negative']} negative",
        f"Gate: a sentence must name both actors ({gate['actor_a']} + {gate['actor_b']}, or a "
        f"{gate['joint']} form) together with an {gate['event']} concept.",
        "",
        f"{'weight':>6}  {'group':<12} {'concept':<22} seed wording | Korean forms",
    ]
    for row in data["concepts"]:
        seed = ", ".join(row["seed_forms"]) or "-"
        korean = ", ".join(row["korean_forms"]) or "-"
        lines.append(f"{row['weight']:6.3f}  {row['group']:<12} {row['label'][:22]:<22} "
                     f"{seed} | {korean}")
    return "\n".join(lines)


def _has_hangul(form: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in form)

"""The topic profile: concept weights derived from the seed articles, readable by a person.

Weight of a concept = (1 + ln tf) x idf, where tf counts its mentions in the seed with the
title/lead counting more, and idf is the lexicon's rarity prior. Hand-written positive
examples are added and negative ones subtracted (Rocchio feedback), then the vector is
normalised to unit length so that cosine similarity can be taken against articles.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from detection.lexicon import Lexicon
from detection.text import Analysis, analyse
from detection.topic import Topic

POSITIVE_EXAMPLE_SHARE = 0.5
NEGATIVE_EXAMPLE_SHARE = 0.25


@dataclass
class Profile:
    topic: str
    weights: dict[str, float]          # unit-length concept vector
    seed_forms: dict[str, Counter]     # concept -> surface forms seen in the seeds


def concept_tf(analysis: Analysis) -> dict[str, float]:
    """Position-weighted mention counts per concept."""
    tf: dict[str, float] = {}
    for seg in analysis.segments:
        for concept, count in seg.concepts.items():
            tf[concept] = tf.get(concept, 0.0) + count * seg.weight
    return tf


def concept_vector(lexicon: Lexicon, tf: dict[str, float]) -> dict[str, float]:
    concepts = lexicon.concepts
    return {c: (1.0 + math.log(t)) * concepts[c].idf for c, t in tf.items() if t >= 1.0}


def normalise(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {c: v / norm for c, v in vec.items()} if norm else {}


def cosine(unit_profile: dict[str, float], vec: dict[str, float]) -> float:
    norm = math.sqrt(sum(v * v for v in vec.values()))
    if not norm:
        return 0.0
    return sum(unit_profile.get(c, 0.0) * v for c, v in vec.items()) / norm


def _mean_vector(lexicon: Lexicon, texts: list[str]) -> dict[str, float]:
    total: dict[str, float] = {}
    for text in texts:
        vec = normalise(concept_vector(lexicon, concept_tf(analyse(lexicon, "", text))))
        for c, v in vec.items():
            total[c] = total.get(c, 0.0) + v / len(texts)
    return total


def build_profile(topic: Topic) -> Profile:
    """Derive the concept profile of a topic from its seeds and examples."""
    lex = topic.lexicon
    combined = _mean_vector(lex, [text for _, text in topic.seeds])
    shares = ((topic.positive_examples, POSITIVE_EXAMPLE_SHARE),
              (topic.negative_examples, -NEGATIVE_EXAMPLE_SHARE))
    for texts, share in shares:
        if texts:
            for c, v in _mean_vector(lex, texts).items():
                combined[c] = combined.get(c, 0.0) + share * v
    weights = normalise({c: v for c, v in combined.items() if v > 0})
    return Profile(topic.name, weights, _seed_forms(topic))


def _seed_forms(topic: Topic) -> dict[str, Counter]:
    forms: dict[str, Counter] = {}
    for _, text in topic.seeds:
        for _pos, form, concept in topic.lexicon.find(text.lower()):
            forms.setdefault(concept, Counter())[form] += 1
    return forms

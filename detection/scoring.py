"""Scoring articles against a topic.

Since concept-lr-2.0 (now 2.1) the score is the probability of a logistic model (detection/model.py)
over interpretable features (detection/features.py). Three of those features are the parts
of the first detector, concept-gate-1.x, described here:

For every sentence (the title and lead count more) the detector asks the CAMEO-style
question "do both actors appear together with an engagement event?". concept-gate-1.x
combined three parts, each in [0, 1], as a geometric mean; now they are model features:

  amount     1 - exp(-E / AMOUNT_SCALE), E = sum over such sentences of position weight x
             event strength (the rarity prior of the strongest event concept there);
  focus      share of the article's weighted sentences that are such sentences,
             saturating at FOCUS_SATURATION (one passing mention in a long feature is weak);
  similarity cosine between the article's concept vector and the seed profile,
             saturating at SIMILARITY_SATURATION.

Articles outside the topic's scope (no actor_a, joint or scope concept at all: for this
topic, no mention of the North) are scored 0 without going further: the cheap first pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from detection.explain import explain
from detection.features import RoleMap, in_scope, lexical_features
from detection.model import LinearModel, adapt, load_model
from detection.profile import Profile, build_profile, concept_tf, concept_vector, cosine
from detection.text import Analysis, analyse
from detection.topic import Topic

DETECTOR_VERSION = "concept-lr-2.1"

AMOUNT_SCALE = 12.0
FOCUS_SATURATION = 0.25
SIMILARITY_SATURATION = 0.6
SECOND_EVENT_SHARE = 0.5
# A sentence naming both Koreas and an event, but also a third state (the US, China, Japan,
# Russia, the UN) and no joint form ("inter-Korean", "the two Koreas"), may describe an
# event between the South and that third party about the North ("Seoul and Washington held
# talks on deterring the North"): CAMEO would code the pair differently. It counts less.
THIRD_PARTY_SHARE = 0.4


@dataclass
class Verdict:
    score: float
    decision: bool
    explanation: dict = field(default_factory=dict)


@dataclass
class SentenceEvidence:
    index: int
    strength: float      # position weight x event strength, 0 when the gate fails
    share: float = 1.0   # how much the sentence counts toward focus (less with a third state)


class Detector:
    """Scores articles for one topic. Build once per topic; scoring is thread-safe."""

    version = DETECTOR_VERSION

    def __init__(self, topic: Topic, threshold: float | None = None,
                 model: LinearModel | None = None, feedback: Iterable = ()):
        """`threshold` overrides the topic's, which overrides the model's (detection-cost) one.
        `feedback`: an analyst's labels, (title, text, relevant) triples; the model is moved
        toward them (detection.model.adapt) and the version says so."""
        self.topic = topic
        self.profile: Profile = build_profile(topic)
        lex = topic.lexicon
        self._group = {name: c.group for name, c in lex.concepts.items()}
        self._roles = {name: c.roles for name, c in lex.concepts.items()}
        self._idf = {name: c.idf for name, c in lex.concepts.items()}
        self.rolemap = RoleMap.for_topic(topic)
        self.model = model or load_model(topic.model_path)
        self.feedback_labels = 0
        feedback = list(feedback)
        if feedback:
            rows, labels = [], []
            for title, text, relevant in feedback:
                feats = self.features(title, text)[4]
                if feats is not None:
                    rows.append(feats)
                    labels.append(bool(relevant))
            self.model = adapt(self.model, rows, labels)
            self.feedback_labels = len(rows)
            if rows:
                # Verdicts of an adapted model are another detector's: keep them apart.
                self.version = f"{DETECTOR_VERSION}+fb{len(rows)}"
        chosen = threshold if threshold is not None else topic.threshold
        self.threshold = float(chosen if chosen is not None else self.model.threshold)

    def features(self, title: str, text: str):
        """(analysis, parts, evidence, concept vector, features or None when out of scope)."""
        analysis = analyse(self.topic.lexicon, title or "", text or "")
        if not in_scope(self.rolemap, analysis):
            return analysis, None, None, None, None
        parts, evidence, vec = self._parts(analysis)
        feats = lexical_features(self.rolemap, analysis, bool((title or "").strip()), parts)
        return analysis, parts, evidence, vec, feats

    def score(self, title: str, text: str, lang: str | None = None) -> Verdict:
        """Score one article (title and body; the body may be a one-line feed summary)."""
        analysis, parts, evidence, vec, feats = self.features(title, text)
        if feats is None:
            value = 0.0
            parts = {"amount": 0.0, "focus": 0.0, "similarity": 0.0}
            evidence = [SentenceEvidence(i, 0.0) for i in range(len(analysis.segments))]
            vec = {}
        else:
            value = self.model.probability(feats)
        decision = value >= self.threshold
        explanation = explain(self, analysis, parts, evidence, vec, value, lang)
        explanation["in_scope"] = feats is not None
        if feats is not None:
            explanation["features"] = self.model.contributions(feats)
        return Verdict(round(value, 4), decision, explanation)

    def score_many(self, items: Iterable[tuple[str, str, str | None]]) -> list[Verdict]:
        """Score (title, text, lang) triples in order."""
        return [self.score(title, text, lang) for title, text, lang in items]

    # -- the three parts -------------------------------------------------------------
    def _parts(self, analysis: Analysis):
        vec = concept_vector(self.topic.lexicon, concept_tf(analysis))
        evidence = self._sentence_evidence(analysis)
        total_weight = sum(seg.weight for seg in analysis.segments) or 1.0
        gated_weight = sum(analysis.segments[e.index].weight * e.share for e in evidence if e.strength)
        amount_mass = sum(e.strength for e in evidence)
        parts = {
            "amount": 1.0 - math.exp(-amount_mass / AMOUNT_SCALE),
            "focus": min(1.0, gated_weight / total_weight / FOCUS_SATURATION),
            "similarity": min(1.0, cosine(self.profile.weights, vec) / SIMILARITY_SATURATION),
        }
        return parts, evidence, vec

    def _sentence_evidence(self, analysis: Analysis) -> list[SentenceEvidence]:
        gate = self.topic.gate
        roles = self._roles
        doc_groups = {g for seg in analysis.segments for c in seg.concepts for g in roles[c]}
        doc_has_pair = gate["joint"] in doc_groups or (
            gate["actor_a"] in doc_groups and gate["actor_b"] in doc_groups)
        evidence = []
        for i, seg in enumerate(analysis.segments):
            groups = {self._group[c] for c in seg.concepts}
            pair = gate["joint"] in groups or (gate["actor_a"] in groups and gate["actor_b"] in groups)
            pair = pair or (doc_has_pair and gate["joint_weak"] in groups)
            strength = self._event_strength(seg.concepts) if pair else 0.0
            share = 1.0
            if strength and gate["joint"] not in groups and any(
                    gate.get("third_party") in roles[c] for c in seg.concepts):
                strength *= THIRD_PARTY_SHARE
                share = THIRD_PARTY_SHARE
            if not pair:
                # A concept that implies both Koreas (family reunions, Kaesong) supplies the
                # pair, but then the event must come from another concept: "금강산" alone
                # is a mountain, "금강산 관광 재개 합의" is diplomacy.
                implied = {c for c in seg.concepts if gate["joint"] in roles[c]}
                strength = self._event_strength(seg.concepts, exclude=implied) if implied else 0.0
            evidence.append(SentenceEvidence(i, seg.weight * strength, share))
        return evidence

    def _event_strength(self, concepts: dict[str, int], exclude=frozenset()) -> float:
        event_group = self.topic.gate["event"]
        found = sorted((self._idf[c] for c in concepts
                        if self._group[c] == event_group and c not in exclude), reverse=True)
        if not found:
            return 0.0
        return found[0] + (SECOND_EVENT_SHARE * found[1] if len(found) > 1 else 0.0)

"""Interpretable document features for the learned detector.

Every feature is defined on the lexicon's *roles* (the two actors, joint forms, events,
conflict, third parties), never on one topic's words, so the same feature set serves any
topic whose lexicon fills those roles. Features look at three windows, because news states
the same fact at different grains:

  sentence   both actors (or a joint form) and an engagement event in one sentence,
             the CAMEO-style evidence of the first detector (kept as `amount`/`focus`);
  head       the title and the lead taken together: "Seoul proposes talks" in the title with
             "North Korea" in the lead is one statement split across two lines;
  document   shares of sentences that name each role, for how much of the article is about it.

Values are scaled to roughly [0, 1] so that the learned weights can be read side by side.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from detection.text import Analysis

# Order matters: it is the order of the weights in a model file.
FEATURES = (
    "amount",            # sentence-level evidence mass (first detector's part)
    "focus",             # share of weighted sentences that are evidence (first detector's part)
    "similarity",        # concept-profile cosine with the seed (first detector's part)
    "title_pair_event",  # the title alone has both actors (or a joint form) and an event
    "title_north",       # the title names the North (actor_a)
    "title_south",       # the title names the South (actor_b)
    "title_joint",       # the title has a joint form (inter-Korean, the two Koreas)
    "title_event",       # strongest event in the title (rarity prior, scaled)
    "title_conflict",    # the title is about missiles, threats, drills
    "head_pair_event",   # title + lead together have both actors and an event
    "head_north_event",  # title + lead: the North and an event (its answers, offers)
    "head_south_event",  # title + lead: the South and an event (Seoul's steps)
    "title_pair",        # the title names both actors (a statement by one about the other)
    "head_pair",         # title + lead name both actors, with or without an event
    "head_scope_event",  # title + lead: a scope concept (e.g. the unification ministry) and an event
    "head_event_mass",   # sum of event strengths in title + lead, saturating
    "head_third",        # title + lead name a third state
    "doc_north_share",   # share of sentences naming the North
    "doc_joint_share",   # share of sentences with a joint form
    "doc_event_share",   # share of sentences with an event
    "doc_conflict_share",
    "doc_third_share",
    "doc_counter_share", # courts, scandals, markets: counter-evidence
    "title_counter",
    "relaxed_amount",    # like amount, but a sentence with one actor and an event counts half
                         # when the article names both actors elsewhere
    "relaxed_focus",     # share of weighted sentences that count for relaxed_amount
    "short",             # headline plus a short summary (< 600 characters of body)
)

HEAD_BODY_SENTENCES = 2
EVENT_SCALE = 3.5          # the strongest event prior in the lexicon
HEAD_EVENT_SATURATION = 8.0
ONE_ACTOR_SHARE = 0.5
AMOUNT_SCALE = 12.0        # as in the first detector's amount part
FOCUS_SATURATION = 0.25


@dataclass
class RoleMap:
    """For each concept, the set of gate roles it plays (north, south, joint, ...)."""
    roles: dict[str, frozenset[str]]
    idf: dict[str, float]

    @classmethod
    def for_topic(cls, topic) -> "RoleMap":
        by_group = {group: role for role, group in topic.gate.items()}
        roles, idf = {}, {}
        for name, concept in topic.lexicon.concepts.items():
            roles[name] = frozenset(by_group[g] for g in concept.roles if g in by_group)
            idf[name] = concept.idf
        return cls(roles, idf)


def _segment_roles(rmap: RoleMap, concepts: dict[str, int]) -> set[str]:
    found: set[str] = set()
    for c in concepts:
        found |= rmap.roles[c]
    return found


def _event_strength(rmap: RoleMap, concepts: dict[str, int]) -> float:
    strengths = sorted((rmap.idf[c] for c in concepts if "event" in rmap.roles[c]), reverse=True)
    if not strengths:
        return 0.0
    return strengths[0] + (0.5 * strengths[1] if len(strengths) > 1 else 0.0)


def _pair(roles: set[str]) -> bool:
    return "joint" in roles or ("actor_a" in roles and "actor_b" in roles)


def lexical_features(rmap: RoleMap, analysis: Analysis, title_present: bool,
                     parts: dict[str, float]) -> dict[str, float]:
    """Every feature but the embedding ones, from one analysis of the article."""
    segs = analysis.segments
    seg_roles = [_segment_roles(rmap, s.concepts) for s in segs]
    n = len(segs) or 1
    title_roles = seg_roles[0] if title_present and segs else set()
    title_concepts = segs[0].concepts if title_present and segs else {}
    head_end = (1 if title_present else 0) + HEAD_BODY_SENTENCES
    if analysis.short:
        head_end = len(segs)
    head_roles: set[str] = set()
    head_mass = 0.0
    for seg, roles in zip(segs[:head_end], seg_roles[:head_end]):
        head_roles |= roles
        head_mass += _event_strength(rmap, seg.concepts)
    head_event = "event" in head_roles

    doc_roles: set[str] = set()
    for roles in seg_roles:
        doc_roles |= roles
    doc_pair = _pair(doc_roles)
    relaxed_mass = relaxed_weight = 0.0
    for seg, roles in zip(segs, seg_roles):
        if "event" not in roles:
            continue
        if _pair(roles):
            share_ = 1.0
        elif doc_pair and ("actor_a" in roles or "actor_b" in roles or "joint_weak" in roles):
            share_ = ONE_ACTOR_SHARE
        else:
            continue
        relaxed_mass += share_ * seg.weight * _event_strength(rmap, seg.concepts)
        relaxed_weight += share_ * seg.weight
    total_weight = sum(seg.weight for seg in segs) or 1.0

    def share(role: str) -> float:
        return sum(1 for r in seg_roles if role in r) / n

    return {
        "amount": parts["amount"],
        "focus": parts["focus"],
        "similarity": parts["similarity"],
        "title_pair_event": float(_pair(title_roles) and "event" in title_roles),
        "title_north": float("actor_a" in title_roles or "joint" in title_roles),
        "title_south": float("actor_b" in title_roles or "joint" in title_roles),
        "title_joint": float("joint" in title_roles),
        "title_event": min(1.0, _event_strength(rmap, title_concepts) / EVENT_SCALE),
        "title_conflict": float("conflict" in title_roles),
        "head_pair_event": float(_pair(head_roles) and head_event),
        "head_north_event": float(("actor_a" in head_roles or "joint" in head_roles) and head_event),
        "head_south_event": float(("actor_b" in head_roles or "joint" in head_roles) and head_event),
        "title_pair": float(_pair(title_roles)),
        "head_pair": float(_pair(head_roles)),
        "head_scope_event": float("scope" in head_roles and head_event),
        "head_event_mass": min(1.0, head_mass / HEAD_EVENT_SATURATION),
        "head_third": float("third_party" in head_roles),
        "doc_north_share": share("actor_a"),
        "doc_joint_share": share("joint"),
        "doc_event_share": share("event"),
        "doc_conflict_share": share("conflict"),
        "doc_third_share": share("third_party"),
        "doc_counter_share": share("counter"),
        "title_counter": float("counter" in title_roles),
        "relaxed_amount": 1.0 - math.exp(-relaxed_mass / AMOUNT_SCALE),
        "relaxed_focus": min(1.0, relaxed_weight / total_weight / FOCUS_SATURATION),
        "short": float(analysis.short),
    }


def in_scope(rmap: RoleMap, analysis: Analysis) -> bool:
    """The cheap first pass: does the article name the subject at all (the North, a joint
    form, or a concept marked `scope`)? Articles that do not are never on topic."""
    for seg in analysis.segments:
        for c in seg.concepts:
            r = rmap.roles[c]
            if "actor_a" in r or "joint" in r or "scope" in r:
                return True
    return False


def logistic(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)

"""Stories: matched articles grouped by event, across outlets, updates and languages.

An article joins an open story when
  1. an article of its duplicate group (same text or MinHash near-duplicate) is already in a
     story of the topic, or
  2. its similarity to one of the story's representatives (its first member and its
     REPRESENTATIVES - 1 latest ones) reaches STORY_THRESHOLD, where
       similarity = content x exp(-hours apart / DECAY_HOURS)
     and content is, for two articles in the same language, the mean of the cosine of their
     lead concepts and the cosine of their lead words; across languages the lead-concept
     cosine alone (the topic lexicon maps English and Korean forms to the same concepts).
Otherwise it starts a new story. Lead = title (twice) and the first LEAD_SENTENCES
sentences: the lead names the event, while the body of a later article often recaps earlier
ones. Actor concepts (North/South Korea, inter-Korean) are left out: every story has them.

Plain functions: the caller loads the open stories' members from the warehouse and stores
what `assign_stories` returns.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

STORY_THRESHOLD = 0.45
DECAY_HOURS = 48.0
WINDOW_HOURS = 72.0            # members further apart never match (exp(-1.5) x 1 < threshold)
LEAD_SENTENCES = 3
# Members a new article is compared with, per story: the first and the latest ones. Comparing
# with every member made a flood of similar matches quadratic; later articles are nearest in
# time to the latest members, and the similarity decays with the hours between articles.
REPRESENTATIVES = 8
MAX_WORDS = 60
_SKIP_GROUPS = ("actor", "joint")
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?。])\s+|\n+")
_STOP = frozenset("""the a an of to and in on at for with as by from that this is was were be been
has have had its it after said says say will would their his her he she they over than more into
about not but or also who which what when new two korea korean koreas north south""".split())


def lead_of(title: str, text: str) -> str:
    """Title twice and the first LEAD_SENTENCES non-blank pieces of `_SENTENCE.split(text)`,
    found from the start of the text rather than by splitting all of it."""
    text = text or ""
    sentences: list[str] = []
    pos = 0
    for m in _SENTENCE.finditer(text):
        if len(sentences) == LEAD_SENTENCES:
            break
        piece = text[pos:m.start()]
        if piece.strip():
            sentences.append(piece)
        pos = m.end()
    if len(sentences) < LEAD_SENTENCES and text[pos:].strip():
        sentences.append(text[pos:])  # the piece after the last break
    return "\n".join([title or "", title or ""] + sentences)


def lead_words(title: str, text: str) -> dict[str, int]:
    """Counts of the lead's content words (lower-cased, NFKC, no digits or stop words)."""
    lead = unicodedata.normalize("NFKC", lead_of(title, text)).casefold()
    counts: dict[str, int] = {}
    for w in _WORD.findall(lead):
        if len(w) > 2 and w not in _STOP and not w.isdigit():
            counts[w] = counts.get(w, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_WORDS]
    return dict(top)


def lead_concepts(lexicon: Any, title: str, text: str) -> dict[str, float]:
    """idf-weighted concept counts of the lead (title weighted as the detector weights it)."""
    from detection.text import analyse
    analysis = analyse(lexicon, title or "", text or "")
    out: dict[str, float] = {}
    for seg in analysis.segments[:1 + LEAD_SENTENCES]:
        for concept, n in seg.concepts.items():
            c = lexicon.concepts[concept]
            if c.group.startswith(_SKIP_GROUPS):
                continue
            out[concept] = round(out.get(concept, 0.0) + n * seg.weight * c.idf, 4)
    return out


def features(lexicon: Any, title: str, text: str) -> dict[str, dict]:
    return {"concepts": lead_concepts(lexicon, title, text), "words": lead_words(title, text)}


def _squares(d: dict[str, float]) -> float:
    return sum(v * v for v in d.values())


def _cosine(a: dict[str, float], sa: float, b: dict[str, float], sb: float) -> float:
    """Cosine of two sparse vectors, each side's sum of squares given (worked out once)."""
    num = sum(v * b.get(k, 0.0) for k, v in a.items())
    den = math.sqrt(sa * sb)
    return num / den if den else 0.0


@dataclass
class Item:
    """One article, as stories see it."""
    article_id: str
    at: datetime
    language: str | None
    features: dict[str, dict]
    dup_group_id: str | None = None
    story_id: str | None = None
    # What `_similarity` needs of this item, worked out once (an item is compared with every
    # representative of every open story): (the features and time it was worked out from,
    # epoch seconds or None for a naive time, concepts, their sum of squares, words, theirs).
    _parts: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def parts(self) -> tuple:
        p = self._parts
        if p is None or p[0] is not self.features or p[1] != self.at:
            concepts = self.features.get("concepts", {})
            words = self.features.get("words", {})
            p = self._parts = (self.features, self.at,
                               self.at.timestamp() if self.at.tzinfo is not None else None,
                               concepts, _squares(concepts), words, _squares(words))
        return p


# Seconds apart beyond which two times are surely more than WINDOW_HOURS apart, compared as
# epoch floats (good to a microsecond here) before the exact difference is taken.
_SURELY_APART = WINDOW_HOURS * 3600 + 1.0


def _similarity(a: Item, pa: tuple, b: Item, pb: tuple) -> float:
    """The similarity of the module's docstring, from each item's `parts()`."""
    _, _, _, ca, sca, wa, swa = pa
    _, _, _, cb, scb, wb, swb = pb
    hours = abs((a.at - b.at).total_seconds()) / 3600
    if hours > WINDOW_HOURS:
        return 0.0
    concepts = _cosine(ca, sca, cb, scb)
    if a.language and a.language == b.language:
        content = (concepts + _cosine(wa, swa, wb, swb)) / 2
    else:
        content = concepts
    return content * math.exp(-hours / DECAY_HOURS)


@dataclass(frozen=True)
class Placement:
    article_id: str
    story_id: str
    joined_by: str       # new | dup_group | similar
    similarity: float | None


@dataclass
class _State:
    representatives: dict[str, list[Item]] = field(default_factory=dict)  # story_id -> members
    by_group: dict[str, str] = field(default_factory=dict)

    def add(self, item: Item) -> None:
        reps = self.representatives.setdefault(item.story_id, [])
        reps.append(item)
        if len(reps) > REPRESENTATIVES:
            del reps[1]  # the first member stays; the oldest of the latest ones goes


def assign_stories(new: Sequence[Item], open_members: Sequence[Item],
                   new_story_id: Any, threshold: float = STORY_THRESHOLD) -> list[Placement]:
    """Place each new article (in time order) into an open story or a new one.

    open_members: members of stories still open (story_id set); new_story_id(item) gives the
    id of a story started by that item. Articles placed earlier in the batch count as members.
    """
    state = _State()
    for m in sorted(open_members, key=lambda i: (i.at, i.article_id)):
        state.add(m)
        if m.dup_group_id:
            state.by_group.setdefault(m.dup_group_id, m.story_id)
    out = []
    for item in sorted(new, key=lambda i: (i.at, i.article_id)):
        placed = _place(item, state, new_story_id, threshold)
        out.append(placed)
        item.story_id = placed.story_id
        state.add(item)
        if item.dup_group_id:
            state.by_group.setdefault(item.dup_group_id, placed.story_id)
    return out


def _place(item: Item, state: _State, new_story_id: Any, threshold: float) -> Placement:
    if item.dup_group_id and item.dup_group_id in state.by_group:
        return Placement(item.article_id, state.by_group[item.dup_group_id], "dup_group", 1.0)
    best: tuple[float, str] | None = None
    mine = item.parts()
    at = mine[2] if threshold > 0 else None  # below: a pair outside the window scores 0
    for m in (m for reps in state.representatives.values() for m in reps):
        theirs = m.parts()
        if at is not None and theirs[2] is not None and abs(at - theirs[2]) > _SURELY_APART:
            continue  # outside the window: `_similarity` is 0 (most pairs, in a long backlog)
        sim = _similarity(item, mine, m, theirs)
        if sim >= threshold and (best is None or sim > best[0]):
            best = (sim, m.story_id)
    if best is None:
        return Placement(item.article_id, new_story_id(item), "new", None)
    return Placement(item.article_id, best[1], "similar", round(best[0], 4))

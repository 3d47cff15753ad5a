"""Bilingual concept lexicon: surface forms in English and Korean mapped to concepts.

Matching is defined by one regular expression shaped as a character trie, so a document is
scanned once whatever the number of forms (a flat alternation of hundreds of forms would be
retried at every position and is far too slow for the speed target). `_SplitScan` finds the
same matches several times faster; the trie pattern stays the reference it falls back on.
"""
from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from detection.errors import TopicError

GROUPS = ("actor_a", "actor_b", "joint", "joint_weak", "event", "context", "conflict", "scope",
          "third_party", "counter", "ignore")

# Zero-width markers placed in trie keys; rendered as look-arounds when the trie is compiled.
_LATIN_START = "\x01"   # form must not be preceded by a Latin letter/digit
_LATIN_END = "\x02"     # form must not be followed by a Latin letter/digit
_HANGUL_START = "\x03"  # form must not be preceded by a Hangul syllable
_LATIN = "a-z0-9"           # (a character class body; the text is lowercased)
_HANGUL = "\uac00-\ud7a3"
_MARKERS = {
    _LATIN_START: rf"(?<![{_LATIN}])",
    _LATIN_END: rf"(?![{_LATIN}])",
    _HANGUL_START: rf"(?<![{_HANGUL}])",
}


@dataclass(frozen=True)
class Concept:
    name: str
    group: str
    label: str
    idf: float
    forms: tuple[str, ...] = field(default=())
    also: tuple[str, ...] = field(default=())
    # Names of concepts of which one must occur somewhere in the document for this one to
    # count: "the north" is the North only in an article that names Korea at all.
    requires: tuple[str, ...] = field(default=())

    @property
    def roles(self) -> tuple[str, ...]:
        """The concept's group followed by any extra groups it also plays."""
        return (self.group,) + self.also


@dataclass
class Lexicon:
    concepts: dict[str, Concept]
    form_to_concept: dict[str, str]
    pattern: re.Pattern
    ignored: frozenset[str] = frozenset()
    # Forms matched with their case, on the original text: "US" and "UN" are the United States
    # and the United Nations, while "us" and "un" are not.
    cased_pattern: re.Pattern | None = None
    cased_to_concept: dict[str, str] = field(default_factory=dict)
    # A longer form that contains a party's form names that party too: "contact with North
    # Korea" (an exchange) names North Korea, "대북정책" (a policy) names the North. The
    # matcher takes the longest form, so these are added back (form -> party concepts).
    implied: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The same matches as `pattern`, found faster (see _SplitScan); None: use `pattern`.
    scanner: "_SplitScan | None" = None

    def find_all(self, text: str) -> list[tuple[int, str, str]]:
        """Every hit in the text, in order: the case-insensitive forms, then the cased ones
        that do not fall inside a longer case-insensitive form ("South" in "South Korea" or
        in the look-alike "South China Sea" is not a hit of its own)."""
        hits, spans = [], []
        for start, end, form, concept in self._scan(text.lower()):
            spans.append((start, end))
            if concept is not None:
                hits.append((start, form, concept))
        if self.cased_pattern is not None:
            starts = [a for a, _ in spans]
            for m in self.cased_pattern.finditer(text):
                i = bisect.bisect_right(starts, m.start()) - 1
                if i >= 0 and spans[i][0] <= m.start() < spans[i][1]:
                    continue
                hits.append((m.start(), m.group(0), self.cased_to_concept[m.group(0)]))
        hits.sort()
        return hits

    def find(self, text_lower: str):
        """Yield (start, surface form, concept name) for every lexicon hit in lowercased text."""
        for start, _end, form, concept in self._scan(text_lower):
            if concept is not None:
                yield start, form, concept

    def _scan(self, text_lower: str):
        """(start, end, form, concept) for every match, implied parties included; concept is
        None for a look-alike, whose span still counts as taken."""
        lookup, ignored, implied = self.form_to_concept, self.ignored, self.implied
        if self.scanner is not None:
            spans = self.scanner.spans(text_lower)
        else:
            spans = [m.span() for m in self.pattern.finditer(text_lower)]
        for start, end in spans:
            form = text_lower[start:end]
            concept = lookup[form]
            if concept in ignored:
                yield start, end, form, None
                continue
            yield start, end, form, concept
            for other in implied.get(form, ()):
                yield start, end, form, other

def _key_for_english(form: str) -> tuple[str, str]:
    """Return (trie key, surface text) for an English form, honouring a trailing '*'."""
    prefix = form.endswith("*")
    text = form.rstrip("*").lower()
    key = _LATIN_START + text + ("" if prefix else _LATIN_END)
    return key, text


def _trie(keys: list[str]) -> dict:
    """The keys as a character trie; `_render` makes it a regex whose alternations share
    prefixes (longest match first)."""
    trie: dict = {}
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}
    return trie


def _render(node: dict) -> str:
    branches = []
    ends = "" in node
    # Real characters before zero-width markers, so that at one position the longer
    # form wins ("북한" before the stand-alone "북").
    for ch in sorted((k for k in node if k), key=lambda k: (k in _MARKERS, k)):
        piece = _MARKERS.get(ch, re.escape(ch))
        branches.append(piece + _render(node[ch]))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        # The key can stop here; try the longer continuations first (greedy '?').
        return "(?:" + body + ")?"
    return body


class _SplitScan:
    """The matches of the trie pattern (`pattern.finditer`), found by faster scans.

    Python's regex engine jumps over characters that cannot start a match only when the
    pattern begins with a character or a set of them. The trie pattern begins with
    look-behinds (the word-bounded forms), so it is tried at every position of the text,
    where its first alternation alone takes ~180 comparisons: ~0.3 us a character. Here the
    keys are split into parts by how they start, and each part gets a pattern that begins
    with a character:

    * the substring and Hangul-bounded forms (ko, ko_word), with the look-behind moved after
      the first character (`(?<![X]c)` once `c` is read is `(?<![X])` before it), so the
      engine stops only at their first characters. At each stop it still compares the
      character with every first character of the part, so for Korean text, where a third
      of the characters start some form, these forms are cut into `KOREAN_PARTS` parts;
    * the word-bounded English forms (en, and ASCII ko forms): on English text `latin_word`
      takes the non-letter before the word, so the engine stops only between words; on
      other text `latin_first` stops at their first letters, like the parts above.

    Why this is exact: at each position it reaches, the trie pattern tries its forms in a
    fixed order, takes the first that matches and goes on from the end of that match; whether
    a form matches at a position depends on the text alone. A part's own scan reaches every
    position outside its own matches. If no two of the parts' matches overlap, every position
    the trie reaches is reached by every part, at most one part matches there, and its match
    is the trie's: the union of the parts' matches is the trie's. Where matches overlap,
    `_walk` replays the trie's walk from them, searching a part again from a position the
    trie reaches inside one of that part's own matches; if two parts match at one position
    (the trie's order of forms would decide), the text is scanned with the trie pattern.
    """

    KOREAN_PARTS = 4

    def __init__(self, trie: dict, reference: re.Pattern):
        self.reference = reference
        latin = trie.get(_LATIN_START, {})
        hangul = trie.get(_HANGUL_START, {})

        def alternative(ch: str) -> str:
            # Same order as the trie at this position: substring forms, then bounded ones.
            tails = []
            if ch in trie:
                tails.append(_render(trie[ch]))
            if ch in hangul:
                tails.append(rf"(?<![{_HANGUL}]{re.escape(ch)})" + _render(hangul[ch]))
            return re.escape(ch) + (tails[0] if len(tails) == 1 else "(?:" + "|".join(tails) + ")")

        firsts = sorted({c for c in trie if c not in _MARKERS} | set(hangul))
        size = max(1, -(-len(firsts) // self.KOREAN_PARTS))
        self.other_whole = [re.compile("|".join(map(alternative, firsts)))] if firsts else []
        self.other_parts = [re.compile("|".join(map(alternative, firsts[i:i + size])))
                            for i in range(0, len(firsts), size)]
        self.latin_first = self.latin_word = None
        if latin:
            self.latin_first = re.compile("|".join(
                re.escape(ch) + rf"(?<![{_LATIN}]{re.escape(ch)})" + _render(latin[ch])
                for ch in sorted(latin)))
            # Matched on " " + text: the leading non-letter stands for "not preceded by a
            # letter" and the engine skips every letter and digit in one tight loop.
            self.latin_word = re.compile(rf"[^{_LATIN}](" + _render(latin) + ")")

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every match of the trie pattern in `text`, in order."""
        # English text: "e" is about one letter in ten; in Korean text it is rare. Either
        # choice gives the same matches; this one only picks the cheaper scans.
        english = text.count("e") * 30 > len(text)
        patterns = list(self.other_whole if english else self.other_parts)
        found = [[m.span() for m in p.finditer(text)] for p in patterns]
        if self.latin_first is not None:
            patterns.append(self.latin_first)
            found.append(self._latin_by_word(text) if english
                         else [m.span() for m in self.latin_first.finditer(text)])
        if sum(1 for part in found if part) <= 1:
            return next((part for part in found if part), [])
        union = sorted([span for part in found for span in part])
        for i in range(1, len(union)):
            if union[i][0] < union[i - 1][1]:
                walked = self._walk(text, patterns, found)
                if walked is None:
                    return [m.span() for m in self.reference.finditer(text)]
                return walked
        return union

    def _latin_by_word(self, text: str) -> list[tuple[int, int]]:
        shifted = " " + text
        search = self.latin_word.search
        out, pos = [], 0
        while m := search(shifted, pos):
            start, end = m.span(1)
            out.append((start - 1, end - 1))
            # The next form may start right at this one's end if its last character is not
            # a letter: its "character before" is then the last one of this match.
            pos = end - 1
        return out

    @staticmethod
    def _walk(text: str, patterns: list[re.Pattern], found: list[list[tuple[int, int]]]):
        """The trie's walk over the text, from each part's own matches (None when two parts
        match at one position: which one the trie takes depends on its order of forms)."""
        out: list[tuple[int, int]] = []
        pos = 0
        index = [0] * len(found)
        while True:
            best = None
            for part, spans in enumerate(found):
                i = index[part]
                while i < len(spans) and spans[i][0] < pos:
                    i += 1
                index[part] = i
                if i and spans[i - 1][1] > pos:
                    # The part's scan was inside one of its matches here: look again.
                    m = patterns[part].search(text, pos)
                    span = m.span() if m else None
                else:
                    span = spans[i] if i < len(spans) else None
                if span is None:
                    continue
                if best is None or span[0] < best[0]:
                    best = span
                elif span[0] == best[0]:
                    return None
            if best is None:
                return out
            out.append(best)
            pos = best[1]


# Group names of lexicons written before the actor roles were made generic.
_GROUP_ALIASES = {"actor_north": "actor_a", "actor_south": "actor_b"}


def _concept_from_table(name: str, table: dict, source: Path) -> Concept:
    group = _GROUP_ALIASES.get(table.get("group"), table.get("group"))
    if group not in GROUPS:
        raise TopicError(f"{source}: concept {name} has group {group!r}; expected one of {GROUPS}")
    forms = (tuple(table.get("en", [])) + tuple(table.get("ko", [])) + tuple(table.get("ko_word", []))
             + tuple(table.get("cased", [])))
    if not forms:
        raise TopicError(f"{source}: concept {name} lists no surface forms (en/ko/ko_word)")
    also = tuple(_GROUP_ALIASES.get(g, g) for g in table.get("also", []))
    for extra in also:
        if extra not in GROUPS:
            raise TopicError(f"{source}: concept {name} has also = {extra!r}; expected groups {GROUPS}")
    requires = tuple(table.get("requires", []))
    return Concept(name, group, table.get("label", name), float(table.get("idf", 1.0)), forms, also,
                   requires)


def load_lexicon(path: Path) -> Lexicon:
    """Read a lexicon TOML file (see seeds/lexicon/korea.toml for the format)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TopicError(f"lexicon file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopicError(f"lexicon {path} is not valid TOML: {exc}") from None
    tables = data.get("concepts")
    if not isinstance(tables, dict) or not tables:
        raise TopicError(f"lexicon {path} has no [concepts.NAME] tables")
    concepts, form_to_concept, keys = {}, {}, []
    for name, table in tables.items():
        concepts[name] = _concept_from_table(name, table, Path(path))
        for key, text in _keys_for_table(table):
            other = form_to_concept.get(text)
            if other is not None and other != name:
                # One form, one concept: a second owner would silently take the form from the
                # first (a form found in the text is filed under exactly one concept).
                raise TopicError(f"{path}: the form {text!r} is listed under both {other} and {name}")
            form_to_concept[text] = name
            keys.append(key)
    for name, concept in concepts.items():
        unknown = [r for r in concept.requires if r not in concepts]
        if unknown:
            raise TopicError(f"{path}: concept {name} requires unknown concept(s) {', '.join(unknown)}")
        conditional = [r for r in concept.requires if concepts[r].requires]
        if conditional:
            raise TopicError(f"{path}: concept {name} requires {', '.join(conditional)}, "
                             "which is itself conditional; require unconditional concepts")
    ignored = frozenset(n for n, c in concepts.items() if c.group == "ignore")
    cased = {form: name for name, table in tables.items() for form in table.get("cased", [])}
    cased_pattern = None
    if cased:
        # Longest first; not preceded by a letter or digit, with the look-behind after the
        # first letter (as in _SplitScan) so the engine stops only at the forms' capitals.
        alternation = "|".join(
            re.escape(f[0]) + rf"(?<![A-Za-z0-9]{re.escape(f[0])})" + re.escape(f[1:])
            for f in sorted(cased, key=len, reverse=True))
        cased_pattern = re.compile(rf"(?:{alternation})(?![A-Za-z0-9])")
    trie = _trie(keys)
    pattern = re.compile(_render(trie))
    return Lexicon(concepts, form_to_concept, pattern, ignored, cased_pattern, cased,
                   _implied_parties(concepts, tables), _SplitScan(trie, pattern))


PARTY_GROUPS = ("actor_a", "actor_b", "joint")


def _implied_parties(concepts: dict[str, Concept], tables: dict) -> dict[str, tuple[str, ...]]:
    """For each form, the party concepts (actors, joint forms) whose own forms it contains."""
    parties = []   # (compiled search for the party form inside another form, concept name)
    for name, table in tables.items():
        concept = concepts[name]
        if concept.group not in PARTY_GROUPS or concept.requires:
            continue
        for form in table.get("en", []):
            text = form.rstrip("*").lower()
            tail = "" if form.endswith("*") else r"(?![a-z0-9])"
            parties.append((re.compile(r"(?<![a-z0-9])" + re.escape(text) + tail), name))
        for form in table.get("ko", []):
            text = form.lower()
            if text.isascii():
                parties.append((re.compile(r"(?<![a-z0-9])" + re.escape(text) + r"(?![a-z0-9])"), name))
            else:
                parties.append((re.compile(re.escape(text)), name))
        for form in table.get("ko_word", []):
            parties.append((re.compile(r"(?<![\uac00-\ud7a3])" + re.escape(form.lower())), name))
    implied: dict[str, tuple[str, ...]] = {}
    for name, table in tables.items():
        concept = concepts[name]
        if concept.group == "ignore" or concept.group in PARTY_GROUPS:
            # Look-alikes name nobody (남북전쟁 is not the two Koreas), and a party's own
            # name is not a mention of another ("Democratic People's Republic of Korea").
            continue
        forms = [f.rstrip("*").lower() for f in table.get("en", [])]
        forms += [f.lower() for f in table.get("ko", []) + table.get("ko_word", [])]
        for text in forms:
            extra = []
            for search, party in parties:
                if party in extra or concepts[party].group in concept.roles:
                    continue
                if search.search(text):
                    extra.append(party)
            if extra:
                implied[text] = tuple(extra)
    return implied


def _keys_for_table(table: dict):
    for form in table.get("en", []):
        yield _key_for_english(form)
    for form in table.get("ko", []):
        text = form.lower()
        if text.isascii():  # e.g. "DMZ", "UN" written inside Korean text: whole word only
            yield _LATIN_START + text + _LATIN_END, text
        else:
            yield text, text
    for form in table.get("ko_word", []):
        yield _HANGUL_START + form.lower(), form.lower()

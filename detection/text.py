"""Splitting an article into weighted segments and locating concept hits in them."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from detection.lexicon import Lexicon

# A sentence ends at . ! ? 。 (or a run of them) followed by space, a quote, or a Hangul
# syllable (Korean copy often omits the space: "...밝혔다.이어"), at a line break, or
# before a list bullet (personnel and donor lists run on without full stops).
# (The leading look-ahead only repeats the first character of each alternative: one set
# test per position instead of three alternatives, a third of the cost on long bodies.)
_BOUNDARY = re.compile(r"(?=[.!?。\n△▲◆◇■□●○▶▷【])"
                       r"(?:[.!?。]+(?=[\s\"'”’\uac00-\ud7a3])|\n+|(?=[△▲◆◇■□●○▶▷【]))")

# Wire datelines ("SEOUL, Dec. 28 (Yonhap) --") name where a story was filed, not an actor.
# (Starting with the capital and checking the word boundary behind it lets the engine skip
# to capitals: `[A-Z](?<!\w[A-Z])` is `\b[A-Z]`.)
_DATELINE = re.compile(r"[A-Z](?<!\w[A-Z])[A-Z .]{2,}, [A-Z][a-z]{2,4}\.? \d{1,2}(?:, \d{4})? "
                       r"\([^)]{2,30}\)\s*[-—–]+")
DATELINE_SEARCH_CHARS = 600

# A segment with no letter or digit (a feed lead cut to "(" or "...") is not a sentence.
_WORDY = re.compile(r"\w")

# A full stop after these does not end a sentence (English wire copy: "N. Korea", "U.S.").
_INITIALS = re.compile(r"(?:[A-Z]\.)*[A-Z]")
_ABBREVIATIONS = frozenset({
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Gen", "Lt", "Col", "Maj", "Capt", "Sgt", "Adm", "Rep", "Sen",
    "Gov", "Amb", "Pres", "Rev", "St", "Jr", "Sr", "No", "vs", "Jan", "Feb", "Mar", "Apr", "Jun",
    "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Co", "Corp", "Inc", "Ltd", "approx", "est"})

# Korean input methods write Hanja as CJK *compatibility* ideographs: the 李 of "李대통령"
# is often U+F9E1, not U+674E, though the two look the same. Full-width Latin letters and
# digits turn up too ("ＵＮ"), and five look-alikes of the middle dot ("9ㆍ19"). All are folded
# one character to one character (so offsets do not move) before matching; the lexicon holds
# the ordinary forms.
def _fold_table() -> dict[int, str]:
    import unicodedata
    table = {}
    ranges = [(0xF900, 0xFAFF), (0x2F800, 0x2FA1F), (0xFF01, 0xFF5E)]
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            folded = unicodedata.normalize("NFKC", chr(cp))
            if len(folded) == 1 and folded != chr(cp):
                table[cp] = folded
    # Middle-dot look-alikes that Korean copy uses in "9·19", "북·미", "6·15"
    for cp in (0x318D, 0x2027, 0x2219, 0x30FB, 0xFF65, 0x22C5):
        table[cp] = "\u00b7"
    return table


_FOLD = _fold_table()


def _class_of(codepoints) -> str:
    """A regex character class of the code points, as few ranges as possible."""
    runs: list[list[int]] = []
    for cp in sorted(codepoints):
        if runs and cp == runs[-1][1] + 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return "[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "")
                         for a, b in runs) + "]"


# str.translate looks every character up in the table (~30 ns each on Korean text); one
# search for a character that folds at all skips that for the texts that have none.
_FOLDABLE = re.compile(_class_of(_FOLD))


def fold(text: str) -> str:
    """Compatibility ideographs and full-width forms to their ordinary characters."""
    if _FOLDABLE.search(text) is None:
        return text
    return text.translate(_FOLD)


TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 2.0
BODY_WEIGHT = 1.0
LEAD_SENTENCES = 2
SHORT_TEXT_CHARS = 600  # headline + feed summary: every sentence is treated as lead


@dataclass
class Segment:
    start: int
    end: int
    weight: float
    concepts: dict[str, int] = field(default_factory=dict)


@dataclass
class Analysis:
    """The document as seen by the detector: its text and segments with concept counts."""
    text: str
    segments: list[Segment]
    short: bool
    hits: list[tuple[int, str, str]]


def split_segments(title: str, body: str) -> tuple[str, list[Segment], bool]:
    """Join title and body into one string and cut it into weighted segments."""
    title = fold((title or "").strip())
    body = fold((body or "").strip())
    joined = title + "\n" + body if title else body
    short = len(body) < SHORT_TEXT_CHARS
    segments: list[Segment] = []
    if title:
        segments.append(Segment(0, len(title), TITLE_WEIGHT))
    offset = len(title) + 1 if title else 0
    for start, end in _sentence_spans(body):
        lead = short or len(segments) - (1 if title else 0) < LEAD_SENTENCES
        segments.append(Segment(offset + start, offset + end, LEAD_WEIGHT if lead else BODY_WEIGHT))
    return joined, segments, short


def _sentence_spans(body: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    wordy = _WORDY.search
    for m in _BOUNDARY.finditer(body):
        stop, end = m.span()
        if end - stop == 1 and body[stop] == ".":
            # After a lower-case letter only a listed abbreviation can end here, and then its
            # last two letters are those of a listed one: most full stops ("...said.") are
            # settled by that one lookup. Initials end in a capital.
            if ((body[stop - 1] not in _LOWER_LETTERS if stop else True)
                    or body[stop - 2:stop] in _ABBREVIATION_ENDS) and _after_abbreviation(body, stop):
                continue  # "N. Korea", "the U.S. envoy", "Dec. 28": the sentence goes on
        if wordy(body, start, end):
            spans.append((start, end))
        start = end
    if wordy(body, start):
        spans.append((start, len(body)))
    return spans


_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_LOWER_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_ABBREVIATION_ENDS = frozenset(a[-2:] for a in _ABBREVIATIONS)  # every one has two letters or more


def _after_abbreviation(body: str, stop: int) -> bool:
    """Whether the full stop at `stop` ends an initial or a common abbreviation rather than
    a sentence."""
    before = body[stop - 1] if stop else ""
    if before not in _ASCII_LETTERS and not before.isspace():
        # The word before ends in this character (or is empty), and every initial and
        # abbreviation ends in a Latin letter: the common case in Korean copy ("...했다.").
        return False
    word = body[max(0, stop - 12):stop].rsplit(None, 1)[-1:] or [""]
    word = word[0].lstrip("(\"'“‘")
    return bool(_INITIALS.fullmatch(word)) or word in _ABBREVIATIONS


def analyse(lexicon: Lexicon, title: str, body: str) -> Analysis:
    """Find every lexicon hit once and file it under the segment that contains it."""
    joined, segments, short = split_segments(title, body)
    starts = [seg.start for seg in segments]
    masked = _mask_dateline(joined)
    hits = lexicon.find_all(masked)
    hits = _drop_unsupported(lexicon, hits)
    for pos, _form, concept in hits:
        idx = bisect.bisect_right(starts, pos) - 1
        if idx >= 0:
            counts = segments[idx].concepts
            counts[concept] = counts.get(concept, 0) + 1
    return Analysis(joined, segments, short, hits)


def _drop_unsupported(lexicon: Lexicon, hits):
    """Drop hits of conditional concepts whose required context is absent from the document."""
    concepts = lexicon.concepts
    present = {c for _, _, c in hits}
    keep = {c for c in present
            if not concepts[c].requires or any(r in present for r in concepts[c].requires)}
    if len(keep) == len(present):
        return hits
    return [h for h in hits if h[2] in keep]


def _mask_dateline(text: str) -> str:
    """Blank out a wire dateline near the start (same length, so offsets stay valid)."""
    m = _DATELINE.search(text, 0, DATELINE_SEARCH_CHARS)
    if not m:
        return text
    return text[:m.start()] + " " * (m.end() - m.start()) + text[m.end():]

"""Near-duplicate texts: MinHash over word shingles, with LSH bands to find candidates.

Each article's text becomes a set of word 3-shingles; a MinHash signature of NUM_PERM values
(one-permutation hashing, see `signature`) estimates the Jaccard similarity of two such sets (the share of equal positions). The
signature is cut into BANDS bands of ROWS values; articles sharing any band key are
candidates, and a candidate counts as a near-duplicate when the estimated Jaccard similarity
reaches THRESHOLD. With 20 bands of 3 rows a pair at similarity s becomes a candidate with
probability 1 - (1 - s^3)^20: 0.15 at s = 0.2, 0.73 at 0.4, 0.93 at 0.5, 0.99 at 0.6.

The threshold was chosen on real wire updates (bench/neardup_dev.py on the dev set): see
docs/alerts.md, "Duplicates".

Everything here is plain functions over strings and integers: the band keys and signatures
are stored in the warehouse (`warehouse/stories.py`), so finding candidates for new
articles is a join on band keys, not a scan over stored texts.
"""
from __future__ import annotations

import hashlib
import operator
import re
import struct
import unicodedata
from collections import deque
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Iterable, Sequence

import numpy as np

SHINGLE_WORDS = 3
NUM_PERM = 60
BANDS = 20
ROWS = NUM_PERM // BANDS
THRESHOLD = 0.5           # estimated Jaccard of 3-shingle sets; see the module docstring
MIN_SHINGLES = 12         # shorter texts (titles, one-line summaries) are not compared
# Articles kept as candidates per band key. A flood of near-identical texts shares the same
# band keys: without a cap each new one is compared with every earlier one (quadratic). Texts
# in one full band are near-identical to each other, so a few of them stand for all the rest;
# a true near-duplicate shares several bands (2.5 of 20 on average at similarity 0.5).
MAX_PER_BAND = 8

# Signature values: 56 bits of the shingle hash, plus the densification offset above them
# (under 2**62 in all, so they fit the warehouse's signed 64-bit integers).
_VALUE_BITS = 56
_VALUE_MASK = (1 << _VALUE_BITS) - 1
_WORD = re.compile(r"\w+", re.UNICODE)
# Wire-update markers and datelines change between versions of the same story.
_MARKER = re.compile(r"\((?:lead|\d+(?:st|nd|rd|th) ld|update\d*|종합\d*보?|\d+보)\)", re.I)

# How the code below gets the same words, shingle hashes, signatures and band keys as the
# plain definitions in the docstrings, with fewer Python-level steps per word (the stored
# signatures and band keys must not change, so every shortcut here is exact):
#
# * Words. NFKC and casefold leave ASCII text as it is but for upper-case letters, and `\w`
#   on ASCII is [0-9A-Za-z_], so ASCII text needs one bytes.translate (lower-case the
#   letters, blank every other ASCII character) and one split. Text with a few non-ASCII
#   characters (curly quotes, dashes) is split the same way after normalising, and only the
#   pieces that still hold non-ASCII bytes go through the regular expression. Text with many
#   (Korean) goes through the regular expression whole, which is then the cheaper way.
# * Hashes. Copying an empty 8-byte blake2b object and feeding it a shingle gives the same
#   digest as constructing one with digest_size=8, and costs about a third less than the
#   constructor's keyword parsing; map() drives copy, update and digest from C, and the
#   digests are read back as big-endian integers in one call.
# * Signature. numpy's unsigned 64-bit arithmetic is exact for the bin and value of each hash.
_TRANSLATE = bytes((c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c == 95 or c >= 128)
                    else 32) for c in range(256))
_FEW_NON_ASCII = 16       # at most 1 extra UTF-8 byte per this many characters: split, then fix up
_EMPTY_HASH = hashlib.blake2b(digest_size=8)
_Blake = type(_EMPTY_HASH)
_U64 = np.dtype(">u8")
_EMPTY_BIN = np.iinfo(np.uint64).max  # above every 56-bit value
_BAND_PREFIXES = [struct.pack(">H", band) for band in range(BANDS)]
_BAND_SLICES = [slice(band * ROWS * 8, (band + 1) * ROWS * 8) for band in range(BANDS)]
_BAND_KEYS = struct.Struct(f">{BANDS}q")


def _digests(chunks: list[bytes]) -> bytes:
    """The 8-byte blake2b digest of each chunk, concatenated in order."""
    hashers = list(map(_Blake.copy, repeat(_EMPTY_HASH, len(chunks))))
    deque(map(_Blake.update, hashers, chunks), maxlen=0)
    return b"".join(map(_Blake.digest, hashers))


def _words(text: str) -> list[bytes]:
    """`tokens(text)`, each word as UTF-8 bytes."""
    if text.isascii():
        # The marker pattern ignores case, so it finds the same markers before lower-casing.
        return _MARKER.sub(" ", text).encode("ascii").translate(_TRANSLATE).split()
    text = _MARKER.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    # Lone surrogates (possible in str from JSON) are no word characters; surrogatepass keeps
    # them in the bytes, and the regular expression then drops them.
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) - len(text) > len(text) // _FEW_NON_ASCII:
        return list(map(str.encode, _WORD.findall(text)))
    # ASCII bytes never occur inside a multi-byte UTF-8 sequence, so blanking the ASCII
    # non-word characters and splitting leaves whole characters in every piece; a piece with
    # non-ASCII bytes may still hold non-word characters (quotes, dashes) and is re-split.
    pieces = raw.translate(_TRANSLATE).split()
    mixed = list(compress(range(len(pieces)), map(operator.not_, map(bytes.isascii, pieces))))
    if not mixed:
        return pieces
    out: list[bytes] = []
    start = 0
    for i in mixed:
        out += pieces[start:i]
        out += map(str.encode, _WORD.findall(pieces[i].decode("utf-8", "surrogatepass")))
        start = i + 1
    out += pieces[start:]
    return out


def tokens(text: str) -> list[str]:
    """Lower-cased words of NFKC-normalised text, without wire-update markers."""
    text = text or ""
    if text.isascii():  # see `_words`
        return _MARKER.sub(" ", text).encode("ascii").translate(_TRANSLATE).decode("ascii").split()
    return _WORD.findall(_MARKER.sub(" ", unicodedata.normalize("NFKC", text).casefold()))


def _shingle_bytes(text: str, k: int = SHINGLE_WORDS) -> list[bytes]:
    """UTF-8 bytes of each k-word shingle ("w1 w2 w3"), in text order, repeats included (the
    whole text as one shingle when it has fewer than k words)."""
    words = _words(text or "")
    if len(words) < k:
        return [b" ".join(words)] if words else []
    return list(map(b" ".join, zip(*(words[i:] for i in range(k)))))


def _hash_array(text: str, k: int = SHINGLE_WORDS) -> np.ndarray:
    """The shingle hashes of the text (uint64, repeats included)."""
    chunks = _shingle_bytes(text, k)
    return np.frombuffer(_digests(chunks), dtype=_U64).astype(np.uint64) if chunks else np.empty(0, np.uint64)


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[int]:
    """64-bit hashes of the text's k-word shingles (a single shingle for shorter texts): the
    first 8 bytes of blake2b(digest_size=8) of each shingle's words joined by single spaces,
    read as a big-endian integer."""
    chunks = _shingle_bytes(text, k)
    return set(struct.unpack(f">{len(chunks)}Q", _digests(chunks))) if chunks else set()


def _signature_array(hashes: np.ndarray) -> tuple[np.ndarray, int]:
    """`signature` of uint64 hashes (repeats allowed), as uint64, and how many bins were
    filled (at most the number of distinct hashes); (empty array, 0) when there are none."""
    if not len(hashes):
        return hashes, 0
    bins = hashes % np.uint64(NUM_PERM)
    values = (hashes // np.uint64(NUM_PERM)) & np.uint64(_VALUE_MASK)
    # Smallest value per bin: a sentinel above every 56-bit value marks the empty bins.
    out = np.full(NUM_PERM, _EMPTY_BIN, dtype=np.uint64)
    np.minimum.at(out, bins.astype(np.intp), values)
    filled = np.flatnonzero(out != _EMPTY_BIN)
    if len(filled) == NUM_PERM:
        return out, NUM_PERM
    # Each empty bin takes the next filled bin to its right (wrapping round), plus the distance
    # times 2**56: the same as stepping right one bin at a time.
    here = np.arange(NUM_PERM)
    nxt = filled[np.searchsorted(filled, here) % len(filled)]
    step = ((nxt - here) % NUM_PERM).astype(np.uint64)
    return out[nxt] + (step << np.uint64(_VALUE_BITS)), len(filled)


def signature(shingle_set: Iterable[int]) -> list[int]:
    """MinHash signature by one-permutation hashing (Li, Owen and Zhang, 2012).

    Each shingle hash falls in one of NUM_PERM bins (its low bits) and each bin keeps the
    smallest remaining value, so a text costs one pass over its shingles instead of NUM_PERM.
    Empty bins (short texts) borrow the next filled bin to the right, offset by the distance
    (rotation densification, Shrivastava and Li, 2014), so two signatures still agree on a
    position with probability close to the Jaccard similarity of the sets.
    Precisely: bin h % NUM_PERM keeps min((h // NUM_PERM) & (2**56 - 1)); an empty bin i takes
    the value of the first filled bin i + s (mod NUM_PERM) plus s * 2**56.
    """
    return _signature_array(np.fromiter(shingle_set, dtype=np.uint64))[0].tolist()


def _band_keys_of(packed: bytes) -> tuple[int, ...]:
    """Band keys of a signature packed as NUM_PERM big-endian unsigned 64-bit integers."""
    chunks = list(map(operator.add, _BAND_PREFIXES, map(packed.__getitem__, _BAND_SLICES)))
    return _BAND_KEYS.unpack(_digests(chunks))


def band_keys(sig: Sequence[int]) -> list[int]:
    """One signed 64-bit key per band (band number included, so bands never collide): the
    8-byte blake2b of the band number (2 bytes) and the band's ROWS values (8 bytes each), all
    big-endian, read as a signed big-endian integer."""
    if len(sig) != NUM_PERM:
        return []
    return list(_band_keys_of(struct.pack(f">{NUM_PERM}Q", *sig)))


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(map(operator.eq, a, b)) / len(a)  # counts the equal positions, in C


def jaccard(a: set[int], b: set[int]) -> float:
    """Exact Jaccard similarity of two shingle sets (for checks and benchmarks)."""
    return len(a & b) / len(a | b) if a or b else 0.0


@dataclass(frozen=True)
class Sketch:
    article_id: str
    signature: tuple[int, ...]
    bands: tuple[int, ...]


def sketch(article_id: str, text: str) -> Sketch | None:
    """Signature and band keys of one text, or None when it is too short to compare."""
    hashes = _hash_array(text)
    if len(hashes) < MIN_SHINGLES:
        return None
    sig, filled = _signature_array(hashes)
    # Each filled bin holds a distinct hash, so only a text with few filled bins needs its
    # distinct hashes counted (as the set in `shingles` would: a repeated shingle counts once).
    if filled < MIN_SHINGLES and len(np.unique(hashes)) < MIN_SHINGLES:
        return None
    return Sketch(article_id, tuple(sig.tolist()), _band_keys_of(sig.astype(_U64).tobytes()))


@dataclass(frozen=True)
class Assignment:
    article_id: str
    group_id: str
    method: str          # exact | minhash | unique
    similarity: float
    matched_id: str | None
    bands: tuple[int, ...] = ()  # band keys under which it is kept as a candidate for later articles


def assign_groups(new: Sequence[dict], known_hashes: dict[str, str],
                  candidates: dict[int, list[tuple[str, str]]],
                  signatures: dict[str, Sequence[int]], threshold: float = THRESHOLD,
                  cap: int = MAX_PER_BAND) -> list[Assignment]:
    """Duplicate group of each new article, in the given (time) order.

    new: dicts with article_id, content_hash, sketch (Sketch or None).
    known_hashes: content_hash -> group id of stored articles with that exact text.
    candidates: band key -> [(article_id, group_id)] of stored articles sharing the key.
    signatures: article_id -> signature of those stored candidates.
    New articles also match earlier ones of the same batch. At most `cap` candidates are
    compared per band key, so each article costs at most BANDS x cap comparisons; an article
    becomes a candidate under the band keys that have room (`Assignment.bands`).
    """
    hashes = dict(known_hashes)
    bands = {k: list(v) for k, v in candidates.items()}
    # Signatures as int64 arrays (the warehouse's are already), so an article is compared with
    # all its candidates in one NumPy operation (`equal_positions`).
    sigs = {k: _as_array(v) for k, v in signatures.items()}
    out = []
    for art in new:
        a = _assign_one(art, hashes, bands, sigs, threshold, cap)
        hashes.setdefault(art["content_hash"], a.group_id)
        sk = art.get("sketch")
        kept = []
        if sk is not None:
            sigs[a.article_id] = _as_array(sk.signature)
            entry = (a.article_id, a.group_id)  # one tuple shared by all its band lists
            for key in sk.bands:
                members = bands.get(key)
                if members is None:
                    members = bands[key] = []
                if len(members) < cap:
                    members.append(entry)
                    kept.append(key)
        out.append(Assignment(a.article_id, a.group_id, a.method, a.similarity, a.matched_id,
                              tuple(kept)))
    return out


def _as_array(sig: Sequence[int]) -> np.ndarray:
    return np.asarray(sig, dtype=np.int64)


def equal_positions(sig: np.ndarray, others: list[np.ndarray]) -> np.ndarray | None:
    """How many positions of each of `others` equal `sig` (signatures, int64 arrays); None
    when one of them has another length (no estimate: `similarity` gives those 0)."""
    if any(len(o) != len(sig) for o in others):
        return None
    return (np.stack(others) == sig).sum(axis=1)


def _assign_one(art: dict, hashes: dict[str, str], bands: dict[int, list[tuple[str, str]]],
                sigs: dict[str, np.ndarray], threshold: float, cap: int) -> Assignment:
    aid = art["article_id"]
    if art["content_hash"] in hashes:
        return Assignment(aid, hashes[art["content_hash"]], "exact", 1.0, None)
    sk = art.get("sketch")
    best: tuple[float, str, str] | None = None
    if sk is not None:
        seen, found = set(), []
        for key in sk.bands:
            for other, group in bands.get(key, ())[:cap]:
                if other in seen or other == aid or other not in sigs:
                    continue
                seen.add(other)
                found.append((other, group))
        if found:
            mine = _as_array(sk.signature)
            equal = equal_positions(mine, [sigs[other] for other, _ in found])
            if equal is None:  # a stored signature of another length: one by one, as defined
                sims = [similarity(sk.signature, sigs[other]) for other, _ in found]
            else:
                sims = (equal / len(mine)).tolist()  # the same floats as `similarity`
            # The first candidate with the highest similarity, as a scan keeping strictly
            # higher ones would pick.
            i = max(range(len(sims)), key=sims.__getitem__)
            if sims[i] >= threshold:
                best = (sims[i], found[i][0], found[i][1])
    if best is None:
        return Assignment(aid, aid, "unique", 1.0, None)
    return Assignment(aid, best[2], "minhash", round(best[0], 4), best[1])

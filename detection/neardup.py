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

import dataclasses
import hashlib
import re
import struct
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

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


def tokens(text: str) -> list[str]:
    """Lower-cased words of NFKC-normalised text, without wire-update markers."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _WORD.findall(_MARKER.sub(" ", text))


def _h64(data: str) -> int:
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8"), digest_size=8).digest(), "big")


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[int]:
    """64-bit hashes of the text's k-word shingles (a single shingle for shorter texts)."""
    words = tokens(text)
    if len(words) < k:
        return {_h64(" ".join(words))} if words else set()
    return {_h64(" ".join(words[i:i + k])) for i in range(len(words) - k + 1)}


def signature(shingle_set: Iterable[int]) -> list[int]:
    """MinHash signature by one-permutation hashing (Li, Owen and Zhang, 2012).

    Each shingle hash falls in one of NUM_PERM bins (its low bits) and each bin keeps the
    smallest remaining value, so a text costs one pass over its shingles instead of NUM_PERM.
    Empty bins (short texts) borrow the next filled bin to the right, offset by the distance
    (rotation densification, Shrivastava and Li, 2014), so two signatures still agree on a
    position with probability close to the Jaccard similarity of the sets.
    """
    bins: list[int | None] = [None] * NUM_PERM
    for h in shingle_set:
        b, v = h % NUM_PERM, (h // NUM_PERM) & _VALUE_MASK
        cur = bins[b]
        if cur is None or v < cur:
            bins[b] = v
    if all(v is None for v in bins):
        return []
    out = []
    for i in range(NUM_PERM):
        step = 0
        while bins[(i + step) % NUM_PERM] is None:
            step += 1
        out.append(bins[(i + step) % NUM_PERM] + (step << _VALUE_BITS))
    return out


def band_keys(sig: Sequence[int]) -> list[int]:
    """One signed 64-bit key per band (band number included, so bands never collide)."""
    if len(sig) != NUM_PERM:
        return []
    keys = []
    for band in range(BANDS):
        chunk = struct.pack(f">H{ROWS}Q", band, *sig[band * ROWS:(band + 1) * ROWS])
        value = int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "big")
        keys.append(value - (1 << 64) if value >= (1 << 63) else value)
    return keys


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b) if x == y) / len(a)


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
    sh = shingles(text)
    if len(sh) < MIN_SHINGLES:
        return None
    sig = tuple(signature(sh))
    return Sketch(article_id, sig, tuple(band_keys(sig)))


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
    sigs = dict(signatures)
    out = []
    for art in new:
        a = _assign_one(art, hashes, bands, sigs, threshold, cap)
        hashes.setdefault(art["content_hash"], a.group_id)
        sk = art.get("sketch")
        kept = []
        if sk is not None:
            sigs[a.article_id] = sk.signature
            for key in sk.bands:
                members = bands.setdefault(key, [])
                if len(members) < cap:
                    members.append((a.article_id, a.group_id))
                    kept.append(key)
        out.append(dataclasses.replace(a, bands=tuple(kept)))
    return out


def _assign_one(art: dict, hashes: dict[str, str], bands: dict[int, list[tuple[str, str]]],
                sigs: dict[str, Sequence[int]], threshold: float, cap: int) -> Assignment:
    aid = art["article_id"]
    if art["content_hash"] in hashes:
        return Assignment(aid, hashes[art["content_hash"]], "exact", 1.0, None)
    sk = art.get("sketch")
    best: tuple[float, str, str] | None = None
    if sk is not None:
        seen = set()
        for key in sk.bands:
            for other, group in bands.get(key, ())[:cap]:
                if other in seen or other == aid or other not in sigs:
                    continue
                seen.add(other)
                sim = similarity(sk.signature, sigs[other])
                if sim >= threshold and (best is None or sim > best[0]):
                    best = (sim, other, group)
    if best is None:
        return Assignment(aid, aid, "unique", 1.0, None)
    return Assignment(aid, best[2], "minhash", round(best[0], 4), best[1])

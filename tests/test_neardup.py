"""Near-duplicate detection: MinHash/LSH functions, and groups stored and found via band keys."""
from __future__ import annotations

import hashlib
import random
import re
import struct
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np

from detection import neardup
from extractors.feeds import parse_feed
from seedwatch.grouping import group_articles
from warehouse.db import Warehouse
from warehouse.store import insert_articles

FIRST = ("North Korea on Tuesday proposed high-level talks with South Korea at the border village of "
         "Panmunjom, its first offer of dialogue in years, the unification ministry said. The proposal "
         "came in a message sent through the liaison channel in the morning, officials said, adding "
         "that Seoul was reviewing the offer and would respond soon after consulting allies.")
UPDATE = ("(LEAD) " + FIRST + " Seoul later accepted the offer and proposed that the talks be held "
          "on Nov. 26, a ministry spokesman told reporters.")
OTHER = ("Stocks in Seoul closed higher on Tuesday as chip makers rallied on strong demand for memory, "
         "while the won weakened against the dollar and foreign investors sold shares for a third day.")


def test_update_is_a_near_duplicate_and_other_news_is_not():
    a, b, c = (neardup.sketch(i, t) for i, t in (("a", FIRST), ("b", UPDATE), ("c", OTHER)))
    assert neardup.similarity(a.signature, b.signature) >= neardup.THRESHOLD
    assert neardup.similarity(a.signature, c.signature) < 0.2
    assert set(a.bands) & set(b.bands) and not set(a.bands) & set(c.bands)
    assert neardup.sketch("t", "Koreas talk") is None  # too short to compare
    assert neardup.tokens("(2nd LD) Koreas (종합2보)") == ["koreas"]


def test_assign_groups_exact_then_minhash_then_unique():
    items = [{"article_id": i, "content_hash": h, "sketch": neardup.sketch(i, t)}
             for i, h, t in (("a", "h1", FIRST), ("b", "h2", UPDATE), ("c", "h1", FIRST), ("d", "h3", OTHER))]
    got = {x.article_id: (x.group_id, x.method) for x in neardup.assign_groups(items, {}, {}, {})}
    assert got == {"a": ("a", "unique"), "b": ("a", "minhash"), "c": ("a", "exact"), "d": ("d", "unique")}


def _article(aid: str, text: str, when: datetime) -> dict:
    return {"article_id": aid, "canonical_url": f"https://example.org/{aid}", "title": aid, "text": text,
            "text_source": "page", "content_hash": f"hash-{aid}", "first_seen": when, "published": when}


def test_groups_are_stored_and_later_runs_match_through_band_keys(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    t0 = datetime(2026, 11, 17, tzinfo=timezone.utc)
    with wh.transaction() as con:
        insert_articles(con, [_article("first", FIRST, t0), _article("other", OTHER, t0)])
    assert group_articles(wh).grouped == 2
    with wh.transaction() as con:  # a later run: the update arrives
        insert_articles(con, [_article("update", UPDATE, t0 + timedelta(hours=2))])
    report = group_articles(wh)
    assert (report.grouped, report.duplicates) == (1, 1)
    assert group_articles(wh).grouped == 0
    con = duckdb.connect(str(wh.path), read_only=True)
    rows = dict((r[0], r[1:]) for r in con.execute(
        "SELECT article_id, dup_group_id, method, matched_id FROM article_groups").fetchall())
    assert rows["update"] == ("first", "minhash", "first") and rows["other"][:2] == ("other", "unique")
    assert con.execute("SELECT count(*) FROM neardup_bands").fetchone()[0] == 3 * neardup.BANDS
    con.close()


# --- the fast code paths give exactly the plain definitions' values ------------------------
# Signatures and band keys are stored and compared with those of earlier runs, so the
# shortcuts in detection/neardup.py must not change a single value. These are the plain
# definitions they replace (the code before the shortcuts), checked on texts that take every
# path: pure ASCII, ASCII with a few curly quotes or dashes, Korean, and odd characters.

def _ref_tokens(text):
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return re.findall(r"\w+", neardup._MARKER.sub(" ", text))


def _ref_shingles(text, k=3):
    def h64(s):
        return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")
    words = _ref_tokens(text)
    if len(words) < k:
        return {h64(" ".join(words))} if words else set()
    return {h64(" ".join(words[i:i + k])) for i in range(len(words) - k + 1)}


def _ref_signature(shingle_set):
    n, bits = neardup.NUM_PERM, 56
    bins = [None] * n
    for h in shingle_set:
        b, v = h % n, (h // n) & ((1 << bits) - 1)
        if bins[b] is None or v < bins[b]:
            bins[b] = v
    if all(v is None for v in bins):
        return []
    out = []
    for i in range(n):
        step = 0
        while bins[(i + step) % n] is None:
            step += 1
        out.append(bins[(i + step) % n] + (step << bits))
    return out


def _ref_band_keys(sig):
    keys = []
    for band in range(neardup.BANDS):
        rows = sig[band * neardup.ROWS:(band + 1) * neardup.ROWS]
        value = int.from_bytes(hashlib.blake2b(struct.pack(f">H{neardup.ROWS}Q", band, *rows),
                                               digest_size=8).digest(), "big")
        keys.append(value - (1 << 64) if value >= (1 << 63) else value)
    return keys


_PIECES = {
    "ascii": ["North", "korea", "TALKS", "said", "on", "Tuesday", "Seoul's", "U.S.", "2026", "_id", "a_b",
              "(LEAD)", "(2nd LD)", "(update2)", "e-mail", "x86", ",", ".", ";", "--", "\"", "'", "(", ")"],
    "odd": ["’", "“", "”", "—", "–", "…", "·", "é", "Straße", "ﬁne", "ΣΊΣΥΦΟΣ", "İ", "ＡＢＣ", "①", "½",
            "e\u0301", "😀", "\u00a0", "\u3000", "\u2028", "\x1c", "\t", "\n", "\u200b", "٣", "_"],
    "korean": ["북한", "남북", "대화를", "제의했다", "통일부는", "(종합2보)", "(3보)", "밝혔다.", "'우수등급'", "ㄱㄴ"],
}


def _random_text(rng):
    weights = rng.choice([(1, 0, 0), (20, 1, 0), (3, 1, 1), (1, 1, 8), (0, 1, 0)])
    kinds = rng.choices(list(_PIECES), weights=weights, k=rng.choice([0, 1, 2, 3, 5, 13, 40, 200]))
    seps = [" ", " ", " ", "", "\n", "  "]
    return "".join(rng.choice(_PIECES[k]) + rng.choice(seps) for k in kinds)


def test_fast_paths_give_the_plain_definitions_values():
    rng = random.Random(13)
    texts = [_random_text(rng) for _ in range(1500)]
    texts += ["", " ", "one", "(LEAD)", "\ud800 lone surrogate", FIRST, UPDATE, OTHER, " ".join(["same"] * 40)]
    for path in sorted((Path(__file__).resolve().parent.parent / "demo" / "site" / "feeds").glob("*.xml")):
        for e in parse_feed(path.read_bytes()).entries:
            texts += [e.title, e.summary, e.content]
    paths = {"ascii": 0, "mixed": 0, "korean": 0}
    sketched = 0
    for text in texts:
        assert neardup.tokens(text) == _ref_tokens(text), text
        sh = neardup.shingles(text)
        assert sh == _ref_shingles(text), text
        sig = _ref_signature(sh)
        assert neardup.signature(sh) == sig
        sk = neardup.sketch("x", text)
        if len(sh) < neardup.MIN_SHINGLES:
            assert sk is None, text
            continue
        sketched += 1
        assert sk.signature == tuple(sig) and sk.bands == tuple(_ref_band_keys(sig)), text
        assert neardup.band_keys(sig) == list(sk.bands)
        extra = len(text.encode("utf-8", "surrogatepass")) - len(text)
        paths["ascii" if text.isascii() else "mixed" if extra <= len(text) // 16 else "korean"] += 1
    assert sketched > 400 and min(paths.values()) > 50, paths  # every path was taken


def _scan_reference(new, known_hashes, candidates, signatures, threshold=neardup.THRESHOLD,
                    cap=neardup.MAX_PER_BAND):
    """`assign_groups` as its docstring defines it: candidates compared one by one with
    `similarity`, in band order, the first strictly best kept."""
    hashes, bands, sigs = dict(known_hashes), {k: list(v) for k, v in candidates.items()}, dict(signatures)
    out = []
    for art in new:
        aid, sk = art["article_id"], art["sketch"]
        if art["content_hash"] in hashes:
            got = (hashes[art["content_hash"]], "exact", 1.0, None)
        else:
            best, seen = None, set()
            for key in (sk.bands if sk else ()):
                for other, group in bands.get(key, ())[:cap]:
                    if other in seen or other == aid or other not in sigs:
                        continue
                    seen.add(other)
                    sim = neardup.similarity(sk.signature, sigs[other])
                    if sim >= threshold and (best is None or sim > best[0]):
                        best = (sim, other, group)
            got = (aid, "unique", 1.0, None) if best is None else (best[2], "minhash", round(best[0], 4), best[1])
        hashes.setdefault(art["content_hash"], got[0])
        kept = []
        if sk is not None:
            sigs[aid] = sk.signature
            for key in sk.bands:
                members = bands.setdefault(key, [])
                if len(members) < cap:
                    members.append((aid, got[0]))
                    kept.append(key)
        out.append((aid, *got, tuple(kept)))
    return out


def test_grouping_many_at_a_time_gives_the_one_by_one_result():
    # Variants of a few stories (words dropped and swapped), some stored already with their
    # signatures as the warehouse returns them (arrays), some new; ties and near misses included.
    rnd = random.Random(7)
    base = [FIRST.split(), UPDATE.split(), OTHER.split()]
    texts = []
    for i in range(120):
        words = list(base[i % 3])
        for _ in range(rnd.randint(0, 12)):
            j = rnd.randrange(len(words) - 1)
            words[j], words[j + 1] = words[j + 1], words[j]
        texts.append(" ".join(w for w in words if rnd.random() > 0.04))
    sketches = [neardup.sketch(f"s{i}", t) for i, t in enumerate(texts)]
    stored, new = sketches[:60], sketches[60:]
    candidates, signatures = {}, {}
    for sk in stored:
        signatures[sk.article_id] = np.asarray(sk.signature, dtype=np.int64)
        for key in sk.bands:
            members = candidates.setdefault(key, [])
            if len(members) < neardup.MAX_PER_BAND:
                members.append((sk.article_id, f"g-{sk.article_id}"))
    signatures["odd"] = [1, 2, 3]  # a signature of another length: never similar
    for sk in new[:5]:
        candidates.setdefault(sk.bands[0], []).insert(0, ("odd", "g-odd"))
    items = [{"article_id": sk.article_id, "content_hash": f"h{i if i % 10 else 0}", "sketch": sk}
             for i, sk in enumerate(new)]
    got = [(a.article_id, a.group_id, a.method, a.similarity, a.matched_id, a.bands)
           for a in neardup.assign_groups(items, {"h3": "g-known"}, candidates, signatures)]
    assert got == _scan_reference(items, {"h3": "g-known"}, candidates,
                                  {k: list(v) for k, v in signatures.items()})
    methods = [g[2] for g in got]
    assert methods.count("minhash") >= 20 and "exact" in methods

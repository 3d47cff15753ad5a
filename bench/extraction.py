"""Extraction quality on the article extraction benchmark: `python -m bench.extraction [--corpus DIR]`.

Body text is scored the way that benchmark scores it: both texts split into `\\w+` tokens,
word 4-gram shingles counted, TP/FP/FN per page normalised by the page's total, precision and
recall each averaged over pages (a page with neither false positives nor false negatives
counts 1), F1 from the two averages. Published figure for trafilatura 2.0.0: F1 0.958
(P 0.938, R 0.978).

Variants scored on the same pages:

* `seedwatch` — `extractors.article.extract_article`, exactly what the pipeline stores;
* `trafilatura-default` — `trafilatura.extract(html)` with the library defaults (the published set-up);
* `+recall-fallback` — seedwatch, then when its text is short, trafilatura with
  `favor_recall=True`, keeping the longer text;
* `+baseline-fallback` — the above, then `trafilatura.baseline` when the text is still short.

Publication dates: the benchmark has no date labels. The reference here is what each page
declares about itself in machine-readable metadata — `article:published_time` and similar
meta tags, JSON-LD `datePublished`, `itemprop="datePublished"` — read with our own parser,
not trafilatura's; and, separately, a /YYYY/MM/DD/ date in the page URL. Both are publisher
claims, not human labels, and htmldate reads the same tags, so agreement with the meta tags
measures mostly that we pick and parse the right one; the URL date is the more independent
check. Reported: coverage, and exact calendar-day agreement on pages that have a reference.
"""
from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import re
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

DEFAULT_CORPUS = Path("/work/shared/corpora/article-extraction-benchmark")
SHORT_CHARS = 600  # below this, a fallback extraction is tried

# --- the benchmark's metric ----------------------------------------------------------------

_WORDS = re.compile(r"\w+", re.UNICODE)


def shingle_counts(text: str, n: int = 4) -> Counter:
    words = _WORDS.findall(text or "")
    return Counter(tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1)) if words[i:i + n])


def page_tp_fp_fn(truth: str, pred: str) -> tuple[float, float, float]:
    t, p = shingle_counts(truth), shingle_counts(pred)
    tp = sum(min(c, p[k]) for k, c in t.items())
    fp = sum(max(0, c - t.get(k, 0)) for k, c in p.items())
    fn = sum(max(0, c - p.get(k, 0)) for k, c in t.items())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    return tp / (tp + fn) if tp + fn else 0.0


def score(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    precision = statistics.mean(_precision(*r) for r in rows if r[0] + r[1] > 0)
    recall = statistics.mean(_recall(*r) for r in rows if r[0] + r[2] > 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": round(f1, 4), "precision": round(precision, 4), "recall": round(recall, 4)}


# --- dates declared by the page ------------------------------------------------------------

_META = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_DATE_KEYS = ("article:published_time", "og:article:published_time", "datepublished", "pubdate",
              "publishdate", "publish-date", "publish_date", "date", "dc.date.issued", "dc.date",
              "dcterms.created", "sailthru.date", "parsely-pub-date", "article.published",
              "originalpublicationdate", "dc.date.created", "cxenseparse:recs:publishtime")
_LD = re.compile(r"<script[^>]+application/ld\+json[^>]*>(.*?)</script>", re.I | re.S)
_ITEMPROP = re.compile(r"""itemprop\s*=\s*["']datePublished["'][^>]*?(?:content|datetime)\s*=\s*["']([^"']+)""", re.I)
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_URL_DAY = re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|[^\d])")


def _day(value: str | None) -> str | None:
    m = _ISO_DAY.search(value or "")
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


def _ref_day(value: str | None) -> str | None:
    """A reference day, placeholders (e.g. Gannett's 0001-01-01T00:00:00Z) left out."""
    day = _day(value)
    return day if day and day >= "1990-01-01" else None


def _days_apart(a: str, b: str) -> int:
    from datetime import date
    return abs((date.fromisoformat(a) - date.fromisoformat(b)).days)


def _ld_dates(obj: Any) -> list[str]:
    out = []
    if isinstance(obj, dict):
        if isinstance(obj.get("datePublished"), str):
            out.append(obj["datePublished"])
        for v in obj.values():
            out += _ld_dates(v)
    elif isinstance(obj, list):
        for v in obj:
            out += _ld_dates(v)
    return out


def declared_day(html: str) -> tuple[str | None, str | None]:
    """(day, where) of the publication date the page declares in its metadata, if any."""
    for block in _LD.findall(html):
        try:
            dates = _ld_dates(json.loads(block.strip()))
        except ValueError:
            continue
        if dates and _ref_day(dates[0]):
            return _ref_day(dates[0]), "json-ld"
    metas = {}
    for tag in _META.findall(html):
        attrs = {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(tag)}
        name = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        if name and attrs.get("content"):
            metas.setdefault(name, attrs["content"])
    for k in _DATE_KEYS:
        if _ref_day(metas.get(k)):
            return _ref_day(metas[k]), f"meta {k}"
    m = _ITEMPROP.search(html)
    if m and _ref_day(m.group(1)):
        return _ref_day(m.group(1)), "itemprop"
    return None, None


def url_day(url: str) -> str | None:
    m = _URL_DAY.search(url or "")
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    return f"{y:04d}-{mo:02d}-{d:02d}" if 1 <= mo <= 12 and 1 <= d <= 31 else None


# --- extraction variants (run in worker processes) -----------------------------------------

def _one(item: tuple[str, str, str]) -> dict[str, Any]:
    import trafilatura

    from extractors.article import extract_article
    key, path, url = item
    html = gzip.decompress(Path(path).read_bytes())
    t = time.perf_counter()
    ours = extract_article(html, url)
    seconds = time.perf_counter() - t
    default = trafilatura.extract(html) or ""
    text = ours.text
    recall_fb = text
    if len(text) < SHORT_CHARS:
        alt = trafilatura.extract(html, url=url, favor_recall=True, include_comments=False,
                                  include_tables=True) or ""
        recall_fb = alt if len(alt) > len(text) else text
    baseline_fb = recall_fb
    if len(recall_fb) < SHORT_CHARS:
        _, base_text, _ = trafilatura.baseline(html)
        baseline_fb = base_text if len(base_text) > len(recall_fb) else recall_fb
    day, where = declared_day(html.decode("utf-8", "replace"))
    return {"id": key, "seconds": seconds, "texts": {"seedwatch": text, "trafilatura-default": default,
            "+recall-fallback": recall_fb, "+baseline-fallback": baseline_fb},
            "published": ours.published, "declared_day": day, "declared_where": where,
            "url_day": url_day(url)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.extraction", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                    help="folder with ground-truth.json and html/<id>.html.gz")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write per-page results here")
    args = ap.parse_args(argv)
    truth = json.loads((args.corpus / "ground-truth.json").read_text(encoding="utf-8"))
    items = [(k, str(args.corpus / "html" / f"{k}.html.gz"), v.get("url") or "") for k, v in sorted(truth.items())]
    from extractors.pool import default_workers
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(args.workers or default_workers(), mp_context=ctx) as pool:
        results = list(pool.map(_one, items, chunksize=4))

    print(f"article extraction benchmark: {len(results)} pages ({args.corpus})")
    print(f"{'variant':<22} {'F1':>6} {'P':>6} {'R':>6}")
    scores = {}
    for variant in results[0]["texts"]:
        s = score([page_tp_fp_fn(truth[r["id"]].get("articleBody", ""), r["texts"][variant]) for r in results])
        scores[variant] = s
        print(f"{variant:<22} {s['f1']:>6.3f} {s['precision']:>6.3f} {s['recall']:>6.3f}")
    print("published figure, trafilatura 2.0.0: F1 0.958, P 0.938, R 0.978")
    changed = sum(r["texts"]["+baseline-fallback"] != r["texts"]["seedwatch"] for r in results)
    print(f"fallbacks changed {changed} pages (seedwatch text < {SHORT_CHARS} chars)")
    print(f"seedwatch extraction: median {statistics.median(r['seconds'] for r in results) * 1000:.0f} ms "
          f"a page (one core, while other variants ran beside it)")

    dates = date_report(results)
    for line in dates["lines"]:
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"scores": scores, "dates": dates["summary"], "pages": [
            {k: v for k, v in r.items() if k != "texts"} for r in results]}, indent=2), encoding="utf-8")
    return 0


def date_report(results: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(results)
    ours = [(r, _day(r["published"])) for r in results]
    found = sum(1 for _, d in ours if d)
    lines = [f"publication date: we extract one on {found}/{n} pages"]
    summary: dict[str, Any] = {"pages": n, "extracted": found}
    for ref, label in (("declared_day", "page metadata (JSON-LD / meta tags)"), ("url_day", "date in the URL")):
        have = [(d, r[ref]) for r, d in ours if r[ref]]
        agree = sum(1 for d, want in have if d == want)
        missing = sum(1 for d, _ in have if d is None)
        lines.append(f"  vs {label}: reference on {len(have)}/{n} pages; same day on {agree}/{len(have)}"
                     f" ({agree / len(have):.1%})" if have else f"  vs {label}: no reference")
        if have:
            near = sum(1 for d, want in have if d and d != want and _days_apart(d, want) == 1)
            lines[-1] += (f", one day apart on {near} (a UTC timestamp past midnight vs the local day),"
                          f" none extracted on {missing}, further off on {len(have) - agree - near - missing}")
        summary[ref] = {"reference": len(have), "same_day": agree, "none": missing,
                        "one_day_apart": near if have else 0}
    where = Counter(r["declared_where"] for r in results if r["declared_where"])
    lines.append(f"  metadata sources: {dict(where.most_common())}")
    return {"lines": lines, "summary": summary}


if __name__ == "__main__":
    sys.exit(main())

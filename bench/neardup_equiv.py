"""Check that this checkout's near-duplicate sketches equal those of another checkout.

    .venv/bin/python -m bench.neardup_equiv --reference /path/to/other/checkout
        [--eval-dir DIR] [--bench-pages N]

Signatures and band keys are stored in the warehouse and compared with the ones stored by
earlier runs, so a faster `detection/neardup.py` must give exactly the same values. This
loads the reference checkout's `detection/neardup.py` under another module name and compares
`tokens`, `shingles`, `signature`, `band_keys` and `sketch` of both on every text it can find:
the article texts and titles of the labelled evaluation files (see seedwatch/evaldata.py),
the demo site's pages (as trafilatura extracts them) and feed items, generated benchmark
pages (bench/corpus.py) and a list of edge cases. Prints the counts; exits 1 on a difference.
Texts stay on this machine: nothing is written.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent

EDGE_CASES = [
    "", " ", "one", "two words", "three words here", "(LEAD)", "(LEAD) a b c", "(2nd LD) Koreas (종합2보)",
    "(종합2보) 북한 남북 대화 제의", "(update2) (UPDATE) (12th LD) (3보) (종합보) (1st ld) words after markers",
    "北朝鮮 ＡＢＣ ｱｲｳ ①②", "ﬁne ﬂow Straße ΣΊΣΥΦΟΣ İstanbul KELVIN ſ", "a_b c__d _ __ _x_",
    "\x00\x1c\x1d\x1f\u2028\u2029 a\u00a0b\u3000c\u200bd", "‘quoted’ “text” — dashes – and … ellipsis",
    "١٢٣ ٤٥٦ numbers ²³ ½ Ⅻ", "emoji 😀 mixed 한국어 text words", "\ud800 lone surrogate \udfff",
    "a\tb\nc\rd\x0be\x0cf", " ".join(["same"] * 40), " ".join(f"w{i % 7}" for i in range(100)),
    "x" * 5000, "North Korea’s “offer” — talks at Panmunjom; Seoul’s reply (LEAD) " * 5,
    " ".join(f"단어{i} word{i * 7 % 13} “q{i}” ＡＢ{i}" for i in range(60)),
]


def load_reference(checkout: Path):
    path = checkout / "detection" / "neardup.py"
    spec = importlib.util.spec_from_file_location("reference_neardup", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    sys.dont_write_bytecode = True   # leave the reference checkout as it is
    spec.loader.exec_module(module)
    return module


def eval_texts(eval_dir: str | None) -> Iterator[tuple[str, str]]:
    from seedwatch.evaldata import find_eval_files
    for path in find_eval_files(ROOT, eval_dir):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                yield f"eval {path.name}", row.get("text") or ""
                yield f"eval {path.name}", row.get("title") or ""


def feed_texts(body: bytes) -> Iterator[str]:
    from extractors.feeds import FeedError, parse_feed
    try:
        parsed = parse_feed(body)
    except FeedError:
        return
    for e in parsed.entries:
        yield from (e.title, e.summary, e.content)


def page_texts(html: bytes) -> Iterator[str]:
    from extractors.article import extract_article
    ex = extract_article(html)
    yield ex.text or ""
    yield ex.title or ""


def demo_texts() -> Iterator[tuple[str, str]]:
    site = ROOT / "demo" / "site"
    for page in sorted(site.rglob("*.html")):
        for text in page_texts(page.read_bytes()):
            yield "demo pages", text
    for feed in sorted(site.rglob("*.xml")):
        for text in feed_texts(feed.read_bytes()):
            yield "demo feeds", text


def bench_texts(pages: int) -> Iterator[tuple[str, str]]:
    from bench.corpus import generate
    with tempfile.TemporaryDirectory(prefix="neardup-equiv-") as tmp:
        corpus = generate(Path(tmp), pages, max(1, pages // 10))
        for page in corpus.pages:
            for text in page_texts((corpus.root / page).read_bytes()):
                yield "bench pages", text
        for feed in corpus.feeds:
            for text in feed_texts((corpus.root / feed).read_bytes()):
                yield "bench feeds", text


def outputs(module, text: str):
    """Everything of the module's that is stored or compared, or the error it raised."""
    try:
        sh = module.shingles(text)
        sig = module.signature(sh)
        sk = module.sketch("x", text)
        return (module.tokens(text), sh, sig, module.band_keys(sig),
                None if sk is None else (sk.signature, sk.bands))
    except Exception as exc:  # an error must be the same error
        return ("error", type(exc).__name__)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.neardup_equiv", description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, type=Path, help="checkout holding the reference detection/neardup.py")
    ap.add_argument("--eval-dir", default=None, help="folder of dev.jsonl.gz (default: found as `make eval` does)")
    ap.add_argument("--bench-pages", type=int, default=300)
    args = ap.parse_args(argv)

    from detection import neardup
    reference = load_reference(args.reference)
    if Path(reference.__file__).resolve() == Path(neardup.__file__).resolve():
        print("the reference is this checkout itself", file=sys.stderr)
        return 2

    def sources() -> Iterator[tuple[str, str]]:
        yield from (("edge cases", t) for t in EDGE_CASES)
        yield from eval_texts(args.eval_dir)
        yield from demo_texts()
        yield from bench_texts(args.bench_pages)

    counts: dict[str, list[int]] = {}  # source -> [texts, with a sketch, different]
    cpu = {"reference": 0.0, "this checkout": 0.0}
    for source, text in sources():
        c = counts.setdefault(source, [0, 0, 0])
        t = time.process_time()
        want = outputs(reference, text)
        cpu["reference"] += time.process_time() - t
        t = time.process_time()
        got = outputs(neardup, text)
        cpu["this checkout"] += time.process_time() - t
        c[0] += 1
        c[1] += want[0] != "error" and want[-1] is not None
        if got != want:
            c[2] += 1
            if c[2] <= 3:
                print(f"DIFFERENT ({source}): {text[:80]!r}")
    for source, (n, sketched, bad) in counts.items():
        print(f"{source:<22} {n:7d} texts  {sketched:7d} with a sketch  {bad:5d} different")
    total = sum(c[2] for c in counts.values())
    print(f"CPU for all five functions: reference {cpu['reference']:.1f} s, this checkout {cpu['this checkout']:.1f} s")
    print("identical" if not total else f"{total} texts differ")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())

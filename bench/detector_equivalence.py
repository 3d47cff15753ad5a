"""Same verdicts, less CPU? `python -m bench.detector_equivalence --code DIR`

Scores the same articles with this checkout's detector and with the one in DIR (another
checkout, e.g. main before a speed change) and checks that every verdict is identical: the
score (the exact float), the decision and the explanation JSON (keys in order). Prints the
counts per set, the first differences, and each side's CPU time per article.

The articles: the labelled dev sets (`--eval-dir`, default /work/shared/eval: dev.jsonl.gz,
dev2.jsonl.gz, when present), the demo news set (its pages through trafilatura, and its feed
items), the generated bench corpus (`--bench-pages` pages, through trafilatura), and variants
of the Korea-related ones that stress matching (upper, lower and swapped case, full-width
letters, a cut lead). Each side runs in its own process, with DIR's `.venv` when it has one.
"""
from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Run in the checkout being measured (cwd), so that `detection` is that checkout's.
SCORER = r"""
import json, sys, time
from detection.scoring import Detector
from detection.topic import load_topic
detector = Detector(load_topic("seeds/inter-korean-diplomacy.toml"))
sets = {}
with open(sys.argv[1], encoding="utf-8") as handle:
    for line in handle:
        row = json.loads(line)
        sets.setdefault(row["set"], []).append((row["title"], row["text"], row["lang"]))
cpu = {}
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for name, items in sets.items():
        detector.score_many(items[:20])  # warm-up
        started = time.process_time()
        verdicts = detector.score_many(items)
        cpu[name] = (time.process_time() - started) / len(items)
        for v in verdicts:
            out.write(json.dumps([repr(v.score), v.decision,
                                  json.dumps(v.explanation, ensure_ascii=False)],
                                 ensure_ascii=False) + "\n")
print(json.dumps(cpu))
"""


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _demo_items() -> list[tuple[str, str, str | None]]:
    from extractors.article import extract_article
    from extractors.feeds import parse_feed
    demo = REPO / "demo"
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    items = []
    for art in manifest["articles"]:
        page = extract_article((demo / "site" / art["path"]).read_bytes())
        items.append((art["title"], page.text, art["lang"]))
    for feed in manifest["feeds"]:
        for entry in parse_feed((demo / "site" / feed["path"]).read_bytes()).entries:
            items.append((entry.title or "", entry.content or entry.summary or "", feed["language"]))
    return items


def _bench_items(pages: int, work: Path) -> list[tuple[str, str, str | None]]:
    from bench.corpus import generate
    from extractors.article import extract_article
    corpus = generate(work / "site", pages, max(1, pages // 4))
    items = []
    for path in corpus.pages:
        page = extract_article((corpus.root / path).read_bytes())
        items.append((page.title or "", page.text, page.language))
    return items


def _variants(items) -> list[tuple[str, str, str | None]]:
    """Case and width variants of Korea-related items: forms matched case-insensitively, cased
    forms ("US", "North"), full-width letters folded before matching, short leads."""
    def full_width(s: str) -> str:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)
    keys = ("korea", "북", "남북", "pyongyang", "seoul", "unification", "통일")
    picked = [it for it in items if any(k in (it[0] + it[1]).lower() for k in keys)][:3000]
    out = []
    for title, text, lang in picked:
        out += [(title.upper(), text.upper(), lang), (title.lower(), text.lower(), lang),
                (title.swapcase(), text.swapcase(), lang),
                (full_width(title), full_width(text[:2000]), lang), ("", text[:300], None)]
    return out


def _python_of(tree: Path) -> str:
    venv = tree / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.detector_equivalence",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--code", required=True, help="the other checkout (e.g. main)")
    ap.add_argument("--eval-dir", default="/work/shared/eval")
    ap.add_argument("--bench-pages", type=int, default=2000)
    args = ap.parse_args(argv)
    other = Path(args.code).resolve()
    with tempfile.TemporaryDirectory(prefix="seedwatch-equiv-") as tmp:
        work = Path(tmp)
        sets: dict[str, list] = {}
        for name in ("dev", "dev2"):
            path = Path(args.eval_dir) / f"{name}.jsonl.gz"
            if path.exists():
                sets[name] = [(r.get("title") or "", r.get("text") or "", r.get("lang"))
                              for r in _jsonl(path)]
        sets["demo"] = _demo_items()
        if args.bench_pages:
            sets["bench"] = _bench_items(args.bench_pages, work)
        sets["variants"] = _variants([it for name in ("dev", "dev2") for it in sets.get(name, [])]
                                     + sets["demo"] + sets.get("bench", []))
        inputs = work / "inputs.jsonl"
        with open(inputs, "w", encoding="utf-8") as handle:
            for name, items in sets.items():
                for title, text, lang in items:
                    handle.write(json.dumps({"set": name, "title": title, "text": text, "lang": lang},
                                            ensure_ascii=False) + "\n")
        cpu = {}
        for side, tree in (("this", REPO), ("other", other)):
            command = [_python_of(tree), "-c", SCORER, str(inputs), str(work / f"{side}.jsonl")]
            done = subprocess.run(command, cwd=tree, capture_output=True, text=True)
            if done.returncode:
                print(f"scoring with {tree} failed:\n{done.stderr}", file=sys.stderr)
                return 2
            cpu[side] = json.loads(done.stdout.strip().splitlines()[-1])
        differences = 0
        rows = [(name, i) for name, items in sets.items() for i in range(len(items))]
        with open(work / "this.jsonl", encoding="utf-8") as mine_file, \
                open(work / "other.jsonl", encoding="utf-8") as their_file:
            for (name, i), mine, theirs in zip(rows, mine_file, their_file, strict=True):
                if mine != theirs:
                    differences += 1
                    if differences <= 5:
                        print(f"DIFFERENT {name}[{i}]:\n  this:  {mine[:400]}\n  other: {theirs[:400]}")
    print(f"{'set':<10} {'articles':>8}  {'other ms':>9}  {'this ms':>8}  (CPU per article)")
    for name, items in sets.items():
        before, after = cpu["other"][name] * 1000, cpu["this"][name] * 1000
        print(f"{name:<10} {len(items):>8}  {before:>9.3f}  {after:>8.3f}")
    total = sum(len(items) for items in sets.values())
    print(f"{total} articles, {differences} with a different verdict "
          f"(this: {REPO}, other: {other})")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())

"""Check that two bench runs stored the same things: `python -m bench.same_output A B`.

A and B are warehouse files of two end-to-end runs on the same corpus (`python -m bench
--keep`, then `<work>/run-server-0/warehouse.duckdb`), e.g. one from another checkout
(`--code`). Article ids hash URLs that carry the corpus server's port, which changes between
runs, so rows are compared by page path. Compared: duplicate groups (group, method,
similarity, matched article), scores (score, decision), stories (their members, how each
joined and at what similarity) and texts (content hash). Exits 1 on a difference.
"""
from __future__ import annotations

import re
import sys
from typing import Any

import duckdb

_HOST = re.compile(r"^https?://[^/]+")


def stored(path: str) -> dict[str, set[Any]]:
    con = duckdb.connect(path, read_only=True)
    try:
        urls = dict(con.execute("SELECT article_id, canonical_url FROM articles").fetchall())

        def page(article_id: str | None) -> str | None:
            return None if article_id is None else _HOST.sub("", urls.get(article_id, article_id))

        groups = {(page(a), page(g), m, s, page(x)) for a, g, m, s, x in con.execute(
            "SELECT article_id, dup_group_id, method, similarity, matched_id FROM article_groups").fetchall()}
        scores = {(page(a), t, s, d) for a, t, s, d in con.execute(
            "SELECT article_id, topic, score, decision FROM scores").fetchall()}
        members: dict[str, list] = {}
        for story, a, how, sim in con.execute(
                "SELECT story_id, article_id, joined_by, similarity FROM story_members").fetchall():
            members.setdefault(story, []).append((page(a), how, sim))
        texts = {(page(a), h) for a, h in con.execute("SELECT article_id, content_hash FROM articles").fetchall()}
    finally:
        con.close()
    return {"groups": groups, "scores": scores, "stories": {tuple(sorted(m)) for m in members.values()},
            "texts": texts}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    a, b = stored(argv[0]), stored(argv[1])
    same = True
    for what in a:
        differ = len(a[what] ^ b[what])
        same &= not differ
        print(f"{what}: {len(a[what])} / {len(b[what])}, " + ("the same" if not differ else f"{differ} differ"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

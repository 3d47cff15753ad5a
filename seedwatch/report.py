"""Terminal output: the run summary, tables of matches. Plain text when not on a terminal."""
from __future__ import annotations

from typing import Any, Sequence

from rich.console import Console
from rich.table import Table

import sys

# Off a terminal (CI logs, pipes) rich would wrap at 80 columns; a log line may be wider.
console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    console.print(t)


def _short(text: Any, n: int) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


def print_summary(summary: dict[str, Any]) -> None:
    """The one-screen summary of a run: per-feed outcome, then the totals."""
    table("Feeds", ["feed", "outcome", "entries", "new", "reason"],
          [(_short(f["name"], 40), f["outcome"], f["entries"], f["new_entries"], _short(f["reason"], 70))
           for f in summary["feeds"]])
    table("Matched in this run", ["score", "topic", "outlet", "title"],
          [(f"{m['score']:.2f}", m["topic"], _short(m.get("outlet") or m.get("site"), 24),
            _short(m["title"], 80)) for m in sorted(summary["matches"], key=lambda m: -m["score"])])
    by = {}
    for f in summary["feeds"]:
        by[f["outcome"]] = by.get(f["outcome"], 0) + 1
    secs = (summary["finished_at"] - summary["started_at"]).total_seconds() if summary.get("finished_at") else 0
    console.print(
        f"run {summary['run_id']}: feeds {', '.join(f'{k} {v}' for k, v in sorted(by.items())) or 'none'}; "
        f"{summary['new_entries']} new entries; {summary['pages_fetched']} pages fetched, "
        f"{summary['pages_failed']} failed, {summary.get('pages_upgraded', 0)} upgraded on retry; "
        f"{summary['new_articles']} new articles; "
        f"{summary['new_matches']} new matches; alerts {summary['alerts_sent']} sent, "
        f"{summary['alerts_failed']} failed; {secs:.1f}s")
    if summary.get("page_budget_used_up"):
        console.print(f"  page budget ([fetch] page_budget_seconds) used up: {summary.get('pages_deferred', 0)} "
                      "pages wait for the next run; pages still loading went to the page-retry queue")
    for err in summary.get("alert_errors", [])[:5]:
        console.print(f"  alert failed: {_short(err, 150)}")
    older = summary.get("older_scores") or {}
    if older:
        console.print("note: stored verdicts from older detector versions ("
                      + ", ".join(f"{v}: {n}" for v, n in sorted(older.items()))
                      + "); `seedwatch rescore` scores them with the current one")

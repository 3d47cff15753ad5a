"""`seedwatch rescore`: apply the current detector and threshold to stored articles.

New verdicts are stored under the current detector version beside the old ones (scores are
keyed by detector version, so history is kept); the latest verdict is the one that counts.
New matches are then grouped into stories like any run's, and alerts go out only for stories
whose news is recent (`[alerts] max_age_hours`, default 48): older stories are marked
'suppressed' for every channel, so neither this command nor a later run floods a channel
with a year of history.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from seedwatch import pipeline
from seedwatch.config import Config
from warehouse import rescore as sql
from warehouse import store

BATCH = 500


@dataclass
class RescoreSummary:
    detector: str = ""
    topics: list[str] = field(default_factory=list)
    articles: int = 0
    matches_before: int = 0
    matches_after: int = 0
    changed: int = 0
    older_versions: dict[str, int] = field(default_factory=dict)
    stories_suppressed: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0

    def lines(self) -> list[str]:
        out = [f"rescored {self.articles} stored articles for {', '.join(self.topics)} with "
               f"detector {self.detector}"]
        if self.older_versions:
            out.append("before: latest verdicts came from older detector versions: " + ", ".join(
                f"{v} ({n})" for v, n in self.older_versions.items()))
        out.append(f"matches: {self.matches_before} before, {self.matches_after} after "
                   f"({self.changed} verdicts changed)")
        out.append(f"alerts: {self.alerts_sent} sent, {self.alerts_failed} failed; "
                   f"{self.stories_suppressed} story alerts suppressed as older than max_age_hours")
        return out


def rescore(cfg: Config, topic: str | None = None, since: datetime | None = None,
            now: datetime | None = None) -> RescoreSummary:
    now = now or datetime.now(timezone.utc)
    wh = pipeline.warehouse_for(cfg)
    detectors = pipeline.load_detectors(cfg, wh)
    if topic is not None:
        detectors = [d for d in detectors if d.name == topic]
        if not detectors:
            names = ", ".join(d.name for d in pipeline.load_detectors(cfg))
            raise ValueError(f"no topic named {topic!r} (configured: {names})")
    version = getattr(detectors[0].detector, "version", "unknown")
    summary = RescoreSummary(detector=version, topics=[d.name for d in detectors])
    names = summary.topics
    with wh.transaction() as con:
        summary.older_versions = sql.older_versions(con, version, names)
    after = None
    while True:
        with wh.transaction() as con:
            batch = sql.articles_to_rescore(con, since, after, BATCH)
        if not batch:
            break
        after = batch[-1]["article_id"]
        with wh.transaction() as con:
            before = sql.latest_decisions(con, [a["article_id"] for a in batch], names)
        rows = pipeline.score_articles(detectors, batch)
        with wh.transaction() as con:
            store.replace_scores(con, rows)
        summary.articles += len(batch)
        for r in rows:
            old = before.get((r["article_id"], r["topic"]))
            summary.matches_before += bool(old)
            summary.matches_after += bool(r["decision"])
            summary.changed += old is not None and bool(old) != bool(r["decision"])
    pipeline.update_stories(wh, cfg)
    summary.stories_suppressed = suppress_old_stories(wh, cfg, names, now)
    pipeline.queue_alerts(wh, cfg)
    report = pipeline.deliver(wh, cfg)
    summary.alerts_sent, summary.alerts_failed = report.sent, report.failed
    pipeline.refresh_read_snapshot(wh, cfg)  # readers see the new verdicts now, not next run
    return summary


def suppress_old_stories(wh: Any, cfg: Config, topics: list[str], now: datetime) -> int:
    cutoff = now - timedelta(hours=cfg.alert_settings.max_age_hours)
    reason = f"suppressed: news older than max_age_hours ({cfg.alert_settings.max_age_hours:g})"
    total = 0
    with wh.transaction() as con:
        for ch in pipeline.channels_of(cfg):
            kind = "story" if ch.mode == "immediate" else "digest"
            for topic in topics:
                ids = sql.stale_unalerted_stories(con, topic, ch.id, (kind,), cutoff)
                total += sql.suppress_alerts(con, ch.id, topic, kind, ids, now, reason)
    return total

"""`seedwatch alerts test`: one test message to every configured channel, through the outbox
(recorded in the warehouse as subject_kind 'test', like any other alert)."""
from __future__ import annotations

from datetime import datetime, timezone

from alerts.channels import Channel, send
from alerts.outbox import Sender, deliver_due
from warehouse import outbox


def _test_row(channel: Channel, now: datetime) -> dict:
    body = (f"Test message from seedwatch to channel {channel.id} ({channel.mode}) at "
            f"{now:%Y-%m-%d %H:%M:%S} UTC. If you can read this, alerts reach you.")
    return {"channel": channel.id, "topic": "(test)", "subject_kind": "test",
            "subject_id": now.isoformat(), "title": "seedwatch test alert", "body": body,
            "created_at": now, "next_attempt_at": None}


def send_test(cfg, sender: Sender = send) -> list[tuple[str, bool, str]]:
    """Send a test message to each channel; [(channel id, ok, channel's answer)]."""
    from seedwatch.pipeline import channels_of, warehouse_for
    wh = warehouse_for(cfg)
    results = []
    for channel in channels_of(cfg):
        now = datetime.now(timezone.utc)
        row = _test_row(channel, now)
        alert_id = outbox.alert_key(row["channel"], row["topic"], "test", row["subject_id"])
        with wh.transaction() as con:
            outbox.enqueue(con, [row])
        deliver_due(wh, [channel], sender, now, alert_ids=[alert_id])
        with wh.connect() as con:
            status, answer = con.execute("SELECT status, last_response FROM alerts WHERE alert_id = ?",
                                         [alert_id]).fetchone()
        results.append((channel.id, status == "delivered", answer or status))
    return results

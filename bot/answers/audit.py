"""The audit trail of published replies: rows built from "published" events."""

from __future__ import annotations

import csv
from datetime import datetime
from typing import Any, TextIO

from bot.mention import EventKind
from bot.store.base import Store

COLUMNS = ("published_at", "mention", "mention_key", "source", "original_url",
           "written_by", "approved_by", "published_url", "text", "draft_id")


def audit_rows(store: Store, since: datetime | None = None) -> list[dict[str, Any]]:
    """One row per published reply (oldest first), published at or after `since`."""
    rows = []
    for event in store.events(since=since):
        if event.kind != EventKind.PUBLISHED:
            continue
        mention = store.get_mention(event.mention_key)
        data = event.data
        rows.append({
            "published_at": event.at.isoformat(),
            "mention": mention.short_id if mention else "",
            "mention_key": event.mention_key,
            "source": mention.source if mention else event.mention_key.split(":", 1)[0],
            "original_url": mention.url if mention else "",
            "written_by": data.get("author") or "",
            "approved_by": data.get("approver") or event.user or "",
            "published_url": data.get("url") or "",
            "text": data.get("text") or "",
            "draft_id": data.get("draft_id") or "",
        })
    return rows


def write_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    """CSV with a header row; texts exactly as published (newlines quoted, not altered)."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)

"""Mentions, outbox items and events to and from rows: the whole document as JSON text
(the same documents the TinyDB backend journals, through bot.store.codec) plus the
columns that PostgreSQL indexes and sorts on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.mention import Mention, State, parse_time
from bot.store.base import OutboxItem
from bot.store.codec import mention_to_doc, mention_urls, outbox_to_doc
from bot.store.doc_text import encode

_STATES = {state.value for state in State}


def _text(value: Any) -> str | None:
    """A column value: only a non-empty string is indexed (a document of unusual shape
    is stored faithfully but in no index, like the TinyDB backend does). NUL cannot be
    stored in a text column (the JSON document keeps it escaped)."""
    if isinstance(value, str) and value:
        return value.replace("\x00", "")
    return None


def _time(value: Any) -> datetime | None:
    return parse_time(value) if value else None


def mention_row(mention: Mention) -> dict[str, Any]:
    """The columns of a mention (without its number). Raises TypeError if a field is
    not JSON (nothing is written then)."""
    doc = mention_to_doc(mention)
    doc.pop("number", None)
    state = doc.get("state")
    return {
        "key": doc["key"],
        "fingerprint": _text(doc.get("fingerprint")),
        "urls": sorted(url.replace("\x00", "") for url in mention_urls(doc)
                       if isinstance(url, str)),
        "created_at": parse_time(doc["created_at"]),
        "arrived_at": parse_time(doc.get("fetched_at") or doc["created_at"]),
        "state": state if state in _STATES else None,
        "owner": _text(doc.get("owner")),
        "department": doc["department"] if isinstance(doc.get("department"), str) else None,
        "slack_channel": _text(doc.get("slack_channel")),
        "slack_ts": _text(doc.get("slack_ts")),
        "doc": encode(doc),
    }


def outbox_row(item: OutboxItem) -> dict[str, Any]:
    doc = outbox_to_doc(item)
    return {
        "id": item.id,
        "status": str(item.status),
        "created_at": _time(doc.get("created_at")),
        "not_before": _time(doc.get("not_before")),
        "mention_key": _text(item.mention_key),
        "doc": encode(doc),
    }

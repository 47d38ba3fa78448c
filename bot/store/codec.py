"""Mentions, events and outbox items to and from the stored JSON documents.

Datetimes are stored as UTC ISO 8601 strings, so the fast path here can read them
back with `datetime.fromisoformat` alone; anything else falls back to `parse_time`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.mention import Event, Link, Mention, State, parse_time
from bot.store.base import OutboxItem

_MENTION_FIELDS = tuple(f.name for f in dataclasses.fields(Mention))
_MENTION_TIMES = ("created_at", "claimed_at", "answered_at", "escalated_at", "fetched_at")
_MENTION_FIELD_SET = frozenset(_MENTION_FIELDS)
_STATES = {state.value: state for state in State}
_OUTBOX_FIELDS = tuple(f.name for f in dataclasses.fields(OutboxItem))
_OUTBOX_TIMES = ("not_before", "created_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(dt: datetime) -> int:
    """Exact microseconds since the epoch: an index key that sorts like the datetime."""
    return (parse_time(dt) - _EPOCH) // _MICROSECOND


def _utc_iso(value: Any) -> Any:
    if isinstance(value, datetime | str) and value:
        return parse_time(value).isoformat()
    return value


def _read_time(value: str) -> datetime:
    if value.endswith("+00:00"):
        return datetime.fromisoformat(value)
    return parse_time(value)


def _iso(value: datetime) -> str:
    if value.tzinfo is UTC:
        return value.isoformat()
    return parse_time(value).isoformat()


def mention_to_doc(mention: Mention) -> dict[str, Any]:
    """Mention.to_dict() with every time in UTC, about three times as fast (it runs
    for every stored mention)."""
    values = vars(mention)
    doc = {name: values[name] for name in _MENTION_FIELDS}
    for name in _MENTION_TIMES:
        value = doc[name]
        if value is not None:
            doc[name] = _iso(value) if isinstance(value, datetime) else _utc_iso(value)
    doc["links"] = [{"source": link.source, "url": link.url} for link in mention.links]
    doc["state"] = State(mention.state).value
    doc["key"] = mention.key
    return doc


def mention_from_doc(doc: dict[str, Any]) -> Mention:
    """Same result as Mention.from_dict, several times faster (it runs 100k times in a
    full scan). `doc` must be freshly decoded: it and its containers are reused."""
    doc.pop("key", None)
    if doc.keys() != _MENTION_FIELD_SET:
        # Written by an older or newer Mention: let the dataclass fill in defaults.
        doc = {name: doc[name] for name in _MENTION_FIELDS if name in doc}
        doc.setdefault("extra", {})
        doc.setdefault("links", [])
        fast = False
    else:
        fast = True
    for name in _MENTION_TIMES:
        value = doc.get(name)
        if value:
            doc[name] = _read_time(value)
    doc["links"] = [Link(link["source"], link["url"]) for link in doc.get("links") or ()]
    doc["state"] = _STATES.get(doc.get("state") or "new") or State(doc["state"])
    if doc.get("extra") is None:
        doc["extra"] = {}
    if not fast:
        return Mention(**doc)
    # Every field is present and already converted, and Mention's __init__ only
    # assigns them: filling __dict__ directly skips ~27 keyword arguments per call.
    mention = Mention.__new__(Mention)
    mention.__dict__.update(doc)
    return mention


def mention_urls(doc: dict[str, Any]) -> set[str]:
    urls = {doc.get("url") or ""}
    urls.update(link.get("url") or "" for link in doc.get("links") or ())
    urls.discard("")
    return urls


def outbox_to_doc(item: OutboxItem) -> dict[str, Any]:
    doc = dataclasses.asdict(item)
    for name in _OUTBOX_TIMES:
        doc[name] = _utc_iso(doc[name])
    return doc


def outbox_from_doc(doc: dict[str, Any]) -> OutboxItem:
    kwargs = {name: doc[name] for name in _OUTBOX_FIELDS if name in doc}
    for name in _OUTBOX_TIMES:
        if kwargs.get(name):
            kwargs[name] = _read_time(kwargs[name])
    return OutboxItem(**kwargs)


def event_to_doc(event: Event) -> dict[str, Any]:
    doc = event.to_dict()
    doc["at"] = _utc_iso(doc["at"])
    return doc


def event_from_doc(doc: dict[str, Any]) -> Event:
    return Event.from_dict(doc)

"""Mentions, events and outbox items to and from the stored JSON documents.

Datetimes are stored as UTC ISO 8601 strings, so the fast path here can read them
back with `datetime.fromisoformat` alone; anything else falls back to `parse_time`.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.mention import Event, Link, Mention, State, parse_time
from bot.store.base import OutboxItem
from bot.store.doc_text import DocCodec, decode, encode

_MENTION_FIELDS = tuple(f.name for f in dataclasses.fields(Mention))
_MENTION_TIMES = ("created_at", "claimed_at", "answered_at", "escalated_at", "fetched_at")
_MENTION_FIELD_SET = frozenset(_MENTION_FIELDS)
_STATES = {state.value: state for state in State}
_OUTBOX_FIELDS = tuple(f.name for f in dataclasses.fields(OutboxItem))
_OUTBOX_TIMES = ("not_before", "created_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(dt: datetime | str) -> int:
    """Exact microseconds since the epoch: an index key that sorts like the datetime."""
    # The two shapes the store itself holds skip parse_time (it runs for every indexed
    # document on open): aware UTC datetimes, and the UTC ISO strings it writes.
    if type(dt) is str and dt.endswith("+00:00"):
        dt = datetime.fromisoformat(dt)
    if type(dt) is datetime and dt.tzinfo is UTC:
        return (dt - _EPOCH) // _MICROSECOND
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


_LINKS = _MENTION_FIELDS.index("links")
_STATE = _MENTION_FIELDS.index("state")
_EXTRA = _MENTION_FIELDS.index("extra")
_TIME_AT = tuple(_MENTION_FIELDS.index(name) for name in _MENTION_TIMES)
_SPECIAL = {_LINKS, _STATE, _EXTRA, *_TIME_AT}
_SCALAR_AT = tuple(i for i in range(len(_MENTION_FIELDS)) if i not in _SPECIAL)
_DOC_KEYS = _MENTION_FIELD_SET | {"key"}
(_SOURCE, _NATIVE_ID, _URL, _FINGERPRINT, _CREATED_AT, _FETCHED_AT, _DEPARTMENT, _OWNER,
 _SLACK_CHANNEL, _SLACK_TS) = (
    _MENTION_FIELDS.index(name)
    for name in ("source", "native_id", "url", "fingerprint", "created_at", "fetched_at",
                 "department", "owner", "slack_channel", "slack_ts"))
_SCALARS = (str, int, float, type(None))  # bool is an int
# Fields with few distinct values: one shared string each instead of one per mention.
_INTERN_AT = tuple(_MENTION_FIELDS.index(name) for name in (
    "source", "language", "department", "reason", "slack_channel"))


class MentionCodec(DocCodec):
    """Holds each stored mention as a tuple of its field values, ready to become a
    Mention: a full scan (home tab, reminders, summaries) then costs a few
    microseconds a mention instead of a JSON decode plus conversion, in about the
    same memory as the JSON text. Everything in the tuple is immutable (times as
    datetimes, links as a tuple of Links, `extra` kept as JSON text), so mentions
    handed out never share anything mutable with the store. A document of any other
    shape (an older or newer Mention) is held as plain text."""

    def hold(self, text: str, doc: dict[str, Any] | None = None) -> Any:
        if doc is None:
            doc = decode(text)
        if doc.keys() != _DOC_KEYS:
            return text
        values = [doc[name] for name in _MENTION_FIELDS]
        try:
            for i in _TIME_AT:
                if values[i] is not None:
                    values[i] = _read_time(values[i])
            values[_LINKS] = tuple(Link(sys.intern(link["source"]), link["url"])
                                   for link in values[_LINKS] or ())
            values[_STATE] = State(values[_STATE] or State.NEW)
        except (KeyError, TypeError, ValueError, AttributeError):
            return text
        values[_EXTRA] = encode(values[_EXTRA]) if values[_EXTRA] else None
        for i in _SCALAR_AT:
            if not isinstance(values[i], _SCALARS):
                return text  # a list or dict where a scalar belongs: not in the tuple
        for i in _INTERN_AT:
            if type(values[i]) is str:
                values[i] = sys.intern(values[i])
        return tuple(values)

    def text(self, held: Any) -> str:
        return held if isinstance(held, str) else encode(self.doc(held))

    def doc(self, held: Any) -> dict[str, Any]:
        if isinstance(held, str):
            return decode(held)
        doc = dict(zip(_MENTION_FIELDS, held, strict=True))
        for name in _MENTION_TIMES:
            if doc[name] is not None:
                doc[name] = doc[name].isoformat()
        doc["links"] = [{"source": link.source, "url": link.url} for link in doc["links"]]
        doc["state"] = doc["state"].value
        doc["extra"] = decode(doc["extra"]) if doc["extra"] else {}
        doc["key"] = f"{doc['source']}:{doc['native_id']}"
        return doc

    def index_fields(self, held: Any) -> dict[str, Any]:
        """What the store's indexes read (key, fingerprint, url, links, created_at,
        fetched_at, state, owner, department, slack_channel, slack_ts), without
        converting the rest: rebuilding the indexes on open is 100k of these."""
        if isinstance(held, str):
            return decode(held)
        return {
            "key": f"{held[_SOURCE]}:{held[_NATIVE_ID]}",
            "fingerprint": held[_FINGERPRINT],
            "url": held[_URL],
            "links": [{"url": link.url} for link in held[_LINKS]],
            "created_at": held[_CREATED_AT],
            "fetched_at": held[_FETCHED_AT],
            "state": held[_STATE],
            "owner": held[_OWNER],
            "department": held[_DEPARTMENT],
            "slack_channel": held[_SLACK_CHANNEL],
            "slack_ts": held[_SLACK_TS],
        }

    def extra_text(self, held: Any) -> str | None:
        """The `extra` field as JSON text (None when empty); the whole document's
        text for one held as text, which holds it too (a search for a key in it may
        find it elsewhere: confirm on the decoded mention)."""
        return held if isinstance(held, str) else held[_EXTRA]

    def mention(self, held: Any) -> Mention:
        """A fresh Mention from a held document."""
        if isinstance(held, str):
            return mention_from_doc(decode(held))
        values = dict(zip(_MENTION_FIELDS, held, strict=True))
        values["links"] = list(values["links"])
        values["extra"] = decode(values["extra"]) if values["extra"] else {}
        # Mention's __init__ only assigns its fields, and every one is here and already
        # converted: filling __dict__ directly skips ~27 keyword arguments per call.
        mention = Mention.__new__(Mention)
        mention.__dict__.update(values)
        return mention


MENTIONS = MentionCodec()


# --- the snapshot's table of contents (toc.py): each big table's key and times ---------


def describe_mention(held: Any) -> tuple[str, tuple[int, int], bool,
                                          tuple[tuple[str, str], ...]]:
    """A held mention's key, (created_at, arrival) in µs as the indexes order them,
    whether it has no Slack message yet, and its fingerprint and urls (de-duplication)."""
    fields = MENTIONS.index_fields(held)
    created = micros(fields["created_at"])
    arrived = micros(fields["fetched_at"]) if fields.get("fetched_at") else created
    ts = fields.get("slack_ts")
    terms = tuple(("url", url) for url in sorted(mention_urls(fields)))
    if fields.get("fingerprint"):
        terms += (("fingerprint", fields["fingerprint"]),)
    return fields["key"], (created, arrived), not (ts and isinstance(ts, str)), terms


def describe_event(held: Any) -> tuple[None, tuple[int], bool, tuple[()]]:
    return None, (micros(decode(held)["at"]),), False, ()


def describe_outbox(held: Any) -> tuple[str, tuple[()], bool, tuple[()]]:
    """An outbox row's id, and whether it is still to send (pending or sending)."""
    doc = decode(held)
    return doc["id"], (), doc.get("status") in ("pending", "sending"), ()


DESCRIBE = {"mentions": describe_mention, "events": describe_event,
            "outbox": describe_outbox}

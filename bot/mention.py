"""The Mention: the one record every layer passes around.

Sources create mentions with only the "seen" fields filled; the pipeline adds the
judgment (sentiment, complaint, department, reason); the store assigns `number`
(the short keyboard id, E-42); Slack listeners change `state` and ownership.
Datetimes are always timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    NEW = "new"  # stored, not yet claimed by anyone
    CLAIMED = "claimed"
    ANSWERED = "answered"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class Link:
    """One place a mention was seen (a mention seen on two sources has two links)."""

    source: str
    url: str


@dataclass
class Mention:
    # Identity: `key` is "<source>:<native_id>" of the first sighting; it never changes.
    source: str
    native_id: str
    text: str  # plain text: HTML already unescaped and stripped by the source
    url: str
    created_at: datetime
    author: str = ""
    title: str = ""
    language: str | None = None
    links: list[Link] = field(default_factory=list)
    # Judgment, filled by the pipeline.
    fingerprint: str = ""
    sentiment: float = 0.0
    complaint: bool = False
    department: str = ""
    reason: str = ""
    # Lifecycle, filled by the store and the Slack listeners.
    number: int | None = None
    state: State = State.NEW
    owner: str | None = None  # Slack user id
    claimed_at: datetime | None = None
    answered_at: datetime | None = None
    escalated_at: datetime | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    fetched_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.native_id}"

    @property
    def short_id(self) -> str:
        """The id people type: E-42. Empty until the store has assigned a number."""
        return f"E-{self.number}" if self.number is not None else ""

    def all_links(self) -> list[Link]:
        """The first sighting followed by every other place the story was seen."""
        first = Link(self.source, self.url)
        return [first] + [link for link in self.links if link != first]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (datetimes as ISO 8601 strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif f.name == "links":
                value = [{"source": link.source, "url": link.url} for link in value]
            elif isinstance(value, State):
                value = value.value
            out[f.name] = value
        out["key"] = self.key
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mention:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for name in ("created_at", "claimed_at", "answered_at", "escalated_at", "fetched_at"):
            if kwargs.get(name):
                kwargs[name] = parse_time(kwargs[name])
        kwargs["links"] = [Link(**link) for link in kwargs.get("links") or []]
        kwargs["state"] = State(kwargs.get("state") or State.NEW)
        kwargs["extra"] = dict(kwargs.get("extra") or {})
        return cls(**kwargs)


def parse_time(value: str | datetime) -> datetime:
    """Parse an ISO 8601 string (a trailing Z allowed); naive times are taken as UTC."""
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class EventKind(StrEnum):
    """What an Event records. Values are what the store keeps: never rename one."""

    POSTED = "posted"
    CLAIMED = "claimed"
    RELEASED = "released"
    ANSWERED = "answered"
    ESCALATED = "escalated"
    REMINDED = "reminded"
    DRAFT = "draft"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    PUBLISH_FAILED = "publish_failed"
    # Corrections (issue 11). MOVED: data {"from", "to"}, user = who moved it.
    # MOVE_UNDONE: data {"from", "to"} of the move being undone (it goes back to "from").
    # MARKED: data {"complaint": bool, "previous": bool}, user = who changed the flag.
    MOVED = "moved"
    MOVE_UNDONE = "move_undone"
    MARKED = "marked"


@dataclass
class Event:
    """Something that happened to a mention, recorded for the thread and the metrics.
    `kind` is an EventKind (stored as its string value)."""

    mention_key: str
    kind: str
    at: datetime
    user: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mention_key": self.mention_key,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "user": self.user,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(
            mention_key=data["mention_key"],
            kind=data["kind"],
            at=parse_time(data["at"]),
            user=data.get("user"),
            data=dict(data.get("data") or {}),
        )

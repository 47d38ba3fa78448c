"""The reply draft and its state machine, kept in the store's meta table.

    draft ──approve/edit──> publishing ──ok──> published
      │                        └──error──> publish_failed ──retry──> publishing
      └──reject──> rejected

Every transition is one atomic `store.update_meta`, made *before* any call to a
source: of two approvers clicking at the same instant exactly one moves the draft to
"publishing" and goes on to publish; the other sees that it lost and publishes nothing.
A draft stuck in "publishing" (the process died mid-call) is never retried
automatically: whether the source took it is unknown, and an honest person must look.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.store.base import Store

DRAFT = "draft"
PUBLISHING = "publishing"
PUBLISHED = "published"
PUBLISH_FAILED = "publish_failed"
REJECTED = "rejected"

PREFIX = "draft:"


@dataclass
class Draft:
    id: str
    mention_key: str
    author: str  # Slack user id of who wrote it
    text: str
    status: str
    created_at: str  # ISO 8601
    approver: str | None = None  # who approved (the author, when a publisher wrote it)
    edited: bool = False
    url: str | None = None
    native_id: str | None = None
    error: str | None = None
    reason: str | None = None  # why it was rejected
    updated_at: str | None = None
    attempts: int = 0
    turn: str | None = None  # the token of the caller that won the last transition

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Transition:
    """The result of trying to move a draft: `won` is True only for the one caller whose
    change was applied; `draft` is the draft as stored afterwards (None if unknown)."""

    won: bool
    draft: Draft | None


def create(store: Store, mention_key: str, author: str, text: str, now: datetime, *,
           status: str = DRAFT, approver: str | None = None) -> Draft:
    """Store a new draft (status "draft", or "publishing" for a publisher's own answer)."""
    draft = Draft(id=uuid.uuid4().hex[:16], mention_key=mention_key, author=author,
                  text=text, status=status, created_at=now.isoformat(), approver=approver,
                  updated_at=now.isoformat(), attempts=1 if status == PUBLISHING else 0)
    store.set_meta(PREFIX + draft.id, draft.to_dict())
    return draft


def get(store: Store, draft_id: str) -> Draft | None:
    data = store.get_meta(PREFIX + draft_id) if draft_id else None
    return Draft.from_dict(data) if isinstance(data, dict) else None


def _move(store: Store, draft_id: str, allowed: tuple[str, ...], now: datetime,
          **changes: Any) -> Transition:
    token = uuid.uuid4().hex

    def change(old: Any) -> Any:
        if not isinstance(old, dict) or old.get("status") not in allowed:
            return old  # unchanged: someone else moved it first, or it never existed
        new = dict(old, **changes, turn=token, updated_at=now.isoformat())
        if changes.get("status") == PUBLISHING:
            new["attempts"] = int(old.get("attempts") or 0) + 1
        return new

    saved = store.update_meta(PREFIX + draft_id, change)
    if not isinstance(saved, dict):
        return Transition(False, None)
    draft = Draft.from_dict(saved)
    return Transition(draft.turn == token, draft)


def begin_publish(store: Store, draft_id: str, approver: str, now: datetime, *,
                  text: str | None = None, retry: bool = False) -> Transition:
    """draft -> publishing (approve; edit when `text` is given), or publish_failed ->
    publishing when `retry`. Only the winner may call the source."""
    allowed = (PUBLISH_FAILED,) if retry else (DRAFT,)
    changes: dict[str, Any] = {"status": PUBLISHING, "error": None}
    if not retry:
        changes["approver"] = approver
    if text is not None:
        changes.update(text=text, edited=True)
    return _move(store, draft_id, allowed, now, **changes)


def mark_published(store: Store, draft_id: str, url: str, native_id: str,
                   now: datetime) -> Transition:
    return _move(store, draft_id, (PUBLISHING,), now, status=PUBLISHED, url=url,
                 native_id=native_id)


def mark_failed(store: Store, draft_id: str, error: str, now: datetime) -> Transition:
    return _move(store, draft_id, (PUBLISHING,), now, status=PUBLISH_FAILED, error=error)


def reject(store: Store, draft_id: str, user: str, reason: str, now: datetime) -> Transition:
    return _move(store, draft_id, (DRAFT,), now, status=REJECTED, reason=reason,
                 approver=user)

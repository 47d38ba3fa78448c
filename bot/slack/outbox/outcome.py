"""What trying one outbox row came to, and what one drain did."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Tag(Enum):
    DONE = "done"  # finished: sent, failed or skipped
    WAIT = "wait"  # waits on another row (the parent message): no due time of its own
    RETRY = "retry"  # try again at `at`
    POSTED = "posted"  # Slack has the message (`ts`): just posted, or found by reconciling
    ABSENT = "absent"  # reconciliation found no earlier post: post now


@dataclass(frozen=True, slots=True)
class Outcome:
    tag: Tag
    at: float = 0.0  # RETRY: epoch seconds in the outbox's clock
    ts: str = ""  # POSTED: the message's ts

    @classmethod
    def retry(cls, at: float) -> Outcome:
        return cls(Tag.RETRY, at=at)

    @classmethod
    def posted(cls, ts: str) -> Outcome:
        return cls(Tag.POSTED, ts=ts)


DONE = Outcome(Tag.DONE)
WAIT = Outcome(Tag.WAIT)
ABSENT = Outcome(Tag.ABSENT)


@dataclass
class DrainStats:
    """What one drain() did. `next_due` is seconds until the next row is due (None when
    the queue is empty or only waits on other rows)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    rate_limited: int = 0
    reconciled: int = 0
    next_due: float | None = None

    def add(self, other: DrainStats) -> None:
        """Add another's counts (a lane's) to these."""
        for name in ("sent", "retried", "failed", "rate_limited", "reconciled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

"""The storage interface. Callers depend on this, never on TinyDB.

Every method is safe to call from several threads at once (the scheduler thread and
the Slack handlers share one store). `update_mention` and `update_outbox` are the
atomic read-modify-write used for "first click wins" and exactly-once posting.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from bot.mention import Event, Mention, State


@dataclass
class OutboxItem:
    """A thing to post to Slack, waiting in the durable queue.

    kind: "mention" (post the mention message), "thread" (a line in its thread),
    "update" (re-render the mention message), "message" (any other post: escalation
    summary, daily summary, spike alert, reminder). `payload` is whatever the sender
    needs; `status` goes pending -> sending -> sent (or failed after too many tries).
    """

    id: str
    kind: str
    channel: str
    mention_key: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    attempts: int = 0
    not_before: datetime | None = None  # do not try before this time (backoff)
    created_at: datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)  # e.g. {"ts": ..., "channel": ...}


class StoreReadOnlyError(RuntimeError):
    """A write was attempted on a store opened with `open_store(..., read_only=True)`."""


class StoreOpenError(Exception):
    """The store cannot be opened for a reason the user can fix (a malformed
    DATABASE_URL, a refused password, an unreachable host, a schema newer than this
    code). The message is one line naming the problem; the CLI prints it and exits 2."""


class StoreUnavailableError(Exception):
    """The store's database stopped answering while the bot runs (a server backend
    only). Nothing was written; the caller may retry once it is back."""


def is_open(mention: Mention) -> bool:
    """Waiting for someone to take it: new, or escalated and not yet claimed."""
    return mention.owner is None and mention.state in (State.NEW, State.ESCALATED)


def arrived_at(mention: Mention) -> datetime:
    """When Earshot got the mention: `fetched_at`, else (never fetched) `created_at`."""
    return mention.fetched_at or mention.created_at


class Store(ABC):
    # --- mentions -------------------------------------------------------------
    @abstractmethod
    def add_mention(self, mention: Mention) -> Mention:
        """Store a new mention, assign its `number`, return it. Raises KeyError if
        a mention with the same key exists."""

    @abstractmethod
    def get_mention(self, key: str) -> Mention | None: ...

    @abstractmethod
    def get_by_number(self, number: int) -> Mention | None: ...

    @abstractmethod
    def find_by_fingerprint(self, fingerprint: str) -> Mention | None: ...

    @abstractmethod
    def find_by_link(self, url: str) -> Mention | None:
        """The mention whose url or any of whose links is `url`."""

    @abstractmethod
    def update_mention(
        self, key: str, change: Callable[[Mention], Mention | None]
    ) -> Mention | None:
        """Atomically apply `change` to the stored mention and save the result.

        `change` gets a copy and returns the new mention, or None to leave it as it
        was; the store holds its lock for the whole call, so two concurrent
        updates never both see the old state. Returns what was saved, or None if
        `change` declined or the key is unknown.
        """

    @abstractmethod
    def iter_mentions(self, since: datetime | None = None) -> Iterator[Mention]:
        """All mentions (created_at >= since if given), oldest first."""

    @abstractmethod
    def count_mentions(self) -> int: ...

    # Indexed queries for the Slack side (queues, App Home, reminders, permalinks). The
    # defaults below scan `iter_mentions()`, so any backend answers them correctly; a
    # backend overrides them with indexes (TinyDBStore does) so that none of them costs
    # a scan of every stored mention.

    def open_mentions(self, department: str | None = None, *, state: State | None = None,
                      limit: int | None = None,
                      with_extra: str | None = None) -> list[Mention]:
        """Mentions waiting to be claimed (`is_open`: NEW, or ESCALATED with no owner),
        oldest first (created_at, then number); only of `department` and/or in `state`
        (NEW or ESCALATED) if given, and only those whose `extra` has the key
        `with_extra` (a standing move, say) if given; at most `limit` of them."""
        found = (m for m in self.iter_mentions() if is_open(m)
                 and (department is None or m.department == department)
                 and (state is None or m.state is state)
                 and (with_extra is None or with_extra in m.extra))
        return list(islice(found, limit))

    def count_open_by_department(self) -> dict[str, int]:
        """How many open mentions each department has (departments without any are
        left out), in the order of each department's oldest open mention."""
        counts: dict[str, int] = {}
        for m in self.iter_mentions():
            if is_open(m):
                counts[m.department] = counts.get(m.department, 0) + 1
        return counts

    def claimed_by(self, user: str) -> list[Mention]:
        """The mentions `user` has claimed and not yet answered (state CLAIMED, owner
        `user`), oldest first."""
        return [m for m in self.iter_mentions()
                if m.state is State.CLAIMED and m.owner == user]

    def arrived_since(self, since: datetime) -> list[Mention]:
        """Mentions Earshot got at or after `since` (`arrived_at`: fetched_at, else
        created_at), oldest first (created_at, then number), however old the posts are."""
        return [m for m in self.iter_mentions() if arrived_at(m) >= since]

    def find_by_slack_message(self, channel: str, ts: str) -> Mention | None:
        """The mention posted as Slack message `ts` in `channel` (the oldest, if
        several claim it), or None."""
        return next((m for m in self.iter_mentions()
                     if m.slack_channel == channel and m.slack_ts == ts), None)

    def unposted_mentions(self) -> list[Mention]:
        """Mentions with neither a Slack message nor an outbox row (`mention:<key>`),
        oldest first: stored, but never queued for Slack (see Outbox.queue_unposted)."""
        return [m for m in self.iter_mentions()
                if not m.slack_ts and self.get_outbox(f"mention:{m.key}") is None]

    # --- source cursors ----------------------------------------------------------
    @abstractmethod
    def get_cursor(self, source: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def set_cursor(self, source: str, cursor: dict[str, Any]) -> None: ...

    def add_mention_queued(self, mention: Mention, item: OutboxItem) -> Mention:
        """add_mention, and enqueue `item` (the mention's first post) with it: in one
        write where the backend can (PostgreSQL: one statement, one commit), so a stored
        mention always has its post queued. Raises KeyError like add_mention, and then
        enqueues nothing."""
        stored = self.add_mention(mention)
        self.enqueue(item)
        return stored

    # --- outbox ------------------------------------------------------------------
    @abstractmethod
    def enqueue(self, item: OutboxItem) -> OutboxItem:
        """Add to the outbox. An item whose id already exists is left as it is
        (enqueueing is idempotent)."""

    @abstractmethod
    def get_outbox(self, item_id: str) -> OutboxItem | None: ...

    @abstractmethod
    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        """Items with status pending or sending (sending = interrupted mid-post),
        whose not_before has passed, oldest first."""

    @abstractmethod
    def update_outbox(
        self, item_id: str, change: Callable[[OutboxItem], OutboxItem | None]
    ) -> OutboxItem | None:
        """Atomic read-modify-write of one outbox item, like update_mention."""

    # --- events ------------------------------------------------------------------
    @abstractmethod
    def add_event(self, event: Event) -> None: ...

    @abstractmethod
    def events(
        self, mention_key: str | None = None, since: datetime | None = None
    ) -> list[Event]:
        """Events, oldest first, optionally for one mention and/or since a time."""

    # --- small named values (caches, alert bookkeeping) ----------------------------
    @abstractmethod
    def get_meta(self, key: str) -> Any: ...

    @abstractmethod
    def set_meta(self, key: str, value: Any) -> None: ...

    @abstractmethod
    def update_meta(self, key: str, change: Callable[[Any], Any]) -> Any:
        """Atomically replace the value with change(old) (old is None if unset)."""

    def delete_meta(self, key: str, when: Callable[[Any], bool] = lambda _: True) -> bool:
        """Atomically delete the entry if `when(value)` holds (a writer that replaced the
        value a moment ago is not undone). Returns whether it was deleted. Used by
        retention, for entries about mentions it deleted."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete meta entries")

    # --- retention -------------------------------------------------------------------
    def delete_mentions(self, keys: list[str]) -> int:
        """Delete these mentions with their events and their finished (sent or failed)
        outbox rows; pending or sending rows stay. Unknown keys are skipped. Returns how
        many mentions were deleted. Used by retention (bot.store.retention) only."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete mentions")

    # --- lifecycle -----------------------------------------------------------------
    def warm(self) -> None:
        """Read ahead, a little at a time, what the first queries of a long-running
        process will need, so that none of them waits for it all at once (a TinyDB store
        opened lazily loads its mentions; a no-op where reads cost what they read)."""
        return None

    def flush(self) -> None:
        """Make everything written so far durable (a no-op where writes already are)."""
        return None

    def close(self) -> None:
        self.flush()

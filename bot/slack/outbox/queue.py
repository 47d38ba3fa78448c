"""The outbox's queue: asking for a post, the rows that hold the requests, their statuses.

Every post is a row in the store's outbox first, so a restart resumes where it stopped.
`OutboxQueue` only enqueues: it needs no Slack client, so a command that stores mentions
without Slack configured can still queue them for `serve` to post later. `Outbox`
(drain.py) is an `OutboxQueue` that also sends.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.mention import Mention, utcnow
from bot.settings import Settings
from bot.store.base import OutboxItem, Store

# One logger for the whole outbox package, named as before it was split, so log filters
# and level settings on "bot.slack.outbox" keep working.
log = logging.getLogger("bot.slack.outbox")


class Status(StrEnum):
    """An outbox row's status, stored as its plain string value."""

    PENDING = "pending"  # waiting to be sent
    SENDING = "sending"  # saved before the call: Slack may have it; reconcile before retrying
    SENT = "sent"
    FAILED = "failed"


class Kind(StrEnum):
    """What an outbox row sends, stored as its plain string value."""

    MENTION = "mention"  # the mention's channel message
    UPDATE = "update"  # chat.update of that message
    THREAD = "thread"  # a reply in the mention's thread
    MESSAGE = "message"  # any other post (escalation, summary, alert)


ACTIVE = frozenset({Status.PENDING, Status.SENDING})  # rows still to be sent
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def department_channel(settings: Settings, department: str) -> str:
    """The channel a department's mentions go to (the default department's if unknown)."""
    dept = settings.departments.get(department) or settings.default_department
    return dept.channel


class PendingRows:
    """The active rows in send order, cached between passes over the queue."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: list[OutboxItem] | None = None
        self._cache_at = 0.0
        self._dirty = True
        self._lock = threading.Lock()

    def changed(self) -> None:
        """Something was queued here: re-read on the next load."""
        self._dirty = True

    def load(self) -> list[OutboxItem]:
        """Pending rows, oldest first. Re-read when something was queued here or every
        few seconds (another process may share the store); otherwise the cache."""
        now = time.monotonic()
        with self._lock:
            if self._dirty or self._cache is None or now - self._cache_at > 5.0:
                self._dirty = False
                rows = self.store.pending_outbox(_FAR_FUTURE)  # backed-off rows too: order
                epoch = datetime.min.replace(tzinfo=UTC)
                rows.sort(key=lambda i: (i.created_at or epoch, i.payload.get("seq", 0)))
                self._cache, self._cache_at = rows, now
            return list(self._cache)

    def forget(self, item: OutboxItem, replacement: OutboxItem | None = None) -> None:
        """Drop a finished row from the cache, or replace it with its saved state."""
        with self._lock:
            if self._cache is None:
                return
            for i, cached in enumerate(self._cache):
                if cached.id == item.id:
                    if replacement is None or replacement.status not in ACTIVE:
                        del self._cache[i]
                    else:
                        self._cache[i] = replacement
                    return


class OutboxQueue:
    """The enqueue side of the outbox: callers queue posts here; they are rendered from
    the store and sent by an `Outbox` draining the same store."""

    def __init__(self, store: Store, settings: Settings, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock
        self._seq = itertools.count(time.time_ns())  # orders rows made in one instant
        self._wake = threading.Event()
        self.rows = PendingRows(store)

    def post_mention(self, mention: Mention) -> None:
        """Queue the mention's channel message. Idempotent per mention key. The mention
        must be in the store; it is rendered from the store when sent."""
        channel = department_channel(self.settings, mention.department)
        self._enqueue(f"mention:{mention.key}", Kind.MENTION, channel, mention.key, {})

    def add_and_post_mention(self, mention: Mention) -> Mention:
        """Store a new mention and queue its channel message in one write
        (Store.add_mention_queued); returns the stored mention. KeyError if its key is
        stored already (nothing is queued then)."""
        channel = department_channel(self.settings, mention.department)
        stored = self.store.add_mention_queued(
            mention, self._item(f"mention:{mention.key}", Kind.MENTION, channel,
                                mention.key, {}))
        self.rows.changed()
        self.wake()
        return stored

    def queue_unposted(self) -> int:
        """Queue every stored mention that has neither a Slack message nor an outbox row;
        returns how many. The pipeline stores a mention, then queues it: a crash between
        the two (or a poll run without an outbox) would leave it stored, seen on every
        refetch, and never posted. Run once at start-up, before draining."""
        queued = 0
        for mention in self.store.unposted_mentions():  # indexed: not a scan of the store
            self.post_mention(mention)
            queued += 1
        if queued:
            log.warning("queued %d stored mention(s) that were never queued for Slack",
                        queued)
        return queued

    def refresh(self, mention_key: str) -> None:
        """Queue a chat.update of the mention message, rendered from the store when it is
        sent; many refreshes before it goes out make one update."""
        item_id = f"update:{mention_key}"
        self._enqueue(item_id, Kind.UPDATE, "", mention_key, {})
        now = self._clock()

        def again(item: OutboxItem) -> OutboxItem | None:
            if item.status == Status.PENDING:
                return None  # coalesced: the queued update will render the latest state
            if item.status == Status.SENDING:
                item.payload["again"] = True  # the update in flight may predate this change
                return item
            item.status, item.attempts, item.not_before = Status.PENDING, 0, None
            item.created_at, item.result = now, {}
            item.payload = {"seq": next(self._seq)}
            return item

        self.store.update_outbox(item_id, again)
        self.rows.changed()
        self.wake()

    def thread(self, mention_key: str, text: str, *, item_id: str | None = None,
               blocks: list | None = None) -> None:
        """Queue a reply in the mention's thread (`text` is mrkdwn the caller has escaped,
        e.g. blocks.thread_line). It waits until the mention message is posted; replies
        of one mention go out in the order they were queued."""
        item_id = item_id or f"thread:{mention_key}:{uuid.uuid4().hex}"
        self._enqueue(item_id, Kind.THREAD, "", mention_key,
                      {"text": text, "blocks": blocks, "thread_of": mention_key})

    def message(self, channel: str, text: str, *, blocks: list | None = None,
                item_id: str | None = None, thread_of: str | None = None) -> None:
        """Queue any other post (escalation, summary, alert). With `thread_of` (a mention
        key) it is a reply in that mention's thread, in the mention's channel. Pass a
        stable `item_id` to make re-queueing the same message a no-op."""
        item_id = item_id or f"message:{uuid.uuid4().hex}"
        self._enqueue(item_id, Kind.MESSAGE, channel, thread_of,
                      {"text": text, "blocks": blocks, "thread_of": thread_of})

    def wake(self) -> None:
        """Interrupt a drain's wait (or an idle worker) because something changed."""
        self._wake.set()

    def queued_elsewhere(self) -> None:
        """Another process (a replica, a command) queued rows in the shared store: re-read
        the queue, not this process's cached rows, and wake the drain."""
        self.rows.changed()
        self.wake()

    def _item(self, item_id: str, kind: Kind, channel: str, mention_key: str | None,
              payload: dict[str, Any]) -> OutboxItem:
        return OutboxItem(id=item_id, kind=kind, channel=channel, mention_key=mention_key,
                          payload={**payload, "seq": next(self._seq)},
                          created_at=self._clock())

    def _enqueue(self, item_id: str, kind: Kind, channel: str, mention_key: str | None,
                 payload: dict[str, Any]) -> None:
        self.store.enqueue(self._item(item_id, kind, channel, mention_key, payload))
        self.rows.changed()
        self.wake()

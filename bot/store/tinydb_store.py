"""The default Store: TinyDB's file format over a crash-safe journal, with in-memory indexes.

Layout: `JournalStorage` (journal_storage.py) keeps every document in memory (as JSON
text, or for mentions a tuple: codec.py) and makes each write one journal line;
`StoreCore` (tinydb_core.py) adds the Store semantics, over the indexes that make
every lookup O(1) or O(log n) instead of TinyDB's linear scans (tinydb_indexes.py,
tinydb_queries.py). This module opens a data directory (one core per directory in a
process, shared by its handles) and is the `TinyDBStore` handle itself.

Durability (see docs/storage.md): every write is in the journal file before the call
returns, so a killed process loses nothing acknowledged. Against power loss, writes
are fsync'd by group commit within `sync_interval`; the writes that must not be lost
(update_mention: claims; enqueue and update_outbox: exactly-once posting) wait for
their fsync before returning.
"""

from __future__ import annotations

import collections
import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.mention import Event, Mention, State
from bot.store import lockfile
from bot.store.base import OutboxItem, Store, StoreReadOnlyError
from bot.store.codec import DESCRIBE, MENTIONS
from bot.store.journal_storage import JournalStorage
from bot.store.lockfile import StoreLockedError
from bot.store.read_only_storage import ReadOnlyJournalStorage
from bot.store.tinydb_core import StoreCore

__all__ = ["StoreLockedError", "StoreReadOnlyError", "TinyDBStore"]


@dataclass
class _Opened:
    core: StoreCore
    handles: int


# One core per data directory in this process: a second open (e.g. `bot audit` run
# in-process by a test while the app serves) shares it instead of loading a second,
# diverging copy of the state; the flock keeps other processes out.
_registry: dict[str, _Opened] = {}
# Re-entrant: a handle's finalizer can run from garbage collection inside open().
_registry_lock = threading.RLock()


# Paths of handles dropped without close(). weakref.finalize may run inside a garbage
# collection triggered by any allocation, including one made while this thread holds
# _registry_lock (a non-reentrant lock): taking the lock there deadlocks, so the
# finalizer only records the path (deque.append is atomic) and the next open() or
# close() releases it.
_dropped: collections.deque[str] = collections.deque()


def _release_later(path: str) -> None:
    _dropped.append(path)


def _release_dropped_locked() -> None:
    while _dropped:
        _release_locked(_dropped.popleft())


def _release(path: str) -> None:
    with _registry_lock:
        _release_dropped_locked()
        _release_locked(path)


def _release_locked(path: str) -> None:
    opened = _registry.get(path)
    if opened is None:
        return
    opened.handles -= 1
    if opened.handles > 0:
        return
    del _registry[path]
    # Still under the registry lock: a concurrent open must not take the directory
    # before this one has released the flock.
    opened.core.close()


class TinyDBStore(Store):
    """Use TinyDBStore.open(data_dir). One process per data directory; several opens
    in one process share one in-memory state (each handle is closed on its own)."""

    def __init__(self, core: StoreCore, path: str) -> None:
        self._core = core
        self._closed = False
        # Released even if the caller forgets close(): a test that drops a store must
        # not leave the directory locked for the rest of the process. A read-only core
        # is this handle's own (no lock, nothing registered): garbage collection is enough.
        self._finalizer = (None if core.read_only
                           else weakref.finalize(self, _release_later, path))
        self._path = path

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str],
        *,
        sync_interval: float | None = 0.05,
        durable_updates: bool = True,
        compact_min_bytes: int = 8 << 20,
        read_only: bool = False,
    ) -> TinyDBStore:
        """Open (creating if needed) the store in `data_dir`.

        Raises StoreLockedError if another process already has the directory. Options
        apply when this call is the first open in this process: sync_interval is the
        seconds between group-commit fsyncs (0 = fsync every write; None = only on
        flush()/close()); durable_updates makes claims and outbox changes wait for
        their fsync; the journal is compacted once it outgrows the snapshot (and
        compact_min_bytes).

        read_only=True loads the files as they are now, without the lock (so also while
        another process, e.g. `serve`, has the store) and without creating anything;
        the handle has its own copy of the state (it does not follow later writes) and
        every write raises StoreReadOnlyError. A missing directory is an empty store.
        """
        path = Path(data_dir)
        key = os.path.realpath(path)
        if read_only:
            storage = ReadOnlyJournalStorage(path, codecs={"mentions": MENTIONS},
                                             describe=DESCRIBE)
            return cls(StoreCore(storage, None, read_only=True), key)
        path.mkdir(parents=True, exist_ok=True)
        with _registry_lock:
            _release_dropped_locked()
            opened = _registry.get(key)
            if opened is None:
                fd = lockfile.acquire(path / "earshot.lock")
                try:
                    storage = JournalStorage(path, sync_interval=sync_interval,
                                             compact_min_bytes=compact_min_bytes,
                                             codecs={"mentions": MENTIONS},
                                             describe=DESCRIBE,
                                             still_ours=functools.partial(
                                                 lockfile.still_held, fd, path))
                    core = StoreCore(storage, fd, durable_updates=durable_updates)
                except BaseException:
                    lockfile.release(fd)
                    raise
                opened = _registry[key] = _Opened(core, 0)
            opened.handles += 1
            return cls(opened.core, key)

    def _live(self) -> StoreCore:
        if self._closed:
            raise RuntimeError("the store is closed")
        return self._core

    @property
    def read_only(self) -> bool:
        return self._core.read_only

    @property
    def journal(self) -> JournalStorage:
        """The documents themselves, for `store copy` (bot.store.transfer) only: writes
        through it bypass the indexes, which are rebuilt on the next open."""
        core = self._live()
        core.load_everything()  # a read-only store loads its blocks on demand
        return core._storage

    def add_mention(self, mention: Mention) -> Mention:
        return self._live().add_mention(mention)

    def get_mention(self, key: str) -> Mention | None:
        return self._live().get_mention(key)

    def get_by_number(self, number: int) -> Mention | None:
        return self._live().get_by_number(number)

    def find_by_fingerprint(self, fingerprint: str) -> Mention | None:
        return self._live().find_by_fingerprint(fingerprint)

    def find_by_link(self, url: str) -> Mention | None:
        return self._live().find_by_link(url)

    def update_mention(
        self, key: str, change: Callable[[Mention], Mention | None]
    ) -> Mention | None:
        return self._live().update_mention(key, change)

    def iter_mentions(self, since: datetime | None = None) -> Iterator[Mention]:
        return self._live().iter_mentions(since)

    def count_mentions(self) -> int:
        return self._live().count_mentions()

    def open_mentions(self, department: str | None = None, *, state: State | None = None,
                      limit: int | None = None,
                      with_extra: str | None = None) -> list[Mention]:
        return self._live().open_mentions(department, state=state, limit=limit,
                                          with_extra=with_extra)

    def count_open_by_department(self) -> dict[str, int]:
        return self._live().count_open_by_department()

    def claimed_by(self, user: str) -> list[Mention]:
        return self._live().claimed_by(user)

    def arrived_since(self, since: datetime) -> list[Mention]:
        return self._live().arrived_since(since)

    def find_by_slack_message(self, channel: str, ts: str) -> Mention | None:
        return self._live().find_by_slack_message(channel, ts)

    def unposted_mentions(self) -> list[Mention]:
        return self._live().unposted_mentions()

    def get_cursor(self, source: str) -> dict[str, Any] | None:
        return self._live().get_cursor(source)

    def set_cursor(self, source: str, cursor: dict[str, Any]) -> None:
        self._live().set_cursor(source, cursor)

    def enqueue(self, item: OutboxItem) -> OutboxItem:
        return self._live().enqueue(item)

    def get_outbox(self, item_id: str) -> OutboxItem | None:
        return self._live().get_outbox(item_id)

    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        return self._live().pending_outbox(now)

    def update_outbox(
        self, item_id: str, change: Callable[[OutboxItem], OutboxItem | None]
    ) -> OutboxItem | None:
        return self._live().update_outbox(item_id, change)

    def add_event(self, event: Event) -> None:
        self._live().add_event(event)

    def events(
        self, mention_key: str | None = None, since: datetime | None = None
    ) -> list[Event]:
        return self._live().events(mention_key, since)

    def get_meta(self, key: str) -> Any:
        return self._live().get_meta(key)

    def set_meta(self, key: str, value: Any) -> None:
        self._live().set_meta(key, value)

    def update_meta(self, key: str, change: Callable[[Any], Any]) -> Any:
        return self._live().update_meta(key, change)

    def delete_meta(self, key: str, when: Callable[[Any], bool] = lambda _: True) -> bool:
        return self._live().delete_meta(key, when)

    def delete_mentions(self, keys: list[str]) -> int:
        return self._live().delete_mentions(keys)

    def warm(self) -> None:
        if not self._closed:
            self._core.warm()

    def flush(self) -> None:
        """Block until every write so far is on stable storage."""
        if not self._closed:
            self._core.flush()

    def close(self) -> None:
        """Flush and let go of the store; the last handle in the process compacts the
        journal into the snapshot and releases the directory lock. Idempotent."""
        if self._closed:
            return
        self._core.flush()
        self._closed = True
        if self._finalizer is None:  # read-only: nothing shared, nothing to write
            self._core.close()
            return
        self._finalizer.detach()
        _release(self._path)

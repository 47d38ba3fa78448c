"""The default Store: TinyDB's file format over a crash-safe journal, with in-memory indexes.

Layout: `JournalStorage` (journal_storage.py) keeps every document in memory (as JSON
text, or for mentions a tuple: codec.py) and makes each write one journal line; this
module adds the Store semantics and the indexes that make every lookup O(1) or
O(log n) instead of TinyDB's linear scans. One RLock serialises all calls: each method
is a few microseconds of in-memory work plus one `write(2)`, so a single lock costs
nothing measurable and makes every read-modify-write trivially atomic. Decoding happens
outside the lock.

Durability (see docs/storage.md): every write is in the journal file before the call
returns, so a killed process loses nothing acknowledged. Against power loss, writes
are fsync'd by group commit within `sync_interval`; the writes that must not be lost
(update_mention: claims; enqueue and update_outbox: exactly-once posting) wait for
their fsync before returning.
"""

from __future__ import annotations

import collections
import functools
import heapq
import logging
import os
import threading
import weakref
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from bot.mention import Event, Mention, State, utcnow
from bot.store import lockfile
from bot.store.base import OutboxItem, Store, StoreReadOnlyError
from bot.store.codec import (
    MENTIONS,
    event_from_doc,
    event_to_doc,
    mention_to_doc,
    mention_urls,
    micros,
    outbox_from_doc,
    outbox_to_doc,
)
from bot.store.journal_storage import (
    JournalStorage,
    JournalTable,
    StoreCorruptError,
    decode,
    gc_paused,
    open_storage,
)
from bot.store.lockfile import StoreLockedError

log = logging.getLogger(__name__)

__all__ = ["StoreLockedError", "StoreReadOnlyError", "TinyDBStore"]

_ACTIVE = frozenset({"pending", "sending"})
_NO_TIME = -(1 << 62)  # sorts before any real time: outbox items without created_at
_OPEN_STATES = (State.NEW, State.ESCALATED)  # with no owner: waiting to be claimed

# (created_at in µs, number): the entries of the sorted mention indexes.
_Entry = tuple[int, int]
# The arrival index packs (µs, number) into one int, µs * 2**32 + number, which sorts the
# same: 44 bytes a mention instead of a tuple's 96 (numbers stay far below 2**32).
_NUMBER_BITS = 32
_NUMBER_MASK = (1 << _NUMBER_BITS) - 1


# Fingerprint and url indexes map to the mentions' numbers, oldest first. Nearly every
# value has one mention: it is held as a bare int, a sorted list only when shared
# (a list per mention would cost about 20 MB at 100,000 mentions).
_Numbers = dict[str, "int | list[int]"]


def _index_add(index: _Numbers, name: str, number: int) -> None:
    current = index.get(name)
    if current is None:
        index[name] = number
    elif isinstance(current, int):
        index[name] = sorted((current, number))
    else:
        insort(current, number)


def _index_discard(index: _Numbers, name: str, number: int) -> None:
    current = index.get(name)
    if current is None:
        return
    if isinstance(current, int):
        if current == number:
            del index[name]
        return
    i = bisect_left(current, number)
    if i < len(current) and current[i] == number:
        del current[i]
    if len(current) == 1:
        index[name] = current[0]


def _index_first(index: _Numbers, name: str) -> int | None:
    current = index.get(name)
    return current if current is None or isinstance(current, int) else current[0]


def _index_all(index: _Numbers, name: str) -> list[int]:
    current = index.get(name)
    if current is None:
        return []
    return [current] if isinstance(current, int) else list(current)


def _sorted_discard(entries: list[Any], entry: Any) -> None:
    i = bisect_left(entries, entry)
    if i < len(entries) and entries[i] == entry:
        del entries[i]


def _group_discard(groups: dict[Any, list[_Entry]], name: Any, entry: _Entry) -> None:
    entries = groups.get(name)
    if entries is not None:
        _sorted_discard(entries, entry)
        if not entries:
            del groups[name]


def _state_of(doc: dict[str, Any]) -> State | None:
    try:
        return State(doc.get("state") or State.NEW)
    except ValueError:  # a document written by another version: in no state index
        return None


def _shutdown(storage: JournalStorage, lock_fd: int | None) -> None:
    try:
        storage.close()
    finally:
        if lock_fd is not None:
            lockfile.release(lock_fd)


class _Core:
    """The open store of one data directory; shared by every TinyDBStore handle on it
    in this process (see TinyDBStore.open), or a read-only one of its own (lock_fd None,
    every write refused)."""

    def __init__(self, storage: JournalStorage, lock_fd: int | None, *,
                 durable_updates: bool = True,
                 read_only: bool = False) -> None:
        self.read_only = read_only
        self._storage = storage
        self._durable = durable_updates
        self._lock = threading.RLock()
        self._closed = False
        self._lock_fd = lock_fd
        self._mentions = JournalTable(storage, "mentions")
        self._outbox = JournalTable(storage, "outbox")
        self._events = JournalTable(storage, "events")
        self._cursors = JournalTable(storage, "cursors")
        self._meta = JournalTable(storage, "meta")
        # Indexes: document ids (a mention's id is its number).
        self._by_key: dict[str, int] = {}
        self._by_fingerprint: _Numbers = {}
        self._by_url: _Numbers = {}
        self._by_time: list[_Entry] = []  # (created_at in µs, number), sorted
        # The Slack side's queries (see Store.open_mentions and the methods after it);
        # their entries are the very tuples of _by_time, so they cost a pointer each.
        self._open: dict[tuple[str, State], list[_Entry]] = {}  # (department, state)
        self._claimed: dict[str, list[_Entry]] = {}  # owner -> CLAIMED mentions
        self._by_arrival: list[int] = []  # fetched_at (else created_at) µs, number: packed
        self._by_message: _Numbers = {}  # slack_ts -> numbers (the channel is checked)
        self._outbox_ids: dict[str, int] = {}
        self._active: dict[str, tuple[int, int, int | None]] = {}  # id -> (created, doc, nb)
        self._events_of: dict[str, list[int]] = {}
        self._events_time: list[tuple[int, int]] = []
        self._cursor_ids: dict[str, int] = {}
        self._meta_ids: dict[str, int] = {}
        with gc_paused():
            try:
                self._build_indexes()
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                # A document lacking a field every document has ("key", "name"): edited
                # or damaged by hand. One line, naming the files, instead of a traceback.
                raise StoreCorruptError(
                    f"the store in {self._storage.dir} holds a malformed document "
                    f"({type(exc).__name__}: {exc}) in earshot.json or earshot.journal; "
                    "restore the store from a backup") from exc

    # --- indexes ----------------------------------------------------------------------
    def _build_indexes(self) -> None:
        # One document decoded at a time: the whole store decoded at once would take
        # about 4x the memory of the texts.
        def docs(table: JournalTable) -> Iterator[tuple[int, Any]]:
            codec = self._storage.codec(table.name)
            for doc_id, held in self._storage.held(table.name).items():
                yield int(doc_id), codec.doc(held)

        for doc_id, held in self._storage.held(self._mentions.name).items():
            self._index_mention(int(doc_id), MENTIONS.index_fields(held), ordered=False)
        self._by_time.sort()
        self._by_arrival.sort()
        for group in (*self._open.values(), *self._claimed.values()):
            group.sort()
        for doc_id, doc in docs(self._outbox):
            self._index_outbox(doc_id, doc)
        for doc_id, doc in docs(self._events):
            self._index_event(doc_id, doc, ordered=False)
        self._events_time.sort()
        for ids in self._events_of.values():
            ids.sort()
        for doc_id, doc in docs(self._cursors):
            self._cursor_ids[doc["name"]] = doc_id
        for doc_id, doc in docs(self._meta):
            self._meta_ids[doc["name"]] = doc_id

    def _index_mention(self, number: int, doc: dict[str, Any], ordered: bool = True) -> None:
        self._by_key[doc["key"]] = number
        if doc.get("fingerprint"):
            _index_add(self._by_fingerprint, doc["fingerprint"], number)
        for url in mention_urls(doc):
            _index_add(self._by_url, url, number)
        entry = (micros(doc["created_at"]), number)
        add = insort if ordered else list.append  # unordered: sorted once when all are in
        add(self._by_time, entry)
        add(self._by_arrival, self._arrival_key(doc, number))
        for groups, name in self._groups_of(doc):
            add(groups.setdefault(name, []), entry)
        ts = doc.get("slack_ts")
        if ts and isinstance(ts, str):
            _index_add(self._by_message, ts, number)

    def _unindex_mention(self, number: int, doc: dict[str, Any]) -> None:
        fingerprint = doc.get("fingerprint")
        if fingerprint:
            _index_discard(self._by_fingerprint, fingerprint, number)
        for url in mention_urls(doc):
            _index_discard(self._by_url, url, number)
        entry = (micros(doc["created_at"]), number)
        _sorted_discard(self._by_time, entry)
        _sorted_discard(self._by_arrival, self._arrival_key(doc, number))
        for groups, name in self._groups_of(doc):
            _group_discard(groups, name, entry)
        ts = doc.get("slack_ts")
        if ts and isinstance(ts, str):
            _index_discard(self._by_message, ts, number)

    @staticmethod
    def _arrival_key(doc: dict[str, Any], number: int) -> int:
        return (micros(doc.get("fetched_at") or doc["created_at"]) << _NUMBER_BITS) + number

    def _groups_of(self, doc: dict[str, Any]) -> list[tuple[dict[Any, list[_Entry]], Any]]:
        """The state indexes a mention belongs in: its department's open queue (no owner,
        NEW or ESCALATED), or its owner's claimed list."""
        state, owner = _state_of(doc), doc.get("owner")
        if owner is None and state in _OPEN_STATES:
            department = doc.get("department", "")
            if isinstance(department, str):
                return [(self._open, (department, state))]
        elif state is State.CLAIMED and isinstance(owner, str):
            return [(self._claimed, owner)]
        return []

    def _index_outbox(self, doc_id: int, doc: dict[str, Any]) -> None:
        self._outbox_ids[doc["id"]] = doc_id
        if doc.get("status") in _ACTIVE:
            created = micros(doc["created_at"]) if doc.get("created_at") else _NO_TIME
            not_before = micros(doc["not_before"]) if doc.get("not_before") else None
            self._active[doc["id"]] = (created, doc_id, not_before)
        else:
            self._active.pop(doc["id"], None)

    def _index_event(self, doc_id: int, doc: dict[str, Any], ordered: bool = True) -> None:
        self._events_of.setdefault(doc["mention_key"], []).append(doc_id)
        entry = (micros(doc["at"]), doc_id)
        if ordered:
            insort(self._events_time, entry)
        else:
            self._events_time.append(entry)

    def _check_open(self, method: str) -> None:
        """Called first by every write."""
        if self._closed:
            raise RuntimeError("the store is closed")
        if self.read_only:
            raise StoreReadOnlyError(
                f"{method}: this store was opened read-only (open_store(..., "
                "read_only=True)); it cannot be written")

    def _settle(self, lsn: int) -> None:
        if self._durable:
            self._storage.sync_to(lsn)

    # --- mentions ----------------------------------------------------------------------
    def add_mention(self, mention: Mention) -> Mention:
        doc = mention_to_doc(mention)
        with self._lock:
            self._check_open("add_mention")
            if doc["key"] in self._by_key:
                raise KeyError(f"mention {doc['key']} is already stored")
            number = self._mentions.next_id()  # a failed write skips a number, never reuses
            doc["number"] = number
            self._mentions.put(number, doc)
            self._index_mention(number, doc)
            held = self._mentions.held(number)
        mention.number = number  # callers that keep their object see the number too
        return MENTIONS.mention(held)

    def _held(self, number: int | None) -> Any:
        return None if number is None else self._mentions.held(number)

    @staticmethod
    def _to_mention(held: Any) -> Mention | None:
        return None if held is None else MENTIONS.mention(held)

    def get_mention(self, key: str) -> Mention | None:
        with self._lock:
            held = self._held(self._by_key.get(key))
        return self._to_mention(held)

    def get_by_number(self, number: int) -> Mention | None:
        with self._lock:
            held = self._mentions.held(number) if isinstance(number, int) else None
        return self._to_mention(held)

    def find_by_fingerprint(self, fingerprint: str) -> Mention | None:
        """The first stored mention with this fingerprint."""
        with self._lock:
            held = self._held(_index_first(self._by_fingerprint, fingerprint))
        return self._to_mention(held)

    def find_by_link(self, url: str) -> Mention | None:
        """The first stored mention whose url or one of whose links is `url`."""
        with self._lock:
            held = self._held(_index_first(self._by_url, url))
        return self._to_mention(held)

    def update_mention(
        self, key: str, change: Callable[[Mention], Mention | None]
    ) -> Mention | None:
        with self._lock:
            self._check_open("update_mention")
            number = self._by_key.get(key)
            if number is None:
                return None
            held = self._mentions.held(number)
            new = change(MENTIONS.mention(held))
            if new is None:
                return None
            if new.key != key:
                raise ValueError(f"update_mention cannot change a mention's key ({key})")
            doc = mention_to_doc(new)
            doc["number"] = number
            lsn = self._mentions.put(number, doc)
            self._unindex_mention(number, MENTIONS.doc(held))
            self._index_mention(number, doc)
            saved = self._mentions.held(number)
        self._settle(lsn)
        return self._to_mention(saved)

    def iter_mentions(self, since: datetime | None = None) -> Iterator[Mention]:
        """Oldest first (by created_at, then number). The set is fixed when called;
        decoding happens lazily as the caller iterates, outside the lock."""
        with self._lock:
            start = bisect_left(self._by_time, (micros(since),)) if since else 0
            held = [self._mentions.held(number) for _, number in self._by_time[start:]]
        return map(MENTIONS.mention, held)

    def count_mentions(self) -> int:
        with self._lock:
            return len(self._by_key)

    def _held_of(self, entries: Iterable[_Entry]) -> list[Any]:
        """The held documents of index entries; call under the lock, decode outside it."""
        return [self._mentions.held(number) for _, number in entries]

    def open_mentions(self, department: str | None = None, *, state: State | None = None,
                      limit: int | None = None) -> list[Mention]:
        states = _OPEN_STATES if state is None else (state,)
        with self._lock:
            if department is None:
                queues = [entries for (_, st), entries in self._open.items() if st in states]
            else:
                queues = [self._open.get((department, st), []) for st in states]
            queues = [entries for entries in queues if entries]
            merged = queues[0] if len(queues) == 1 else heapq.merge(*queues)
            held = self._held_of(islice(merged, limit))
        return list(map(MENTIONS.mention, held))

    def count_open_by_department(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        oldest: dict[str, _Entry] = {}
        with self._lock:
            for (department, _), entries in self._open.items():
                counts[department] = counts.get(department, 0) + len(entries)
                head = oldest.get(department)
                oldest[department] = entries[0] if head is None else min(head, entries[0])
        return {department: counts[department]
                for department in sorted(counts, key=oldest.__getitem__)}

    def claimed_by(self, user: str) -> list[Mention]:
        with self._lock:
            held = self._held_of(self._claimed.get(user, []))
        return list(map(MENTIONS.mention, held))

    def arrived_since(self, since: datetime) -> list[Mention]:
        with self._lock:
            start = bisect_left(self._by_arrival, micros(since) << _NUMBER_BITS)
            held = [self._mentions.held(key & _NUMBER_MASK)
                    for key in self._by_arrival[start:]]
        found = list(map(MENTIONS.mention, held))
        found.sort(key=lambda m: (m.created_at, m.number))
        return found

    def unposted_mentions(self) -> list[Mention]:
        # From the indexes alone: start-up must not decode every mention to find the few
        # (usually none) that were stored but never queued.
        with self._lock:
            posted = {n for numbers in self._by_message.values() for n in
                      (numbers if isinstance(numbers, list) else (numbers,))}
            queued = self._outbox_ids
            held = [self._mentions.held(number) for key, number in self._by_key.items()
                    if number not in posted and f"mention:{key}" not in queued]
        found = [m for m in map(MENTIONS.mention, held) if not m.slack_ts]
        found.sort(key=lambda m: (m.created_at, m.number))
        return found

    def find_by_slack_message(self, channel: str, ts: str) -> Mention | None:
        if not (channel and ts):
            return None
        best: tuple[_Entry, Any] | None = None
        with self._lock:
            for number in _index_all(self._by_message, ts):  # nearly always one
                held = self._mentions.held(number)
                fields = MENTIONS.index_fields(held)
                if fields.get("slack_channel") != channel:
                    continue
                entry = (micros(fields["created_at"]), number)
                if best is None or entry < best[0]:
                    best = (entry, held)
        return None if best is None else MENTIONS.mention(best[1])

    # --- small named values: cursors and meta --------------------------------------------
    def _get_value(self, table: JournalTable, ids: dict[str, int], name: str) -> Any:
        with self._lock:
            doc_id = ids.get(name)
            text = table.text(doc_id) if doc_id is not None else None
        return None if text is None else decode(text)["value"]

    def _set_value(self, table: JournalTable, ids: dict[str, int], name: str,
                   value: Any) -> int:
        with self._lock:
            self._check_open(f"set_{table.name.removesuffix('s')}")
            doc_id = ids.get(name)
            if doc_id is None:
                doc_id = table.next_id()
            lsn = table.put(doc_id, {"name": name, "value": value})
            ids[name] = doc_id
            return lsn

    def get_cursor(self, source: str) -> dict[str, Any] | None:
        return self._get_value(self._cursors, self._cursor_ids, source)

    def set_cursor(self, source: str, cursor: dict[str, Any]) -> None:
        self._set_value(self._cursors, self._cursor_ids, source, cursor)

    def get_meta(self, key: str) -> Any:
        return self._get_value(self._meta, self._meta_ids, key)

    def set_meta(self, key: str, value: Any) -> None:
        self._set_value(self._meta, self._meta_ids, key, value)

    def update_meta(self, key: str, change: Callable[[Any], Any]) -> Any:
        with self._lock:
            self._check_open("update_meta")
            self._set_value(self._meta, self._meta_ids, key, change(self.get_meta(key)))
            return self.get_meta(key)

    # --- outbox ------------------------------------------------------------------------
    def enqueue(self, item: OutboxItem) -> OutboxItem:
        doc = outbox_to_doc(item)
        with self._lock:
            self._check_open("enqueue")
            doc_id = self._outbox_ids.get(item.id)
            if doc_id is not None:
                return outbox_from_doc(decode(self._outbox.text(doc_id)))
            doc_id = self._outbox.next_id()
            lsn = self._outbox.put(doc_id, doc)
            self._index_outbox(doc_id, doc)
            text = self._outbox.text(doc_id)
        self._settle(lsn)
        return outbox_from_doc(decode(text))

    def get_outbox(self, item_id: str) -> OutboxItem | None:
        with self._lock:
            doc_id = self._outbox_ids.get(item_id)
            text = self._outbox.text(doc_id) if doc_id is not None else None
        return None if text is None else outbox_from_doc(decode(text))

    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        """Pending and sending items whose not_before has passed, oldest first
        (created_at, then enqueue order; items without created_at first)."""
        limit = micros(now or utcnow())
        with self._lock:
            due = sorted(entry[:2] for entry in self._active.values()
                         if entry[2] is None or entry[2] <= limit)
            texts = [self._outbox.text(doc_id) for _, doc_id in due]
        return [outbox_from_doc(decode(text)) for text in texts if text is not None]

    def update_outbox(
        self, item_id: str, change: Callable[[OutboxItem], OutboxItem | None]
    ) -> OutboxItem | None:
        with self._lock:
            self._check_open("update_outbox")
            doc_id = self._outbox_ids.get(item_id)
            if doc_id is None:
                return None
            new = change(outbox_from_doc(decode(self._outbox.text(doc_id))))
            if new is None:
                return None
            if new.id != item_id:
                raise ValueError(f"update_outbox cannot change an item's id ({item_id})")
            doc = outbox_to_doc(new)
            lsn = self._outbox.put(doc_id, doc)
            self._index_outbox(doc_id, doc)
            text = self._outbox.text(doc_id)
        self._settle(lsn)
        return outbox_from_doc(decode(text))

    # --- events ------------------------------------------------------------------------
    def add_event(self, event: Event) -> None:
        doc = event_to_doc(event)
        with self._lock:
            self._check_open("add_event")
            doc_id = self._events.next_id()
            self._events.put(doc_id, doc)
            self._index_event(doc_id, doc)

    def events(
        self, mention_key: str | None = None, since: datetime | None = None
    ) -> list[Event]:
        with self._lock:
            if mention_key is not None:
                texts = [self._events.text(i) for i in self._events_of.get(mention_key, ())]
            else:
                start = bisect_left(self._events_time, (micros(since),)) if since else 0
                texts = [self._events.text(i) for _, i in self._events_time[start:]]
        found = [event_from_doc(decode(text)) for text in texts if text is not None]
        if mention_key is not None:
            if since is not None:
                found = [e for e in found if e.at >= since]
            found.sort(key=lambda e: e.at)  # stable: equal times keep insertion order
        return found

    # --- retention -----------------------------------------------------------------------
    def delete_mentions(self, keys: list[str]) -> int:
        wanted = set(keys)
        # The outbox rows to delete are found by decoding every row's text: outside the
        # lock (texts are immutable), then re-checked under it (unchanged text).
        with self._lock:
            rows = [(item_id, doc_id, self._outbox.text(doc_id))
                    for item_id, doc_id in self._outbox_ids.items()]
        finished = {}
        for item_id, doc_id, text in rows:
            if text is None:
                continue
            doc = decode(text)
            if doc.get("mention_key") in wanted and doc.get("status") not in _ACTIVE:
                finished[item_id] = (doc_id, text)
        with self._lock:
            self._check_open("delete_mentions")
            numbers = {key: self._by_key[key] for key in wanted if key in self._by_key}
            events = [i for key in numbers for i in self._events_of.get(key, ())]
            outbox = {item_id: doc_id for item_id, (doc_id, text) in finished.items()
                      if self._outbox.text(doc_id) == text}
            # Events and outbox rows first: a crash in between leaves the mentions, and
            # the next run deletes them; never events whose mention is gone.
            if events:  # one pass, not a list deletion per event
                gone = set(events)
                self._events_time = [e for e in self._events_time if e[1] not in gone]
            self._storage.apply("events", {str(i): None for i in events})
            self._storage.apply("outbox", {str(i): None for i in outbox.values()})
            for item_id in outbox:
                self._outbox_ids.pop(item_id, None)
            for key, number in numbers.items():
                self._unindex_mention(number, MENTIONS.doc(self._mentions.held(number)))
                del self._by_key[key]
                self._events_of.pop(key, None)
            lsn = self._storage.apply("mentions", {str(n): None for n in numbers.values()})
        self._settle(lsn)
        return len(numbers)

    # --- lifecycle -----------------------------------------------------------------------
    def flush(self) -> None:
        """Block until every write so far is on stable storage."""
        self._storage.flush()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _shutdown(self._storage, self._lock_fd)


@dataclass
class _Opened:
    core: _Core
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

    def __init__(self, core: _Core, path: str) -> None:
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
            storage = open_storage(path, read_only=True, codecs={"mentions": MENTIONS})
            return cls(_Core(storage, None, read_only=True), key)
        path.mkdir(parents=True, exist_ok=True)
        with _registry_lock:
            _release_dropped_locked()
            opened = _registry.get(key)
            if opened is None:
                fd = lockfile.acquire(path / "earshot.lock")
                try:
                    storage = open_storage(path, sync_interval=sync_interval,
                                           compact_min_bytes=compact_min_bytes,
                                           codecs={"mentions": MENTIONS},
                                           still_ours=functools.partial(lockfile.still_held,
                                                                        fd, path))
                    core = _Core(storage, fd, durable_updates=durable_updates)
                except BaseException:
                    lockfile.release(fd)
                    raise
                opened = _registry[key] = _Opened(core, 0)
            opened.handles += 1
            return cls(opened.core, key)

    def _live(self) -> _Core:
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
        return self._live()._storage

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
                      limit: int | None = None) -> list[Mention]:
        return self._live().open_mentions(department, state=state, limit=limit)

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

    def delete_mentions(self, keys: list[str]) -> int:
        return self._live().delete_mentions(keys)

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

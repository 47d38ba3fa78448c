"""The open TinyDB store of one data directory (StoreCore): the Store semantics over
the journal storage and the indexes (tinydb_indexes.py, tinydb_queries.py).

One RLock serialises all calls: each method is a few microseconds of in-memory work
plus one `write(2)`, so a single lock costs nothing measurable and makes every
read-modify-write trivially atomic. Decoding happens outside the lock.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from bot.mention import Event, Mention, utcnow
from bot.store import lockfile
from bot.store.base import OutboxItem, StoreReadOnlyError
from bot.store.codec import (
    MENTIONS,
    event_from_doc,
    event_to_doc,
    mention_to_doc,
    micros,
    outbox_from_doc,
    outbox_to_doc,
)
from bot.store.doc_text import decode
from bot.store.journal_storage import JournalStorage
from bot.store.journal_table import JournalTable
from bot.store.snapshot_file import gc_paused
from bot.store.tinydb_indexes import _ACTIVE, _index_first
from bot.store.tinydb_queries import SlackQueries


def _shutdown(storage: JournalStorage, lock_fd: int | None) -> None:
    try:
        storage.close()
    finally:
        if lock_fd is not None:
            lockfile.release(lock_fd)


class StoreCore(SlackQueries):
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
        self._outbox = JournalTable(storage, "outbox", on_demand=True)
        self._events = JournalTable(storage, "events")
        self._cursors = JournalTable(storage, "cursors")
        self._meta = JournalTable(storage, "meta")
        self._init_indexes()
        with gc_paused():
            try:
                self._build_indexes()
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise self._malformed(exc) from exc

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

    @staticmethod
    def _to_mention(held: Any) -> Mention | None:
        return None if held is None else MENTIONS.mention(held)

    def get_mention(self, key: str) -> Mention | None:
        with self._lock:
            held = self._held_mention(self._by_key.get(key))
        return self._to_mention(held)

    def get_by_number(self, number: int) -> Mention | None:
        with self._lock:
            held = self._held_mention(number) if isinstance(number, int) else None
        return self._to_mention(held)

    def find_by_fingerprint(self, fingerprint: str) -> Mention | None:
        """The first stored mention with this fingerprint."""
        with self._lock:
            self._need_dedupe()
            held = self._held_mention(_index_first(self._by_fingerprint, fingerprint))
        return self._to_mention(held)

    def find_by_link(self, url: str) -> Mention | None:
        """The first stored mention whose url or one of whose links is `url`."""
        with self._lock:
            self._need_dedupe()
            held = self._held_mention(_index_first(self._by_url, url))
        return self._to_mention(held)

    def update_mention(
        self, key: str, change: Callable[[Mention], Mention | None]
    ) -> Mention | None:
        with self._lock:
            self._check_open("update_mention")
            # Its own block is enough: a loaded mention is in every index (a lazily
            # opened store loads the rest when a query needs them all).
            number = self._by_key.get(key)
            held = self._held_mention(number)
            if number is None or held is None:
                return None
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
            self._load_mentions(None if since is None
                                else lambda block: block.reaches(0, micros(since)))
            start = bisect_left(self._by_time, (micros(since),)) if since else 0
            held = [self._mentions.held(number) for _, number in self._by_time[start:]]
        return map(MENTIONS.mention, held)

    def count_mentions(self) -> int:
        with self._lock:
            return len(self._by_key)

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

    def delete_meta(self, key: str, when: Callable[[Any], bool] = lambda _: True) -> bool:
        with self._lock:
            self._check_open("delete_meta")
            doc_id = self._meta_ids.get(key)
            if doc_id is None or not when(self.get_meta(key)):
                return False
            lsn = self._meta.delete(doc_id)
            del self._meta_ids[key]
        self._settle(lsn)
        return True

    # --- outbox ------------------------------------------------------------------------
    def enqueue(self, item: OutboxItem) -> OutboxItem:
        doc = outbox_to_doc(item)
        with self._lock:
            self._check_open("enqueue")
            self._need_outbox()
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
            self._need_outbox()
            doc_id = self._outbox_ids.get(item_id)
            text = self._outbox.text(doc_id) if doc_id is not None else None
        return None if text is None else outbox_from_doc(decode(text))

    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        """Pending and sending items whose not_before has passed, oldest first
        (created_at, then enqueue order; items without created_at first)."""
        limit = micros(now or utcnow())
        with self._lock:
            self._need_outbox()
            due = sorted(entry[:2] for entry in self._active.values()
                         if entry[2] is None or entry[2] <= limit)
            texts = [self._outbox.text(doc_id) for _, doc_id in due]
        return [outbox_from_doc(decode(text)) for text in texts if text is not None]

    def update_outbox(
        self, item_id: str, change: Callable[[OutboxItem], OutboxItem | None]
    ) -> OutboxItem | None:
        with self._lock:
            self._check_open("update_outbox")
            self._need_outbox()
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
            if self._events_indexed:  # else built from the stored events when first needed
                self._index_event(doc_id, doc)

    def events(
        self, mention_key: str | None = None, since: datetime | None = None
    ) -> list[Event]:
        with self._lock:
            self._need_events(None if since is None or mention_key is not None
                              else micros(since))
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
            self._need_outbox()
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
            self._need_lookups()
            self._need_events()
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



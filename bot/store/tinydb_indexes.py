"""The TinyDB store's in-memory indexes: what they hold, how they are built when the
store opens and kept true on every write (StoreIndexes, a mixin of StoreCore).

Every lookup is O(1) or O(log n) instead of TinyDB's linear scans. Callers hold the
core's lock.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bot.mention import State
from bot.store.codec import MENTIONS, mention_urls, micros
from bot.store.journal_storage import JournalStorage
from bot.store.journal_table import JournalTable
from bot.store.snapshot_file import StoreCorruptError, gc_paused
from bot.store.toc import Block

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
    """Add `number` under `name`, once (a mention indexed from the saved terms is
    indexed again when its block loads)."""
    current = index.get(name)
    if current is None:
        index[name] = number
    elif isinstance(current, int):
        if current != number:
            index[name] = sorted((current, number))
    else:
        i = bisect_left(current, number)
        if i == len(current) or current[i] != number:
            current.insert(i, number)


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


def _has_ts(doc: dict[str, Any]) -> bool:
    ts = doc.get("slack_ts")
    return bool(ts) and isinstance(ts, str)


def _state_of(doc: dict[str, Any]) -> State | None:
    try:
        return State(doc.get("state") or State.NEW)
    except ValueError:  # a document written by another version: in no state index
        return None



class StoreIndexes:
    """The indexes of one open store and their upkeep. The core provides the storage,
    its tables and the lock."""

    read_only: bool
    _closed: bool
    _storage: JournalStorage
    _lock: threading.RLock
    _mentions: JournalTable
    _outbox: JournalTable
    _events: JournalTable
    _cursors: JournalTable
    _meta: JournalTable

    def _init_indexes(self) -> None:
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
        # Mentions with no Slack message yet: nearly always only those in the outbox
        # queue right now, so finding the ones never queued costs what it finds.
        self._unsent: set[int] = set()
        self._outbox_ids: dict[str, int] = {}
        self._active: dict[str, tuple[int, int, int | None]] = {}  # id -> (created, doc, nb)
        # Built on first use (_need_events, and for a read-only store _need_lookups and
        # _need_outbox): see there.
        self._lookups_indexed = not self.read_only
        self._outbox_indexed = not self.read_only
        self._dedupe_whole = False  # fingerprint and url indexes cover every mention
        self._events_indexed = False
        self._events_of: dict[str, list[int]] = {}
        self._events_time: list[tuple[int, int]] = []
        self._cursor_ids: dict[str, int] = {}
        self._meta_ids: dict[str, int] = {}

    def _docs(self, table: JournalTable) -> Iterator[tuple[int, Any]]:
        # One document decoded at a time: the whole store decoded at once would take
        # about 4x the memory of the texts.
        codec = self._storage.codec(table.name)
        for doc_id, held in self._storage.held(table.name).items():
            yield int(doc_id), codec.doc(held)

    def _build_indexes(self) -> None:
        """The indexes every start needs; the events indexes wait for their first use,
        and in a read-only store (never written, so nothing can change before they are
        built) also the lookups by fingerprint, url, state and message, and the outbox's:
        a one-day report reads none of them."""
        docs = self._docs
        # A lazily loaded store (read-only, whose snapshot has a table of contents):
        # every mention's key from the saved index, the documents as queries need them.
        self._by_key.update(self._storage.saved_key_index(self._mentions.name))
        self._unsent.update(self._storage.saved_flagged(self._mentions.name))
        self._index_mentions(self._storage.held(self._mentions.name).items())
        if self._outbox_indexed:
            self._index_outbox_table()
        for doc_id, doc in docs(self._cursors):
            self._cursor_ids[doc["name"]] = doc_id
        for doc_id, doc in docs(self._meta):
            self._meta_ids[doc["name"]] = doc_id

    def _index_mentions(self, held: Iterable[tuple[str, Any]]) -> None:
        """Index a batch of held mentions (at open, or a block loaded): appended, then
        each sorted list sorted once."""
        with gc_paused():
            try:
                for doc_id, doc in held:
                    self._index_mention(int(doc_id), MENTIONS.index_fields(doc),
                                        ordered=False)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise self._malformed(exc) from exc
        self._by_time.sort()
        self._by_arrival.sort()
        for group in (*self._open.values(), *self._claimed.values()):
            group.sort()

    def _index_mention(self, number: int, doc: dict[str, Any], ordered: bool = True) -> None:
        self._by_key[doc["key"]] = number
        entry = (micros(doc["created_at"]), number)
        add = insort if ordered else list.append  # unordered: sorted once when all are in
        add(self._by_time, entry)
        add(self._by_arrival, self._arrival_key(doc, number))
        if not _has_ts(doc):
            self._unsent.add(number)
        if self._lookups_indexed:
            self._index_lookups(number, doc, entry, add)

    def _index_lookups(self, number: int, doc: dict[str, Any], entry: _Entry,
                       add: Callable[[list[Any], Any], None]) -> None:
        if doc.get("fingerprint"):
            _index_add(self._by_fingerprint, doc["fingerprint"], number)
        for url in mention_urls(doc):
            _index_add(self._by_url, url, number)
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
        self._unsent.discard(number)
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

    # --- a read-only store loads the snapshot's blocks as queries need them (toc.py) --
    def _load_mentions(self, want: Callable[[Block], bool] | None = None) -> None:
        """Load and index the pending mention blocks `want` picks (default: all);
        call under the lock."""
        if self._storage.pending(self._mentions.name):
            if added := self._storage.load_blocks(self._mentions.name, want):
                self._index_mentions(added)

    def _held_mention(self, number: int | None) -> Any:
        """The held mention `number`, loading its block if need be; under the lock."""
        if number is None:
            return None
        held = self._mentions.held(number)
        if held is None and self._storage.pending(self._mentions.name):
            self._load_mentions(lambda block: block.holds(number))
            held = self._mentions.held(number)
        return held

    def warm(self) -> None:
        """Load the mention blocks still on disk one at a time, each under the lock
        for a few milliseconds, so that the first query needing every mention (a claim,
        the de-duplication, the open queues) does not hold the lock for all of them."""
        while True:
            with self._lock:
                pending = self._storage.pending(self._mentions.name)
                if self._closed or not pending:
                    return
                first = pending[0]
                self._load_mentions(lambda block, first=first: block is first)

    def load_everything(self) -> None:
        """Load every pending block (for a tool that reads the tables whole)."""
        with self._lock:
            self._need_lookups()
            self._need_events()
            self._need_outbox()
            self._storage.load_blocks(self._outbox.name)

    def _need_dedupe(self) -> None:
        """Make the fingerprint and url indexes whole; call under the lock. From the
        snapshot's saved terms when it has them (a `fetch` de-duplicates without reading
        every mention), else by loading every mention."""
        if self._dedupe_whole:
            return
        terms = (self._storage.saved_terms(self._mentions.name)
                 if self._lookups_indexed else None)
        if terms is None:
            self._need_lookups()
            self._dedupe_whole = True
            return
        for value, number in terms.get("fingerprint", ()):
            _index_add(self._by_fingerprint, value, number)
        for value, number in terms.get("url", ()):
            _index_add(self._by_url, value, number)
        self._dedupe_whole = True

    def _need_lookups(self) -> None:
        """Build a read-only store's mention lookups on first use; call under the lock."""
        self._load_mentions()
        if self._lookups_indexed:
            return
        self._by_fingerprint, self._by_url, self._by_message = {}, {}, {}
        self._open, self._claimed = {}, {}
        with gc_paused():
            try:
                for entry in self._by_time:  # oldest first: the groups come out sorted
                    held = self._mentions.held(entry[1])
                    self._index_lookups(entry[1], MENTIONS.index_fields(held), entry,
                                        list.append)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise self._malformed(exc) from exc
        self._lookups_indexed = True

    def _need_outbox(self) -> None:
        """Build a read-only store's outbox indexes on first use; call under the lock."""
        if self._outbox_indexed:
            return
        self._outbox_ids, self._active = {}, {}
        with gc_paused():
            try:
                self._index_outbox_table()
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise self._malformed(exc) from exc
        self._outbox_indexed = True

    def _index_outbox_table(self) -> None:
        """The outbox's indexes. From a snapshot with a table of contents, every row's
        id comes from its saved key index and only the rows still to send are read
        (their blocks loaded); the rows the journal holds are read either way."""
        self._outbox_ids.update(self._storage.saved_key_index(self._outbox.name))
        for doc_id in self._storage.saved_flagged(self._outbox.name):
            doc = self._outbox.doc(doc_id)
            if doc is not None:
                self._index_outbox(doc_id, doc)
        for doc_id, doc in self._docs(self._outbox):
            self._index_outbox(doc_id, doc)

    def _need_events(self, since: int | None = None) -> None:
        """Build the events indexes if this is their first use; call under the lock.
        `since` (µs): only the events from then on are needed (the other blocks of a
        lazily loaded store may stay on disk).

        Not at open: decoding and indexing every event was about a fifth of opening a
        store (events outnumber mentions), and `serve`, `fetch` and most commands start
        without reading one. A document damaged by hand is reported as at open."""
        if self._storage.pending(self._events.name):
            added = self._storage.load_blocks(
                self._events.name, None if since is None else lambda b: b.reaches(0, since))
            if self._events_indexed and added:
                self._index_events(added)
        if self._events_indexed:
            return
        self._events_of, self._events_time = {}, []
        self._index_events(self._storage.held(self._events.name).items())
        self._events_indexed = True

    def _index_events(self, held: Iterable[tuple[str, Any]]) -> None:
        """Index a batch of held events (at first use, or a block loaded): appended,
        then the lists they went into sorted once."""
        codec = self._storage.codec(self._events.name)
        touched = set()
        with gc_paused():
            try:
                for doc_id, text in held:
                    doc = codec.doc(text)
                    self._index_event(int(doc_id), doc, ordered=False)
                    touched.add(doc["mention_key"])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise self._malformed(exc) from exc
        self._events_time.sort()
        for key in touched:
            self._events_of[key].sort()

    def _malformed(self, exc: Exception) -> StoreCorruptError:
        # A document lacking a field every document has ("key", "name"): edited or
        # damaged by hand. One line, naming the files, instead of a traceback.
        return StoreCorruptError(
            f"the store in {self._storage.dir} holds a malformed document "
            f"({type(exc).__name__}: {exc}) in earshot.json or earshot.journal; "
            "restore the store from a backup")

    def _index_event(self, doc_id: int, doc: dict[str, Any], ordered: bool = True) -> None:
        self._events_of.setdefault(doc["mention_key"], []).append(doc_id)
        entry = (micros(doc["at"]), doc_id)
        if ordered:
            insort(self._events_time, entry)
        else:
            self._events_time.append(entry)

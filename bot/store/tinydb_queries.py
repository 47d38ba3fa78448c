"""The Slack side's queries, answered from the indexes (SlackQueries, a mixin of
StoreCore): open mentions per department, who claimed what, what arrived since, what
was stored but never queued, and which mention a Slack message shows."""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable
from datetime import datetime
from itertools import islice
from typing import Any

from bot.mention import Mention, State
from bot.store.codec import MENTIONS, micros
from bot.store.doc_text import encode
from bot.store.tinydb_indexes import (
    _NUMBER_BITS,
    _NUMBER_MASK,
    _OPEN_STATES,
    StoreIndexes,
    _Entry,
    _index_all,
)


class SlackQueries(StoreIndexes):
    def _held_of(self, entries: Iterable[_Entry]) -> list[Any]:
        """The held documents of index entries; call under the lock, decode outside it."""
        return [self._mentions.held(number) for _, number in entries]

    def open_mentions(self, department: str | None = None, *, state: State | None = None,
                      limit: int | None = None,
                      with_extra: str | None = None) -> list[Mention]:
        states = _OPEN_STATES if state is None else (state,)
        with self._lock:
            self._need_lookups()
            if department is None:
                queues = [entries for (_, st), entries in self._open.items() if st in states]
            else:
                queues = [self._open.get((department, st), []) for st in states]
            queues = [entries for entries in queues if entries]
            merged = queues[0] if len(queues) == 1 else heapq.merge(*queues)
            if with_extra is None:
                held = self._held_of(islice(merged, limit))
            else:  # a text search first: decoding every open mention cost seconds
                needle = f"{encode(with_extra)}:"
                held = [h for h in self._held_of(merged)
                        if needle in (MENTIONS.extra_text(h) or "")]
        found = map(MENTIONS.mention, held)
        if with_extra is not None:
            found = islice((m for m in found if with_extra in m.extra), limit)
        return list(found)

    def count_open_by_department(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        oldest: dict[str, _Entry] = {}
        with self._lock:
            self._need_lookups()
            for (department, _), entries in self._open.items():
                counts[department] = counts.get(department, 0) + len(entries)
                head = oldest.get(department)
                oldest[department] = entries[0] if head is None else min(head, entries[0])
        return {department: counts[department]
                for department in sorted(counts, key=oldest.__getitem__)}

    def claimed_by(self, user: str) -> list[Mention]:
        with self._lock:
            self._need_lookups()
            held = self._held_of(self._claimed.get(user, []))
        return list(map(MENTIONS.mention, held))

    def arrived_since(self, since: datetime) -> list[Mention]:
        with self._lock:
            self._load_mentions(lambda block: block.reaches(1, micros(since)))
            start = bisect_left(self._by_arrival, micros(since) << _NUMBER_BITS)
            held = [self._mentions.held(key & _NUMBER_MASK)
                    for key in self._by_arrival[start:]]
        found = list(map(MENTIONS.mention, held))
        found.sort(key=lambda m: (m.created_at, m.number))
        return found

    def unposted_mentions(self) -> list[Mention]:
        # From the index of mentions without a Slack message: start-up must not visit
        # every mention to find the few (usually none) that were stored but never queued.
        with self._lock:
            self._need_outbox()
            queued = self._outbox_ids
            # A copy: loading a mention's block (a lazy open) indexes it into _unsent.
            held = [h for h in map(self._held_mention, list(self._unsent))
                    if h is not None
                    and f"mention:{MENTIONS.index_fields(h)['key']}" not in queued]
        found = list(map(MENTIONS.mention, held))
        found.sort(key=lambda m: (m.created_at, m.number))
        return found

    def find_by_slack_message(self, channel: str, ts: str) -> Mention | None:
        if not (channel and ts):
            return None
        best: tuple[_Entry, Any] | None = None
        with self._lock:
            self._need_lookups()
            for number in _index_all(self._by_message, ts):  # nearly always one
                held = self._mentions.held(number)
                fields = MENTIONS.index_fields(held)
                if fields.get("slack_channel") != channel:
                    continue
                entry = (micros(fields["created_at"]), number)
                if best is None or entry < best[0]:
                    best = (entry, held)
        return None if best is None else MENTIONS.mention(best[1])


"""A small in-memory Store for the summary tests (same interface as the TinyDB one)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from bot.mention import Event, Mention
from bot.store.base import OutboxItem, Store


class MemoryStore(Store):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.mentions: dict[str, Mention] = {}
        self._events: list[Event] = []
        self.outbox: dict[str, OutboxItem] = {}
        self.meta: dict[str, Any] = {}
        self.cursors: dict[str, dict[str, Any]] = {}

    def add_mention(self, mention: Mention) -> Mention:
        with self._lock:
            if mention.key in self.mentions:
                raise KeyError(mention.key)
            mention = copy.deepcopy(mention)
            if mention.number is None:
                mention.number = len(self.mentions) + 1
            self.mentions[mention.key] = mention
            return copy.deepcopy(mention)

    def get_mention(self, key: str) -> Mention | None:
        with self._lock:
            m = self.mentions.get(key)
            return copy.deepcopy(m) if m else None

    def get_by_number(self, number: int) -> Mention | None:
        return next((copy.deepcopy(m) for m in self.mentions.values()
                     if m.number == number), None)

    def find_by_fingerprint(self, fingerprint: str) -> Mention | None:
        return next((copy.deepcopy(m) for m in self.mentions.values()
                     if fingerprint and m.fingerprint == fingerprint), None)

    def find_by_link(self, url: str) -> Mention | None:
        return next((copy.deepcopy(m) for m in self.mentions.values()
                     if m.url == url or any(link.url == url for link in m.links)), None)

    def update_mention(self, key: str, change: Callable[[Mention], Mention | None]
                       ) -> Mention | None:
        with self._lock:
            if key not in self.mentions:
                return None
            new = change(copy.deepcopy(self.mentions[key]))
            if new is None:
                return None
            self.mentions[key] = copy.deepcopy(new)
            return new

    def iter_mentions(self, since: datetime | None = None) -> Iterator[Mention]:
        with self._lock:
            items = sorted(self.mentions.values(), key=lambda m: m.created_at)
        for m in items:
            if since is None or m.created_at >= since:
                yield m

    def count_mentions(self) -> int:
        return len(self.mentions)

    def get_cursor(self, source: str) -> dict[str, Any] | None:
        return self.cursors.get(source)

    def set_cursor(self, source: str, cursor: dict[str, Any]) -> None:
        self.cursors[source] = cursor

    def enqueue(self, item: OutboxItem) -> OutboxItem:
        with self._lock:
            return copy.deepcopy(self.outbox.setdefault(item.id, copy.deepcopy(item)))

    def get_outbox(self, item_id: str) -> OutboxItem | None:
        item = self.outbox.get(item_id)
        return copy.deepcopy(item) if item else None

    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        with self._lock:
            return [copy.deepcopy(i) for i in self.outbox.values()
                    if i.status in ("pending", "sending")
                    and (now is None or i.not_before is None or i.not_before <= now)]

    def update_outbox(self, item_id: str, change: Callable[[OutboxItem], OutboxItem | None]
                      ) -> OutboxItem | None:
        with self._lock:
            if item_id not in self.outbox:
                return None
            new = change(copy.deepcopy(self.outbox[item_id]))
            if new is None:
                return None
            self.outbox[item_id] = copy.deepcopy(new)
            return new

    def add_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(copy.deepcopy(event))
            self._events.sort(key=lambda e: e.at)

    def events(self, mention_key: str | None = None, since: datetime | None = None
               ) -> list[Event]:
        with self._lock:
            return [copy.deepcopy(e) for e in self._events
                    if (mention_key is None or e.mention_key == mention_key)
                    and (since is None or e.at >= since)]

    def get_meta(self, key: str) -> Any:
        return copy.deepcopy(self.meta.get(key))

    def set_meta(self, key: str, value: Any) -> None:
        self.meta[key] = copy.deepcopy(value)

    def update_meta(self, key: str, change: Callable[[Any], Any]) -> Any:
        with self._lock:
            self.meta[key] = change(copy.deepcopy(self.meta.get(key)))
            return copy.deepcopy(self.meta[key])

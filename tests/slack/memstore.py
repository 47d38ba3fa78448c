"""A small Store for the Slack tests: in memory, optionally saved to one JSON file.

With `path`, every write rewrites the file atomically (temp file + os.replace), so a
process killed with SIGKILL leaves the last complete state: good enough to test the
outbox's restart behaviour without depending on the TinyDB backend's progress.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.mention import Event, Mention, parse_time
from bot.store.base import OutboxItem, Store


def _item_to_dict(item: OutboxItem) -> dict[str, Any]:
    out = dataclasses.asdict(item)
    for key in ("not_before", "created_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    return out


def _item_from_dict(data: dict[str, Any]) -> OutboxItem:
    data = dict(data)
    for key in ("not_before", "created_at"):
        if data.get(key):
            data[key] = parse_time(data[key])
    return OutboxItem(**data)


class MemoryStore(Store):
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.RLock()
        self.mentions: dict[str, Mention] = {}
        self.outbox: dict[str, OutboxItem] = {}
        self.event_list: list[Event] = []
        self.meta: dict[str, Any] = {}
        self.cursors: dict[str, dict[str, Any]] = {}
        if self.path and self.path.exists():
            raw = json.loads(self.path.read_text())
            self.mentions = {k: Mention.from_dict(v) for k, v in raw["mentions"].items()}
            self.outbox = {k: _item_from_dict(v) for k, v in raw["outbox"].items()}
            self.event_list = [Event.from_dict(e) for e in raw["events"]]
            self.meta, self.cursors = raw["meta"], raw["cursors"]

    def _save(self) -> None:
        if not self.path:
            return
        raw = {
            "mentions": {k: m.to_dict() for k, m in self.mentions.items()},
            "outbox": {k: _item_to_dict(i) for k, i in self.outbox.items()},
            "events": [e.to_dict() for e in self.event_list],
            "meta": self.meta, "cursors": self.cursors,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(raw))
        os.replace(tmp, self.path)

    # mentions
    def add_mention(self, mention: Mention) -> Mention:
        with self.lock:
            if mention.key in self.mentions:
                raise KeyError(mention.key)
            mention = copy.deepcopy(mention)
            mention.number = len(self.mentions) + 1
            self.mentions[mention.key] = mention
            self._save()
            return copy.deepcopy(mention)

    def get_mention(self, key: str) -> Mention | None:
        with self.lock:
            m = self.mentions.get(key)
            return copy.deepcopy(m) if m else None

    def get_by_number(self, number: int) -> Mention | None:
        with self.lock:
            return next((copy.deepcopy(m) for m in self.mentions.values()
                         if m.number == number), None)

    def find_by_fingerprint(self, fingerprint: str) -> Mention | None:
        with self.lock:
            return next((copy.deepcopy(m) for m in self.mentions.values()
                         if m.fingerprint == fingerprint), None)

    def find_by_link(self, url: str) -> Mention | None:
        with self.lock:
            return next((copy.deepcopy(m) for m in self.mentions.values()
                         if m.url == url or any(x.url == url for x in m.links)), None)

    def update_mention(self, key: str, change: Callable[[Mention], Mention | None]
                       ) -> Mention | None:
        with self.lock:
            if key not in self.mentions:
                return None
            new = change(copy.deepcopy(self.mentions[key]))
            if new is None:
                return None
            self.mentions[key] = copy.deepcopy(new)
            self._save()
            return copy.deepcopy(new)

    def iter_mentions(self, since: datetime | None = None) -> Iterator[Mention]:
        with self.lock:
            rows = sorted(self.mentions.values(), key=lambda m: m.created_at)
            return iter([copy.deepcopy(m) for m in rows if since is None or m.created_at >= since])

    def count_mentions(self) -> int:
        return len(self.mentions)

    # cursors
    def get_cursor(self, source: str) -> dict[str, Any] | None:
        return self.cursors.get(source)

    def set_cursor(self, source: str, cursor: dict[str, Any]) -> None:
        with self.lock:
            self.cursors[source] = cursor
            self._save()

    # outbox
    def enqueue(self, item: OutboxItem) -> OutboxItem:
        with self.lock:
            if item.id not in self.outbox:
                self.outbox[item.id] = copy.deepcopy(item)
                self._save()
            return copy.deepcopy(self.outbox[item.id])

    def get_outbox(self, item_id: str) -> OutboxItem | None:
        with self.lock:
            item = self.outbox.get(item_id)
            return copy.deepcopy(item) if item else None

    def pending_outbox(self, now: datetime | None = None) -> list[OutboxItem]:
        now = now or datetime.now(UTC)
        with self.lock:
            rows = [copy.deepcopy(i) for i in self.outbox.values()
                    if i.status in ("pending", "sending")
                    and (i.not_before is None or i.not_before <= now)]
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(rows, key=lambda i: i.created_at or epoch)

    def update_outbox(self, item_id: str, change: Callable[[OutboxItem], OutboxItem | None]
                      ) -> OutboxItem | None:
        with self.lock:
            if item_id not in self.outbox:
                return None
            new = change(copy.deepcopy(self.outbox[item_id]))
            if new is None:
                return None
            self.outbox[item_id] = copy.deepcopy(new)
            self._save()
            return copy.deepcopy(new)

    # events
    def add_event(self, event: Event) -> None:
        with self.lock:
            self.event_list.append(copy.deepcopy(event))
            self._save()

    def events(self, mention_key: str | None = None, since: datetime | None = None
               ) -> list[Event]:
        with self.lock:
            return [copy.deepcopy(e) for e in self.event_list
                    if (mention_key is None or e.mention_key == mention_key)
                    and (since is None or e.at >= since)]

    # meta
    def get_meta(self, key: str) -> Any:
        return copy.deepcopy(self.meta.get(key))

    def set_meta(self, key: str, value: Any) -> None:
        with self.lock:
            self.meta[key] = value
            self._save()

    def update_meta(self, key: str, change: Callable[[Any], Any]) -> Any:
        with self.lock:
            self.meta[key] = change(copy.deepcopy(self.meta.get(key)))
            self._save()
            return copy.deepcopy(self.meta[key])

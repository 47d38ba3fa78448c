"""One table of the journal storage, by document id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.store.journal_storage import JournalStorage


class JournalTable:
    """One table of a JournalStorage, by document id: each write costs O(size of the
    change), not O(size of the table). Not thread-safe by itself: the store serialises
    access."""

    def __init__(self, storage: JournalStorage, name: str, *, on_demand: bool = False) -> None:
        """on_demand: a document whose block of the snapshot is still on disk is loaded
        when asked for (only for a table whose indexes do not depend on what is loaded;
        see JournalStorage.held_or_load)."""
        self._storage = storage
        self.name = name
        self._on_demand = on_demand
        self._next_id: int | None = None

    def next_id(self) -> int:
        """Reserve the next document id (ids are never handed out twice in one run, and
        start above the largest stored id after a restart)."""
        if self._next_id is None:
            self._next_id = self._storage.last_id(self.name) + 1
        doc_id, self._next_id = self._next_id, self._next_id + 1
        return doc_id

    def held(self, doc_id: int) -> Any:
        """The held form of a document (see DocCodec), or None."""
        if self._on_demand:
            return self._storage.held_or_load(self.name, str(doc_id))
        return self._storage.held(self.name).get(str(doc_id))

    def text(self, doc_id: int) -> str | None:
        held = self.held(doc_id)
        return None if held is None else self._storage.codec(self.name).text(held)

    def doc(self, doc_id: int) -> Any:
        held = self.held(doc_id)
        return None if held is None else self._storage.codec(self.name).doc(held)

    def put(self, doc_id: int, doc: Mapping[str, Any]) -> int:
        """Store (insert or replace) one document; returns the journal LSN."""
        return self._storage.apply(self.name, {str(doc_id): doc})

    def delete(self, doc_id: int) -> int:
        """Delete one document; returns the journal LSN."""
        return self._storage.apply(self.name, {str(doc_id): None})

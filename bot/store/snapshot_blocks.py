"""The snapshot's blocks, loaded on demand (SnapshotBlocks, a mixin of JournalStorage):
reading earshot.json through its table of contents (toc.py), loading a block when a
query needs it, and writing a compaction that copies the blocks still on disk.

An open reads the small tables, the table of contents and the journal; the blocks of
the big tables stay on disk until a query needs them. A document the journal changed or
deleted (its id in `_overridden`) keeps its journal version when its block loads. The
open snapshot file stays open for the blocks still to load: it is the file of the moment
the store opened, even after a compaction has replaced the name.
"""

from __future__ import annotations

import heapq
import io
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot.store.doc_text import DocCodec
from bot.store.snapshot_file import StoreCorruptError, gc_paused, read_snapshot, write_snapshot
from bot.store.toc import Block, Describe, Toc, read_block, read_terms, read_toc


@dataclass
class Frozen:
    tables: dict[str, dict[str, Any]]
    pending: dict[str, tuple[list[Block], set[str]]]
    source: int | None  # a descriptor of the snapshot the pending blocks are in


class SnapshotBlocks:
    """The blocks of the snapshot still on disk, and how to load and copy them. The
    storage provides the tables, the lock, the paths and the codecs."""

    dir: Path
    snapshot_path: Path
    _lock: threading.RLock
    _tables: dict[str, dict[str, Any]]
    _describe: dict[str, Describe]
    _pending: dict[str, list[Block]]
    _overridden: dict[str, set[str]]
    _saved_keys: dict[str, tuple[list[str], list[int]]]
    _saved_flagged: dict[str, list[int]]
    _snapshot_file: Any
    _toc: Toc | None = None

    def codec(self, table: str) -> DocCodec:
        raise NotImplementedError

    def held(self, table: str) -> Mapping[str, Any]:
        raise NotImplementedError

    def _forget_blocks(self) -> None:
        """No block pending: before a snapshot is read (the blocks not loaded yet, the
        ids whose journal version must win over a block's, the saved indexes)."""
        self._pending, self._overridden = {}, {}
        self._saved_keys, self._saved_flagged, self._toc = {}, {}, None

    def _read_snapshot(self, f: IO[bytes]) -> dict[str, dict[str, Any]]:
        """The snapshot's small tables; the blocks of the described ones (mentions,
        events, outbox) are left pending, to load when a query needs them. A snapshot
        without a table of contents is read whole."""
        toc = read_toc(f) if self._describe else None
        if toc is None:
            f.seek(0)
            text = io.TextIOWrapper(f, encoding="utf-8")
            try:
                return read_snapshot(self.snapshot_path, self.codec, text)
            finally:
                text.detach()
        tables: dict[str, dict[str, Any]] = {}
        for name, blocks in toc.tables.items():
            tables[name] = {}
            if name in self._describe:
                if blocks:
                    self._pending[name] = blocks
                continue
            for block in blocks:
                tables[name].update(self._read_block(f.fileno(), block, name))
        self._saved_keys = {name: (keys, toc.ids[name]) for name, keys in toc.keys.items()}
        self._saved_flagged = toc.flagged
        self._toc = toc
        return tables

    def saved_terms(self, table: str) -> dict[str, list[tuple[str, int]]] | None:
        """The snapshot's saved terms of `table` (index -> (value, id) pairs: a mention's
        fingerprint and urls) for the documents the journal did not change, read now;
        None when there are none to read (no table of contents, or nothing on disk)."""
        with self._lock:
            if self._toc is None or not self._pending.get(table):
                return None
            try:
                terms = read_terms(self._snapshot_file.fileno(), self._toc).get(table, {})
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise StoreCorruptError(
                    f"the store snapshot {self.snapshot_path} does not hold the saved "
                    f"index its table of contents names ({exc}); restore it from a "
                    "backup") from exc
            overridden = self._overridden.get(table, set())
            return {index: [(value, doc_id) for value, doc_id in pairs
                            if str(doc_id) not in overridden]
                    for index, pairs in terms.items()}

    def _read_block(self, fd: int, block: Block, table: str | None = None
                    ) -> dict[str, Any]:
        """A block's documents, held as `table` holds them (as text without one)."""
        try:
            return read_block(fd, block, self.codec(table).hold if table else str)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise StoreCorruptError(
                f"the store snapshot {self.snapshot_path} does not hold the block its "
                f"table of contents names ({exc}); restore it from a backup") from exc

    def saved_flagged(self, table: str) -> list[int]:
        """The ids the snapshot flagged in `table` (toc.py) that are still on disk and
        not changed by the journal."""
        overridden = self._overridden.get(table, set())
        loaded = self._tables.get(table, {})
        return [doc_id for doc_id in self._saved_flagged.get(table, ())
                if str(doc_id) not in overridden and str(doc_id) not in loaded]

    def held_or_load(self, table: str, doc_id: str) -> Any:
        """One held document, loading its block if it is still on disk. Only for a
        table whose indexes do not depend on which blocks are loaded (the outbox's
        come from the saved key index and flags)."""
        held = self._tables.get(table, {}).get(doc_id)
        if held is not None or not self._pending.get(table) or not doc_id.isdigit():
            return held
        number = int(doc_id)
        self.load_blocks(table, lambda block: block.holds(number))
        return self._tables.get(table, {}).get(doc_id)

    def pending(self, table: str) -> list[Block]:
        """The blocks of `table` not loaded yet (none unless the store is lazy)."""
        return self._pending.get(table) or []

    def load_blocks(self, table: str, want: Callable[[Block], bool] | None = None
                    ) -> list[tuple[str, Any]]:
        """Load the pending blocks of `table` that `want` (default: all); returns the
        documents added (one the journal changed or deleted keeps its journal version)."""
        with self._lock:
            blocks = self._pending.get(table)
            if not blocks:
                return []
            chosen = [block for block in blocks if want is None or want(block)]
            if not chosen:
                return []
            overridden = self._overridden.get(table, set())
            target = self._tables.setdefault(table, {})
            added: list[tuple[str, Any]] = []
            with gc_paused():
                for block in chosen:
                    docs = self._read_block(self._snapshot_file.fileno(), block, table)
                    for doc_id, held in docs.items():
                        if doc_id not in overridden:
                            target[doc_id] = held
                            added.append((doc_id, held))
            chosen_ids = set(map(id, chosen))
            self._pending[table] = [b for b in blocks if id(b) not in chosen_ids]
            if not any(self._pending.values()) and self._snapshot_file is not None:
                self._snapshot_file.close()  # everything is in memory now
                self._snapshot_file = None
            return added

    def saved_key_index(self, table: str) -> dict[str, int]:
        """The snapshot's saved key -> id index of `table` for the documents not loaded
        yet and not changed by the journal (empty unless the store is lazy)."""
        keys, ids = self._saved_keys.get(table, ([], []))
        overridden = self._overridden.get(table, set())
        if not overridden:
            return dict(zip(keys, ids, strict=True))
        return {key: doc_id for key, doc_id in zip(keys, ids, strict=True)
                if str(doc_id) not in overridden}

    def last_id(self, table: str) -> int:
        """The largest document id of `table`, loaded or not."""
        loaded = max(map(int, self.held(table)), default=0)
        return max([loaded, *(block.last for block in self.pending(table))])

    # --- a compaction with blocks still on disk ---------------------------------------
    def _frozen(self) -> Frozen:
        """What the next snapshot holds, as of now (under the lock): the documents in
        memory, and the blocks still on disk with the ids the journal changed since."""
        pending = {table: (list(blocks), set(self._overridden.get(table, ())))
                   for table, blocks in self._pending.items() if blocks}
        # Its own descriptor: the store's is closed once every block is loaded.
        source = os.dup(self._snapshot_file.fileno()) if pending else None
        return Frozen({name: dict(table) for name, table in self._tables.items()},
                       pending, source)

    def _write_frozen(self, frozen: Frozen) -> int:
        """Write a frozen state as the snapshot: the blocks still on disk are copied
        from the old snapshot (which the open descriptor keeps readable after the new
        one replaces it), one table at a time, without loading them for good."""
        try:
            tables: dict[str, Any] = dict(frozen.tables)
            for table, (blocks, overridden) in frozen.pending.items():
                tables[table] = self._merged(tables.get(table, {}), blocks, overridden,
                                             frozen.source)
            return write_snapshot(self.dir, tables, self.codec, self._describe)
        finally:
            if frozen.source is not None:
                os.close(frozen.source)

    def _merged(self, loaded: dict[str, Any], blocks: list[Block], overridden: set[str],
                source: int | None) -> Any:
        """The documents in memory and those of the blocks still on disk, in id order,
        read one block at a time (the journal's version wins)."""
        if not all(doc_id.isdigit() for doc_id in loaded):  # edited by hand: keep it simple
            docs = dict(loaded)
            for block in blocks:
                for doc_id, text in self._read_block(source, block).items():
                    if doc_id not in overridden:
                        docs.setdefault(doc_id, text)
            return docs
        in_memory = sorted((int(doc_id), doc_id, held) for doc_id, held in loaded.items())

        def on_disk() -> Iterator[tuple[int, str, Any]]:
            for block in blocks:
                for doc_id, text in self._read_block(source, block).items():
                    if doc_id not in overridden and doc_id not in loaded:
                        yield int(doc_id), doc_id, text

        return ((doc_id, held) for _, doc_id, held in heapq.merge(in_memory, on_disk()))

"""TinyDB's files, made crash-safe and fast: `JournalStorage` and its `JournalTable`s.

Stock TinyDB hands the whole database to `Storage.write` after every change, and
`JSONStorage` rewrites the whole file in place (torn by a kill, O(n) per insert).
Here the state lives in memory, one JSON text per document (about 4x smaller than
decoded dicts, immutable, so a snapshot can be taken by copying references), and a
`JournalTable` write hands the storage only the documents it touched, which become one
line of the append-only journal (see journal.py). When the journal outgrows the
snapshot it is sealed and a background thread writes a new snapshot (temp file, fsync,
`os.replace`, directory fsync) in TinyDB's own file format, so stock TinyDB can read a
snapshot and a database written by stock TinyDB opens as a store. Only the files are
TinyDB's: the store reads and writes documents by id through JournalTable, never through
TinyDB's query API.

Files in the data directory:
  earshot.json          the snapshot (a plain TinyDB JSON file; stock TinyDB can read it)
  earshot.journal       changes since the snapshot, one JSON line each
  earshot.journal.old   a sealed journal whose snapshot is being written
  earshot.json.tmp      a snapshot being written (removed on open if a crash left it)
Loading replays old then current journal over the snapshot. Every journal line holds
whole documents, so replaying a line the snapshot already contains is harmless.

Modules by job: doc_text.py (how documents are held), snapshot_file.py (writing and
reading earshot.json), toc.py (its table of contents) and snapshot_blocks.py (its blocks
loaded on demand), journal.py (the journal file), journal_table.py (a table by document
id), read_only_storage.py (reading the same files without the lock, while another
process may be writing and compacting them).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.store.doc_text import TEXT, DocCodec, _encode, decode, encode
from bot.store.journal import Journal, Replay, encode_record, replay_journal
from bot.store.snapshot_blocks import Frozen, SnapshotBlocks
from bot.store.snapshot_file import (
    SNAPSHOT,
    TMP,
    StoreCorruptError,
    fsync_dir,
    gc_paused,
)
from bot.store.toc import Describe
from bot.store.write_trouble import WriteTrouble

# Also importable from here, where they lived before the split by job.
__all__ = ["CONTINUES_LINE", "JOURNAL", "SNAPSHOT", "TEXT", "DocCodec", "JournalStorage",
           "StoreCorruptError", "decode", "encode", "report_replay"]

log = logging.getLogger(__name__)

JOURNAL = "earshot.journal"

# The first line of every journal that continues a snapshot (written as each
# compaction empties the journal): a journal that carries it while earshot.json is
# missing holds only the tail of the store, and starting from it alone would quietly
# lose everything before.
_CONTINUES = "$continues-snapshot"
CONTINUES_LINE = encode_record(_CONTINUES, {})


class JournalStorage(SnapshotBlocks, WriteTrouble):
    """The documents of a data directory. Thread-safe; every method takes the storage's
    own lock."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        sync_interval: float | None = 0.05,
        compact_min_bytes: int = 8 << 20,
        codecs: Mapping[str, DocCodec] | None = None,
        still_ours: Callable[[], bool] | None = None,
        describe: Mapping[str, Describe] | None = None,
    ) -> None:
        """sync_interval: seconds between group-commit fsyncs (0 = fsync every write,
        None = only on flush/close). compact_min_bytes: never compact a smaller journal.
        codecs: how to hold the documents of some tables (default: JSON text).
        describe: the tables written in blocks with a table of contents (toc.py), and
        how to describe their documents.
        still_ours: asked before each compaction; False (the locked data directory was
        deleted or replaced under us) skips it, so a snapshot is never written over
        another process's store."""
        self._init_paths(data_dir, codecs, describe)
        self._still_ours = still_ours
        self._lost_warned = False
        self._sync_every_write = sync_interval == 0
        self._compact_min = compact_min_bytes
        self._next_compact_at = compact_min_bytes
        self._compact_thread: threading.Thread | None = None
        self._closed = False
        self._tables: dict[str, dict[str, Any]] = {}
        self._toc_missing = False
        self._load()
        self._journal = Journal(self.journal_path)
        if self.sealed_path.exists():
            # A compaction was interrupted: finish it now, before anything new is written.
            self._compact_now()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if sync_interval:
            self._flusher = threading.Thread(
                target=self._flush_loop, args=(sync_interval,), name="earshot-fsync", daemon=True
            )
            self._flusher.start()

    def _init_paths(self, data_dir: str | os.PathLike[str],
                    codecs: Mapping[str, DocCodec] | None,
                    describe: Mapping[str, Describe] | None = None) -> None:
        self._codecs = dict(codecs or {})
        self._describe = dict(describe or {})
        self._snapshot_file: Any = None
        self._forget_blocks()
        self.dir = Path(data_dir)
        self.snapshot_path = self.dir / SNAPSHOT
        self.journal_path = self.dir / JOURNAL
        self.sealed_path = self.dir / (JOURNAL + ".old")
        self.tmp_path = self.dir / TMP
        self._lock = threading.RLock()

    # --- loading ---------------------------------------------------------------------
    def _load(self) -> None:
        self.tmp_path.unlink(missing_ok=True)  # a snapshot a crash left half-written
        with gc_paused():
            self._load_files()

    def codec(self, table: str) -> DocCodec:
        return self._codecs.get(table, TEXT)

    def _load_files(self) -> None:
        tables: dict[str, dict[str, Any]] = {}
        self._snapshot_size = 0
        if self.snapshot_path.exists():
            f = open(self.snapshot_path, "rb")  # noqa: SIM115 - kept open for its blocks
            try:
                tables = self._read_snapshot(f)
            finally:
                if self._pending:
                    self._snapshot_file = f
                else:
                    f.close()
            self._snapshot_size = self.snapshot_path.stat().st_size
            # Written by an older Earshot or stock TinyDB: read whole this time, and
            # rewritten with a table of contents at close (see close()).
            self._toc_missing = self._toc is None and bool(self._describe)
        apply = self._applier(tables)
        continues: list[Path] = []

        def replayed(table: str, changes: dict[str, Any]) -> None:
            if table == _CONTINUES:
                continues.append(path)
            else:
                apply(table, changes)

        for path in (self.sealed_path, self.journal_path):
            try:
                replay = replay_journal(path, replayed)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreCorruptError(
                    f"the store journal {path} holds a malformed document "
                    f"({type(exc).__name__}: {exc}); move the journal away to start from "
                    f"the snapshot alone (its changes are then lost), or repair that line"
                ) from exc
            report_replay(path, replay)
            if replay.torn_tail and path == self.journal_path:
                # New lines must not be appended after the garbage.
                os.truncate(path, replay.good_end)
        # Only the oldest journal file counts: a journal sealed by a compaction that was
        # cut short (kill -9 before its first snapshot) holds everything before the
        # current one, which then continues it rather than a snapshot.
        oldest = self.sealed_path if self.sealed_path.exists() else self.journal_path
        if oldest in continues and not self.snapshot_path.exists():
            raise StoreCorruptError(
                f"the store journal {oldest} continues the snapshot "
                f"{self.snapshot_path}, which is missing: restore the snapshot from a "
                f"backup (or move the journal away to start empty)")
        self._tables = tables

    def _applier(
        self, tables: dict[str, dict[str, Any]]
    ) -> Callable[[str, dict[str, Any]], None]:
        """Replays journal records into `tables`."""
        def apply(table: str, changes: dict[str, Any]) -> None:
            if table == _CONTINUES:
                return  # a marker, not a table
            target = tables.setdefault(table, {})
            codec = self.codec(table)
            if table in self._describe:
                self._overridden.setdefault(table, set()).update(changes)
            for doc_id, doc in changes.items():
                if doc is None:
                    target.pop(doc_id, None)
                else:
                    target[doc_id] = codec.hold(_encode(doc), doc)

        return apply

    # --- closing ------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
        self.wait_for_compaction()
        with self._lock:
            try:
                # Fold a sizeable journal in, so the next open reads mostly one file;
                # a short one (say a `fetch --once` that added a few mentions) is left
                # for the next run rather than rewriting a large snapshot for it.
                # (Checked first: a replaced directory is reported even with nothing
                # to compact.)
                if self._may_compact() and (self.sealed_path.exists()
                                            or self._journal.size * 4 > self._snapshot_size
                                            or self._toc_missing):
                    self._compact_now()
            finally:
                self._journal.close()
                if self._snapshot_file is not None:
                    self._snapshot_file.close()
                    self._snapshot_file = None

    # --- the fast, per-document interface (used by JournalTable) ------------------------
    def held(self, table: str) -> Mapping[str, Any]:
        """The live id -> held document map of one table (see codec()). Read it under
        the caller's lock or copy it; never modify it (use apply)."""
        return self._tables.get(table) or {}

    def apply(self, table: str, changes: Mapping[str, Mapping[str, Any] | None]) -> int:
        """Journal then apply one atomic change (doc id -> document, or None to
        delete); returns its LSN for sync_to. A document that is not JSON raises
        before anything is written."""
        if not changes:
            return self.end_lsn
        codec = self.codec(table)
        texts = {doc_id: None if doc is None else _encode(doc)
                 for doc_id, doc in changes.items()}
        held = {doc_id: None if text is None else codec.hold(text, changes[doc_id])
                for doc_id, text in texts.items()}
        line = encode_record(table, texts)
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            try:
                lsn = self._journal.append(line)
            except OSError as exc:
                self.write_failed(exc)
                raise  # nothing was applied: the caller's change simply did not happen
            self.write_ok()
            if self._pending.get(table):  # a block loaded later must not bring it back
                self._overridden.setdefault(table, set()).update(texts)
            docs = self._tables.setdefault(table, {})
            for doc_id, value in held.items():
                if value is None:
                    docs.pop(doc_id, None)
                else:
                    docs[doc_id] = value
            if self._journal.size >= self._next_compact_at and self._compact_thread is None:
                self._start_compaction()
        if self._sync_every_write:
            self.sync_to(lsn)
        return lsn

    @property
    def end_lsn(self) -> int:
        return self._journal.end_lsn

    def sync_to(self, lsn: int) -> None:
        """Block until everything up to `lsn` is on stable storage."""
        self._journal.sync_to(lsn)

    def flush(self) -> None:
        self.sync_to(self.end_lsn)

    def wait_for_compaction(self) -> None:
        """Return once no background compaction is running (for tests and tools)."""
        while (thread := self._compact_thread) is not None:
            thread.join()

    @property
    def journal_size(self) -> int:
        return self._journal.size

    # --- durability and compaction ------------------------------------------------------
    def _flush_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            journal = self._journal
            if journal.dirty:
                try:
                    journal.sync()
                except OSError as exc:
                    self.write_failed(exc)  # said once per outage, not every 50 ms

    def _may_compact(self) -> bool:
        if self._still_ours is None or self._still_ours():
            return True
        if not self._lost_warned:
            self._lost_warned = True
            log.error("the data directory %s was deleted or replaced while this process "
                      "was using it: not compacting into it (another process may own it "
                      "now); stop this process and check which copy of the data to keep",
                      self.dir)
        return False

    def _start_compaction(self) -> None:
        """Seal the journal and write a snapshot of this moment in the background.
        Called under the lock; costs one fsync, a rename and a copy of references."""
        if not self._may_compact():
            self._next_compact_at = self._journal.size * 2
            return
        if self.sealed_path.exists():
            self._compact_now()  # a failed background run left it: do it in the foreground
            return
        try:
            self._journal.close()  # fsyncs: the sealed part is durable before later lines
            os.replace(self.journal_path, self.sealed_path)
            fsync_dir(self.dir)
        except OSError as exc:
            self.write_failed(exc)
            self._journal = Journal(self.journal_path, base_lsn=self._journal.base_lsn)
            self._next_compact_at = self._journal.size * 2
            return
        self._journal = Journal(self.journal_path, base_lsn=self._journal.end_lsn)
        try:
            self._journal.append(CONTINUES_LINE)
        except OSError as exc:  # the change that got us here is written: do not fail it
            self.write_failed(exc)
        frozen = self._frozen()
        thread = threading.Thread(
            target=self._compact_in_background, args=(frozen,), name="earshot-compact",
            daemon=True,
        )
        self._compact_thread = thread
        thread.start()

    def _compact_in_background(self, frozen: Frozen) -> None:
        try:
            size = self._write_frozen(frozen)
            self.sealed_path.unlink()
            fsync_dir(self.dir)
        except OSError as exc:
            self.write_failed(exc)  # the journal is kept; compaction is retried
            size = None
        except Exception:
            log.exception("background compaction failed; the journal is kept and it "
                          "will be retried")
            size = None
        with self._lock:
            self._compact_thread = None
            if size is None:
                self._next_compact_at = max(self._compact_min, self._journal.size * 2)
                return
            self._snapshot_size = size
            self._toc_missing = False
            self._next_compact_at = max(self._compact_min, self._snapshot_size)
            # Writes went on while the snapshot was written (its fsyncs can take a
            # while); if they already filled the journal again, go on right away.
            if not self._closed and self._journal.size >= self._next_compact_at:
                self._start_compaction()

    def _compact_now(self) -> None:
        """Snapshot the current state and empty the journal, holding the lock."""
        with self._lock:
            if not self._may_compact():
                return
            try:
                self._snapshot_size = self._write_frozen(self._frozen())
                self._toc_missing = False
                self.sealed_path.unlink(missing_ok=True)
                fsync_dir(self.dir)
                self._journal.truncate()
                self._journal.append(CONTINUES_LINE)
            except OSError as exc:
                self.write_failed(exc)  # the journal is kept; compaction is retried
            self._next_compact_at = max(self._compact_min, self._snapshot_size,
                                        self._journal.size * 2)


def report_replay(path: Path, replay: Replay, torn_level: int = logging.WARNING) -> None:
    if replay.corrupt_lines:
        log.error("%s: skipped %d corrupt line(s) between valid ones",
                  path, replay.corrupt_lines)
    if replay.torn_tail:
        log.log(torn_level, "%s: ignoring a torn last write (%d bytes); it was never "
                "acknowledged", path, replay.torn_tail)

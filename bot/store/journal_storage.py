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

ReadOnlyJournalStorage reads the same files without the lock, while another process
may be writing and compacting them; it never writes (see its docstring).
"""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any

from bot.store.base import StoreReadOnlyError
from bot.store.journal import Journal, Replay, encode_record, replay_journal

log = logging.getLogger(__name__)

# ASCII output: a lone surrogate in scraped text must not make a write fail later.
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.loads

class DocCodec:
    """How one table's documents are held in memory. This default holds each as its
    JSON text (compact and immutable); a table read in bulk can hold a faster form.
    Whatever `hold` returns must be immutable: snapshots copy references."""

    def hold(self, text: str, doc: dict[str, Any] | None = None) -> Any:
        """The held form of a document, given its JSON text (and the document itself
        when the caller has it)."""
        return text

    def text(self, held: Any) -> str:
        return held

    def doc(self, held: Any) -> dict[str, Any]:
        """A fresh, decoded copy."""
        return _decode(held)


TEXT = DocCodec()

SNAPSHOT = "earshot.json"
JOURNAL = "earshot.journal"


class StoreCorruptError(RuntimeError):
    """The snapshot cannot be read. It is only ever replaced atomically, so this means
    damage from outside; refusing to start beats silently starting empty. The message
    is one line naming the file and what to do."""


# The first line of every journal that continues a snapshot (written as each
# compaction empties the journal): a journal that carries it while earshot.json is
# missing holds only the tail of the store, and starting from it alone would quietly
# lose everything before.
_CONTINUES = "$continues-snapshot"
CONTINUES_LINE = encode_record(_CONTINUES, {})
_RESTORE = ("restore it from a backup, or move it away to start from the journal alone "
            "(everything before the journal is then lost)")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Loading creates millions of objects that all survive: pausing the cyclic GC
    avoids repeated full collections over the growing heap (about 2x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalStorage:
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
    ) -> None:
        """sync_interval: seconds between group-commit fsyncs (0 = fsync every write,
        None = only on flush/close). compact_min_bytes: never compact a smaller journal.
        codecs: how to hold the documents of some tables (default: JSON text).
        still_ours: asked before each compaction; False (the locked data directory was
        deleted or replaced under us) skips it, so a snapshot is never written over
        another process's store."""
        self._init_paths(data_dir, codecs)
        self._still_ours = still_ours
        self._lost_warned = False
        self._write_trouble = False
        self._trouble_lock = threading.Lock()
        self._sync_every_write = sync_interval == 0
        self._compact_min = compact_min_bytes
        self._next_compact_at = compact_min_bytes
        self._compact_thread: threading.Thread | None = None
        self._closed = False
        self._tables: dict[str, dict[str, Any]] = {}
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
                    codecs: Mapping[str, DocCodec] | None) -> None:
        self._codecs = dict(codecs or {})
        self.dir = Path(data_dir)
        self.snapshot_path = self.dir / SNAPSHOT
        self.journal_path = self.dir / JOURNAL
        self.sealed_path = self.dir / (JOURNAL + ".old")
        self.tmp_path = self.dir / (SNAPSHOT + ".tmp")
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
            tables = _read_snapshot(self.snapshot_path, self.codec)
            self._snapshot_size = self.snapshot_path.stat().st_size
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
            _report(path, replay)
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
                                            or self._journal.size * 4 > self._snapshot_size):
                    self._compact_now()
            finally:
                self._journal.close()

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

    def write_failed(self, exc: OSError) -> None:
        """Say once per outage that the store cannot be written, and why (a full disk,
        above all). Writers keep their work to retry (nothing is given up for good)."""
        with self._trouble_lock:
            if self._write_trouble:
                return
            self._write_trouble = True
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        log.error("cannot write the store in %s: %s%s. Nothing is given up: new mentions "
                  "and Slack posts wait, and are recorded (posts reconciled, not doubled) "
                  "once writes work again; free some space", self.dir,
                  exc.strerror or exc, " (the disk is full)" if full else "")

    def write_ok(self) -> None:
        if self._write_trouble:
            with self._trouble_lock:
                if not self._write_trouble:
                    return
                self._write_trouble = False
            log.warning("the store in %s can be written again", self.dir)

    @property
    def write_trouble(self) -> bool:
        """True while the last write failed (see write_failed)."""
        return self._write_trouble

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
            _fsync_dir(self.dir)
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
        frozen = {name: dict(table) for name, table in self._tables.items()}
        thread = threading.Thread(
            target=self._compact_in_background, args=(frozen,), name="earshot-compact",
            daemon=True,
        )
        self._compact_thread = thread
        thread.start()

    def _compact_in_background(self, frozen: dict[str, dict[str, Any]]) -> None:
        try:
            size = self._write_snapshot(frozen)
            self.sealed_path.unlink()
            _fsync_dir(self.dir)
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
                self._snapshot_size = self._write_snapshot(self._tables)
                self.sealed_path.unlink(missing_ok=True)
                _fsync_dir(self.dir)
                self._journal.truncate()
                self._journal.append(CONTINUES_LINE)
            except OSError as exc:
                self.write_failed(exc)  # the journal is kept; compaction is retried
            self._next_compact_at = max(self._compact_min, self._snapshot_size,
                                        self._journal.size * 2)

    def _write_snapshot(self, tables: dict[str, dict[str, Any]]) -> int:
        """Write `tables` as a TinyDB JSON file, atomically; returns its size.

        One document per line (see _read_snapshot); texts are copied as they are."""
        with open(self.tmp_path, "w", encoding="ascii") as f:
            f.write("{")
            for n, (name, docs) in enumerate(tables.items()):
                f.write(("," if n else "") + "\n" + _encode(name) + ":{")
                text = self.codec(name).text
                items = list(docs.items())
                for start in range(0, len(items), 2000):
                    chunk = items[start:start + 2000]
                    f.write(("," if start else "") + "".join(
                        f"{',' if i else ''}\n{_encode(doc_id)}:{text(held)}"
                        for i, (doc_id, held) in enumerate(chunk)))
                f.write("\n}")
            f.write("\n}\n")
            f.flush()
            os.fsync(f.fileno())
            size = f.tell()
        os.replace(self.tmp_path, self.snapshot_path)
        _fsync_dir(self.dir)
        return size


class ReadOnlyJournalStorage(JournalStorage):
    """The state of a data directory as it is on disk, read without the lock, so while
    another process (the running bot) writes and compacts it. Never writes anything:
    no journal is opened for writing, a torn tail is not cut, nothing is compacted;
    apply() raises StoreReadOnlyError.

    The writer only ever appends whole lines to a journal file, and otherwise changes
    the files by giving a name to a new file: sealing renames the journal to `.old`
    and creates a new one, a snapshot is `os.replace`d into place, an emptied journal
    is a new file (Journal.truncate), the sealed journal is unlinked. So the loader
    opens snapshot, sealed and current journal, reads them through those descriptors,
    and then checks that each name still refers to the file it read (or is still
    missing) and that the journal did not shrink. Held open, the files cannot be freed
    and their inode numbers not reused, so an unchanged name means no compaction step
    happened in between, and what was read is the snapshot plus the journals of one
    moment: a prefix of the writer's acknowledged writes (a torn last line is a write
    still in flight and is left out). Otherwise the load is retried.
    """

    def __init__(self, data_dir: str | os.PathLike[str], *,
                 codecs: Mapping[str, DocCodec] | None = None, attempts: int = 30,
                 **_writer_options: Any) -> None:
        self._init_paths(data_dir, codecs)
        self._compact_thread = None
        self._closed = False
        self._snapshot_size = 0
        with gc_paused():
            self._tables = self._load_consistent(attempts)

    def _load_consistent(self, attempts: int) -> dict[str, dict[str, Any]]:
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(0.2, 0.005 * 2 ** attempt))  # let the compaction finish
            with ExitStack() as stack:
                files: dict[Path, IO[Any] | None] = {}
                for path in (self.snapshot_path, self.sealed_path, self.journal_path):
                    try:
                        if path == self.snapshot_path:
                            f: IO[Any] = open(path, encoding="utf-8")
                        else:
                            f = open(path, "rb")
                    except FileNotFoundError:
                        files[path] = None
                        continue
                    files[path] = stack.enter_context(f)
                snapshot = files[self.snapshot_path]
                tables = (_read_snapshot(self.snapshot_path, self.codec, snapshot)
                          if snapshot is not None else {})
                apply = self._applier(tables)
                replays: dict[Path, Replay] = {}
                for path in (self.sealed_path, self.journal_path):
                    if (f := files[path]) is not None:
                        replays[path] = replay_journal(path, apply, f)
                journal = files[self.journal_path]
                read = replays.get(self.journal_path, Replay())
                if (all(_same_file(path, f) for path, f in files.items())
                        and (journal is None or os.fstat(journal.fileno()).st_size
                             >= read.good_end + read.torn_tail)):
                    for path, replay in replays.items():
                        # A torn tail here is normally a write in flight, not a crash.
                        _report(path, replay, torn_level=logging.DEBUG)
                    return tables
            log.debug("%s changed while it was read (a compaction); reading it again",
                      self.dir)
        raise RuntimeError(f"the store in {self.dir} kept changing while it was read "
                           f"({attempts} attempts); try again")

    def apply(self, table: str, changes: Mapping[str, Mapping[str, Any] | None]) -> int:
        raise StoreReadOnlyError(
            f"the store in {self.dir} was opened read-only; it cannot be written")

    def close(self) -> None:
        with self._lock:
            self._closed = True

    @property
    def end_lsn(self) -> int:
        return 0

    def sync_to(self, lsn: int) -> None:
        return None

    @property
    def journal_size(self) -> int:
        return 0


def _same_file(path: Path, file: IO[Any] | None) -> bool:
    """Whether `path` still names the open `file` (or, for None, still names nothing)."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return file is None
    if file is None:
        return False
    held = os.fstat(file.fileno())
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _report(path: Path, replay: Replay, torn_level: int = logging.WARNING) -> None:
    if replay.corrupt_lines:
        log.error("%s: skipped %d corrupt line(s) between valid ones",
                  path, replay.corrupt_lines)
    if replay.torn_tail:
        log.log(torn_level, "%s: ignoring a torn last write (%d bytes); it was never "
                "acknowledged", path, replay.torn_tail)


def _read_snapshot(
    path: Path, codec_for: Callable[[str], DocCodec], file: IO[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The held documents of a snapshot (read from `file` if given, else from `path`).

    Snapshots written here hold one document per line, so the file is read line by
    line and each document's text goes straight to its table's codec: never the
    whole file or a decoded copy of the database in memory. Any other valid TinyDB
    file (e.g. written by stock TinyDB) is read the slow way.
    """
    with nullcontext(file) if file is not None else open(path, encoding="utf-8") as f:
        try:
            return _read_line_snapshot(f, codec_for)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            f.seek(0)
            try:
                docs = json.load(f)
            except ValueError as exc:
                f.seek(0)
                what = f"is not JSON ({exc})" if f.read(1) else "is empty"
                raise StoreCorruptError(f"the store snapshot {path} {what}; {_RESTORE}"
                                        ) from exc
    if not isinstance(docs, dict) or not all(isinstance(t, dict) for t in docs.values()):
        raise StoreCorruptError(f"the store snapshot {path} is not a TinyDB database; "
                                f"{_RESTORE}")
    try:
        return {name: {str(i): codec_for(name).hold(_encode(doc), doc)
                       for i, doc in table.items()} for name, table in docs.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreCorruptError(
            f"the store snapshot {path} holds a malformed document ({type(exc).__name__}: "
            f"{exc}); {_RESTORE}") from exc


def _read_line_snapshot(
    lines: Iterable[str], codec_for: Callable[[str], DocCodec]
) -> dict[str, dict[str, Any]]:
    """Parse the layout _write_snapshot writes:
    `{` / `"table":{` / `"id":{doc},` ... `"id":{doc}` / `}` or `},` / ... / `}`."""
    tables: dict[str, dict[str, Any]] = {}
    table: dict[str, Any] | None = None
    hold = TEXT.hold
    lines = iter(lines)
    if next(lines, None) != "{\n":
        raise ValueError("not a line-per-document snapshot")
    for line in lines:
        line = line.removesuffix("\n")
        if table is None:
            if line == "}":
                break  # the end of the database
            # `"name":{` or `,"name":{` opens a table.
            if not line.endswith(":{"):
                raise ValueError("expected a table")
            name = _decode(line.lstrip(",")[:-2])
            table = tables[name] = {}
            hold = codec_for(name).hold
        elif line in ("}", "},"):
            table = None
        else:
            # `"id":{...}` with a trailing comma on all but the last. The snapshot was
            # written whole and replaced atomically, so a shape check is enough here.
            split = line.index('":') + 1
            text = line[split + 1:].removesuffix(",")
            if not (text.startswith("{") and text.endswith("}")):
                raise ValueError("not a document")
            doc_id = line[1:split - 1]  # TinyDB's ids are digits: no decoding needed
            table[doc_id if doc_id.isdigit() else _decode(line[:split])] = hold(text)
    else:
        raise ValueError("the snapshot ends early")
    if next(lines, None) is not None:
        raise ValueError("data after the end")
    return tables


class JournalTable:
    """One table of a JournalStorage, by document id: each write costs O(size of the
    change), not O(size of the table). Not thread-safe by itself: the store serialises
    access."""

    def __init__(self, storage: JournalStorage, name: str) -> None:
        self._storage = storage
        self.name = name
        self._next_id: int | None = None

    def next_id(self) -> int:
        """Reserve the next document id (ids are never handed out twice in one run, and
        start above the largest stored id after a restart)."""
        if self._next_id is None:
            self._next_id = max(map(int, self._storage.held(self.name)), default=0) + 1
        doc_id, self._next_id = self._next_id, self._next_id + 1
        return doc_id

    def held(self, doc_id: int) -> Any:
        """The held form of a document (see DocCodec), or None."""
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


def open_storage(data_dir: str | os.PathLike[str], *, read_only: bool = False,
                 **options: Any) -> JournalStorage:
    """The storage of `data_dir` (see JournalStorage for the options; read_only: see
    ReadOnlyJournalStorage)."""
    storage = ReadOnlyJournalStorage if read_only else JournalStorage
    return storage(data_dir, **options)


def decode(text: str) -> Any:
    return _decode(text)


def encode(doc: Any) -> str:
    return _encode(doc)

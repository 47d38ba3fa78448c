"""An append-only journal of JSON lines, with group commit.

Each line is one self-contained change: `{"t": <table>, "c": {<doc id>: <doc or null>}}`.
A line reaches the file with a single `write(2)` before the caller is told "done", so
it survives the process being killed (it is in the kernel's page cache). It survives a
power cut or kernel crash only once fsync'd: a background thread does that every
`sync_interval` seconds (group commit: one fsync covers every line written since the
last), and callers that must not lose a write wait for it with `sync_to(lsn)`.

Positions are logical sequence numbers (LSNs): bytes ever written to this store's
journals, so a position stays meaningful after the journal is rotated by compaction.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)


@dataclass
class Replay:
    """What `replay_journal` found in one journal file."""

    records: int = 0
    good_end: int = 0  # byte offset just past the last valid line
    torn_tail: int = 0  # bytes after good_end that were ignored (a write cut short)
    corrupt_lines: int = 0  # invalid lines followed by valid ones (should never happen)


def encode_record(table: str, changes: dict[str, str | None]) -> bytes:
    """One journal line. Documents arrive already encoded, so they are spliced in as is."""
    body = ",".join(
        f"{_key(doc_id)}:{'null' if text is None else text}" for doc_id, text in changes.items()
    )
    return f'{{"t":{_key(table)},"c":{{{body}}}}}\n'.encode()


def _key(name: str) -> str:
    # Table names and document ids are plain words and digits: skip the encoder.
    return f'"{name}"' if name.isalnum() and name.isascii() else json.dumps(name)


def _parse(line: bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        rec = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("t"), str):
        return None
    changes = rec.get("c")
    if not isinstance(changes, dict):
        return None
    return rec["t"], changes


def replay_journal(path: Path, apply: Callable[[str, dict[str, Any]], None],
                   file: BinaryIO | None = None) -> Replay:
    """Feed each valid record of a journal to `apply(table, changes)`, in order, one
    line at a time (a journal can be as large as the snapshot: it is never held whole).
    A torn or garbled tail is reported in the result, never raised. `file`: read this
    already open file (from its current position) instead of opening `path`."""
    out = Replay()
    if file is not None:
        _replay(file, apply, out)
        return out
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return out
    with f:
        _replay(f, apply, out)
    return out


def _replay(f: BinaryIO, apply: Callable[[str, dict[str, Any]], None], out: Replay) -> None:
    pos = 0
    bad_since_good = 0
    for line in f:
        pos += len(line)
        if not line.endswith(b"\n"):
            # The write that carried this line never finished, so nobody was told
            # it succeeded. Even if it parses, it is not part of the log.
            break
        parsed = _parse(line)
        if parsed is None:
            bad_since_good += 1
            continue
        out.corrupt_lines += bad_since_good
        bad_since_good = 0
        apply(*parsed)
        out.records += 1
        out.good_end = pos
    out.torn_tail = pos - out.good_end


class Journal:
    """The open, writable journal file. Not thread-safe for `append`: the storage
    calls it under its own lock; `sync_to` may be called from any thread."""

    def __init__(self, path: Path, base_lsn: int = 0) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self._fd).st_size
        self.base_lsn = base_lsn
        self._sync_lock = threading.Lock()
        self._closed = False
        # Whatever is already in the file was replayed into memory: make it durable
        # before acknowledging anything that depends on it.
        os.fsync(self._fd)
        self._synced = self.end_lsn

    @property
    def end_lsn(self) -> int:
        return self.base_lsn + self.size

    def append(self, data: bytes) -> int:
        """Write `data` (whole lines) and return the LSN just past it."""
        start = self.size
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except BaseException:
            # A half-written line would sit in the middle of the log once later lines
            # follow it; cut it off so the file stays a clean sequence of lines.
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                log.exception("could not cut a failed write from %s", self.path)
            raise
        self.size = start + len(data)
        return self.end_lsn

    def sync_to(self, lsn: int) -> None:
        """Return once everything up to `lsn` is on stable storage (one fsync may serve
        many waiting threads)."""
        if lsn <= self._synced:
            return
        with self._sync_lock:
            if lsn <= self._synced or self._closed:
                return
            target = self.end_lsn
            os.fdatasync(self._fd)
            self._synced = max(self._synced, target)

    def sync(self) -> None:
        self.sync_to(self.end_lsn)

    @property
    def dirty(self) -> bool:
        return self.end_lsn > self._synced

    def truncate(self) -> None:
        """Empty the journal (its content is in a durable snapshot now); LSNs keep growing.

        A new, empty file takes the name rather than the old one being cut in place: a
        journal file only ever grows, so a read-only open holding the old file can tell
        by the name pointing elsewhere that it changed (see ReadOnlyJournalStorage)."""
        with self._sync_lock:
            self.base_lsn += self.size
            os.unlink(self.path)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.close(self._fd)
            self._fd = fd
            os.fsync(fd)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            self.size = 0
            self._synced = self.base_lsn

    def close(self) -> None:
        with self._sync_lock:
            if self._closed:
                return
            os.fsync(self._fd)
            self._synced = self.end_lsn
            self._closed = True
            os.close(self._fd)

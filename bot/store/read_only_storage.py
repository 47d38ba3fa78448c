"""Reading a data directory without its lock, while another process (the running bot)
writes and compacts it: ReadOnlyJournalStorage."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from bot.store.base import StoreReadOnlyError
from bot.store.doc_text import DocCodec
from bot.store.journal import Replay, replay_journal
from bot.store.journal_storage import JournalStorage, report_replay
from bot.store.snapshot_file import gc_paused
from bot.store.toc import Describe

log = logging.getLogger(__name__)


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
                 describe: Mapping[str, Describe] | None = None,
                 **_writer_options: Any) -> None:
        self._init_paths(data_dir, codecs, describe)
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
                        f: IO[Any] = open(path, "rb")
                    except FileNotFoundError:
                        files[path] = None
                        continue
                    files[path] = stack.enter_context(f)
                snapshot = files[self.snapshot_path]
                self._forget_blocks()  # of an attempt that saw a compaction
                tables = self._read_snapshot(snapshot) if snapshot is not None else {}
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
                        report_replay(path, replay, torn_level=logging.DEBUG)
                    if self._pending:
                        # Kept open for the blocks still to load: this very file, even
                        # once a compaction has replaced the name.
                        self._snapshot_file = os.fdopen(os.dup(snapshot.fileno()), "rb")
                    return tables
            log.debug("%s changed while it was read (a compaction); reading it again",
                      self.dir)
        raise RuntimeError(f"the store in {self.dir} kept changing while it was read "
                           f"({attempts} attempts); try again")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._snapshot_file is not None:
                self._snapshot_file.close()
                self._snapshot_file = None

    def apply(self, table: str, changes: Mapping[str, Mapping[str, Any] | None]) -> int:
        raise StoreReadOnlyError(
            f"the store in {self.dir} was opened read-only; it cannot be written")

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

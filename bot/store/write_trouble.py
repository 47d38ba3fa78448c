"""Saying once per outage that the store cannot be written (WriteTrouble, a mixin of
JournalStorage): a full disk must not fill the log, and its end must be said too."""

from __future__ import annotations

import errno
import logging
import threading
from pathlib import Path

log = logging.getLogger("bot.store.journal_storage")  # where operators have seen it


class WriteTrouble:
    dir: Path
    _write_trouble = False
    _trouble_lock = threading.Lock()  # class-wide: taken only on a change of state

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

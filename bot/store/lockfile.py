"""One process per store: an exclusive, non-blocking `flock` on a lock file.

The journal design keeps the state in memory, so a second process (or a second
open in the same process) writing the same files would silently lose writes. The
kernel drops a `flock` when its holder dies, even on `kill -9`, so a crashed run
never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class StoreLockedError(RuntimeError):
    """Another process (or another open store in this process) holds the data directory."""


def acquire(path: Path) -> int:
    """Lock `path` (created if missing) and return its descriptor; release() frees it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        who = f" (pid {holder})" if holder else ""
        raise StoreLockedError(
            f"the Earshot data directory {path.parent} is in use by another process{who}; "
            "only one bot process may open a store at a time (stop the other one, or "
            "give this one its own data_dir)"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    # The pid is only a hint for the error message above; the flock is the lock.
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""

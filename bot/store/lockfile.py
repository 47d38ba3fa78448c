"""One process per store: an exclusive, non-blocking `flock` on the data directory.

The journal design keeps the state in memory, so a second process (or a second
open in the same process) writing the same files would silently lose writes. The
kernel drops a `flock` when its holder dies, even on `kill -9`, so a crashed run
never leaves a stale lock behind.

The lock is taken on the directory itself, not on a file in it: `earshot.lock` looks
like a stale pid file, and deleting it used to let a second `serve` in (mentions posted
twice, two owners of E-1). The file still carries the holder's pid, for the message.
A directory can be renamed or deleted and created anew under a live process, though:
`still_held()` tells whether the locked directory is still the one at its path, and the
store checks it before it compacts.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class StoreLockedError(RuntimeError):
    """Another process (or another open store in this process) holds the data directory."""


def acquire(path: Path) -> int:
    """Lock the directory holding `path` (the pid file, created if missing) and return
    the directory's descriptor; release() frees it."""
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(path)
        os.close(fd)
        who = f" (pid {holder})" if holder else ""
        raise StoreLockedError(
            f"the Earshot data directory {path.parent} is in use by another process{who}; "
            "only one bot process may open a store at a time (stop the other one, or "
            "give this one its own EARSHOT_DATA)"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    try:
        # The pid is only a hint for the error message above; the flock is the lock.
        _write_holder(path)
    except OSError:
        release(fd)
        raise
    return fd


def still_held(fd: int, directory: Path) -> bool:
    """True while `directory` is still the directory locked through `fd` (it was not
    deleted, or renamed and replaced, under the running process)."""
    try:
        now, held = os.stat(directory), os.fstat(fd)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write_holder(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)


def _read_holder(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(32).decode("ascii", "replace").strip()
    except OSError:
        return ""

"""What every command shares: the user-caused errors `__main__` turns into one line and
exit status 2, and opening the store the settings name (EARSHOT_DATA) with a clear
word when that place cannot hold a store."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.settings import Settings
from bot.store import Store, database_url, open_store

DATA_ENV = "EARSHOT_DATA"


class UsageError(Exception):
    """A problem the user caused and can fix (a flag, the environment, a file): printed
    by `python -m bot` as one line `earshot: <message>`, exit status 2."""


def data_dir_problem(path: Path, *, write: bool) -> str | None:
    """Why `path` cannot hold Earshot's store (None if it can). With `write`, the
    directory must be creatable and writable, which is tried (a directory made and
    removed: permission bits do not tell root, read-only mounts or /proc); without, a
    missing one is fine here (the caller decides what an absent store means)."""
    if path.exists() and not path.is_dir():
        return f"{DATA_ENV}={path} is a file, not a directory; point it at a directory"
    if not write:
        if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
            return f"{DATA_ENV}={path} cannot be read (permission denied)"
        return None
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return f"{DATA_ENV}={path} cannot be created: {existing} is a file, not a directory"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".earshot-probe-", dir=existing))
    except OSError as exc:
        where = "is not writable" if existing == path else f"cannot be created in {existing}"
        return (f"{DATA_ENV}={path} {where} ({exc.strerror or exc}); point it at a "
                "directory this user can write")
    return None


def open_data_store(settings: Settings, *, read_only: bool = False) -> Store:
    """The store in the settings' data directory. Raises UsageError when that place
    cannot hold a store, or (read-only) when there is no store there at all: an absent
    store must not look like a quiet day."""
    if database_url():  # the store is a PostgreSQL database; the directory is not used
        return open_store(settings.data_dir, read_only=read_only)
    path = settings.data_dir
    problem = data_dir_problem(path, write=not read_only)
    if problem:
        raise UsageError(problem)
    if read_only and not path.is_dir():
        raise UsageError(f"no store at {path} (set {DATA_ENV} to the data directory of "
                         "the running bot); nothing has been collected here")
    return open_store(path, read_only=read_only)


@contextmanager
def posting_turn() -> Iterator[bool]:
    """Whether this one-off command may post to Slack itself: always with TinyDB (the
    store lock already keeps it from running beside `serve`); on PostgreSQL only while no
    `serve` replica leads, since the leader posts everything queued."""
    url = database_url()
    if not url:
        yield True
        return
    from bot.store.postgres.leader import posting_turn as leader_turn

    with leader_turn(url) as mine:
        yield mine

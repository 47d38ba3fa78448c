"""Storage: the Store interface and its backends."""

from __future__ import annotations

import os

from bot.store.base import OutboxItem, Store

__all__ = ["OutboxItem", "Store", "open_store"]


def open_store(data_dir: str | os.PathLike[str]) -> Store:
    """Open the default (TinyDB) store under `data_dir`, creating it if needed."""
    from bot.store.tinydb_store import TinyDBStore

    return TinyDBStore.open(data_dir)

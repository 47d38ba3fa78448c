"""The store contract runs against both backends: `backend` is parametrized over the
embedded TinyDB store (a temporary directory) and PostgreSQL (a real server started by
the test session, see tests/pg_cluster.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.store.base import Store

BACKENDS = ["tinydb", "postgres"]


@dataclass
class Backend:
    name: str
    location: Path | str  # a data directory, or a database URL

    def open(self, *, read_only: bool = False, **tinydb_options: Any) -> Store:
        """Open (again) the same store; options only the TinyDB store knows are ignored
        by PostgreSQL."""
        if self.name == "tinydb":
            from bot.store.tinydb_store import TinyDBStore

            return TinyDBStore.open(self.location, read_only=read_only, **tinydb_options)
        from bot.store.postgres import PostgresStore

        return PostgresStore.open(str(self.location), read_only=read_only)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "tinydb":
        return Backend("tinydb", tmp_path / "data")
    return Backend("postgres", request.getfixturevalue("pg_url"))


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    s = backend.open()
    yield s
    s.close()

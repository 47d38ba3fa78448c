"""Fixtures for the summary tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.store import Store, open_store


@pytest.fixture
def new_store(tmp_path: Path) -> Iterator[Callable[[str], Store]]:
    """Opens real stores (TinyDB) in data directories under tmp_path, by name;
    every one is closed after the test."""
    opened: list[Store] = []

    def open_named(name: str) -> Store:
        opened.append(open_store(tmp_path / name))
        return opened[-1]

    try:
        yield open_named
    finally:
        for one in reversed(opened):
            one.close()


@pytest.fixture
def store(new_store: Callable[[str], Store]) -> Store:
    """The real store in tmp_path / "data" (where `helpers.settings` points
    EARSHOT_DATA), closed after the test."""
    return new_store("data")

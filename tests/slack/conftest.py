"""Fixtures for the Slack tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The real store (TinyDB) in a fresh data directory, closed after the test."""
    opened = open_store(tmp_path / "data")
    try:
        yield opened
    finally:
        opened.close()

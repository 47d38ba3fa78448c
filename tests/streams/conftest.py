"""Fixtures for the stream tests: stand-ins, settings pointing at them, a real store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.settings import Settings, load_settings
from bot.store import open_store
from tests.company import COMPANY_CONFIG
from tests.stream_standins import JetstreamStandIn, MastodonStreamStandIn

# Fast reconnects for tests: the real defaults wait 1 s, 2 s, ... 60 s.
FAST = {"backoff": 0.05, "max_backoff": 0.2, "open_timeout": 2.0}


@pytest.fixture
def jetstream() -> Iterator[JetstreamStandIn]:
    with JetstreamStandIn() as js:
        yield js


@pytest.fixture
def mastodon_stream() -> Iterator[MastodonStreamStandIn]:
    with MastodonStreamStandIn() as ms:
        yield ms


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[[str], Settings]:
    def make(sources: str, env: dict[str, str] | None = None) -> Settings:
        path = tmp_path / "earshot.toml"
        path.write_text(COMPANY_CONFIG + sources)
        return load_settings(path, env={"EARSHOT_DATA": str(tmp_path / "data"), **(env or {})})
    return make


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "data")
    yield s
    s.close()


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")

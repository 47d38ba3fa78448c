"""Fixtures for the publishing tests: the write stand-in and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, parse_settings
from tests.answers.standins import (
    BSKY_HANDLE,
    BSKY_PASSWORD,
    MASTODON_TOKEN,
    X_TOKEN,
    WriteStandIn,
)


@pytest.fixture
def writes() -> Iterator[WriteStandIn]:
    standin = WriteStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()


ENV = {"MASTODON_TOKEN": MASTODON_TOKEN, "BSKY_HANDLE": BSKY_HANDLE,
       "BSKY_PASSWORD": BSKY_PASSWORD, "X_BEARER": "x-app-bearer", "X_USER": X_TOKEN}


def source_tables(base: str) -> dict[str, Any]:
    """[sources.*] for the three writable sources, all pointing at the stand-in `base`."""
    return {
        "mastodon": {"base_url": base, "access_token_env": "MASTODON_TOKEN"},
        "bluesky": {"base_url": f"{base}/xrpc", "handle_env": "BSKY_HANDLE",
                    "app_password_env": "BSKY_PASSWORD"},
        "x": {"base_url": f"{base}/2", "bearer_token_env": "X_BEARER",
              "user_token_env": "X_USER"},
    }


def make_settings(tmp_path: Path, base: str, *, publish: bool = True,
                  publishers: tuple[str, ...] = ("UPUB",), groups: tuple[str, ...] = (),
                  slack_url: str = "http://127.0.0.1:9/api/",
                  env: dict[str, str] | None = None) -> Settings:
    raw = {
        "brand": {"name": "Acme", "terms": ["Acme"]},
        "sources": source_tables(base),
        "departments": {"support": {"channel": "CSUPPORT", "keywords": ["help"],
                                    "lead": "SSUPPORTLEAD"}},
        "routing": {"default": "support"},
        "escalation": {"channel": "CLEAD"},
        "summary": {"channel": "CDAILY"},
        "answer": {"publish": publish, "publishers": list(publishers),
                   "publisher_groups": list(groups)},
    }
    environ = {**ENV, "SLACK_API_URL": slack_url, "SLACK_BOT_TOKEN": "xoxb-test",
               "EARSHOT_DATA": str(tmp_path / "data"), **(env or {})}
    return parse_settings(raw, tmp_path / "earshot.toml", environ)

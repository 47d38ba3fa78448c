"""Shared builders for the Slack tests: settings, mentions, a clock that tests move."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.mention import Mention
from bot.settings import Settings, parse_settings

CHANNELS = {"support": "C0SUPPORT", "billing": "C0BILLING", "leadership": "C0ESCAL"}


def make_settings(departments: dict[str, str] | None = None) -> Settings:
    departments = departments or {"support": CHANNELS["support"], "billing": CHANNELS["billing"]}
    raw = {
        "brand": {"terms": ["Acme"]},
        "departments": {name: {"channel": ch, "keywords": [name]}
                        for name, ch in departments.items()},
        "routing": {"default": next(iter(departments))},
        "escalation": {"channel": CHANNELS["leadership"]},
        "summary": {"channel": "C0SUMMARY"},
    }
    return parse_settings(raw, Path("test.toml"), {"SLACK_BOT_TOKEN": "xoxb-test"})


def make_mention(n: int = 1, *, text: str = "Acme charged me twice, refund please",
                 department: str = "billing", **kw) -> Mention:
    fields = dict(
        source="hackernews", native_id=str(1000 + n), text=text,
        url=f"https://news.ycombinator.com/item?id={1000 + n}",
        created_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC), author=f"user{n}",
        sentiment=-0.62, complaint=True, department=department,
        reason="matched keywords: refund, charged",
    )
    fields.update(kw)
    return Mention(**fields)


class FakeClock:
    """Time that only moves when a test (or the outbox's injected sleep) moves it.
    Starts at the real time so message timestamps from the stand-in line up."""

    def __init__(self) -> None:
        self.t = time.time()
        self.slept: list[float] = []
        self.lock = threading.Lock()

    def now(self) -> datetime:
        with self.lock:
            return datetime.fromtimestamp(self.t, UTC)

    def time(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.t += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)

    def delta(self) -> timedelta:
        return timedelta(seconds=sum(self.slept))

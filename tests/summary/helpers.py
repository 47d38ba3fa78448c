"""Builders shared by the summary tests: settings from a real TOML file, mentions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.mention import Link, Mention, State
from bot.settings import Settings, load_settings

CONFIG = """
[brand]
name = "Acme"
terms = ["Acme", "@acme"]

[departments.support]
channel = "#support"
keywords = ["hold", "service"]

[departments.baggage]
channel = "#baggage"
keywords = ["bag", "luggage"]

[routing]
default = "support"

[escalation]
channel = "#leadership"
lead = "S0LEADERS"

[summary]
channel = "#daily"
time = "{time}"
timezone = "{timezone}"
spike_multiple = 3.0
spike_min_count = 5
"""


def write_config(tmp_path: Path, *, time: str = "09:00", timezone: str = "UTC") -> Path:
    path = tmp_path / "earshot.toml"
    path.write_text(CONFIG.format(time=time, timezone=timezone), encoding="utf-8")
    return path


def settings(tmp_path: Path, *, slack_url: str | None = None, **kwargs: Any) -> Settings:
    env = {"EARSHOT_DATA": str(tmp_path / "data")}
    if slack_url:
        env.update(SLACK_API_URL=slack_url, SLACK_BOT_TOKEN="xoxb-test")
    return load_settings(write_config(tmp_path, **kwargs), env=env)


_counter = iter(range(1, 10**9))


def mention(text: str, at: datetime, *, complaint: bool = True, department: str = "support",
            source: str = "mastodon", sentiment: float | None = None,
            state: State = State.NEW, links: int = 1, number: int | None = None,
            permalink: str | None = None) -> Mention:
    n = next(_counter)
    m = Mention(
        source=source, native_id=str(n), text=text, url=f"https://social.example/{n}",
        created_at=at, complaint=complaint, department=department,
        sentiment=(-0.6 if complaint else 0.1) if sentiment is None else sentiment,
        state=state, number=number if number is not None else n,
        links=[Link("reddit", f"https://reddit.example/{n}/{i}") for i in range(links - 1)],
    )
    if permalink:
        m.extra["permalink"] = permalink
    return m

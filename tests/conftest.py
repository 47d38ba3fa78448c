"""Fixtures shared by every test package. Keep this small and generic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.slack_standin import SlackStandIn


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A running stand-in for Slack's Web API; `slack.url` is the base URL (ends in /api/).

    Configure it in the test (e.g. `slack.rate_per_second = 20`, `slack.channels[...]`,
    `slack.users[...]`, `slack.fail_next("chat.postMessage", status=500)`).
    """
    standin = SlackStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()

"""The `earshot` fixture: the real app over real HTTP against the Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import EarshotHarness, start_harness
from tests.slack_standin import SlackStandIn


@pytest.fixture
def earshot(slack: SlackStandIn, tmp_path: Path) -> Iterator[EarshotHarness]:
    harness = start_harness(slack, tmp_path)
    try:
        yield harness
    finally:
        harness.stop()

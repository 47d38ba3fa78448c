"""Fixtures for the hostile-input tests: a misbehaving source API and a config for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import earshot  # noqa: F401 - the real app over HTTP
from tests.hostile.standin import SourceStandIn


@pytest.fixture
def api() -> Iterator[SourceStandIn]:
    stand_in = SourceStandIn()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def write_config(tmp_path: Path, sources: str) -> Path:
    """A config with the brand "Acme", two departments and the given [sources.*] tables."""
    path = tmp_path / "earshot.toml"
    path.write_text(f"""
[brand]
terms = ["Acme"]
{sources}
[departments.support]
channel = "C1"
keywords = ["support", "ticket", "refund"]
[departments.engineering]
channel = "C2"
keywords = ["outage", "bug", "crash"]
[routing]
default = "support"
[escalation]
channel = "C9"
[summary]
channel = "C8"
""")
    return path

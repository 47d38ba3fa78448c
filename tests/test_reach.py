"""bot.reach: parsing, bands and labels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.mention import Mention
from bot.reach import Reach, band_of, label, make, reach_of, set_reach


@pytest.mark.parametrize("value, expected", [
    (0, 0), (57, 57), ("1204", 1204), (3.0, 3),
    (None, None), (-1, None), (True, None), ("many", None), (2.5, None)])
def test_only_real_counts_are_recorded(value, expected):
    entry = make(value, "followers")
    assert (entry["count"] if entry else None) == expected


def test_unknown_reach_is_absent_not_zero():
    m = Mention("x", "1", "t", "u", datetime(2026, 1, 1, tzinfo=UTC))
    set_reach(m.extra, None, "followers")
    assert "reach" not in m.extra and reach_of(m) is None
    set_reach(m.extra, 0, "followers")
    assert reach_of(m) == Reach(0, "followers")  # a real zero is known


def test_garbled_stored_reach_reads_as_unknown():
    m = Mention("x", "1", "t", "u", datetime(2026, 1, 1, tzinfo=UTC),
                extra={"reach": {"count": "lots", "kind": "followers"}})
    assert reach_of(m) is None
    m.extra["reach"] = {"count": 5, "kind": "fans"}
    assert reach_of(m) is None


@pytest.mark.parametrize("count, band", [
    (0, "< 100"), (99, "< 100"), (100, "100–10k"), (10_000, "100–10k"), (10_001, "> 10k")])
def test_bands(count, band):
    assert band_of(count) == band


def test_labels():
    assert label(Reach(1, "followers")) == "1 follower"
    assert label(Reach(1234, "followers")) == "1.2k followers"
    assert label(Reach(34_567, "karma")) == "34k karma"
    assert label(Reach(2_500_000, "followers")) == "2.5M followers"
    assert label(None) == ""

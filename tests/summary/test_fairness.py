"""Time to first answer by reach band, and the warning when loud accounts are answered
more than twice as fast as quiet ones. The right answers are written out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.mention import Event
from bot.summary.fairness import fairness
from bot.summary.jobs import report_for_window
from bot.summary.render import to_json, to_slack, to_text
from tests.summary.helpers import mention, settings

END = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def posted_answered(rows):
    """rows: (reach or None, minutes to answer or None, days before END) ->
    mentions and their posted/answered events."""
    mentions, events = [], []
    for i, (count, minutes, days) in enumerate(rows):
        at = END - timedelta(days=days, hours=1, minutes=i)
        m = mention("Acme lost my bag", at)
        if count is not None:
            m.extra["reach"] = {"count": count, "kind": "followers"}
        mentions.append(m)
        events.append(Event(m.key, "posted", at + timedelta(seconds=5)))
        if minutes is not None:
            events.append(Event(m.key, "answered", at + timedelta(seconds=5, minutes=minutes),
                                user="U1"))
    events.sort(key=lambda e: e.at)
    return mentions, events


SKEWED = [
    # quiet (< 100): answered after 60, 120, 180 minutes, one never -> median 120 m
    (3, 60, 1), (40, 120, 2), (99, 180, 3), (12, None, 1),
    # middle (100–10k): two answers only -> shown, not compared
    (100, 30, 1), (5_000, 50, 2),
    # loud (> 10k): 5, 10, 15 minutes -> median 10 m
    (10_001, 5, 1), (50_000, 10, 4), (2_000_000, 15, 6),
    # unknown reach: counted apart, never as quiet
    (None, 500, 1), (None, None, 2),
    # older than 7 days: left out
    (5, 9_000, 8),
]


def test_skewed_week_warns_with_the_right_medians():
    mentions, events = posted_answered(SKEWED)
    f = fairness(mentions, events, END)
    quiet, middle, loud = f.bands
    assert (quiet.name, quiet.mentions, quiet.answered, quiet.median_seconds) == (
        "< 100", 4, 3, 120 * 60)
    assert (middle.mentions, middle.answered, middle.median_seconds) == (2, 2, 40 * 60)
    assert (loud.name, loud.mentions, loud.answered, loud.median_seconds) == (
        "> 10k", 3, 3, 10 * 60)
    assert f.unknown == 2
    assert (f.quiet, f.loud) == ("< 100", "> 10k")
    assert f.ratio == 12.0 and f.warning


def test_even_week_does_not_warn():
    rows = [(3, 20, 1), (40, 30, 2), (99, 40, 3),
            (20_000, 15, 1), (30_000, 20, 2), (40_000, 25, 3)]
    f = fairness(*posted_answered(rows), END)
    assert f.ratio == 1.5 and not f.warning


def test_exactly_twice_as_fast_is_not_more_than_twice():
    rows = [(3, 20, 1), (40, 20, 2), (99, 20, 3),
            (20_000, 10, 1), (30_000, 10, 2), (40_000, 10, 3)]
    f = fairness(*posted_answered(rows), END)
    assert f.ratio == 2.0 and not f.warning


def test_too_few_answers_in_a_band_compare_nothing():
    rows = [(3, 600, 1), (40, 600, 2), (20_000, 1, 1), (30_000, 1, 2)]
    f = fairness(*posted_answered(rows), END)
    assert f.ratio is None and not f.warning


def test_the_summary_shows_the_bands_and_the_warning(tmp_path, store):
    cfg = settings(tmp_path)
    mentions, events = posted_answered(SKEWED)
    for m in mentions:
        store.add_mention(m)
    by_native = {m.key: m for m in mentions}
    for ev in events:
        store.add_event(ev)
    assert len(by_native) == len(SKEWED)
    report = report_for_window(cfg, store, END - timedelta(days=1), END, "test")
    text = to_text(report)
    assert "< 100: 2h 00m (3 of 4 answered)" in text
    assert "> 10k: 10m (3 of 3 answered)" in text
    assert "2 more of unknown reach" in text
    assert "answered 12.0× as fast as those with < 100" in text
    slack = "\n".join(b["text"]["text"] for b in to_slack(report)["blocks"]
                      if b.get("text") and b["type"] == "section")
    assert ":warning: accounts with &gt; 10k followers" in slack
    data = to_json(report)["fairness"]
    assert data["warning"] is True and data["ratio"] == 12.0

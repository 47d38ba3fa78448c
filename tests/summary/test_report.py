"""The report's numbers on a small hand-made history, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.mention import Event, State
from bot.summary.render import to_json, to_text
from bot.summary.report import build_report, day_window, median, percentile
from tests.summary.helpers import mention

DAY = datetime(2026, 3, 10, tzinfo=UTC)  # the reported day starts here (UTC)

BAG = "My bag was lost on the way to Denver and nobody knows where it is"
HOLD = "I have been on hold with Acme for two hours now"
REFUND = "Still no refund from Acme after three weeks of asking"


def history():
    """(mentions, events) of the reported day plus the week before."""
    at = DAY + timedelta(hours=8)
    day = [
        *[mention(BAG, at + timedelta(minutes=i), department="baggage") for i in range(4)],
        *[mention(HOLD, at + timedelta(minutes=10 + i)) for i in range(3)],
        *[mention(REFUND, at + timedelta(minutes=20 + i)) for i in range(2)],
        mention("Acme crew were lovely today, thanks!", at, complaint=False, sentiment=0.8,
                links=3, source="bluesky"),
        mention("Acme has a nice app", at, complaint=False, sentiment=0.5, links=1,
                source="bluesky"),
        mention("Acme is announcing something at noon", at, complaint=False, sentiment=0.0,
                source="hackernews"),
    ]
    before = [
        # The day before: 2 bags, 1 hold.
        *[mention(BAG, DAY - timedelta(hours=5, minutes=i), department="baggage")
          for i in range(2)],
        mention(HOLD, DAY - timedelta(hours=3)),
        # Five days before: 5 more hold complaints (the week: 6 hold, 2 bags, 0 refund).
        *[mention(HOLD, DAY - timedelta(days=5, minutes=i)) for i in range(5)],
        # Older than the week: ignored everywhere.
        *[mention(REFUND, DAY - timedelta(days=9, minutes=i)) for i in range(4)],
    ]
    # Response times in support: claimed after 60, 120, 300, 600 s; one answered after 1 h.
    events = []
    support_day = [m for m in day if m.department == "support" and m.complaint]
    for m, claim_after in zip(support_day, (60, 120, 300, 600), strict=False):
        posted = m.created_at + timedelta(seconds=30)
        events.append(Event(m.key, "posted", posted, data={"channel": "C1", "ts": "1.0"}))
        events.append(Event(m.key, "claimed", posted + timedelta(seconds=claim_after), "U1"))
        # A second claim (after a release) must not count as the time to claim.
        events.append(Event(m.key, "claimed", posted + timedelta(seconds=5000), "U2"))
        m.state = State.CLAIMED
    first = support_day[0]
    events.append(Event(first.key, "answered", events[0].at + timedelta(hours=1), "U1",
                        data={"text": "sorry", "published": False, "url": None}))
    first.state = State.ANSWERED
    support_day[1].state = State.ESCALATED
    events.sort(key=lambda e: e.at)
    return day + before, events


def build(mentions, events):
    return build_report(mentions, events, start=DAY, end=DAY + timedelta(days=1),
                        title="Tuesday", departments=["support", "baggage"],
                        brand_words=["Acme", "@acme"])


def test_volume_by_source_and_share_of_complaints():
    report = build(*history())
    assert report.total == 12
    assert report.complaints == 9
    assert report.by_source == {"mastodon": 9, "bluesky": 2, "hackernews": 1}
    assert report.complaint_share == pytest.approx(0.75)
    assert not report.quiet
    assert "By source: Mastodon 9, Bluesky 2, Hacker News 1" in to_text(report)


def test_themes_counted_with_deltas_against_yesterday_and_week():
    report = build(*history())
    themes = {t.key: t for t in report.themes}
    assert [t.count for t in report.themes] == [4, 3, 2]
    bags, hold, refund = themes["bags"], themes["hold"], themes["refund"]
    assert bags.name == "lost or delayed bags" and bags.department == "baggage"
    assert (bags.count, bags.yesterday, bags.week_avg) == (4, 2, pytest.approx(2 / 7))
    assert bags.change_vs_yesterday == 2
    assert (hold.count, hold.yesterday, hold.week_avg) == (3, 1, pytest.approx(6 / 7))
    assert hold.department == "support"
    # Refund complaints 9 days ago are outside the week: the theme is new.
    assert refund.week_avg == 0 and refund.new
    assert [t.name for t in report.new_themes] == [refund.name]
    assert not bags.new and not hold.new


def test_each_theme_has_two_linked_examples_from_its_posts():
    mentions, events = history()
    report = build(mentions, events)
    by_key = {m.key: m for m in mentions}
    for theme in report.themes:
        assert len(theme.examples) == 2
        for ex in theme.examples:
            assert ex.key in theme.ids
            assert ex.url == by_key[ex.key].url and ex.short_id.startswith("E-")


def test_example_links_to_the_slack_message_when_posted():
    m = mention(BAG, DAY + timedelta(hours=1), permalink="https://acme.slack.com/archives/C1/p1")
    report = build([m], [])
    assert report.themes[0].examples[0].url == "https://acme.slack.com/archives/C1/p1"


def test_department_response_times_median_and_p90_from_events():
    report = build(*history())
    support = next(d for d in report.departments if d.name == "support")
    # 5 complaints and the 3 non-complaints (routed to the default, support).
    assert support.mentions == 8 and support.complaints == 5
    # Claimed/answered/escalated ones are not unclaimed: the 5th complaint and the 3 are.
    assert support.unclaimed == 4
    assert support.claim_median == pytest.approx((120 + 300) / 2)
    assert support.claim_p90 == 600
    assert support.answer_median == 3600 and support.answer_p90 == 3600
    assert support.open_escalations == 1
    baggage = next(d for d in report.departments if d.name == "baggage")
    assert (baggage.mentions, baggage.unclaimed, baggage.claim_median) == (4, 4, None)


def test_most_shared_positive_mention_has_most_links():
    report = build(*history())
    assert report.top_positive is not None
    assert report.top_positive.text.startswith("Acme crew were lovely")
    assert report.top_positive.links == 3


def test_quiet_day_says_so():
    quiet = [mention(HOLD, DAY + timedelta(hours=2)),
             mention("Acme is fine", DAY + timedelta(hours=3), complaint=False)]
    report = build(quiet, [])
    assert report.quiet
    assert "Quiet day: only 1 complaint." in to_text(report)
    empty = build([], [])
    assert empty.quiet and empty.themes == [] and "no complaints" in to_text(empty)


def test_without_earlier_days_nothing_is_called_new():
    report = build([mention(BAG, DAY + timedelta(hours=1)) for _ in range(3)], [])
    assert report.themes and not report.themes[0].new
    assert report.new_themes == []


def test_json_lists_each_theme_with_its_post_ids():
    mentions, events = history()
    data = to_json(build(mentions, events))
    bags = next(t for t in data["themes"] if t["key"] == "bags")
    expected = sorted(m.key for m in mentions
                      if m.text == BAG and DAY <= m.created_at < DAY + timedelta(days=1))
    assert sorted(bags["ids"]) == expected
    assert bags["count"] == 4 and bags["department"] == "baggage"
    assert data["new_themes"] == ["refund not received"]


def test_percentile_is_nearest_rank_and_median_averages_the_middle():
    values = [10, 1, 7, 3, 5, 9, 2, 8, 4, 6]
    assert percentile(values, 90) == 9
    assert percentile(values, 100) == 10
    assert percentile([42], 90) == 42
    assert percentile([], 90) is None
    assert median(values) == 5.5
    assert median([3, 1, 2]) == 2


def test_day_window_follows_the_local_calendar_day_across_dst():
    start, end = day_window(date(2026, 3, 29), "Europe/Berlin")  # clocks go forward
    assert start == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert end - start == timedelta(hours=23)
    start, end = day_window(date(2026, 10, 25), "Europe/Berlin")  # clocks go back
    assert end - start == timedelta(hours=25)


def test_yesterday_is_the_previous_local_day_across_dst():
    """Berlin's 29 March 2026 has 23 hours: the day before the 30th starts at 23:00 UTC
    on the 28th, not 24 hours before the 30th (which is still the 28th locally)."""
    start, end = day_window(date(2026, 3, 30), "Europe/Berlin")
    y_start, _ = day_window(date(2026, 3, 29), "Europe/Berlin")
    assert start - y_start == timedelta(hours=23)
    mentions = [
        mention(BAG, start + timedelta(hours=2), department="baggage"),
        mention(BAG, start + timedelta(hours=3), department="baggage"),
        # 23:30 local on the 28th: two days before, not "yesterday".
        mention(BAG, y_start - timedelta(minutes=30), department="baggage"),
    ]
    report = build_report(mentions, [], start=start, end=end, timezone="Europe/Berlin",
                          departments=["support", "baggage"], brand_words=["Acme"])
    (bags,) = [t for t in report.themes if t.count == 2]
    assert bags.yesterday == 0

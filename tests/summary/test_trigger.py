"""The daily summary's cron trigger fires at the configured local time, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.summary.jobs import daily_summary_trigger
from tests.summary.helpers import settings


def fire_times(trigger, after: datetime, count: int) -> list[datetime]:
    out, previous, now = [], None, after
    for _ in range(count):
        nxt = trigger.get_next_fire_time(previous, now)
        out.append(nxt)
        previous, now = nxt, nxt + timedelta(seconds=1)
    return out


@pytest.mark.parametrize(("timezone", "start", "utc_hours"), [
    # Berlin springs forward on 29 March 2026: 09:00 on the 28th is 08:00 UTC, from the
    # 29th on 07:00 UTC.
    ("Europe/Berlin", datetime(2026, 3, 27, 12, tzinfo=UTC), [8, 7, 7, 7]),
    # ... and falls back on 25 October 2026: 07:00 UTC on the 24th, then 08:00 UTC.
    ("Europe/Berlin", datetime(2026, 10, 23, 12, tzinfo=UTC), [7, 8, 8, 8]),
    # New York springs forward on 8 March 2026: 14:00 UTC on the 7th, then 13:00 UTC.
    ("America/New_York", datetime(2026, 3, 6, 18, tzinfo=UTC), [14, 13, 13, 13]),
    # ... and falls back on 1 November 2026: 13:00 UTC on 31 October, then 14:00 UTC.
    ("America/New_York", datetime(2026, 10, 30, 18, tzinfo=UTC), [13, 14, 14, 14]),
])
def test_fires_daily_at_local_time_across_dst(tmp_path, timezone, start, utc_hours):
    trigger = daily_summary_trigger(settings(tmp_path, time="09:00", timezone=timezone))
    times = fire_times(trigger, start, 4)
    local = [t.astimezone(ZoneInfo(timezone)) for t in times]
    assert [(t.hour, t.minute) for t in local] == [(9, 0)] * 4
    assert [t.astimezone(UTC).hour for t in times] == utc_hours
    days = [t.date() for t in local]
    assert days[0] == start.date() + timedelta(days=1)  # the next day, none skipped
    assert all((b - a).days == 1 for a, b in zip(days, days[1:], strict=False))


def test_fires_every_day_of_the_week_including_sunday(tmp_path):
    trigger = daily_summary_trigger(settings(tmp_path, time="18:30", timezone="UTC"))
    times = fire_times(trigger, datetime(2026, 3, 2, tzinfo=UTC), 7)  # a Monday
    assert sorted(t.weekday() for t in times) == list(range(7))
    assert all((t.hour, t.minute) == (18, 30) for t in times)

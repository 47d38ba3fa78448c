"""The scheduler: one job per enabled source on its own interval, plus the Slack jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.scheduler import build_scheduler
from bot.settings import load_settings
from bot.store import open_store

CONFIG = """
[brand]
terms = ["Acme"]
[sources.hackernews]
interval_minutes = 7
[sources.lobsters]
interval_minutes = 20
[sources.reddit]
enabled = false
[departments.support]
channel = "C1"
[routing]
default = "support"
[escalation]
channel = "C9"
[summary]
channel = "C8"
time = "08:30"
timezone = "America/New_York"
"""

NOW = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # the day before US daylight saving starts


class NullOutbox:
    def post_mention(self, mention) -> None: ...

    def refresh(self, key) -> None: ...

    def message(self, *args, **kwargs) -> None: ...


def jobs_of(scheduler) -> dict:
    # Jobs added to an unstarted scheduler wait in its pending list.
    return {job.id: job for job, *_ in scheduler._pending_jobs}


def make(tmp_path, **kwargs):
    path = tmp_path / "earshot.toml"
    path.write_text(CONFIG)
    settings = load_settings(path, env={})
    store = open_store(tmp_path / "data")
    scheduler = build_scheduler(settings, store, scheduler=BackgroundScheduler(timezone="UTC"),
                                clock=lambda: NOW, **kwargs)
    return scheduler, store


def test_each_enabled_source_polls_on_its_own_interval(tmp_path):
    scheduler, store = make(tmp_path)
    jobs = jobs_of(scheduler)
    assert set(jobs) == {"poll:hackernews", "poll:lobsters", "store:retention"}  # no Slack
    assert jobs["poll:hackernews"].trigger.interval == timedelta(minutes=7)
    assert jobs["poll:lobsters"].trigger.interval == timedelta(minutes=20)
    assert jobs["poll:hackernews"].max_instances == 1
    store.close()


def test_with_slack_the_summary_spike_and_reminder_jobs_are_added(tmp_path):
    scheduler, store = make(tmp_path, outbox=NullOutbox(), services=object())
    jobs = jobs_of(scheduler)
    assert {"summary:daily", "spike:check", "escalation:reminders", "moves:notices"} <= set(jobs)
    trigger = jobs["summary:daily"].trigger
    first = trigger.get_next_fire_time(None, NOW)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    # 08:30 New York time on both sides of the daylight-saving change (13:30, then 12:30 UTC).
    assert (first.hour, first.minute, second.hour) == (8, 30, 8)
    assert first.astimezone(UTC).hour == 13 and second.astimezone(UTC).hour == 12
    store.close()


def test_poll_only_leaves_out_the_slack_jobs(tmp_path):
    scheduler, store = make(tmp_path, outbox=NullOutbox(), poll_only=True)
    assert set(jobs_of(scheduler)) == {"poll:hackernews", "poll:lobsters", "store:retention"}
    store.close()


def test_the_chart_upload_and_the_habit_dms_are_checked_every_minute(tmp_path):
    path = tmp_path / "earshot.toml"
    path.write_text(CONFIG + '[habit]\npeople = ["U0LEADER"]\n')
    settings = load_settings(path, env={})
    store = open_store(tmp_path / "data")
    outbox = NullOutbox()
    outbox.client = object()  # an outbox that can reach Slack
    scheduler = build_scheduler(settings, store, outbox, services=object(),
                                scheduler=BackgroundScheduler(timezone="UTC"),
                                clock=lambda: NOW)
    jobs = jobs_of(scheduler)
    assert jobs["summary:chart"].trigger.interval == timedelta(minutes=1)
    assert jobs["habit:dms"].trigger.interval == timedelta(minutes=1)
    # Without [habit] people there is no habit job.
    (tmp_path / "plain").mkdir()
    plain, other = make(tmp_path / "plain", outbox=outbox, services=object())
    assert "habit:dms" not in jobs_of(plain) and "summary:chart" in jobs_of(plain)
    other.close()
    store.close()


def test_retention_runs_daily_with_the_configured_keep_days(tmp_path):
    scheduler, store = make(tmp_path)
    try:
        job = jobs_of(scheduler)["store:retention"]
        assert job.args[2:] == (store, 180)
        fire = job.trigger.get_next_fire_time(None, NOW)
        assert fire.hour == 3 and job.trigger.get_next_fire_time(fire, fire) - fire == \
            timedelta(days=1)
    finally:
        store.close()

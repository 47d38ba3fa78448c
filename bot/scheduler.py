"""The one place the APScheduler scheduler is built (exactly one scheduler process).

Jobs: one poll job per enabled source on its own interval, the daily summary at the
configured local time, the spike check, escalation reminders, and the daily retention
job (bot.store.retention). Every job has an
explicit id and replace_existing=True; an overrunning job skips its next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.ingest.pipeline import Pipeline
from bot.ingest.polling import SourcePoller
from bot.judgment.judge import Judge
from bot.mention import utcnow
from bot.settings import Settings
from bot.slack.ports import Outbound
from bot.sources import build_source
from bot.store.base import Store, StoreUnavailableError

log = logging.getLogger(__name__)

SPIKE_CHECK_MINUTES = 5
REMINDER_CHECK_MINUTES = 1
HABIT_CHECK_MINUTES = 1
CHART_CHECK_MINUTES = 1
RETENTION_HOUR = 3  # UTC, away from the usual summary times


def build_pollers(
    settings: Settings,
    store: Store,
    poster: Outbound | None,
    *,
    session: requests.Session | None = None,
    clock: Callable[[], datetime] = utcnow,
    pipeline: Pipeline | None = None,
    judge: Judge | None = None,
) -> list[SourcePoller]:
    """A poller per enabled source, sharing one pipeline (and so one judge); pass
    `pipeline` to share it with the streams too."""
    pipeline = pipeline or Pipeline(settings, store, poster=poster, clock=clock, judge=judge)
    pollers = []
    for src in settings.enabled_sources():
        source = build_source(src, settings.brand, session=session, clock=clock)
        pollers.append(SourcePoller(source, store, pipeline, clock=clock,
                                    interval=timedelta(minutes=src.interval_minutes)))
    return pollers


def build_scheduler(
    settings: Settings,
    store: Store,
    outbox: Any = None,
    *,
    services: Any = None,
    poll_only: bool = False,
    scheduler: BaseScheduler | None = None,
    clock: Callable[[], datetime] = utcnow,
    session: requests.Session | None = None,
    pipeline: Pipeline | None = None,
    judge: Judge | None = None,
) -> BaseScheduler:
    """Add Earshot's jobs to `scheduler` (a new BackgroundScheduler by default), unstarted.

    Without an outbox (no Slack configured) only the poll jobs are added: mentions are
    stored and queued, and post once the bot runs with Slack. Escalation reminders need
    the Slack `services` (bot.slack.services.Services).
    """
    # Long because it lists every scheduled job with its trigger; each job is a plain
    # function elsewhere.
    scheduler = scheduler or BackgroundScheduler(timezone="UTC")
    defaults = {"replace_existing": True, "coalesce": True, "max_instances": 1}
    for poller in build_pollers(settings, store, outbox, session=session, clock=clock,
                                pipeline=pipeline, judge=judge):
        scheduler.add_job(
            poller.poll, IntervalTrigger(seconds=poller.interval.total_seconds()),
            id=f"poll:{poller.name}", name=f"poll {poller.name}",
            next_run_time=clock(), misfire_grace_time=60, **defaults)
    scheduler.add_job(
        _call_with_now, CronTrigger(hour=RETENTION_HOUR, minute=17, timezone="UTC"),
        args=[_prune, clock, store, settings.store.keep_days],
        id="store:retention", name="store retention", misfire_grace_time=6 * 3600,
        **defaults)
    if outbox is None or poll_only:
        return scheduler

    from bot import workflow
    from bot.summary import jobs as summary_jobs

    scheduler.add_job(
        _call_with_now, summary_jobs.daily_summary_trigger(settings),
        args=[summary_jobs.post_daily_summary, clock, settings, store, outbox],
        id="summary:daily",
        name="daily summary", misfire_grace_time=3600, **defaults)
    scheduler.add_job(
        _call_with_now, IntervalTrigger(minutes=SPIKE_CHECK_MINUTES),
        args=[summary_jobs.check_spike, clock, settings, store, outbox],
        id="spike:check", name="spike check", misfire_grace_time=60, **defaults)
    if services is not None:
        scheduler.add_job(
            _call_with_now, IntervalTrigger(minutes=REMINDER_CHECK_MINUTES),
            args=[workflow.remind_stale_escalations, clock, services],
            id="escalation:reminders", name="escalation reminders",
            misfire_grace_time=60, **defaults)
        from bot import corrections

        # A move's notice that a crash cut short is queued again (a no-op otherwise).
        scheduler.add_job(
            corrections.queue_missing_notices, IntervalTrigger(minutes=REMINDER_CHECK_MINUTES),
            args=[services], id="moves:notices", name="move notices",
            misfire_grace_time=60, **defaults)
    _add_leader_jobs(scheduler, settings, store, outbox, services, clock, defaults)
    return scheduler


def _add_leader_jobs(scheduler: BaseScheduler, settings: Settings, store: Store,
                     outbox: Any, services: Any, clock: Callable[[], datetime],
                     defaults: dict[str, Any]) -> None:
    """The summary chart's upload and the leaders' daily DMs, each checked every minute."""
    client = getattr(outbox, "client", None)
    if client is not None:
        from bot.summary import chart_post

        # The summary's chart follows it into its thread once the outbox has posted it.
        scheduler.add_job(
            _call_with_now, IntervalTrigger(minutes=CHART_CHECK_MINUTES),
            args=[chart_post.upload_pending, clock, store, client], id="summary:chart",
            name="summary chart", misfire_grace_time=60, **defaults)
    if services is not None and settings.habit is not None and settings.habit.enabled:
        from bot.habit.job import habit_tick

        # Every minute: each leader's DM goes out at their own local time.
        scheduler.add_job(
            _call_with_now, IntervalTrigger(minutes=HABIT_CHECK_MINUTES),
            args=[habit_tick, clock, services], id="habit:dms", name="leaders' daily DMs",
            misfire_grace_time=60, **defaults)


def _prune(store: Store, keep_days: int, *, now: datetime) -> Any:
    from bot.resolution import forget_answers
    from bot.store.retention import prune

    return prune(store, keep_days, now, on_delete=forget_answers)


def _call_with_now(job: Callable[..., Any], clock: Callable[[], datetime], *args: Any) -> Any:
    try:
        return job(*args, now=clock())
    except StoreUnavailableError as exc:  # the store logs the outage once; next run retries
        log.debug("job %s skipped: %s", getattr(job, "__name__", job), exc)
        return None

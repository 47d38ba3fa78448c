"""The scheduled jobs of the summary part, as plain functions (the scheduler only calls
them): the daily summary, the spike check, and the daily summary's cron trigger.

Side effects stay here: reading the store and queueing through the outbox.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot import mrkdwn, resolution
from bot.mention import parse_time
from bot.mrkdwn import escape_mrkdwn, fit_lines
from bot.settings import Settings
from bot.slack.ports import Outbound
from bot.store.base import Store
from bot.summary import chart as charts
from bot.summary import chart_post, fairness, routing_health
from bot.summary import spike as spikes
from bot.summary.render import example_line, to_slack
from bot.summary.report import WEEK, Report, build_report, day_window

log = logging.getLogger(__name__)

SPIKE_META = "spike:state"
BASELINE_META = "spike:baseline"
# Day names, not numbers: APScheduler counts weekdays from Monday = 0, cron from Sunday.
EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"


def daily_summary_trigger(settings: Settings) -> CronTrigger:
    """Fires every day at `[summary] time` in `[summary] timezone`, following its
    daylight-saving changes (09:00 stays 09:00 local)."""
    at = settings.summary.time
    return CronTrigger(day_of_week=EVERY_DAY, hour=at.hour, minute=at.minute,
                       timezone=ZoneInfo(settings.summary.timezone))


def brand_words(settings: Settings) -> list[str]:
    """Words that name the brand itself, so they never become a complaint theme."""
    return [*settings.brand.terms, *settings.brand.own_accounts, settings.brand.name]


def report_for_window(settings: Settings, store: Store, start: datetime, end: datetime,
                      title: str, *, chart: bool = False) -> Report:
    """Read the store once (mentions and events since 7 days before `start`; 14 days
    before `end` with `chart`) and build the report for [start, end); with `chart`,
    `report.chart` holds the 14-day series of its top themes. The routing figures read
    the two weeks before `end` (bot.summary.routing_health.read_store)."""
    since = start - timedelta(days=WEEK)
    if chart:
        since = min(since, end - timedelta(days=charts.DAYS))
    since = min(since, end - fairness.WINDOW)
    events_since = min(start, end - fairness.WINDOW)
    # One read for every part (the routing figures look two weeks back by arrival); the
    # day's margin keeps a post whose source clock ran ahead of ours (fetched_at a little
    # before created_at) in the created_at window.
    routing_since = end - routing_health.SPAN
    arrived = store.arrived_since(min(since, routing_since) - timedelta(days=1))
    mentions = [m for m in arrived if m.created_at >= since]
    all_events = store.events(since=min(events_since, routing_since))
    events = [e for e in all_events if e.at >= events_since]
    report = build_report(
        mentions, events, start=start, end=end, timezone=settings.summary.timezone,
        title=title, departments=list(settings.departments),
        brand_words=brand_words(settings))
    report.fairness = fairness.fairness(mentions, events, end)
    report.resolution = resolution.resolution_for(store, end,
                                                  settings.summary.resolution_days)
    report.routing = routing_health.from_read(store, arrived, all_events, end,
                                              list(settings.departments))
    if chart:
        report.chart = charts.theme_series(report, mentions)
    return report


def report_for_day(settings: Settings, store: Store, day: date, *, chart: bool = False
                   ) -> Report:
    """The report for a calendar day in the configured time zone."""
    start, end = day_window(day, settings.summary.timezone)
    return report_for_window(settings, store, start, end, day_title(day), chart=chart)


def day_title(day: date) -> str:
    """"Tuesday 10 March 2026" (without the platform-specific %-d)."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def report_last_24h(settings: Settings, store: Store, now: datetime, *, chart: bool = False
                    ) -> Report:
    local = now.astimezone(ZoneInfo(settings.summary.timezone))
    title = f"24 hours to {local:%a} {local.day} {local:%b %H:%M}"
    return report_for_window(settings, store, now - timedelta(days=1), now, title,
                             chart=chart)


def post_daily_summary(settings: Settings, store: Store, outbox: Outbound, now: datetime,
                       *, item_id: str | None = None) -> Report:
    """Build the summary of the 24 hours before `now` and queue it for the summary
    channel. By default queued once per local day (a rerun after a restart is a no-op);
    pass another `item_id` to post again (the `--post` command does). Its chart is
    queued to follow into the summary's thread once the summary is posted
    (bot.summary.chart_post.upload_pending); without it the summary stands alone."""
    report = report_last_24h(settings, store, now, chart=True)
    message = to_slack(report)
    local_day = now.astimezone(ZoneInfo(settings.summary.timezone)).date()
    item_id = item_id or f"summary:{local_day.isoformat()}"
    outbox.message(settings.summary.channel, message["text"], blocks=message["blocks"],
                   item_id=item_id)
    _wake(outbox)
    log.info("daily summary queued: %d mentions, %d complaints, %d themes",
             report.total, report.complaints, len(report.themes))
    if report.chart is not None and not report.chart.empty:
        chart_post.queue_chart(store, item_id, report.chart, local_day.isoformat(), now)
    return report


def check_spike(settings: Settings, store: Store, outbox: Outbound, now: datetime
                ) -> spikes.Spike | None:
    """Alert the escalation channel once per complaint spike. Returns the spike alerted
    now, if any."""
    found = spikes.detect(
        store.iter_mentions(since=now - spikes.WINDOW), now, _usual_rate(store, now),
        multiple=settings.summary.spike_multiple,
        min_count=settings.summary.spike_min_count, brand_words=brand_words(settings))
    decision: dict[str, bool] = {}

    def change(old: Any) -> dict:
        state, alert = spikes.next_state(old, found, now)
        decision["alert"] = alert
        return state

    state = store.update_meta(SPIKE_META, change)
    if not decision.get("alert") or found is None:
        return None
    text, blocks = spike_message(found, settings.escalation.lead)
    outbox.message(settings.escalation.channel, text, blocks=blocks,
                   item_id=f"spike:{state['alerted_at']}")
    _wake(outbox)
    log.warning("complaint spike: %d in the last hour (usual %.1f/hour)", found.count,
                found.usual_per_hour)
    return found


def _usual_rate(store: Store, now: datetime) -> float:
    """The usual hourly complaint rate, recounted at most every BASELINE_REFRESH (it
    reads a week of mentions) and kept in the store's meta."""
    cached = store.get_meta(BASELINE_META) or {}
    at = cached.get("at")
    if at is not None and timedelta(0) <= now - parse_time(at) < spikes.BASELINE_REFRESH:
        return float(cached["per_hour"])
    since = now - spikes.WINDOW - spikes.BASELINE
    rate = spikes.usual_rate(store.iter_mentions(since=since), now)
    store.set_meta(BASELINE_META, {"at": now.isoformat(), "per_hour": rate})
    return rate


def spike_message(spike: spikes.Spike, lead: str | None = None) -> tuple[str, list[dict]]:
    """(fallback text, blocks) of a spike alert; outside text escaped. `lead` (the
    escalation user group id, from the config) is pinged: a spike should wake someone."""
    usual = f"{spike.usual_per_hour:.1f}".rstrip("0").rstrip(".")
    head = (f":rotating_light: *Complaint spike*: {spike.count} complaints in the last "
            f"hour (usual {usual}/hour)")
    if mrkdwn.group_ping(lead):
        head = f"{mrkdwn.group_ping(lead)} {head}"
    lines = [head]
    if spike.theme:
        lines.append(f"Leading theme: *{escape_mrkdwn(spike.theme)}* ({spike.theme_count})")
    lines += [example_line(ex) for ex in spike.examples]
    text = fit_lines("\n".join(lines), 3000)
    fallback = f"Complaint spike: {spike.count} complaints in the last hour" + (
        f", mostly {escape_mrkdwn(spike.theme)}" if spike.theme else "")
    return fallback, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def _wake(outbox: Any) -> None:
    wake = getattr(outbox, "wake", None)
    if callable(wake):
        wake()

"""App Home: my claimed mentions, the unclaimed queue per department, today's counts,
first-contact resolution and routing health (moves and accuracy this week)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import resolution
from bot.mention import Mention
from bot.settings import LEADERSHIP
from bot.slack import views
from bot.slack.services import Services
from bot.store.base import Store
from bot.summary import routing_health

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab
        publish_home(services, client, event["user"])

    app.event("app_home_opened")(on_home_opened)


def day_start(now: datetime, timezone: str) -> datetime:
    """Midnight of `now`'s day in the team's time zone (the summary's), as an aware time."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def home_for(services: Services, user: str) -> dict[str, Any]:
    """The Home tab view for `user`, from the store."""
    now = services.clock()
    start = day_start(now, services.settings.summary.timezone)
    departments = [*services.settings.departments, LEADERSHIP]
    data = gather_home_from_store(services.store, user, departments, start)
    data.now = now
    data.resolution = resolution.lines(_rates(services, now), slack=True)
    data.routing = _routing(services, now)
    data.habit = _habit_section(services, user)
    return views.home_view(data)


# Per store (weakly: a closed store's entry goes with it): name -> (computed at, value).
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
FRESH = timedelta(minutes=5)  # the 30-day and 14-day figures change slowly; Home opens often
HOME_ROUTING_DEPARTMENTS = 8  # App Home is compact: the summary lists them all


def _fresh(services: Services, now: datetime, name: str, compute: Callable[[], Any]) -> Any:
    """`compute()`, recounted at most every FRESH per store: these figures read weeks of
    events, and App Home is published on every open."""
    cached = _CACHE.setdefault(services.store, {})
    hit = cached.get(name)
    if hit is not None and timedelta(0) <= now - hit[0] < FRESH:
        return hit[1]
    value = compute()
    cached[name] = (now, value)
    return value


def _rates(services: Services, now: datetime) -> resolution.Resolution:
    """First-contact resolution over 30 days."""
    return _fresh(services, now, "resolution", lambda: resolution.resolution_for(
        services.store, now, services.settings.summary.resolution_days))


def _routing(services: Services, now: datetime) -> list[str]:
    """Moves and routing accuracy this week beside the week before, as mrkdwn lines."""
    health = _fresh(services, now, "routing", lambda: routing_health.read_store(
        services.store, now, list(services.settings.departments)))
    return routing_health.lines(health, slack=True, top=HOME_ROUTING_DEPARTMENTS)


def _habit_section(services: Services, user: str) -> list[dict[str, Any]]:
    """The "Your daily few" controls, for the leaders of [habit] only."""
    habit = services.settings.habit
    if habit is None or not habit.enabled or services.client is None:
        return []
    from bot.habit import home, state
    from bot.habit.job import roster_of

    leader = roster_of(services).get(user)
    if leader is None:
        return []
    return home.habit_blocks(state.get_prefs(services.store, user), habit, leader.timezone,
                             list(services.settings.departments))


def gather_home_from_store(store: Store, user: str, departments: list[str],
                           day_start: datetime) -> views.HomeData:
    """The Home tab's data from the store's indexed queries: the user's claimed
    mentions, each department's waiting count and the first QUEUE_SHOWN of its queue
    (the configured departments first, then any other with a waiting mention, by its
    oldest), and today's counts. No scan of the whole store (tests compare it with a
    scan of every mention, tests/slack/home_reference.py)."""
    waiting = store.count_open_by_department()
    queues: dict[str, list[Mention]] = {dept: [] for dept in departments}
    queues.update({dept: [] for dept in waiting if dept not in queues})
    for dept in queues:
        if waiting.get(dept):
            queues[dept] = store.open_mentions(dept, limit=views.QUEUE_SHOWN)
    counts = views.today_counts(store.arrived_since(day_start), store.events(since=day_start),
                                day_start)
    return views.HomeData(user=user, mine=store.claimed_by(user), queues=queues,
                          counts=counts, waiting={dept: waiting.get(dept, 0) for dept in queues})


def publish_home(services: Services, client: WebClient, user: str) -> None:
    try:
        client.views_publish(user_id=user, view=home_for(services, user))
    except (SlackApiError, SlackClientError) as exc:
        log.warning("views.publish for %s failed: %s", user, exc)

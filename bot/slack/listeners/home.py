"""App Home: my claimed mentions, the unclaimed queue per department, today's counts."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack import views
from bot.slack.services import LEADERSHIP, Services

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
    data = views.gather_home(services.store.iter_mentions(),
                             services.store.events(since=start), user, departments, start)
    data.now = now
    return views.home_view(data)


def publish_home(services: Services, client: WebClient, user: str) -> None:
    try:
        client.views_publish(user_id=user, view=home_for(services, user))
    except (SlackApiError, SlackClientError) as exc:
        log.warning("views.publish for %s failed: %s", user, exc)

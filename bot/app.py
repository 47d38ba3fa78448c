"""Wire the Slack app: build_app(settings, store) -> slack_bolt.App. No work at import time.

Acknowledging inside Slack's 3 s window: listeners are written "ack() first, then the
work"; bot.listeners.AckFirst runs each on a worker thread and lets Bolt answer
the moment ack() is called (hence `process_before_response=True`: to Bolt, the wrapper
is the whole listener). The worker pool is sized for bursts (Bolt's default of 10
threads would queue the 11th click behind slow Web API calls). Listeners acknowledged
at once (buttons, /claim, /escalate: no pool thread needed to answer) do their work on a
small pool of their own (WORK_THREADS), so that it cannot crowd the requests out of the
GIL, and that pool starts each task in a quiet moment (bot.listeners.yielding: the app
counts the requests it is answering); those that open a modal stay on the large pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.listeners.yielding import QuietExecutor, RequestTraffic
from bot.mention import utcnow
from bot.settings import Settings
from bot.slack.services import Services
from bot.store.base import Store

log = logging.getLogger(__name__)

LISTENER_THREADS = 32
# Threads for the work after an ack made at once (bot.listeners.acks_at_once): claims,
# releases, /claim, /escalate. More would not finish it sooner (one GIL) but would take
# the GIL from the requests being answered: with 32, under 20 concurrent requests, the
# request path waited 50-150 ms for it (bench/ack.py, "in-app" p99); with 8, about 1 ms.
WORK_THREADS = 8


class _DropTokenUnusedWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then
    warns on every start that the token "will be unused": it is the client's token, so
    the warning only alarms people."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class CountingApp(App):
    """Bolt's App, counting the requests it is answering (over HTTP and Socket Mode
    alike, both of which call `dispatch`), so that work that can wait yields to them."""

    def __init__(self, *, traffic: RequestTraffic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.traffic = traffic

    def dispatch(self, req: Any) -> Any:
        with self.traffic.answering():
            return super().dispatch(req)


BOLT_LOG = logging.getLogger("bot.bolt")
_TOKEN_FILTER = _DropTokenUnusedWarning()


def build_services(
    settings: Settings,
    store: Store,
    *,
    client: WebClient | None = None,
    outbox: Any = None,
    clock: Callable[[], datetime] = utcnow,
    publishers: Any = None,
    team_id: str | None = None,
) -> Services:
    """The collaborators the listeners share; builds the client and outbox if not given."""
    if client is None:
        from bot.slack.client import make_client

        client = make_client(settings.slack)
    if outbox is None:
        from bot.slack.outbox import Outbox

        outbox = Outbox(store, client, settings, clock=clock)
    return Services(settings=settings, store=store, outbox=outbox, clock=clock, client=client,
                    publishers=publishers, team_id=team_id)


def build_app(
    settings: Settings,
    store: Store,
    *,
    client: WebClient | None = None,
    outbox: Any = None,
    clock: Callable[[], datetime] = utcnow,
    publishers: Any = None,
    services: Services | None = None,
    token_verification: bool = True,
) -> App:
    """The Bolt app with every listener registered.

    `services` (built by build_services) may be passed to share it with the scheduler;
    otherwise it is built from the other arguments. With `token_verification` the bot
    token is checked once (auth.test) and the workspace id kept in `services.team_id`
    (the guard refuses other teams); a rejected token raises SlackApiError.
    """
    # Long because it wires every collaborator of the app in one readable place; nothing
    # here decides anything.
    if services is None:
        services = build_services(settings, store, client=client, outbox=outbox, clock=clock,
                                  publishers=publishers)
    client = services.client
    assert client is not None
    if token_verification and services.team_id is None:
        auth = client.auth_test()
        services.team_id = auth.get("team_id")
    if not client.token:
        client.token = settings.slack.bot_token
    BOLT_LOG.addFilter(_TOKEN_FILTER)  # adding the same filter twice keeps one
    executor = ThreadPoolExecutor(max_workers=LISTENER_THREADS,
                                  thread_name_prefix="earshot-listener")
    traffic = RequestTraffic()
    work_executor = QuietExecutor(ThreadPoolExecutor(max_workers=WORK_THREADS,
                                                     thread_name_prefix="earshot-work"),
                                  traffic)
    app = CountingApp(
        traffic=traffic,
        # The token comes with the client (Bolt ignores `token=` when a client is given).
        signing_secret=settings.slack.signing_secret or "",
        client=client,
        # We ran auth.test above (once); Bolt would otherwise repeat it.
        token_verification_enabled=False,
        # Every HTTP request reaches Bolt through bot.web.request_guard, which has checked
        # this same signature on the raw bytes (401 before anything is parsed); Socket Mode
        # has no signatures. Bolt's own check would only repeat the HMAC before the ack.
        request_verification_enabled=False,
        process_before_response=True,
        listener_executor=executor,
        logger=BOLT_LOG,
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
        # A bug or an outage, never the user's fault: log it with the request type.
        kind = body.get("type") or body.get("command") or "request"
        if isinstance(error, SlackApiError | SlackClientError):
            log.warning("Slack call failed while handling %s: %s", kind, error)
        else:
            log.exception("error while handling %s", kind, exc_info=error)

    from bot.listeners import register_all

    register_all(app, services, executor, work_executor)
    return app

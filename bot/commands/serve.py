"""serve: run Earshot: the scheduler, the Slack outbox and the Slack app.

Socket Mode when SLACK_APP_TOKEN is set (no public URL needed), otherwise HTTP on $PORT
(default 3000) at /slack/events with GET /healthz.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import threading
from typing import Any

from bot.commands.common import UsageError
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
# Socket Mode pings Slack this often; a connection that died without a goodbye is
# noticed after four unanswered pings and replaced. Bolt's default of 10 s leaves the
# bot deaf for about 40 s after a network drop.
SOCKET_PING_SECONDS = 5.0
README_HINT = "see README.md, section \"Slack\""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "serve", help="run the bot: scheduler, Slack posting and the Slack app",
        description="Poll the sources on their schedules, post mentions to Slack and answer "
                    "Slack's buttons, modals and slash commands. Socket Mode when "
                    "SLACK_APP_TOKEN is set; otherwise HTTP on $PORT (default 3000) at "
                    "/slack/events, with GET /healthz.")
    p.add_argument("--port", type=int, default=None,
                   help="HTTP port (default: $PORT or 3000); ignored in Socket Mode")
    p.add_argument("--no-scheduler", action="store_true",
                   help="only run the Slack app and posting, not the source polling "
                        "and streams")
    return p


def missing_tokens(settings: Settings) -> list[str]:
    """Sentences naming each missing Slack secret and where to get it (empty if none)."""
    slack = settings.slack
    problems = []
    if not slack.bot_token:
        problems.append("SLACK_BOT_TOKEN is not set: the Bot User OAuth Token (xoxb-...) "
                        "from your Slack app's \"OAuth & Permissions\" page")
    if not slack.app_token and not slack.signing_secret:
        problems.append("neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is set: for Socket "
                        "Mode an app-level token (xapp-..., \"Basic Information\" > "
                        "\"App-Level Tokens\", scope connections:write); for HTTP mode the "
                        "Signing Secret (\"Basic Information\" > \"App Credentials\")")
    return problems


def _port(args: argparse.Namespace) -> int | None:
    raw = args.port if args.port is not None else os.environ.get("PORT", DEFAULT_PORT)
    try:
        port = int(raw)
    except (TypeError, ValueError):
        return None
    return port if 0 <= port <= 65535 else None


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    problems = missing_tokens(settings)
    if problems:
        print("earshot: cannot start the Slack app:\n  - " + "\n  - ".join(problems)
              + f"\n  Create the app from config/slack-manifest.yml; {README_HINT}.",
              file=sys.stderr)
        return 2
    socket_mode = bool(settings.slack.app_token)
    port = None if socket_mode else _port(args)
    if not socket_mode and port is None:
        print(f"earshot: PORT must be a port number, got {os.environ.get('PORT')!r}",
              file=sys.stderr)
        return 2

    from bot.commands.common import data_dir_problem
    from bot.commands.shutdown import Terminated, graceful_sigterm
    from bot.store import database_url

    url = database_url()
    if url:
        from bot.store.postgres.url import normalise

        normalise(url)  # a malformed DATABASE_URL is said before the port is bound
    problem = None if url else data_dir_problem(settings.data_dir, write=True)
    if problem:  # said before anything slow
        raise UsageError(problem)
    try:
        # SIGTERM (a platform stopping us) at any point, waiting for Slack included,
        # unwinds through the cleanups below like Ctrl-C and exits 0.
        with graceful_sigterm():
            server = None if socket_mode else _bind(DEFAULT_PORT if port is None else port)
            try:
                _serve(settings, server, scheduler=not args.no_scheduler)
            finally:
                if server is not None:
                    server.stop()
    except Terminated:
        pass  # the platform asked us to stop: cleaned up, exit 0
    return 0


def _bind(port: int) -> Any:
    """HTTP mode binds its port first, answering "starting" (503) until the app is ready:
    a platform kills a web process that has not bound its port within a minute, and
    opening a large store or waiting out a Slack outage may take longer."""
    from bot.web import WebServer

    try:
        return WebServer(None, port=port).start()
    except OSError as exc:
        raise UsageError(f"cannot listen on port {port}: {exc.strerror or exc} (is "
                         "another process using it? set PORT or --port)") from None


def _serve(settings: Settings, server: Any, *, scheduler: bool) -> None:
    """Open the store, wait for Slack to answer auth.test (retrying with backoff through
    a network blip), then build the app and run until interrupted: over `server` (HTTP
    mode), or in Socket Mode when there is none."""
    # Long because start-up is one ordered sequence (store, Slack, app, learning, roles,
    # streams) whose cleanups must run in reverse in the one finally below.
    from slack_sdk.errors import SlackApiError

    from bot.app import build_app, build_services
    from bot.commands.common import open_data_store
    from bot.corrections import queue_missing_notices
    from bot.roles import Roles
    from bot.slack.client import make_client, wait_for_slack
    from bot.slack.outbox import Outbox, OutboxWorker
    from bot.workflow import queue_missing_summaries

    store = open_data_store(settings)
    roles = learning = None
    try:
        try:
            team = wait_for_slack(settings.slack).get("team_id")
        except SlackApiError as exc:
            raise UsageError(f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')}); "
                             f"check the token; {README_HINT}.") from None
        client = make_client(settings.slack)
        outbox = Outbox(store, client, settings)
        services = build_services(settings, store, client=client, outbox=outbox,
                                  team_id=team)
        app = build_app(settings, store, services=services)
        from bot.judgment.learned_store import start_learning

        # The rules judge at once; what was learned loads in the retrainer's thread.
        judge, learning = start_learning(settings, store)
        services.learning = learning
        # Escalations and moves a crash cut short: finish them (idempotent, so every
        # replica may). In the background, after reading the store ahead: they read
        # every open mention, which a lazily opened store loads from disk first, and
        # requests need not wait for that.
        # What the read-ahead loads is start-up's too: kept out of the garbage collector
        # (settle_heap) without a full collection mid-traffic.
        _in_background("earshot-recover", store.warm, lambda: settle_heap(collect=False),
                       lambda: queue_missing_summaries(services),
                       lambda: queue_missing_notices(services))
        # The scheduler, the streams and the outbox worker run in this process only while
        # it is the one that does (always with TinyDB; the leader among replicas on
        # PostgreSQL).
        jobs, streams = None, []
        if scheduler:
            from bot.ingest.pipeline import Pipeline

            # Pollers and streams share one pipeline, and so one judge.
            pipeline = Pipeline(settings, store, poster=outbox, judge=judge)
            jobs = _build_scheduler(settings, store, outbox, services, pipeline)
            streams = _build_streams(settings, store, pipeline)
        roles = Roles(store, outbox, OutboxWorker(outbox), jobs, streams=streams,
                      elect=scheduler).start()
        settle_heap()
        if server is None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("connecting to Slack in Socket Mode")
            SocketModeHandler(app, settings.slack.app_token, web_client=client,
                              ping_interval=SOCKET_PING_SECONDS).start()
        else:
            server.ready(app, health=roles.health)
            log.info("Slack answered; handling requests")
            server.wait()
    finally:
        if roles is not None:
            roles.stop()
        if learning is not None:
            learning.stop()
        store.close()
        log.info("stopped")


def _in_background(name: str, *jobs: Any) -> None:
    def run() -> None:
        for job in jobs:
            try:
                job()
            except Exception:  # noqa: BLE001 - logged; the scheduler runs it again
                log.exception("%s failed at start-up; it runs again within a minute",
                              name)

    threading.Thread(target=run, name=name, daemon=True).start()


def settle_heap(*, collect: bool = True) -> None:
    """Hide what start-up built (modules, the app, the store's records) from the cyclic
    garbage collector: a full collection walks every tracked object with every thread
    stopped, and at start-up's 60,000 objects that was a 60-75 ms pause in the middle of
    acknowledging clicks (bench/ack.py); it grows with the store read into memory.
    Frozen objects are still freed when nothing refers to them; only cycles among them
    are never collected, so `collect` first clears the garbage (itself a full
    collection: pass False once requests are being answered)."""
    if collect:
        gc.collect()
    gc.freeze()


def _build_scheduler(settings: Settings, store: Any, outbox: Any, services: Any,
                     pipeline: Any) -> Any:
    from bot.scheduler import build_scheduler

    scheduler = build_scheduler(settings, store, outbox, services=services, pipeline=pipeline)
    log.info("scheduled jobs: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    return scheduler


def _build_streams(settings: Settings, store: Any, pipeline: Any) -> list[Any]:
    """Stream sources run beside the scheduler, each in its own threads (started and
    stopped with the scheduler, by bot.roles)."""
    if not settings.enabled_streams():
        return []
    from bot.ingest.streaming import build_streams

    return build_streams(settings, store, pipeline)

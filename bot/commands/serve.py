"""serve: run Earshot: the scheduler, the Slack outbox and the Slack app.

Socket Mode when SLACK_APP_TOKEN is set (no public URL needed), otherwise HTTP on $PORT
(default 3000) at /slack/events with GET /healthz.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
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
                   help="only run the Slack app and posting, not the source polling")
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

    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.app import build_app, build_services
    from bot.slack.client import make_client
    from bot.slack.outbox import Outbox, OutboxWorker
    from bot.store import open_store

    store = open_store(settings.data_dir)
    client = make_client(settings.slack)
    outbox = Outbox(store, client, settings)
    services = build_services(settings, store, client=client, outbox=outbox)
    try:
        app = build_app(settings, store, services=services)
    except SlackApiError as exc:
        print(f"earshot: Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')}); "
              f"check the token; {README_HINT}.", file=sys.stderr)
        store.close()
        return 2
    except SlackClientError as exc:
        print(f"earshot: cannot reach Slack at {settings.slack.api_url}: {exc}",
              file=sys.stderr)
        store.close()
        return 1

    from bot.commands.shutdown import Terminated, graceful_sigterm
    from bot.roles import Roles
    from bot.workflow import queue_missing_summaries

    # Escalations a crash cut short: finish them (idempotent, so every replica may).
    queue_missing_summaries(services)
    # The scheduler and the outbox worker run in this process only while it is the one
    # that does (always with TinyDB; the leader among replicas on PostgreSQL).
    worker = OutboxWorker(outbox)
    scheduler = None if args.no_scheduler else _build_scheduler(settings, store, outbox,
                                                                  services)
    roles = Roles(store, outbox, worker, scheduler, elect=not args.no_scheduler).start()
    try:
        with graceful_sigterm():
            _serve(app, settings, client, socket_mode, port, roles)
    except Terminated:
        pass  # the platform asked us to stop: clean up below and exit 0
    finally:
        roles.stop()
        store.close()
        log.info("stopped")
    return 0


def _serve(app: Any, settings: Settings, client: Any, socket_mode: bool, port: int | None,
           roles: Any) -> None:
    """Serve Slack until interrupted (Ctrl-C, or SIGTERM under graceful_sigterm)."""
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("connecting to Slack in Socket Mode")
        SocketModeHandler(app, settings.slack.app_token, web_client=client).start()
    else:
        from bot.web import serve

        serve(app, DEFAULT_PORT if port is None else port, health=roles.health)


def _build_scheduler(settings: Settings, store: Any, outbox: Any, services: Any) -> Any:
    from bot.scheduler import build_scheduler

    scheduler = build_scheduler(settings, store, outbox, services=services)
    log.info("scheduled jobs: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    return scheduler

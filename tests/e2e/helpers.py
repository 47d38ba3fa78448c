"""Drive the real Earshot Bolt app over real HTTP, the way Slack does.

`signed_post` signs a body like Slack (v0 HMAC-SHA256 over "v0:{ts}:{body}");
`slash`, `action` and `view_submission` send the three request kinds shaped like
Slack's real payloads (slash commands form-encoded; block_actions and view_submission as
`payload=<json>`). `EarshotHarness` runs the app under waitress on 127.0.0.1:0 against
the Slack stand-in, with a real store in a temp dir. Other test packages reuse these.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from bot.app import build_app, build_services
from bot.mention import Mention
from bot.settings import Settings, parse_settings
from bot.slack import ids
from bot.slack import views as v
from bot.slack.client import make_client
from bot.slack.outbox import Outbox
from bot.slack.services import Services
from bot.store import open_store
from bot.store.base import Store
from bot.web import WebServer
from tests.slack_standin import TEAM_ID, SlackStandIn

SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
EVENTS = "/slack/events"
_trigger_seq = itertools.count(1)

# Channels of the test workspace; "product" is configured by #name to exercise resolution.
CHANNELS = {"support": "CSUPPORT", "billing": "CBILLING", "engineering": "CENGINEERING",
            "product": "CPRODUCT", "leadership": "CLEADERSHIP", "daily": "CDAILY",
            "random": "CRANDOM"}
USERS = ("U1ANN", "U2BOB", "U3CAT", "U4DAN")


def raw_config() -> dict[str, Any]:
    """A small valid config (as parsed TOML) with four departments and no sources."""
    return {
        "brand": {"name": "Acme", "terms": ["Acme"]},
        "departments": {
            "support": {"channel": CHANNELS["support"], "keywords": ["help"],
                        "lead": "SSUPPORTLEAD"},
            "billing": {"channel": CHANNELS["billing"], "keywords": ["refund"],
                        "lead": "SBILLINGLEAD"},
            "engineering": {"channel": CHANNELS["engineering"], "keywords": ["bug"]},
            "product": {"channel": "#product", "keywords": ["feature"]},
        },
        "routing": {"default": "support"},
        "escalation": {"channel": CHANNELS["leadership"], "lead": "SLEADERS",
                       "reminder_minutes": 30},
        "summary": {"channel": CHANNELS["daily"], "time": "09:00", "timezone": "UTC"},
        "answer": {"publish": False},
    }


def make_settings(slack: SlackStandIn, tmp_path: Path, raw: dict[str, Any] | None = None,
                  env: dict[str, str] | None = None) -> Settings:
    environ = {"SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "EARSHOT_DATA": str(tmp_path / "data")}
    environ.update(env or {})
    return parse_settings(raw or raw_config(), tmp_path / "earshot.toml", environ)


# --- signing and sending ---------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_post(base_url: str, body: str, content_type: str, *, secret: str = SECRET,
                timestamp: int | None = None, sign: bool = True, forge: bool = False,
                session: requests.Session | None = None, timeout: float = 10
                ) -> requests.Response:
    """POST `body` to /slack/events signed like Slack (or unsigned / forged on request)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"Content-Type": content_type}
    if sign:
        sig = signature("not-the-secret" if forge else secret, ts, body)
        headers.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
    poster = session or requests
    return poster.post(base_url.rstrip("/") + EVENTS, data=body.encode(), headers=headers,
                       timeout=timeout)


def slash_body(command: str, text: str = "", *, user: str = USERS[0],
               channel: str = CHANNELS["support"], channel_name: str | None = None,
               response_url: str = "https://hooks.slack.invalid/commands/x",
               team: str = TEAM_ID) -> str:
    name = channel_name or next((n for n, c in CHANNELS.items() if c == channel), "general")
    return urlencode({
        "token": "legacy-verification-token", "team_id": team, "team_domain": "standin",
        "channel_id": channel, "channel_name": name, "user_id": user,
        "user_name": user.lower(), "command": command, "text": text,
        "api_app_id": "AEARSHOT", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": _trigger(),
    })


def slash(base_url: str, command: str, text: str = "", **kw: Any) -> requests.Response:
    """Send a slash command (form-encoded), e.g. slash(url, "/claim", "E-1", user=...)."""
    send = {k: kw.pop(k) for k in ("secret", "timestamp", "sign", "forge", "session")
            if k in kw}
    return signed_post(base_url, slash_body(command, text, **kw),
                       "application/x-www-form-urlencoded", **send)


def _trigger() -> str:
    return f"{next(_trigger_seq)}.{int(time.time())}.abcdef0123456789"


def _user(user: str, team: str) -> dict[str, Any]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team}


def action_payload(action_id: str, value: str, *, user: str = USERS[0],
                   channel: str | None = CHANNELS["support"], message_ts: str = "1.000001",
                   response_url: str = "https://hooks.slack.invalid/actions/x",
                   team: str = TEAM_ID, home: bool = False, block_id: str = "earshot_actions"
                   ) -> dict[str, Any]:
    """A block_actions payload for a button click on a message (or in App Home)."""
    now = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions", "user": _user(user, team), "api_app_id": "AEARSHOT",
        "token": "legacy-verification-token", "trigger_id": _trigger(),
        "team": {"id": team, "domain": "standin"}, "enterprise": None,
        "is_enterprise_install": False, "state": {"values": {}},
        "actions": [{"action_id": action_id, "block_id": block_id, "value": value,
                     "type": "button", "action_ts": now,
                     "text": {"type": "plain_text", "text": action_id, "emoji": True}}],
    }
    if home:
        payload["container"] = {"type": "view", "view_id": "VHOME"}
        payload["view"] = {"id": "VHOME", "type": "home", "team_id": team, "blocks": [],
                           "private_metadata": "", "callback_id": "", "state": {"values": {}}}
    else:
        payload.update({
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                          "is_ephemeral": False},
            "channel": {"id": channel, "name": "channel"},
            "message": {"type": "message", "ts": message_ts, "user": "UBOT", "bot_id": "BBOT",
                        "text": "", "blocks": []},
            "response_url": response_url,
        })
    return payload


def action(base_url: str, action_id: str, value: str, **kw: Any) -> requests.Response:
    """Click a button: action(url, ids.CLAIM, mention.key, user=..., channel=...)."""
    send = {k: kw.pop(k) for k in ("secret", "timestamp", "sign", "forge", "session")
            if k in kw}
    body = urlencode({"payload": json.dumps(action_payload(action_id, value, **kw))})
    return signed_post(base_url, body, "application/x-www-form-urlencoded", **send)


def view_submission_payload(callback_id: str, private_metadata: str,
                            values: dict[str, Any], *, user: str = USERS[0],
                            team: str = TEAM_ID) -> dict[str, Any]:
    return {
        "type": "view_submission", "team": {"id": team, "domain": "standin"},
        "user": _user(user, team), "api_app_id": "AEARSHOT",
        "token": "legacy-verification-token", "trigger_id": _trigger(),
        "view": {"id": "V0SUBMIT", "team_id": team, "type": "modal", "blocks": [],
                 "private_metadata": private_metadata, "callback_id": callback_id,
                 "state": {"values": values}, "hash": "1.abc", "title": {
                     "type": "plain_text", "text": "x"},
                 "app_id": "AEARSHOT", "bot_id": "BBOT", "root_view_id": "V0SUBMIT",
                 "previous_view_id": None, "clear_on_close": False, "notify_on_close": False,
                 "external_id": ""},
        "response_urls": [], "is_enterprise_install": False, "enterprise": None,
    }


def view_submission(base_url: str, callback_id: str, private_metadata: str,
                    values: dict[str, Any], **kw: Any) -> requests.Response:
    """Submit a modal: the view's callback_id, its private_metadata and state.values."""
    send = {k: kw.pop(k) for k in ("secret", "timestamp", "sign", "forge", "session")
            if k in kw}
    body = urlencode({"payload": json.dumps(
        view_submission_payload(callback_id, private_metadata, values, **kw))})
    return signed_post(base_url, body, "application/x-www-form-urlencoded", **send)


def text_value(text: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": text}


def option_value(value: str, kind: str = "static_select") -> dict[str, Any]:
    return {"type": kind, "selected_option": {
        "text": {"type": "plain_text", "text": value}, "value": value}}


def answer_values(text: str) -> dict[str, Any]:
    return {v.ANSWER_BLOCK: {v.ANSWER_INPUT: text_value(text)}}


def escalate_values(target: str, reason: str, urgency: str = "normal") -> dict[str, Any]:
    return {v.TARGET_BLOCK: {v.TARGET_INPUT: option_value(target)},
            v.REASON_BLOCK: {v.REASON_INPUT: text_value(reason)},
            v.URGENCY_BLOCK: {v.URGENCY_INPUT: option_value(urgency, "radio_buttons")}}


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition",
             *, interval: float = 0.01) -> Any:
    """Poll until `predicate()` is truthy (listeners finish after their ack). A predicate
    that costs other processes work (an HTTP request, a query) takes a longer `interval`,
    so the polling does not slow what it waits for on a busy machine."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


# --- the app under test --------------------------------------------------------------------


_mention_seq = itertools.count(1)


def new_mention(department: str = "support", text: str = "Acme support never answers",
                *, source: str = "hackernews", created_at: datetime | None = None,
                **kw: Any) -> Mention:
    n = next(_mention_seq)
    created = created_at or datetime(2026, 11, 23, 9, 0, tzinfo=UTC) + timedelta(minutes=n)
    fields: dict[str, Any] = {"author": f"user{n}", "complaint": True, "sentiment": -0.6,
                              "reason": f"keyword for {department}"}
    fields.update(kw)
    return Mention(source=source, native_id=f"{n}-{time.monotonic_ns()}", text=text,
                   url=f"https://news.ycombinator.com/item?id={n}", created_at=created,
                   department=department, **fields)


@dataclass
class EarshotHarness:
    """The real app served over HTTP on a free port, with its collaborators exposed."""

    slack: SlackStandIn
    settings: Settings
    store: Store
    outbox: Outbox
    services: Services
    server: WebServer

    @property
    def url(self) -> str:
        return self.server.url

    def add(self, mention: Mention | None = None, *, post: bool = True, **kw: Any) -> Mention:
        """Store a mention and (by default) post its message to the stand-in."""
        stored = self.store.add_mention(mention or new_mention(**kw))
        if post:
            self.outbox.post_mention(stored)
            self.drain()
        got = self.store.get_mention(stored.key)
        assert got is not None
        return got

    def drain(self) -> None:
        self.outbox.drain(max_seconds=5)

    def drain_until(self, predicate: Callable[[], Any], timeout: float = 15.0,
                    what: str = "condition") -> Any:
        """Drain the outbox until `predicate()` holds (listeners enqueue after their ack)."""

        def check() -> Any:
            self.drain()
            return predicate()

        return wait_for(check, timeout=timeout, what=what)

    def mention(self, key: str) -> Mention:
        got = self.store.get_mention(key)
        assert got is not None
        return got

    def message_of(self, mention: Mention) -> dict[str, Any]:
        m = self.mention(mention.key)
        assert m.slack_channel and m.slack_ts, "mention not posted"
        msgs = [x for x in self.slack.messages[m.slack_channel] if x["ts"] == m.slack_ts]
        return msgs[0]

    def thread_of(self, mention: Mention) -> list[dict[str, Any]]:
        m = self.mention(mention.key)
        return [x for x in self.slack.messages.get(m.slack_channel or "", [])
                if x.get("thread_ts") == m.slack_ts and x["ts"] != m.slack_ts]

    def ephemerals_for(self, user: str) -> list[dict[str, Any]]:
        with self.slack.lock:
            return [e for e in self.slack.ephemerals if e.get("user") == user]

    def responses(self, name: str) -> list[dict[str, Any]]:
        with self.slack.lock:
            return [r for r in self.slack.responses if r["name"] == name]

    def stop(self) -> None:
        self.server.stop()
        self.store.close()


def start_harness(slack: SlackStandIn, tmp_path: Path, *, raw: dict[str, Any] | None = None,
                  clock: Callable[[], datetime] | None = None, threads: int = 24,
                  publishers: Any = None) -> EarshotHarness:
    """Run Earshot's app under waitress on 127.0.0.1:0 against `slack` (the stand-in)."""
    slack.channels.update({name: cid for name, cid in CHANNELS.items()})
    for user in USERS:
        slack.users.setdefault(user, {"name": user.lower(), "real_name": user})
    settings = make_settings(slack, tmp_path, raw)
    store = open_store(tmp_path / "data")
    client = make_client(settings.slack)
    extra = {"clock": clock} if clock else {}
    outbox = Outbox(store, client, settings, rate_per_second=1000, burst=1000,
                    **extra)
    services = build_services(settings, store, client=client, outbox=outbox,
                              publishers=publishers, **extra)
    app = build_app(settings, store, services=services)
    server = WebServer(app, host="127.0.0.1", port=0, threads=threads).start()
    return EarshotHarness(slack, settings, store, outbox, services, server)


__all__ = [
    "CHANNELS", "SECRET", "USERS", "EarshotHarness", "action", "answer_values",
    "escalate_values", "ids", "make_settings", "new_mention", "raw_config", "signed_post",
    "slash", "start_harness", "view_submission", "wait_for",
]

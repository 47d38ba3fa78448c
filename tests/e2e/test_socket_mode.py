"""End to end in Socket Mode: the real Bolt app with slack_sdk's Socket Mode client,
against tests/socket_standin.py (Slack's WebSocket side) and the Web API stand-in
(which answers apps.connections.open with the stand-in's ws:// URL). The same flow as
HTTP mode: post, a claim race, answer, escalate, /claim, App Home, and a dropped
connection that the client reconnects. Every envelope must be acknowledged within 3 s.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import build_app, build_services
from bot.mention import State
from bot.slack import ids
from bot.slack.client import make_client
from bot.slack.outbox import Outbox
from bot.store import open_store
from tests.e2e.helpers import (
    BOT_TOKEN,
    CHANNELS,
    USERS,
    EarshotHarness,
    action_payload,
    answer_values,
    make_settings,
    slash_body,
    view_submission_payload,
    wait_for,
)
from tests.slack_standin import TEAM_ID, SlackStandIn
from tests.socket_standin import SocketModeStandIn

ANN, BOB, CAT, _ = USERS
APP_TOKEN = "xapp-1-test-app-token"
SLACK_LIMIT = 3.0  # seconds to acknowledge an envelope


@dataclass
class SocketHarness(EarshotHarness):
    socket: SocketModeStandIn | None = None
    handler: SocketModeHandler | None = None

    def stop(self) -> None:
        assert self.handler is not None and self.socket is not None
        # The client closes its socket only once its blocking read times out (3 s); with
        # Slack's side gone first that read returns at once, and nothing reconnects.
        client = self.handler.client
        client.auto_reconnect_enabled = False
        self.socket.stop()
        # Its message thread waits up to 1 s on its queue before it sees the stop: told
        # to stop, then woken with an empty message (which it skips), it ends at once.
        client.message_processor.event.set()
        client.enqueue_message(None)  # type: ignore[arg-type]
        self.handler.close()
        self.store.close()

    # --- sending envelopes the way Slack does ---------------------------------------------
    def envelope(self, kind: str, payload: dict[str, Any]) -> Any:
        """Send one envelope and return its ack's payload; fails past Slack's 3 s."""
        assert self.socket is not None
        envelope_id = self.socket.send(kind, payload, accepts_response=kind != "events_api")
        return self.socket.wait_ack(envelope_id, within=SLACK_LIMIT).payload

    def slash(self, command: str, text: str, name: str, **kw: Any) -> str:
        """A slash command; returns the reply that reached its response_url."""
        payload = dict(parse_qsl(slash_body(command, text,
                                            response_url=self.slack.response_url(name),
                                            **kw)))
        self.envelope("slash_commands", payload)
        replies = wait_for(lambda: self.responses(name), what=f"reply {name}")
        return replies[0]["body"]["text"]

    def click(self, action_id: str, mention: Any, user: str) -> None:
        self.envelope("interactive", action_payload(
            action_id, mention.key, user=user, channel=mention.slack_channel,
            message_ts=mention.slack_ts))

    def opened_view(self, callback_id: str) -> dict[str, Any]:
        calls = wait_for(lambda: [c for c in self.slack.calls_to("views.open")
                                  if c.params["view"]["callback_id"] == callback_id],
                         what="views.open")
        return calls[-1].params["view"]


def start_socket_harness(slack: SlackStandIn, socket: SocketModeStandIn, tmp_path: Path
                         ) -> SocketHarness:
    """Earshot's app connected in Socket Mode (as `serve` runs it with SLACK_APP_TOKEN)."""
    slack.channels.update(CHANNELS)
    for user in USERS:
        slack.users.setdefault(user, {"name": user.lower(), "real_name": user})
    slack.socket_url = socket.url
    settings = make_settings(slack, tmp_path, env={"SLACK_APP_TOKEN": APP_TOKEN})
    store = open_store(tmp_path / "data")
    client = make_client(settings.slack)
    outbox = Outbox(store, client, settings, rate_per_second=1000, burst=1000)
    services = build_services(settings, store, client=client, outbox=outbox)
    app = build_app(settings, store, services=services)
    # Pings every second: a dead connection (no pong for over 4 pings) is noticed in about
    # 5 s, not 40 s; a pong may still be 4 s late without a false alarm.
    handler = SocketModeHandler(app, APP_TOKEN, web_client=client, ping_interval=1)
    handler.connect()  # not start(): that would block this thread
    socket.wait_connected(1)
    return SocketHarness(slack, settings, store, outbox, services, None,  # type: ignore[arg-type]
                         socket=socket, handler=handler)


@pytest.fixture
def socket() -> Iterator[SocketModeStandIn]:
    standin = SocketModeStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def earshot(slack: SlackStandIn, socket: SocketModeStandIn, tmp_path: Path
            ) -> Iterator[SocketHarness]:
    harness = start_socket_harness(slack, socket, tmp_path)
    try:
        yield harness
    finally:
        harness.stop()


def test_socket_mode_connects_with_the_app_token_and_gets_hello(earshot, slack, socket):
    opened = slack.calls_to("apps.connections.open")
    auth = {k.lower(): v for k, v in opened[0].headers.items()}["authorization"]
    assert auth == f"Bearer {APP_TOKEN}"  # the xapp- token, not the bot token
    assert socket.connections[0].open


def test_a_claim_race_over_socket_mode_makes_one_owner_and_one_notice(earshot):
    m = earshot.add()
    assert earshot.message_of(m)  # posted by the outbox, as in HTTP mode
    barrier = threading.Barrier(2)

    def click(user: str) -> None:
        barrier.wait()
        earshot.click(ids.CLAIM, m, user)  # asserts the ack within 3 s

    threads = [threading.Thread(target=click, args=(u,)) for u in (ANN, BOB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    owner = wait_for(lambda: earshot.mention(m.key).owner, what="owner")
    loser = BOB if owner == ANN else ANN
    notice = wait_for(lambda: [e for e in earshot.ephemerals_for(loser)
                               if m.short_id in e["text"]], what="notice")
    assert f"already claimed by <@{owner}>" in notice[0]["text"]
    claims = [e for e in earshot.store.events(m.key) if e.kind == "claimed"]
    assert [e.user for e in claims] == [owner]


def test_answer_modal_and_submission_over_socket_mode(earshot):
    m = earshot.add()
    earshot.click(ids.ANSWER, m, ANN)
    view = earshot.opened_view(ids.ANSWER_VIEW)
    ack = earshot.envelope("interactive", view_submission_payload(
        ids.ANSWER_VIEW, view["private_metadata"], answer_values("Sorry, on it"), user=ANN))
    assert not ack  # an empty ack closes the modal
    wait_for(lambda: earshot.mention(m.key).state is State.ANSWERED, what="answered")
    earshot.drain_until(lambda: earshot.thread_of(m), what="answer line")
    assert f"<@{ANN}> answered" in earshot.thread_of(m)[-1]["text"]


def test_escalate_and_claim_commands_over_socket_mode(earshot):
    m = earshot.add(department="support")
    reply = earshot.slash("/escalate", f"{m.short_id} billing charged twice", "e", user=ANN)
    assert reply == f"You escalated {m.short_id} to billing (normal)."
    summary = earshot.drain_until(lambda: earshot.slack.messages.get(CHANNELS["billing"]),
                                  what="escalation summary")[0]
    assert "charged twice" in summary["text"] + json.dumps(summary.get("blocks"))
    reply = earshot.slash("/claim", m.short_id, "c", user=CAT, channel=CHANNELS["billing"])
    assert reply == f"You claimed {m.short_id}."
    assert earshot.mention(m.key).owner == CAT


def test_app_home_event_over_socket_mode_publishes_the_home_tab(earshot):
    earshot.add(department="billing", text="waiting for a refund")
    earshot.envelope("events_api", {
        "token": "legacy", "team_id": TEAM_ID, "api_app_id": "AEARSHOT",
        "type": "event_callback", "event_id": "Ev0HOME", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": ANN, "channel": "D0ANN", "tab": "home",
                  "event_ts": f"{time.time():.6f}"}})
    published = wait_for(lambda: earshot.slack.calls_to("views.publish"), what="home")
    assert published[0].params["user_id"] == ANN
    assert "waiting for a refund" in json.dumps(published[0].params["view"])


@pytest.mark.parametrize("how", ["drop", "close", "refresh"])
def test_a_lost_connection_is_replaced_and_requests_flow_again(earshot, slack, socket, how):
    """drop: the network dies (noticed by unanswered pings); close: Slack ends the
    connection; refresh: Slack asks the client to move to a new one."""
    m = earshot.add()
    getattr(socket, how)()
    socket.wait_connected(2, timeout=20)  # a fresh apps.connections.open, a new hello
    assert len(slack.calls_to("apps.connections.open")) >= 2
    # The client has moved over once it lets the old connection go.
    wait_for(lambda: not socket.connections[0].open, timeout=20, what="old connection closed")
    reply = earshot.slash("/claim", m.short_id, f"after-{how}", user=ANN)
    assert reply == f"You claimed {m.short_id}."


def test_serve_in_socket_mode_acks_commands_and_survives_a_drop(slack, socket, tmp_path):
    """`python -m bot serve` with SLACK_APP_TOKEN: Socket Mode, no port, same app."""
    from tests.serve_process import start_serve, stop_serve
    from tests.test_serve_command import _config

    slack.socket_url = socket.url
    slack.users["U1ANN"] = {"name": "ann"}
    proc, lines = start_serve(_config(tmp_path), {
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": slack.url,
        "EARSHOT_DATA": str(tmp_path / "data")}, "--no-scheduler")
    try:
        for round_, name in enumerate(("before", "after"), 1):
            socket.wait_connected(round_, timeout=30)
            payload = dict(parse_qsl(slash_body("/claim", "help", user="U1ANN",
                                                response_url=slack.response_url(name))))
            envelope_id = socket.send("slash_commands", payload, accepts_response=True)
            socket.wait_ack(envelope_id, within=SLACK_LIMIT)
            reply = wait_for(lambda n=name: [r for r in slack.responses if r["name"] == n],
                             what=f"reply {name}")
            assert "/claim E-42" in reply[0]["body"]["text"]
            if round_ == 1:
                socket.close()
    finally:
        stop_serve(proc, timeout=15)
    text = "".join(lines)
    assert not re.search(r"serving Slack events on port", text)  # no port in Socket Mode
    assert "will be unused" not in text

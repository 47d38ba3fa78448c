"""AckFirst: Bolt answers as soon as a listener acks; the work goes on after."""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.listeners import AckFirst, acks_at_once
from tests.e2e.helpers import action_payload, view_submission_payload


@pytest.fixture
def app_and_wrapper(slack):
    app = App(client=WebClient(token="xoxb-t", base_url=slack.url), signing_secret="s",
              token_verification_enabled=False, process_before_response=True,
              request_verification_enabled=False)
    pool = ThreadPoolExecutor(4)
    yield app, AckFirst(app, pool, wait_seconds=1.0)
    pool.shutdown(wait=True)


def _dispatch(app: App, payload: dict):
    body = urlencode({"payload": json.dumps(payload)})
    return app.dispatch(BoltRequest(body=body, headers={
        "content-type": "application/x-www-form-urlencoded"}))


def test_answer_leaves_at_ack_while_the_work_continues(app_and_wrapper):
    app, wrapped = app_and_wrapper
    release, done = threading.Event(), threading.Event()

    def on_click(ack, body):
        ack()
        release.wait(5)  # the slow part, after the ack
        done.set()

    wrapped.action("a")(on_click)
    started = time.monotonic()
    resp = _dispatch(app, action_payload("a", "k"))
    assert resp.status == 200 and time.monotonic() - started < 0.5
    assert not done.is_set()
    release.set()
    assert done.wait(5)


def test_modal_errors_from_the_worker_thread_are_the_http_answer(app_and_wrapper):
    app, wrapped = app_and_wrapper
    wrapped.view("v")(lambda ack: ack(response_action="errors", errors={"b": "no"}))
    resp = _dispatch(app, view_submission_payload("v", "", {}))
    assert resp.status == 200
    assert json.loads(resp.body) == {"response_action": "errors", "errors": {"b": "no"}}


def test_a_failure_before_the_ack_is_a_500_and_reaches_the_error_handler(app_and_wrapper):
    app, wrapped = app_and_wrapper
    seen = []
    app.error(lambda error: seen.append(error))

    def broken(ack):
        raise RuntimeError("boom")

    wrapped.action("a")(broken)
    assert _dispatch(app, action_payload("a", "k")).status == 500
    assert [str(e) for e in seen] == ["boom"]


def test_a_failure_after_the_ack_is_logged(app_and_wrapper, caplog):
    app, wrapped = app_and_wrapper
    failed = threading.Event()

    def late(ack):
        ack()
        time.sleep(0.05)
        failed.set()
        raise RuntimeError("late boom")

    wrapped.action("a")(late)
    with caplog.at_level(logging.ERROR, logger="bot.listeners"):
        assert _dispatch(app, action_payload("a", "k")).status == 200
        failed.wait(5)
        deadline = time.monotonic() + 5
        while "failed after acknowledging" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "failed after acknowledging" in caplog.text and "late boom" in caplog.text


def test_events_are_acknowledged_without_waiting_for_the_listener(app_and_wrapper):
    app, wrapped = app_and_wrapper
    release, done = threading.Event(), threading.Event()

    def on_home(event):
        release.wait(5)
        done.set()

    wrapped.event("app_home_opened")(on_home)
    body = json.dumps({"type": "event_callback", "team_id": "T001", "api_app_id": "A",
                       "event": {"type": "app_home_opened", "user": "U1", "tab": "home"},
                       "event_id": "Ev1", "event_time": 1})
    started = time.monotonic()
    resp = app.dispatch(BoltRequest(body=body, headers={"content-type": "application/json"}))
    assert resp.status == 200 and time.monotonic() - started < 0.5
    release.set()
    assert done.wait(5)


def test_a_listener_marked_acks_at_once_is_answered_before_it_starts(app_and_wrapper, caplog):
    app, wrapped = app_and_wrapper
    release, done = threading.Event(), threading.Event()
    seen = []

    @acks_at_once
    def on_click(ack, body):
        seen.append(ack())  # its own bare ack: the answer was already made
        release.wait(5)
        done.set()
        raise RuntimeError("late boom")

    wrapped.action("a")(on_click)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="bot.listeners"):
        resp = _dispatch(app, action_payload("a", "k"))
        assert resp.status == 200 and resp.body == ""
        assert time.monotonic() - started < 0.5 and not done.is_set()
        release.set()
        assert done.wait(5)
        deadline = time.monotonic() + 5
        while "failed after acknowledging" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert seen and seen[0].status == 200
    assert "failed after acknowledging" in caplog.text and "late boom" in caplog.text


def test_work_after_an_ack_at_once_runs_on_the_work_pool_and_modals_on_the_large_one(slack):
    app = App(client=WebClient(token="xoxb-t", base_url=slack.url), signing_secret="s",
              token_verification_enabled=False, process_before_response=True,
              request_verification_enabled=False)
    large = ThreadPoolExecutor(4, thread_name_prefix="large")
    work = ThreadPoolExecutor(1, thread_name_prefix="work")
    wrapped = AckFirst(app, large, wait_seconds=1.0, work_executor=work)
    ran: dict[str, str] = {}
    done = threading.Event()

    def record(name: str) -> None:
        ran[name] = threading.current_thread().name
        if len(ran) == 2:
            done.set()

    wrapped.action("claim")(acks_at_once(lambda ack: record("claim")))
    wrapped.action("answer")(acks_at_once(lambda ack: record("answer"), opens_modal=True))
    assert _dispatch(app, action_payload("claim", "k")).status == 200
    assert _dispatch(app, action_payload("answer", "k")).status == 200
    assert done.wait(5)
    assert ran["claim"].startswith("work") and ran["answer"].startswith("large")
    large.shutdown(wait=True)
    work.shutdown(wait=True)

"""Issue 9, items 3, 4 and 11: what a stranger (or a garbled Slack) sends to
/slack/events. Over real HTTP against the real app under waitress."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import time
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.e2e.helpers import (
    SECRET,
    action_payload,
    slash,
    view_submission_payload,
    wait_for,
)

FORM = "application/x-www-form-urlencoded"
MARKER = "stranger-body-marker"


def post(url: str, body: bytes, *, sign: bool = True, headers: dict[str, str] | None = None,
         content_type: str = FORM) -> requests.Response:
    ts = str(int(time.time()))
    sent = {"Content-Type": content_type}
    if sign:
        sent["X-Slack-Request-Timestamp"] = ts
        sent["X-Slack-Signature"] = "v0=" + hmac.new(
            SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    sent.update(headers or {})
    return requests.post(url + "/slack/events", data=body, headers=sent, timeout=10)


def request_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    # waitress.queue says the machine is busy (all threads taken), not about a request.
    return [r for r in caplog.records if r.levelno >= logging.INFO
            and not r.name.startswith(("urllib3", "waitress.queue"))]


def form_payload(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _with(payload: dict, **changes: object) -> dict:
    return {**payload, **changes}


def _view_state(state: object) -> dict:
    payload = view_submission_payload("escalate", "x", {})
    payload["view"]["state"] = state
    return payload


UNSIGNED = {
    "unsigned JSON-looking garbage": dict(body=b"payload={not-json", sign=False),
    "unsigned invalid UTF-8": dict(body=b"payload=\xff\xfe\xfd", sign=False),
    "non-numeric timestamp": dict(body=b"payload={}", sign=False, headers={
        "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
    "forged signature": dict(body=b"command=/claim&text=E-1", sign=False, headers={
        "X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}),
    "stale timestamp": dict(body=b"command=/claim", sign=False, headers={
        "X-Slack-Request-Timestamp": "1000", "X-Slack-Signature": "v0=" + "0" * 64}),
}
SIGNED_GARBAGE = {
    "payload not JSON": b"payload={not-json",
    "invalid UTF-8": b"payload=\xff\xfe\xfd",
    "payload a list": form_payload([1, 2]),
    "actions empty": form_payload(_with(action_payload("claim", "x"), actions=[])),
    "user a string": form_payload(_with(action_payload("claim", "x"), user="U1")),
    "view state a string": form_payload(_view_state("zz")),
    "view state values a list": form_payload(_view_state({"values": [1]})),
}


@pytest.mark.parametrize("case", list(UNSIGNED), ids=list(UNSIGNED))
def test_unsigned_or_forged_requests_get_401_and_one_log_line(earshot, caplog, case):
    caplog.set_level(logging.INFO)
    resp = post(earshot.url, **UNSIGNED[case])
    assert resp.status_code == 401
    logs = request_logs(caplog)
    assert len(logs) == 1, [r.getMessage() for r in logs]
    assert logs[0].exc_info is None and "\n" not in logs[0].getMessage()


@pytest.mark.parametrize("case", list(SIGNED_GARBAGE), ids=list(SIGNED_GARBAGE))
def test_signed_but_malformed_requests_get_400_and_one_log_line(earshot, caplog, case):
    caplog.set_level(logging.INFO)
    resp = post(earshot.url, SIGNED_GARBAGE[case])
    assert resp.status_code == 400
    logs = request_logs(caplog)
    assert len(logs) == 1, [r.getMessage() for r in logs]
    assert logs[0].exc_info is None and "\n" not in logs[0].getMessage()


def test_signed_json_body_of_the_wrong_shape_gets_400(earshot):
    resp = post(earshot.url, b'{"type": ["event_callback"]}', content_type="application/json")
    assert resp.status_code == 400


def _raw_request(url: str, head: bytes, first_body: bytes, timeout: float = 5.0) -> bytes:
    """Send headers and the start of a body, then read whatever the server answers."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head + first_body)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pass
        return answer


def test_a_100_mb_body_is_refused_with_413_before_it_is_sent(earshot, caplog):
    caplog.set_level(logging.INFO)
    head = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode()
            + b"\r\nContent-Length: 100000000\r\n\r\n")
    answer = _raw_request(earshot.url, head, b"payload=" + MARKER.encode() * 100)
    # Answered from the headers alone: only 2 kB of the promised 100 MB was ever sent.
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert MARKER not in caplog.text


def test_a_chunked_body_past_the_cap_is_refused_with_413(earshot):
    head = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode()
            + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    frames = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * 20  # 1.3 MB
    answer = _raw_request(earshot.url, head, frames)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_request_bodies_never_reach_the_log(earshot, caplog):
    caplog.set_level(logging.INFO)
    big = ("payload={" + MARKER * 40_000).encode()  # 800 kB, under the cap, unsigned
    assert post(earshot.url, big, sign=False).status_code == 401
    assert post(earshot.url, big).status_code == 400  # signed, not JSON
    assert MARKER not in caplog.text
    assert len(caplog.text) < 2000


def test_a_normal_signed_command_still_works_after_hostile_ones(earshot):
    post(earshot.url, b"payload={not-json")
    post(earshot.url, b"payload=\xff", sign=False)
    m = earshot.add()
    resp = slash(earshot.url, "/claim", m.short_id,
                 response_url=earshot.slack.response_url("ok"))
    assert resp.status_code == 200
    got = wait_for(lambda: earshot.responses("ok"), what="reply")
    assert got[0]["body"]["text"] == f"You claimed {m.short_id}."


def test_claim_with_thousands_of_digits_gets_a_not_found_reply(earshot):
    """Item 11: Python refuses int() of 4,301 digits; that must not swallow the reply."""
    resp = slash(earshot.url, "/claim", "E-" + "9" * 4301,
                 response_url=earshot.slack.response_url("digits"))
    assert resp.status_code == 200
    got = wait_for(lambda: earshot.responses("digits"), what="reply to /claim E-999...")
    assert "I can't find a mention" in got[0]["body"]["text"]

"""`serve` when Slack cannot be reached at boot (a DNS or network blip): one line, the
health check says "starting" (503), auth.test is retried with backoff, and the app
serves as soon as Slack answers. A refused token is still one line and exit 2."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import requests

from tests.e2e.helpers import BOT_TOKEN, SECRET, slash, wait_for
from tests.serve_process import http_port, start_serve, stop_serve
from tests.slack_standin import SlackStandIn
from tests.test_serve_command import _config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(tmp_path: Path, slack_url: str) -> tuple[subprocess.Popen, list[str]]:
    return start_serve(_config(tmp_path), {
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack_url,
        "PORT": "0", "EARSHOT_DATA": str(tmp_path / "data")}, "--no-scheduler")


def test_serve_waits_for_an_unreachable_slack_and_serves_when_it_answers(tmp_path):
    slack_port = _free_port()  # nothing listens there yet: connection refused
    slack = SlackStandIn(users={"U1ANN": {"name": "ann"}})
    proc, lines = _serve(tmp_path, f"http://127.0.0.1:{slack_port}/api/")
    try:
        url = f"http://127.0.0.1:{wait_for(lambda: http_port(proc, lines), 20, 'the port')}"
        health = requests.get(url + "/healthz", timeout=5)
        assert (health.status_code, health.json()) == (503, {"status": "starting"})
        assert slash(url, "/claim", "help").status_code == 503  # Slack retries these
        wait_for(lambda: any("unreachable" in x for x in lines), 20, "the outage line")
        time.sleep(2.5)  # a few retries while Slack is down
        assert proc.poll() is None  # not a crash loop

        slack.start(port=slack_port)
        wait_for(lambda: requests.get(url + "/healthz", timeout=5).status_code == 200, 30,
                 "healthy once Slack answers")
        resp = slash(url, "/claim", "help", response_url=slack.response_url("help"))
        assert resp.status_code == 200
        reply = wait_for(lambda: slack.responses, what="reply")[0]["body"]
        assert "/claim E-42" in reply["text"]
    finally:
        stop_serve(proc)
        slack.stop()
    text = "".join(lines)
    assert "Traceback" not in text
    assert sum("unreachable" in x for x in lines) == 1, text  # one line per outage
    assert "will be unused" not in text  # Bolt's token warning is noise


def test_serve_with_a_refused_token_is_one_line_exit_2(tmp_path, slack):
    slack.tokens = {"xoxb-the-real-one"}
    proc, lines = _serve(tmp_path, slack.url)
    assert proc.wait(30) == 2
    time.sleep(0.2)
    errors = [x for x in lines if x.startswith("earshot:")]
    assert len(errors) == 1 and "refused SLACK_BOT_TOKEN (invalid_auth)" in errors[0]
    assert "Traceback" not in "".join(lines)

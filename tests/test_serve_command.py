"""python -m bot serve: refuses clearly without tokens; serves HTTP mode for real."""

from __future__ import annotations

import gc
from pathlib import Path

import requests

from bot.__main__ import main
from bot.commands.serve import settle_heap
from tests.e2e.helpers import BOT_TOKEN, CHANNELS, SECRET, slash, wait_for
from tests.serve_process import http_port, start_serve, stop_serve

CONFIG = f"""
[brand]
terms = ["Acme"]

[departments.support]
channel = "{CHANNELS['support']}"

[departments.billing]
channel = "#billing"

[routing]
default = "support"

[escalation]
channel = "{CHANNELS['leadership']}"

[summary]
channel = "{CHANNELS['daily']}"
"""



def _config(tmp_path: Path) -> Path:
    path = tmp_path / "earshot.toml"
    path.write_text(CONFIG)
    return path


def test_serve_without_tokens_says_what_is_missing_and_exits_2(tmp_path, monkeypatch, capsys):
    for var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("EARSHOT_DATA", str(tmp_path / "data"))
    assert main(["serve", "--config", str(_config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN is not set" in err and "OAuth & Permissions" in err
    assert "SLACK_APP_TOKEN" in err and "SLACK_SIGNING_SECRET" in err
    assert "README" in err and "slack-manifest.yml" in err and "Traceback" not in err


def test_serve_rejects_a_bad_port_in_words(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.setenv("PORT", "http")
    assert main(["serve", "--config", str(_config(tmp_path))]) == 2
    assert "PORT must be a port number" in capsys.readouterr().err


def test_serve_in_http_mode_answers_health_and_signed_commands(slack, tmp_path):
    slack.users["U1ANN"] = {"name": "ann"}
    proc, lines = start_serve(_config(tmp_path), {
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
        "PORT": "0", "EARSHOT_DATA": str(tmp_path / "data")}, "--no-scheduler")
    try:
        port = wait_for(lambda: http_port(proc, lines), timeout=20, what="the port")
        url = f"http://127.0.0.1:{port}"
        # The port is bound before the store opens and Slack answers: "starting" (503)
        # until then.
        health = wait_for(lambda: (r := requests.get(url + "/healthz", timeout=5)).ok and r,
                          what="healthy")
        assert health.json() == {"status": "ok", "role": "single", "database": "ok"}
        resp = slash(url, "/claim", "help", response_url=slack.response_url("help"))
        assert resp.status_code == 200
        reply = wait_for(lambda: slack.responses, what="reply")[0]["body"]
        assert reply["response_type"] == "ephemeral" and "/claim E-42" in reply["text"]
        assert slash(url, "/claim", "help", forge=True).status_code == 401
    finally:
        stop_serve(proc)


class _Record:
    """A tracked object, like the store's records and the app's listeners."""


def test_settle_heap_keeps_what_start_up_built_out_of_later_collections():
    built = [_Record() for _ in range(1000)]
    settle_heap()
    try:
        later = _Record()
        tracked = gc.get_objects()  # what a full collection walks
        assert not any(o is built[0] for o in tracked)
        assert any(o is later for o in tracked)
    finally:
        gc.unfreeze()

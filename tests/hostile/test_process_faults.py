"""Issue 9, items 8 and 9: the process and its lock. `serve` runs as a child process
against the Slack stand-in, as a platform would run it."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import requests

from bot.store import open_store
from tests.hostile.cli import Serving, run_bot
from tests.hostile.conftest import write_config
from tests.hostile.standin import hn_hit, hn_pages


def _slack_env(slack) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": slack.url}


def _serve(tmp_path: Path, slack, data: Path) -> Serving:
    config = write_config(tmp_path, "")
    return Serving(config, data, **_slack_env(slack))


def test_sigterm_stops_serve_gracefully_like_ctrl_c(api, slack, tmp_path):
    """Item 8: exit 0 within Heroku's 30 s, with a log line, after posting what was
    queued and compacting the store."""
    data = tmp_path / "data"
    api.routes["/search_by_date"] = hn_pages(*(hn_hit(i, f"Acme support ticket {i}")
                                               for i in range(1, 4)))
    queued = run_bot("fetch", "--once", "--config",
                     str(write_config(tmp_path, f'[sources.hackernews]\nbase_url = "{api.url}"')),
                     data=data)
    assert "3 new" in queued.stderr, queued.stderr
    serving = _serve(tmp_path, slack, data)
    try:
        port = serving.wait_serving()
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["status"] == "ok"
        deadline = time.monotonic() + 20
        while len(slack.all_messages()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        serving.proc.send_signal(signal.SIGTERM)
        code = serving.wait(30)
    finally:
        serving.kill()
    assert code == 0, serving.stderr
    assert time.monotonic() - started < 30
    assert "SIGTERM received: stopping gracefully" in serving.stderr
    assert "Traceback" not in serving.stderr
    # The store was closed properly: compacted into the snapshot, journal emptied, and
    # every mention recorded as posted.
    assert (data / "earshot.json").stat().st_size > 0
    store = open_store(data)
    try:
        mentions = list(store.iter_mentions())
    finally:
        store.close()
    assert len(mentions) == 3 and all(m.slack_ts for m in mentions)
    assert len(slack.all_messages()) == 3


def test_deleting_the_lock_file_does_not_let_a_second_serve_in(slack, tmp_path):
    """Item 9: earshot.lock looks like a stale pid file; deleting it changes nothing."""
    data = tmp_path / "data"
    first = _serve(tmp_path, slack, data)
    second = None
    try:
        first.wait_serving()
        (data / "earshot.lock").unlink()
        second = _serve(tmp_path, slack, data)
        code = second.wait(30)
        assert code != 0
        assert "in use by another process" in second.stderr, second.stderr
        assert "serving Slack events" not in second.stderr
        assert first.proc.poll() is None  # the first one is untouched
    finally:
        first.kill()
        if second is not None:
            second.kill()


def test_a_replaced_data_directory_is_never_compacted_into(slack, tmp_path):
    """Item 9: the lock is re-checked at compaction; a process whose directory was moved
    away (and a new one put in its place) must not write its snapshot into the new one."""
    data = tmp_path / "data"
    first = _serve(tmp_path, slack, data)
    try:
        first.wait_serving()
        data.rename(tmp_path / "data.moved")
        data.mkdir()
        (data / "earshot.json").write_text(json.dumps({"_default": {}}))
        first.proc.send_signal(signal.SIGTERM)
        code = first.wait(30)
    finally:
        first.kill()
    assert code == 0
    assert "was deleted or replaced while this process was using it" in first.stderr
    assert json.loads((data / "earshot.json").read_text()) == {"_default": {}}

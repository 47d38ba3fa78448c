"""Issue 9, items 8 and 9: the process and its lock. `serve` runs as a child process
against the Slack stand-in, as a platform would run it."""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from bot.mention import State
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
        # serve binds its port before it opens the store (a platform kills a web process
        # that binds late), so the second one may have listened briefly; it never served.
        assert "Slack answered; handling requests" not in second.stderr
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


def test_a_full_disk_loses_no_mention_and_says_so_once(api, slack, tmp_path):
    """Item 5: store writes fail while posting; nothing is marked failed for good, the
    log says so once, and once space is freed every mention is posted exactly once and
    recorded."""
    data = tmp_path / "data"
    api.routes["/search_by_date"] = hn_pages(*(hn_hit(i, f"Acme support ticket {i}")
                                               for i in range(1, 6)))
    config = write_config(tmp_path, f'[sources.hackernews]\nbase_url = "{api.url}"')
    assert "5 new" in run_bot("fetch", "--once", "--config", str(config), data=data).stderr
    journal = data / "earshot.journal"
    # Room for about one more journal line: the first post's bookkeeping runs out of it.
    serving = Serving(config, data, max_file_bytes=journal.stat().st_size + 400,
                      **_slack_env(slack))
    try:
        serving.wait_serving()
        time.sleep(4)  # posts are tried, writes fail
        full = serving.stderr
        serving.free_space()
        deadline = time.monotonic() + 30
        while len(slack.all_messages()) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        serving.proc.send_signal(signal.SIGTERM)
        assert serving.wait(30) == 0, serving.stderr
    finally:
        serving.kill()
    assert full.count("cannot write the store") == 1, full
    assert "Traceback" not in full
    posts = [m for m in slack.all_messages() if m.get("thread_ts") is None]
    ids = [m["metadata"]["event_payload"]["outbox_id"] for m in posts]
    assert len(ids) == 5 and len(set(ids)) == 5, ids  # each once
    store = open_store(data)
    try:
        recorded = {m.key: m.slack_ts for m in store.iter_mentions()}
    finally:
        store.close()
    assert len(recorded) == 5 and all(recorded.values()), recorded


def test_an_escalation_cut_short_still_gets_its_summary_posted(api, slack, tmp_path):
    """Item 8: escalating changes the mention, then queues the summary to the target
    channel. A crash between the two left the mention escalated and the target team
    never told; the next start finishes the change."""
    data = tmp_path / "data"
    api.routes["/search_by_date"] = hn_pages(hn_hit(1, "Acme support ticket"))
    config = write_config(tmp_path, f'[sources.hackernews]\nbase_url = "{api.url}"')
    assert "1 new" in run_bot("fetch", "--once", "--config", str(config), data=data).stderr
    at = datetime.now(UTC)
    store = open_store(data)  # what the crash left: the first of the two writes only
    try:
        (mention,) = list(store.iter_mentions())

        def escalated(m):
            m.extra = {**m.extra, "escalation": {
                "from": "support", "to": "engineering", "reason": "the app is down",
                "urgency": "urgent", "by": "U1ANN", "at": at.isoformat(), "reminded": False}}
            m.state, m.department, m.escalated_at = State.ESCALATED, "engineering", at
            return m

        store.update_mention(mention.key, escalated)
    finally:
        store.close()
    serving = Serving(config, data, **_slack_env(slack))
    try:
        serving.wait_serving()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _summaries(slack):
            time.sleep(0.1)
        serving.proc.send_signal(signal.SIGTERM)
        assert serving.wait(30) == 0
    finally:
        serving.kill()
    (summary,) = _summaries(slack)
    assert summary["channel"] == "C2" and "the app is down" in json.dumps(summary)


def _summaries(slack) -> list[dict]:
    return [m for m in slack.all_messages()
            if "escalated" in (m.get("text") or "") and m.get("thread_ts") is None]

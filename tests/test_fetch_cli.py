"""`python -m bot fetch --once`, end to end by subprocess, against a local Hacker News API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "sources" / "fixtures" / "hackernews"


class HNStandIn:
    """Serves the recorded first page for page 0 and an empty page after it; or 500s."""

    def __init__(self) -> None:
        self.failing = False
        self.requests: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                stand_in.requests.append(self.path)
                if stand_in.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                page = parse_qs(urlsplit(self.path).query).get("page", ["0"])[0]
                name = "page1.json" if page == "0" else "empty.json"
                body = (FIXTURES / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hn() -> Iterator[HNStandIn]:
    stand_in = HNStandIn()
    yield stand_in
    stand_in.server.shutdown()


def write_config(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "earshot.toml"
    path.write_text(f"""
[brand]
terms = ["Acme"]
[sources.hackernews]
base_url = "{base_url}"
[departments.support]
channel = "C1"
keywords = ["support", "ticket"]
[departments.engineering]
channel = "C2"
keywords = ["outage", "bug"]
[routing]
default = "support"
[escalation]
channel = "C9"
[summary]
channel = "C8"
""")
    return path


def fetch(config: Path, *args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["EARSHOT_DATA"] = str(data)
    return subprocess.run(
        [sys.executable, "-m", "bot", "fetch", "--once", *args, "--config", str(config)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def test_dry_run_prints_each_mention_and_stores_nothing(hn, tmp_path):
    config = write_config(tmp_path, hn.url)
    data = tmp_path / "data"
    proc = fetch(config, "--dry-run", data=data)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # HTML entities from the API are plain text; the routing reason and links are shown.
    assert "Acme's support told me \"wait 3 days\" & then closed the ticket" in out
    assert "-> support" in out and "why:" in out
    assert "https://news.ycombinator.com/item?id=46011001" in out
    assert "hackernews: 2 fetched" in proc.stderr
    assert not data.exists()


def test_second_run_finds_nothing_new_and_an_outage_keeps_the_cursor(hn, tmp_path):
    config = write_config(tmp_path, hn.url)
    data = tmp_path / "data"
    first = fetch(config, data=data)
    assert first.returncode == 0, first.stderr
    assert "2 new" in first.stderr
    assert "slack: not configured" in first.stderr

    second = fetch(config, data=data)
    assert "0 new" in second.stderr, second.stderr

    hn.failing = True
    third = fetch(config, data=data)
    assert third.returncode == 1
    assert "failed" in third.stderr and "cursor kept" in third.stderr
    assert "Traceback" not in third.stderr

    hn.failing = False
    fourth = fetch(config, data=data)
    assert fourth.returncode == 0 and "0 new" in fourth.stderr


def test_unknown_source_flag_is_a_usage_error(hn, tmp_path):
    proc = fetch(write_config(tmp_path, hn.url), "--source", "myspace", data=tmp_path / "d")
    assert proc.returncode == 2
    assert "myspace" in proc.stderr and "Traceback" not in proc.stderr


def test_replay_and_fetch_agree_on_judgment(hn, tmp_path):
    """The same text gets the same department whichever command judged it."""
    config = write_config(tmp_path, hn.url)
    export = tmp_path / "posts.jsonl"
    export.write_text(json.dumps({"id": "1", "text": "Acme outage again, this bug"}) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "replay", str(export), "--config", str(config)],
        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["department"] == "engineering"


def test_fetch_without_slack_queues_the_new_mentions_for_serve(hn, tmp_path):
    """Without SLACK_BOT_TOKEN `fetch --once` says the new mentions are queued: they must
    really be in the outbox, or `serve` later sees them as stored and never posts them."""
    from bot.store import open_store

    config = write_config(tmp_path, hn.url)
    data = tmp_path / "data"
    proc = fetch(config, data=data)
    assert proc.returncode == 0, proc.stderr
    assert "2 new" in proc.stderr
    store = open_store(str(data), read_only=True)
    try:
        keys = {m.key for m in store.iter_mentions()}
        queued = {i.mention_key for i in store.pending_outbox() if i.kind == "mention"}
    finally:
        store.close()
    assert len(keys) == 2
    assert queued == keys


def test_unreachable_source_is_one_short_line_without_traceback(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_config(tmp_path, f"http://127.0.0.1:{port}")
    proc = fetch(config, "--dry-run", data=tmp_path / "data")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # not a log warning and then the same again
    assert lines[0].startswith("hackernews: failed: cannot reach") and "refused" in lines[0]
    assert "hackernews: failed: hackernews:" not in lines[0] and "Traceback" not in proc.stderr


def test_dry_run_output_carries_no_terminal_escapes_from_posts():
    import io
    from datetime import UTC, datetime

    from bot.commands.fetch import print_mentions
    from bot.mention import Mention

    m = Mention(source="hackernews", native_id="1", url="https://x.example/\x1b]0;pwn\x07",
                text="Acme \x1b[2J\x1b[31mred\x9b1m", author="eve\x1b[8m\nnext",
                created_at=datetime(2026, 11, 23, tzinfo=UTC))
    out = io.StringIO()
    print_mentions([m], out)
    text = out.getvalue()
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "Acme [2J[31mred1m" in text and "@eve[8m next:" in text
    assert len(text.splitlines()) == 4


def test_text_summary_carries_no_terminal_escapes_from_posts():
    from bot.summary.render import excerpt, printable

    assert excerpt("bag \x1b[2J lost\x00") == "bag [2J lost"
    assert printable("a\x1b[31m\tb\nc\x7f") == "a[31m\tb\nc"

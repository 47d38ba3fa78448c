"""`audit` and `summary --dry-run/--json` read the store while another process (the
running bot) holds it; `summary --post`, which writes, is refused with a clear message."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.summary.helpers import write_config

ROOT = Path(__file__).resolve().parents[1]

# Stands in for `python -m bot serve`: holds the store (its flock) and writes to it.
HOLDER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from bot.mention import Event
    from bot.store import open_store
    from tests.summary.helpers import mention

    store = open_store(sys.argv[1])
    keys = []
    for i in range(3):
        m = store.add_mention(mention("my bag was lost", datetime(2026, 3, 10, 9 + i,
                                                                   tzinfo=UTC)))
        keys.append(m.key)
    store.add_event(Event(keys[0], "published", datetime(2026, 3, 11, 8, tzinfo=UTC),
                          user="UPUB", data={"draft_id": "d1", "text": "Sorry!",
                                             "url": "https://m.example/9",
                                             "author": "UAUTH", "approver": "UPUB"}))
    store.flush()
    print("ready", flush=True)
    sys.stdin.readline()  # then one more reply is published while the bot runs
    store.add_event(Event(keys[1], "published", datetime(2026, 3, 12, 8, tzinfo=UTC),
                          user="UPUB", data={"draft_id": "d2", "text": "On it"}))
    print("ready", flush=True)
    sys.stdin.read()
    store.close()
""")


@pytest.fixture
def running_bot(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "data")],
                              cwd=ROOT, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    try:
        yield holder
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0


def bot(tmp_path: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    base = {**os.environ, "EARSHOT_DATA": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    base.pop("SLACK_BOT_TOKEN", None)
    base.pop("SLACK_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", args[0], "--config", str(write_config(tmp_path)),
         *args[1:]],
        cwd=ROOT, env={**base, **(env or {})}, capture_output=True, text=True, timeout=60)


def test_audit_while_the_bot_holds_the_store(tmp_path, running_bot):
    result = bot(tmp_path, "audit")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["draft_id"], r["mention"], r["text"]) for r in rows] == [
        ("d1", "E-1", "Sorry!")]
    assert not list((tmp_path / "data").glob("*.tmp"))

    running_bot.stdin.write("go\n")
    running_bot.stdin.flush()
    assert running_bot.stdout.readline().strip() == "ready"
    result = bot(tmp_path, "audit", "--since", "2026-03-12")
    assert result.returncode == 0, result.stderr
    assert [r["draft_id"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["d2"]


def test_summary_dry_run_and_json_while_the_bot_holds_the_store(tmp_path, running_bot):
    result = bot(tmp_path, "summary", "--dry-run", "--date", "2026-03-10")
    assert result.returncode == 0, result.stderr
    assert "3 mentions" in result.stdout and "lost or delayed bags — 3" in result.stdout

    result = bot(tmp_path, "summary", "--json", "--date", "2026-03-10")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == 3


def test_summary_post_while_the_bot_holds_the_store_is_refused_in_words(tmp_path,
                                                                        running_bot):
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    result = bot(tmp_path, "summary", "--post", env=env)
    assert result.returncode == 2
    assert "--post cannot run beside the bot" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--dry-run and --json work while it runs" in result.stderr
    assert "Traceback" not in result.stderr

"""DATABASE_URL through the command line, by subprocess: it picks PostgreSQL, and every
way it can be wrong is one line naming the problem and exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bot.store.postgres import PostgresStore
from bot.store.postgres.migrate import latest_version
from tests.pg_cluster import PASSWORD, PASSWORD_USER, free_port
from tests.test_fetch_cli import hn, write_config  # noqa: F401 - hn is a fixture

ROOT = Path(__file__).resolve().parents[2]


def run_bot(config: Path, url: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(EARSHOT_DATA=str(data), DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "bot", *args, "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


def one_line_exit_2(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_fetch_with_database_url_stores_in_postgres_not_on_disk(hn, tmp_path, pg_url):  # noqa: F811
    data = tmp_path / "data"
    # Heroku's spelling of the scheme is accepted too.
    url = pg_url.replace("postgresql://", "postgres://", 1)
    proc = run_bot(write_config(tmp_path, hn.url), url, data, "fetch", "--once")
    assert proc.returncode == 0, proc.stderr
    assert "2 new" in proc.stderr
    assert not data.exists()  # nothing went to the TinyDB directory
    store = PostgresStore.open(pg_url)
    try:
        assert store.count_mentions() == 2
        assert store.get_cursor("hackernews") is not None
        assert sorted(m.number for m in store.iter_mentions()) == [1, 2]
    finally:
        store.close()


def test_a_malformed_database_url_is_one_line_and_exit_2(tmp_path):
    line = one_line_exit_2(run_bot(write_config(tmp_path, "http://127.0.0.1:9"),
                                   "postgresql://u:secret@localhost:notaport/db",
                                   tmp_path / "data", "fetch", "--once"))
    assert "DATABASE_URL is not a valid PostgreSQL URL" in line
    assert "secret" not in line  # the password is never printed


@pytest.mark.parametrize("url, expected", [
    ("mysql://u:secret@localhost/db", "must start with postgresql:// or postgres://"),
    ("postgresql://u:secret@localhost:99999/db", "not a valid PostgreSQL URL"),
    ("postgresql://u:secret@localhost/db?sslmode=sometimes", "invalid sslmode value"),
    ("postgresql://u:secret@[::1/db", "not a valid PostgreSQL URL"),
])
def test_each_kind_of_malformed_url_is_named(url, expected, capsys, tmp_path):
    from bot.__main__ import main

    assert main(["store", "copy", "--to", url, "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "secret" not in err and len(err.strip().splitlines()) == 1


def test_a_wrong_password_is_named(tmp_path, pg_cluster, pg_url):
    dbname = pg_url.rsplit("/", 1)[1]
    url = pg_cluster.url(dbname, user=PASSWORD_USER, password="wrong-password")
    line = one_line_exit_2(run_bot(write_config(tmp_path, "http://127.0.0.1:9"), url,
                                   tmp_path / "data", "fetch", "--once"))
    assert "refused the password" in line and PASSWORD_USER in line
    assert "wrong-password" not in line
    # ... and the right one works (the role really checks passwords).
    right = pg_cluster.url(dbname, user=PASSWORD_USER, password=PASSWORD)
    PostgresStore.open(right).close()


def test_an_unreachable_host_is_named(tmp_path):
    url = f"postgresql://earshot@127.0.0.1:{free_port()}/earshot"
    line = one_line_exit_2(run_bot(write_config(tmp_path, "http://127.0.0.1:9"), url,
                                   tmp_path / "data", "fetch", "--once"))
    assert "cannot reach PostgreSQL at 127.0.0.1:" in line and "connection refused" in line


def test_a_schema_newer_than_the_code_is_refused(tmp_path, fresh_pg_url):
    PostgresStore.open(fresh_pg_url).close()
    newer = latest_version() + 1
    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO earshot_migrations (version, name) VALUES (%s, 'future')",
                     (newer,))
    line = one_line_exit_2(run_bot(write_config(tmp_path, "http://127.0.0.1:9"),
                                   fresh_pg_url, tmp_path / "data", "fetch", "--once"))
    assert f"schema is version {newer}" in line and "upgrade Earshot" in line


def test_serve_reports_a_bad_database_url_before_anything_starts(tmp_path):
    env_extra = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(env_extra, EARSHOT_DATA=str(tmp_path / "data"),
               DATABASE_URL="postgresql://u:pw@127.0.0.1:notaport/db", PORT="0")
    proc = subprocess.run([sys.executable, "-m", "bot", "serve", "--config",
                           str(write_config(tmp_path, "http://127.0.0.1:9"))],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    line = one_line_exit_2(proc)
    assert "DATABASE_URL is not a valid PostgreSQL URL" in line


def test_a_dry_run_never_touches_the_database(hn, tmp_path):  # noqa: F811
    url = f"postgresql://earshot@127.0.0.1:{free_port()}/earshot"  # nothing listens there
    proc = run_bot(write_config(tmp_path, hn.url), url, tmp_path / "data", "fetch", "--once",
                   "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "hackernews: 2 fetched" in proc.stderr and not (tmp_path / "data").exists()


def run_with_slack(config: Path, url: str, slack, tmp_path: Path, *args: str
                   ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(EARSHOT_DATA=str(tmp_path / "data"), DATABASE_URL=url,
               SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.url)
    return subprocess.run([sys.executable, "-m", "bot", *args, "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=90)


def held_leader_lock(url: str) -> psycopg.Connection:
    """What a running `serve` leader holds: the session advisory lock on its own
    connection."""
    from bot.store.postgres.leader import LEADER_LOCK

    conn = psycopg.connect(url, autocommit=True)
    assert conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()[0]
    return conn


def test_one_off_commands_beside_a_leader_only_queue_and_alone_they_post(
        hn, slack, tmp_path, pg_url):  # noqa: F811
    """Two posters on one outbox could both send a row: beside a running leader,
    `fetch --once` and `summary --post` queue (the leader posts); with no leader they
    post themselves."""
    slack.rate_per_second = 1000
    config = write_config(tmp_path, hn.url)
    leader = held_leader_lock(pg_url)
    try:
        fetched = run_with_slack(config, pg_url, slack, tmp_path, "fetch", "--once")
        summary = run_with_slack(config, pg_url, slack, tmp_path, "summary", "--post")
    finally:
        leader.close()
    assert fetched.returncode == 0 and "2 new" in fetched.stderr, fetched.stderr
    assert "queued; the running `serve` (the leader replica) posts them" in fetched.stderr
    assert summary.returncode == 0, summary.stderr
    assert "queued the summary" in summary.stdout and "leader replica" in summary.stdout
    assert slack.calls_to("chat.postMessage") == []
    store = PostgresStore.open(pg_url)
    try:
        assert len([r for r in store.pending_outbox() if r.status == "pending"]) == 3
    finally:
        store.close()

    # No leader now: the next one-off command is the poster, and sends the backlog once.
    again = run_with_slack(config, pg_url, slack, tmp_path, "fetch", "--once")
    assert again.returncode == 0 and "0 new" in again.stderr, again.stderr
    assert len(slack.calls_to("chat.postMessage")) == 3
    assert "Traceback" not in fetched.stderr + summary.stderr + again.stderr


def test_polling_fetch_posts_only_while_no_serve_leads(hn, slack, tmp_path, pg_url):  # noqa: F811
    """`fetch` without --once polls all along, and posts only once it holds the leader
    lock: beside a running leader it leaves the posting to it."""
    import signal
    import time

    slack.rate_per_second = 1000
    config = write_config(tmp_path, hn.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(EARSHOT_DATA=str(tmp_path / "data"), DATABASE_URL=pg_url,
               SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.url)
    leader = held_leader_lock(pg_url)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "fetch", "--config", str(config)],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    store = PostgresStore.open(pg_url)
    try:
        deadline = time.monotonic() + 30
        while store.count_mentions() < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.count_mentions() == 2
        time.sleep(1.0)  # a worker that posted regardless would have by now
        assert slack.calls_to("chat.postMessage") == []
        leader.close()  # the leader goes away: fetch takes the lock and posts the queue
        deadline = time.monotonic() + 20
        while len(slack.calls_to("chat.postMessage")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(slack.calls_to("chat.postMessage")) == 2
    finally:
        leader.close()
        store.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err

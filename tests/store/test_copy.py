"""`python -m bot store copy`: TinyDB -> PostgreSQL -> TinyDB keeps every
mention and its number, cursor, outbox row, event, draft and audit entry."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.__main__ import main
from bot.mention import Event, Link, State
from bot.store.base import OutboxItem, Store
from bot.store.postgres import PostgresStore
from bot.store.tinydb_store import TinyDBStore
from tests.store.helpers import T0, mention

OUTBOX_IDS = [f"o{i}" for i in range(6)]
META = ["draft:d1", "draft:d2", "spike", "counter"]


def fill(store: Store) -> None:
    for i in range(30):
        m = mention(str(i), minutes=29 - i, fingerprint=f"fp{i % 4}",
                    links=[Link("reddit", f"https://reddit.com/{i}")] if i % 3 else None)
        m.department, m.extra = ("billing" if i % 2 else "support"), {"i": i, "s": "é\u0000"}
        store.add_mention(m)
    store.update_mention("hn:3", lambda m: replace(m, state=State.CLAIMED, owner="U1",
                                                   claimed_at=T0))
    store.update_mention("hn:4", lambda m: replace(m, state=State.ANSWERED, owner="U2",
                                                   slack_channel="C1", slack_ts="1.4"))
    store.set_cursor("hackernews", {"since": 42})
    store.set_cursor("reddit", {"after": "t3_x"})
    for n, item_id in enumerate(OUTBOX_IDS):
        store.enqueue(OutboxItem(id=item_id, kind="mention", channel="C1",
                                 mention_key=f"hn:{n}", payload={"n": n},
                                 created_at=T0 + timedelta(seconds=n % 2)))
    store.update_outbox("o1", lambda i: replace(i, status="sent", result={"ts": "9.9"}))
    store.update_outbox("o2", lambda i: replace(i, status="sending", attempts=1))
    for n in range(5):
        store.add_event(Event(f"hn:{n}", "claimed", T0 + timedelta(minutes=n % 2), user="U1"))
    store.add_event(Event("hn:4", "published", T0, user="U2",
                          data={"url": "https://bsky.app/x", "draft": "d1"}))  # the audit
    store.set_meta("draft:d1", {"text": "Sorry!", "state": "published"})
    store.set_meta("draft:d2", {"text": "Hi", "state": "pending"})
    store.set_meta("spike", None)
    store.update_meta("counter", lambda old: 7)


def contents(store: Store) -> dict[str, Any]:
    return {
        "mentions": [m.to_dict() for m in store.iter_mentions()],
        "numbers": {m.key: m.number for m in store.iter_mentions()},
        "cursors": {s: store.get_cursor(s) for s in ("hackernews", "reddit")},
        "outbox": [store.get_outbox(i) for i in OUTBOX_IDS],
        "pending": [i.id for i in store.pending_outbox(T0 + timedelta(days=1))],
        "events": [e.to_dict() for e in store.events()],
        "meta": {k: store.get_meta(k) for k in META},
        "open": [m.key for m in store.open_mentions()],
        "claimed": [m.key for m in store.claimed_by("U1")],
        "by_message": store.find_by_slack_message("C1", "1.4").key,
    }


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def copy(*args: str, data: Path) -> Run:
    """The command line in this process (the bad-input paths are also run by subprocess in
    test_postgres_cli.py); a store opened here is closed by the command itself."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["store", "copy", *args, "--data", str(data)])
    return Run(code, out.getvalue(), err.getvalue())


def test_copy_to_postgres_and_back_keeps_everything(tmp_path, pg_url):
    data = tmp_path / "data"
    store = TinyDBStore.open(data)
    fill(store)
    expected = contents(store)
    store.close()

    proc = copy("--to", pg_url, data=data)
    assert proc.returncode == 0, proc.stderr
    assert "mentions" in proc.stdout and "30" in proc.stdout and "MISMATCH" not in proc.stdout
    pg = PostgresStore.open(pg_url)
    try:
        assert contents(pg) == expected
    finally:
        pg.close()

    back = tmp_path / "back"
    proc = copy("--from", pg_url, data=back)
    assert proc.returncode == 0, proc.stderr
    for store in (TinyDBStore.open(back), PostgresStore.open(pg_url)):
        try:
            assert contents(store) == expected
            assert store.add_mention(mention("new")).number == 31  # numbering continues
        finally:
            store.close()


def test_a_non_empty_target_is_refused_unless_forced(tmp_path, pg_url):
    data = tmp_path / "data"
    store = TinyDBStore.open(data)
    fill(store)
    store.close()
    assert copy("--to", pg_url, data=data).returncode == 0

    refused = copy("--to", pg_url, data=data)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    forced = copy("--to", pg_url, "--force", data=data)
    assert forced.returncode == 0, forced.stderr
    pg = PostgresStore.open(pg_url)
    try:
        assert pg.count_mentions() == 30  # replaced, not doubled
    finally:
        pg.close()

    refused = copy("--from", pg_url, data=data)  # the TinyDB directory holds a store
    assert refused.returncode == 2 and "not empty" in refused.stderr
    forced = copy("--from", pg_url, "--force", data=data)
    assert forced.returncode == 0, forced.stderr
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("data.replaced-")]
    assert len(aside) == 1  # the replaced store was moved aside, not deleted
    old = TinyDBStore.open(aside[0], read_only=True)
    assert old.count_mentions() == 30
    old.close()

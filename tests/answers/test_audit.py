"""`python -m bot audit`: CSV of exactly the published replies."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.mention import Event, Mention
from bot.store import open_store

CONFIG = """
[brand]
terms = ["Acme"]
[departments.support]
channel = "CSUPPORT"
[routing]
default = "support"
[escalation]
channel = "CLEAD"
[summary]
channel = "CDAILY"
"""


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "earshot.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("EARSHOT_DATA", str(tmp_path / "data"))
    store = open_store(tmp_path / "data")
    m1 = store.add_mention(Mention("mastodon", "1", "t", "https://m.example/@c/1", _at(1)))
    m2 = store.add_mention(Mention("x", "2", "t", "https://x.com/c/status/2", _at(1)))
    store.add_event(Event(m1.key, "published", _at(3), user="UPUB", data={
        "draft_id": "d1", "text": 'Sorry, "fixed" now,\nthanks', "url": "https://m.example/9",
        "author": "UAUTH", "approver": "UPUB"}))
    store.add_event(Event(m2.key, "published", _at(10), user="UPUB2", data={
        "draft_id": "d2", "text": "On it", "url": "https://x.com/i/web/status/7",
        "author": "UPUB2", "approver": "UPUB2"}))
    # Not published: must not appear.
    store.add_event(Event(m1.key, "answered", _at(4), user="UX", data={
        "text": "recorded only", "published": False, "url": None}))
    store.add_event(Event(m2.key, "draft", _at(5), user="UY", data={"draft_id": "d3",
                                                                    "text": "waiting"}))
    store.add_event(Event(m2.key, "publish_failed", _at(6), data={"draft_id": "d4",
                                                                  "error": "HTTP 500"}))
    store.close()
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, str]]]:
    code = main(["audit", *argv])
    out = capsys.readouterr().out
    return code, list(csv.DictReader(io.StringIO(out)))


def test_audit_lists_exactly_the_published_replies(config: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, rows = _run(capsys, "--config", str(config))
    assert code == 0
    assert [r["draft_id"] for r in rows] == ["d1", "d2"]
    first = rows[0]
    assert first["text"] == 'Sorry, "fixed" now,\nthanks'  # exact text survives CSV
    assert (first["written_by"], first["approved_by"]) == ("UAUTH", "UPUB")
    assert first["published_url"] == "https://m.example/9"
    assert first["mention"] == "E-1" and first["source"] == "mastodon"
    assert first["original_url"] == "https://m.example/@c/1"
    assert first["published_at"] == "2026-11-03T12:00:00+00:00"


def test_audit_since_filters_by_publication_day(config: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, rows = _run(capsys, "--config", str(config), "--since", "2026-11-10")
    assert code == 0 and [r["draft_id"] for r in rows] == ["d2"]


def test_audit_with_nothing_published_prints_only_the_header(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "earshot.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("EARSHOT_DATA", str(tmp_path / "data"))
    open_store(tmp_path / "data").close()
    assert main(["audit", "--config", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "published_at,mention,mention_key,source,original_url,written_by,approved_by,"
        "published_url,text,draft_id"]


def test_audit_bad_date_is_answered_in_words(config: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--config", str(config), "--since", "last tuesday"]) == 2
    err = capsys.readouterr().err
    assert "--since expects a date like 2026-11-01" in err and "Traceback" not in err

"""Polling: cursors survive restarts and failures; one mention per story; noise dropped."""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.ingest.pipeline import Pipeline
from bot.ingest.polling import SourcePoller
from bot.judgment.dedupe import fingerprint
from bot.mention import Link, Mention
from bot.settings import load_settings
from bot.sources.base import FetchResult, RateLimited, Source, SourceError
from bot.store import open_store
from bot.store.tinydb_store import TinyDBStore
from tests.company import COMPANY_CONFIG

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class ScriptedSource(Source):
    """A source whose answers a test scripts: a list of results or exceptions."""

    name = "scripted"

    def __init__(self, script: list[Any]) -> None:  # noqa: D107 - no settings needed
        self.script = list(script)
        self.cursors_seen: list[dict | None] = []

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        self.cursors_seen.append(cursor)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


class RecordingPoster:
    def __init__(self) -> None:
        self.posted: list[str] = []
        self.refreshed: list[str] = []

    def post_mention(self, mention: Mention) -> None:
        self.posted.append(mention.key)

    def refresh(self, mention_key: str) -> None:
        self.refreshed.append(mention_key)


def post(native_id: str, text: str, *, source: str = "scripted", author: str = "someone",
         url: str | None = None, minutes: int = 0) -> Mention:
    return Mention(source=source, native_id=native_id, text=text,
                   url=url or f"https://example.org/{source}/{native_id}",
                   created_at=T0 + timedelta(minutes=minutes), author=author)


@pytest.fixture
def settings(tmp_path: Path):
    path = tmp_path / "earshot.toml"
    path.write_text(COMPANY_CONFIG)
    return load_settings(path, env={})


class DiskFillsUp(TinyDBStore):
    """The real store, whose disk fills up after `room` more mentions: add_mention then
    fails as a full disk makes a write fail, until the disk is freed."""

    room: int | None = None  # None: plenty of room

    def add_mention(self, mention: Mention) -> Mention:
        if self.room is not None:
            if self.room <= 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.room -= 1
        return super().add_mention(mention)


def make_poller(settings, data_dir: Path, script: list[Any], poster=None, clock=None,
                store=None):
    store = store or open_store(data_dir)
    clock = clock or Clock()
    pipeline = Pipeline(settings, store, poster=poster, clock=clock)
    source = ScriptedSource(script)
    poller = SourcePoller(source, store, pipeline, interval=timedelta(minutes=5), clock=clock)
    return poller, source, store


def test_restart_resumes_from_the_saved_cursor(settings, tmp_path):
    data = tmp_path / "data"
    poller, _, store = make_poller(settings, data, [
        FetchResult([post("1", "Acme refund please")], {"since": 1})])
    assert poller.poll().ok
    store.close()

    poller, source, store = make_poller(settings, data, [
        FetchResult([post("2", "Acme is great")], {"since": 2})])
    poller.poll()
    assert source.cursors_seen == [{"since": 1}]
    assert [m.key for m in store.iter_mentions()] == ["scripted:1", "scripted:2"]
    store.close()


def test_failure_keeps_cursor_backs_off_and_logs_once_per_outage(settings, tmp_path, caplog):
    clock = Clock()
    poller, source, store = make_poller(settings, tmp_path, [
        FetchResult([post("1", "Acme one")], {"since": 1}),
        SourceError("HTTP 500 from server"),
        SourceError("HTTP 500 from server"),
        SourceError("timed out"),
        FetchResult([post("2", "Acme two"), post("3", "Acme three")], {"since": 3}),
    ], clock=clock)
    poller.poll()
    caplog.set_level(logging.DEBUG, logger="bot.ingest.polling")
    outcomes = []
    for _ in range(3):
        clock.now += timedelta(hours=2)  # past any backoff
        outcomes.append(poller.poll())
    assert not any(o.ok for o in outcomes)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "keeping its cursor" in warnings[0].getMessage()
    assert store.get_cursor("scripted") == {"since": 1}

    clock.now += timedelta(hours=2)
    assert poller.poll().ok
    # Every failed poll and the recovery asked from the last good cursor.
    assert source.cursors_seen[1:] == [{"since": 1}] * 4
    assert store.get_cursor("scripted") == {"since": 3}
    assert store.count_mentions() == 3
    assert any("recovered" in r.getMessage() for r in caplog.records)


def test_a_store_write_failing_mid_batch_keeps_the_cursor_and_the_retry_stores_the_rest(
        settings, tmp_path):
    clock, poster = Clock(), RecordingPoster()
    batch = [post("2", "Acme two"), post("3", "Acme three", minutes=1),
             post("4", "Acme four", minutes=2)]
    store = DiskFillsUp.open(tmp_path)
    poller, source, _ = make_poller(settings, tmp_path, [
        FetchResult([post("1", "Acme one")], {"since": 1}),
        FetchResult(batch, {"since": 4}),
        FetchResult(batch, {"since": 4}),  # asked again from the old cursor: same items
    ], poster=poster, clock=clock, store=store)
    assert poller.poll().ok
    store.room = 1  # "scripted:2" fits, "scripted:3" does not
    failed = poller.poll()
    assert not failed.ok and "No space left" in failed.error
    assert store.get_cursor("scripted") == {"since": 1}
    assert [m.key for m in store.iter_mentions()] == ["scripted:1", "scripted:2"]

    store.room = None  # the disk was freed
    clock.now += timedelta(hours=2)
    retried = poller.poll()
    assert retried.ok and source.cursors_seen[2] == {"since": 1}
    assert retried.result.seen == 1
    assert [m.key for m in retried.result.new] == ["scripted:3", "scripted:4"]
    assert store.get_cursor("scripted") == {"since": 4}
    # Nothing missed, nothing twice.
    assert [m.key for m in store.iter_mentions()] == [f"scripted:{n}" for n in range(1, 5)]
    assert poster.posted == [f"scripted:{n}" for n in range(1, 5)]
    store.close()


def test_backoff_skips_polls_until_it_expires(settings, tmp_path):
    clock = Clock()
    poller, source, _ = make_poller(settings, tmp_path, [
        SourceError("down"), FetchResult([], {"since": 9})], clock=clock)
    first = poller.poll()
    assert not first.ok and first.retry_at == T0 + timedelta(minutes=5)
    clock.now += timedelta(minutes=1)
    assert poller.poll().skipped
    assert len(source.cursors_seen) == 1
    clock.now += timedelta(minutes=5)
    assert poller.poll().ok


def test_rate_limit_waits_as_long_as_the_source_asked(settings, tmp_path):
    clock = Clock()
    poller, _, _ = make_poller(settings, tmp_path, [RateLimited("429", retry_after=900)],
                               clock=clock)
    outcome = poller.poll()
    assert outcome.retry_at == T0 + timedelta(seconds=900)


def test_same_post_seen_twice_is_stored_and_posted_once(settings, tmp_path):
    poster = RecordingPoster()
    poller, _, store = make_poller(settings, tmp_path, [
        FetchResult([post("1", "Acme charged me twice")], {"c": 1}),
        FetchResult([post("1", "Acme charged me twice")], {"c": 2}),
    ], poster=poster)
    poller.poll()
    second = poller.poll()
    assert second.result.seen == 1
    assert store.count_mentions() == 1
    assert poster.posted == ["scripted:1"]


def test_copies_across_sources_become_one_mention_with_all_links(settings, tmp_path):
    poster = RecordingPoster()
    original = post("1", "Acme lost my order again https://t.co/abc", source="x")
    copies = [
        post("7", "RT @angry: acme  lost my order AGAIN https://t.co/zzz", source="x", minutes=1),
        post("8", "Acme lost my order again", source="mastodon", minutes=2),
    ]
    poller, _, store = make_poller(settings, tmp_path, [
        FetchResult([original, *copies], {"c": 1})], poster=poster)
    result = poller.poll().result
    assert len(result.new) == 1 and len(result.merged) == 2
    stored = store.get_mention("x:1")
    assert [link.url for link in stored.all_links()] == [
        original.url, copies[0].url, copies[1].url]
    assert poster.posted == ["x:1"]
    assert poster.refreshed == ["x:1", "x:1"]


def test_a_copy_with_the_same_url_but_different_text_is_merged(settings, tmp_path):
    # The same article in two feeds, and shared on another network: each with its own
    # excerpt, so no fingerprint matches; the URL is what they have in common.
    poster = RecordingPoster()
    article = "https://blog.example.org/2026/11/acme-outage-report"
    original = post("a1", "Acme outage report: what went wrong on Tuesday", source="rss",
                    url=article)
    other_feed = post("b7", "Acme explains the Tuesday outage in a long post", source="rss",
                      url=article, minutes=1)
    shared = post("99", "Acme finally says why my dashboard was down for six hours",
                  source="lobsters", url=article, minutes=2)
    assert len({fingerprint(m.text) for m in (original, other_feed, shared)}) == 3
    poller, _, store = make_poller(settings, tmp_path, [
        FetchResult([original, other_feed, shared], {"c": 1})], poster=poster)
    result = poller.poll().result
    assert [m.key for m in result.new] == ["rss:a1"]
    assert result.merged == [("rss:a1", Link("lobsters", article))]
    assert store.count_mentions() == 1
    assert [link.source for link in store.get_mention("rss:a1").all_links()] == [
        "rss", "lobsters"]
    assert poster.posted == ["rss:a1"] and poster.refreshed == ["rss:a1"]


def test_noise_is_dropped_with_a_reason(settings, tmp_path):
    poller, _, store = make_poller(settings, tmp_path, [FetchResult([
        post("1", "Welcome to Acmeville, population 12"),
        post("2", "Loved the Acme Corporation cartoon as a kid"),
        post("3", "Acme release notes are out", author="acme_official"),
        post("4", "My Acme invoice is wrong, I was charged twice"),
    ], {"c": 1})])
    result = poller.poll().result
    assert [m.native_id for m, _ in result.dropped] == ["1", "2", "3"]
    assert all(reason for _, reason in result.dropped)
    [kept] = list(store.iter_mentions())
    assert kept.native_id == "4"
    assert kept.department == "billing" and kept.complaint
    assert kept.number == 1 and kept.reason

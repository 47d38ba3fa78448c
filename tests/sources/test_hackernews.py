"""Hacker News (Algolia search_by_date) against a local stand-in serving Algolia-shaped
responses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import BrandSettings
from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.hackernews import OVERLAP_SECONDS, HackerNewsSource

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PATH = "/search_by_date"
ACME = BrandSettings("Acme", terms=("Acme",))


@pytest.fixture
def source(api, make_settings):
    def make(brand: BrandSettings = ACME, **kwargs) -> HackerNewsSource:
        kwargs.setdefault("timeout", 0.5)
        kwargs.setdefault("min_interval", 0)
        return HackerNewsSource(make_settings("hackernews", api.url), brand,
                                clock=lambda: NOW, **kwargs)
    return make


def test_first_poll_reads_the_last_day_of_stories_and_comments(api, source, load_fixture):
    api.add(PATH, load_fixture("hackernews/page1.json"))
    api.add(PATH, load_fixture("hackernews/page2.json"))
    result = source().fetch(None)

    assert [m.native_id for m in result.mentions] == ["46011001", "46010990", "46010950"]
    first = api.requests_to(PATH)[0]
    assert first.headers["user-agent"] == USER_AGENT
    assert first.param("query") == "Acme"
    assert first.param("tags") == "(story,comment)"
    assert first.param("hitsPerPage") == "100"
    since = int(NOW.timestamp()) - 24 * 3600 - OVERLAP_SECONDS
    assert first.param("numericFilters") == f"created_at_i>{since}"
    assert [r.param("page") for r in api.requests_to(PATH)] == ["0", "1"]


def test_comment_html_becomes_plain_text_with_entities_unescaped(api, source, load_fixture):
    api.add(PATH, load_fixture("hackernews/page1.json"))
    api.add(PATH, load_fixture("hackernews/page2.json"))
    comment, story, ask = source().fetch(None).mentions

    assert comment.text == (
        'Acme\'s support told me "wait 3 days" & then closed the ticket.\n\n'
        "Second paragraph: see https://acme.example/status/incident/2026-11-23/very-long-path")
    assert comment.url == "https://news.ycombinator.com/item?id=46011001"
    assert comment.author == "pg_fan"
    assert comment.created_at == datetime(2026, 11, 23, 11, 57, tzinfo=UTC)
    assert comment.created_at.tzinfo is not None
    assert comment.title == ""
    assert comment.extra["story_title"] == "Acme raises prices again"
    assert comment.source == "hackernews"

    assert story.title == "Show HN: We moved off Acme & saved 40%"
    assert story.text.startswith("Show HN: We moved off Acme & saved 40%")
    assert "https://blog.example/leaving-acme" in story.text
    assert story.url == "https://news.ycombinator.com/item?id=46010990"

    assert ask.text == ("Ask HN: Is Acme Air down for anyone else?\n\n"
                        "Getting <500> errors on checkout since this morning.\n\nAnyone else?")


def test_second_poll_asks_from_the_cursor_and_returns_nothing_twice(
        api, source, load_fixture):
    api.add(PATH, load_fixture("hackernews/page1.json"))
    api.add(PATH, load_fixture("hackernews/page2.json"))
    src = source()
    first = src.fetch(None)
    newest = max(int(m.created_at.timestamp()) for m in first.mentions)
    assert first.cursor["since"] == newest

    # The overlap window returns the newest item again (Algolia's indexing lag).
    api.add(PATH, load_fixture("hackernews/page1.json") | {"nbPages": 1})
    second = src.fetch(first.cursor)
    assert second.mentions == []
    assert api.requests_to(PATH)[-1].param("numericFilters") == (
        f"created_at_i>{newest - OVERLAP_SECONDS}")
    assert second.cursor["since"] == newest


def test_empty_page_returns_no_mentions_and_keeps_the_time(api, source, load_fixture):
    api.add(PATH, load_fixture("hackernews/empty.json"))
    cursor = {"since": 1795430000, "seen": ["1"], "gaps": []}
    result = source().fetch(cursor)
    assert result.mentions == []
    assert result.cursor["since"] == 1795430000
    assert len(api.requests_to(PATH)) == 1


def test_one_search_per_brand_term_and_phrases_quoted(api, source, load_fixture):
    api.default(PATH, load_fixture("hackernews/empty.json"))
    source(BrandSettings("Acme", terms=("Acme", '"Acme Air"'))).fetch(None)
    assert [r.param("query") for r in api.requests_to(PATH)] == ["Acme", '"Acme Air"']


def test_same_item_found_by_two_terms_is_returned_once(api, source, load_fixture):
    api.add(PATH, load_fixture("hackernews/page2.json") | {"nbPages": 1})
    api.add(PATH, load_fixture("hackernews/page2.json") | {"nbPages": 1})
    result = source(BrandSettings("Acme", terms=("Acme", "Acme Air"))).fetch(None)
    assert [m.native_id for m in result.mentions] == ["46010950"]


def test_burst_beyond_the_page_cap_is_finished_on_the_next_poll(
        api, source, load_fixture, monkeypatch):
    monkeypatch.setattr(HackerNewsSource, "max_pages", 1)
    page1 = load_fixture("hackernews/page1.json")
    api.add(PATH, page1)  # nbPages 2, but the cap is 1
    src = source()
    first = src.fetch({"since": 1795420000, "seen": [], "gaps": []})
    assert [m.native_id for m in first.mentions] == ["46011001", "46010990"]
    oldest = min(h["created_at_i"] for h in page1["hits"])
    assert first.cursor["gaps"] == [[1795420000 - OVERLAP_SECONDS, oldest]]

    api.add(PATH, load_fixture("hackernews/page2.json") | {"page": 0, "nbPages": 1})
    api.add(PATH, load_fixture("hackernews/empty.json"))
    second = src.fetch(first.cursor)
    assert api.requests_to(PATH)[1].param("numericFilters") == (
        f"created_at_i>{1795420000 - OVERLAP_SECONDS},created_at_i<={oldest}")
    assert [m.native_id for m in second.mentions] == ["46010950"]
    assert second.cursor["gaps"] == []


def test_429_raises_rate_limited_with_retry_after(api, source):
    api.add(PATH, {"message": "Too many requests"}, status=429, headers={"Retry-After": "12"})
    with pytest.raises(RateLimited) as info:
        source().fetch({"since": 1, "seen": []})
    assert info.value.retry_after == 12


def test_failure_on_a_later_page_raises_so_the_cursor_is_kept(api, source, load_fixture):
    api.add(PATH, load_fixture("hackernews/page1.json"))
    api.add(PATH, {"message": "internal"}, status=500)
    with pytest.raises(SourceError, match="HTTP 500"):
        source().fetch(None)


def test_timeout_raises_source_error(api, source, load_fixture):
    api.add(PATH, load_fixture("hackernews/empty.json"), delay=0.5)
    with pytest.raises(SourceError, match="timed out"):
        source(timeout=0.1).fetch(None)


@pytest.mark.parametrize("body", ['{"hits": [', '{"message": "no hits here"}', "[]"])
def test_malformed_or_unexpected_json_raises_source_error(api, source, body):
    api.add(PATH, body, content_type="application/json")
    with pytest.raises(SourceError):
        source().fetch(None)


def test_outage_mid_poll_then_recovery_misses_nothing_and_stores_nothing_twice(
        api, load_fixture, tmp_path):
    """The real source behind the real poller and store: a 500 on page 2 keeps the old
    cursor; the next poll collects the whole burst, and nothing is stored twice."""
    from bot.ingest.pipeline import Pipeline
    from bot.ingest.polling import SourcePoller
    from bot.settings import load_settings
    from bot.store import open_store

    config = tmp_path / "earshot.toml"
    config.write_text(f"""
[brand]
terms = ["Acme"]
[sources.hackernews]
base_url = "{api.url}"
[departments.support]
channel = "C1"
[routing]
default = "support"
[escalation]
channel = "C9"
[summary]
channel = "C8"
""")
    settings = load_settings(config, env={})
    clock = [NOW]
    store = open_store(tmp_path / "data")
    try:
        source = HackerNewsSource(settings.sources["hackernews"], settings.brand,
                                  clock=lambda: clock[0], timeout=0.5, min_interval=0)
        pipeline = Pipeline(settings, store, clock=lambda: clock[0])
        poller = SourcePoller(source, store, pipeline, clock=lambda: clock[0],
                              interval=timedelta(minutes=5))

        page1 = load_fixture("hackernews/page1.json")
        page2 = load_fixture("hackernews/page2.json")
        api.add(PATH, page1)
        api.add(PATH, page2)
        assert poller.poll().ok
        cursor = store.get_cursor("hackernews")
        stored = {m.native_id for m in store.iter_mentions()}
        assert stored == {"46011001", "46010990", "46010950"}

        # A burst: two new comments, on two pages; page 2 fails.
        newer = dict(page1["hits"][0], objectID="46011500",
                     created_at_i=page1["hits"][0]["created_at_i"] + 120,
                     comment_text="Acme billing charged me twice")
        newer2 = dict(newer, objectID="46011400", created_at_i=newer["created_at_i"] - 60,
                      comment_text="Acme app is down again")
        burst1 = page1 | {"hits": [newer, *page1["hits"]], "nbPages": 2}
        burst2 = page1 | {"hits": [newer2], "page": 1, "nbPages": 2}
        api.add(PATH, burst1)
        api.add(PATH, {"message": "oops"}, status=500)
        outcome = poller.poll(force=True)
        assert not outcome.ok
        assert store.get_cursor("hackernews") == cursor
        assert {m.native_id for m in store.iter_mentions()} == stored

        api.add(PATH, burst1)
        api.add(PATH, burst2)
        assert poller.poll(force=True).ok
        ids = [m.native_id for m in store.iter_mentions()]
        assert sorted(ids) == sorted([*stored, "46011500", "46011400"])
        assert store.get_cursor("hackernews")["since"] == newer["created_at_i"]
    finally:
        store.close()


def test_term_left_without_pages_keeps_its_window_for_the_next_poll(
        api, source, load_fixture, monkeypatch):
    """The page budget is shared: when old gaps and a busy first term use it up, the
    next term is not searched at all. Its window must stay in the cursor (as a gap), or
    its mentions since the last poll are never fetched once the cursor moves on."""
    monkeypatch.setattr(HackerNewsSource, "max_pages", 2)
    since = 1795420000
    api.add(PATH, load_fixture("hackernews/empty.json"))  # old gap, "Acme"
    api.add(PATH, load_fixture("hackernews/empty.json"))  # old gap, "Acme Air"
    api.add(PATH, load_fixture("hackernews/page1.json") | {"nbPages": 3})  # live "Acme"
    api.add(PATH, load_fixture("hackernews/page2.json") | {"page": 1, "nbPages": 3})
    src = source(BrandSettings("Acme", terms=("Acme", "Acme Air")))
    result = src.fetch({"since": since, "seen": [], "gaps": [[since - 9000, since - 8000]]})
    assert [r.param("query") for r in api.requests_to(PATH)] == [
        "Acme", "\"Acme Air\"", "Acme", "Acme"]
    newest = result.cursor["since"]
    lo = since - OVERLAP_SECONDS
    covered = newest <= since or any(
        g_lo <= lo and g_hi >= newest for g_lo, g_hi in result.cursor["gaps"])
    assert covered, result.cursor  # "Acme Air" in (lo, newest] is still to be read


def test_one_malformed_hit_is_skipped_and_the_cursor_moves_past_it(
        api, source, load_fixture, caplog):
    page = load_fixture("hackernews/page1.json")
    good_ids = [h["objectID"] for h in page["hits"]]
    newest = max(h["created_at_i"] for h in page["hits"])
    broken = {**page["hits"][0], "objectID": "46011099", "created_at": "not a time",
              "created_at_i": newest + 60}
    page["hits"].insert(0, broken)
    page["nbPages"] = 1
    api.default(PATH, page)
    src = source()

    with caplog.at_level(logging.WARNING, logger="bot.sources"):
        result = src.fetch(None)
    assert [m.native_id for m in result.mentions] == good_ids
    assert result.cursor["since"] == newest + 60  # past the broken hit
    assert "46011099" in result.cursor["seen"]
    (warning,) = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert "hackernews" in warning.getMessage() and "46011099" in warning.getMessage()

    # The overlap window returns it again: not a mention, and not warned about twice.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.sources"):
        again = src.fetch(result.cursor)
    assert again.mentions == []
    assert not [r for r in caplog.records if "malformed" in r.getMessage()]


def test_a_hit_with_a_garbled_time_is_skipped_not_fatal(api, source, load_fixture, caplog):
    page = load_fixture("hackernews/page1.json")
    page["hits"].append({**page["hits"][0], "objectID": "46011098",
                         "created_at_i": "yesterday"})
    page["nbPages"] = 1
    api.add(PATH, page)
    with caplog.at_level(logging.WARNING, logger="bot.sources"):
        result = source().fetch(None)
    assert "46011098" not in [m.native_id for m in result.mentions]
    assert len(result.mentions) == len(page["hits"]) - 1
    assert any("46011098" in r.getMessage() for r in caplog.records)

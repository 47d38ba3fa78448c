"""Lobsters against a local stand-in for lobste.rs/newest.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.settings import BrandSettings
from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.lobsters import LobstersSource, term_pattern

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PAGE1 = "/newest.json"
PAGE2 = "/newest/page/2.json"


@pytest.fixture
def make_source(api, make_settings, brand, fake_sleep):
    def make(timeout=2.0, clock=lambda: NOW, brand_=None):
        return LobstersSource(make_settings("lobsters", api.url), brand_ or brand,
                              clock=clock, timeout=timeout, sleep=fake_sleep, min_interval=0)
    return make


def test_reads_back_to_the_window_and_keeps_only_matching_stories(api, load_fixture,
                                                                  make_source):
    api.add(PAGE1, load_fixture("lobsters/newest.json"))
    api.add(PAGE2, load_fixture("lobsters/newest_page2.json"))

    result = make_source().fetch(None)

    by_id = {m.native_id: m for m in result.mentions}
    # Title, link host and description matches; "Acmeville" is another word; the old
    # story is outside the first-run window.
    assert sorted(by_id) == ["k3xq9z", "r7t6y5", "zz9y8x"]
    story = by_id["k3xq9z"]
    assert story.source == "lobsters"
    assert story.url == "https://lobste.rs/s/k3xq9z"
    assert story.title == "Why we moved off Acme Cloud"
    assert story.text == ("Why we moved off Acme Cloud\n\n"
                          "https://blog.example.org/leaving-acme-cloud")
    assert story.author == "hannah"
    assert story.created_at == datetime(2026, 11, 23, 11, 40, 12, tzinfo=UTC)
    assert story.extra["tags"] == ["devops", "cloud"]
    show = by_id["r7t6y5"]
    assert show.text == ("Show Lobsters: a faster diff\n\n"
                         "Benchmarks against acme/diff & GNU diff — details inside.\n\n"
                         "Feedback welcome.")
    assert [r.path for r in api.requests] == [PAGE1, PAGE2]
    assert api.requests[0].headers["user-agent"] == USER_AGENT


def test_markdown_description_is_the_fallback_when_html_is_missing(api, load_fixture,
                                                                    make_source):
    stories = load_fixture("lobsters/newest_page2.json")[:1]
    stories[0]["description"] = ""
    stories[0]["submitter_user"] = {"username": "differ"}  # the older API shape
    api.add(PAGE1, stories)
    api.add(PAGE2, [])

    (mention,) = make_source().fetch(None).mentions

    assert "Benchmarks against [acme/diff](https://github.com/acme/diff)" in mention.text
    assert mention.author == "differ"


def test_second_poll_stops_at_the_cursor_and_returns_nothing_twice(api, load_fixture,
                                                                   make_source):
    api.add(PAGE1, load_fixture("lobsters/newest.json"))
    api.add(PAGE2, load_fixture("lobsters/newest_page2.json"))
    source = make_source()
    first = source.fetch(None)

    fresh = dict(load_fixture("lobsters/newest.json")[0], short_id="n3w001",
                 created_at="2026-11-23T05:55:00.000-06:00", title="Acme Air drops fees",
                 url="https://news.example.com/fees")
    api.add(PAGE1, [fresh, *load_fixture("lobsters/newest.json")])
    second = source.fetch(json.loads(json.dumps(first.cursor)))  # as stored

    assert [m.native_id for m in second.mentions] == ["n3w001"]
    assert api.requests[-1].path == PAGE1  # the first page reached the cursor
    assert second.cursor["since"] == "2026-11-23T11:55:00+00:00"
    assert "k3xq9z" in second.cursor["seen"] and "n3w001" in second.cursor["seen"]


def test_non_matching_stories_still_advance_the_cursor(api, load_fixture, make_source):
    api.add(PAGE1, load_fixture("lobsters/newest.json")[1:2])  # only the Lisp story
    api.add(PAGE2, [])
    result = make_source().fetch(None)
    assert result.mentions == []
    assert result.cursor["since"] == "2026-11-23T11:10:00+00:00"
    assert result.cursor["seen"] == ["p0wq1r"]


def test_empty_page_returns_nothing(api, make_source):
    api.add(PAGE1, [])
    result = make_source().fetch(None)
    assert result.mentions == []
    assert len(api.requests) == 1


def test_word_boundary_matching_handles_handles_and_domains():
    pattern = term_pattern(["Acme", "@acmeair", "acme.com"])
    assert pattern.search("I love ACME products")
    assert pattern.search("ping @AcmeAir about it")
    assert pattern.search("see acme.com/help")
    assert not pattern.search("Acmeville is lovely")
    assert not pattern.search("the acme_corp package")
    assert term_pattern([]) is None


def test_429_with_retry_after_raises_rate_limited(api, make_source):
    api.add(PAGE1, "Too many requests", status=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as info:
        make_source().fetch(None)
    assert info.value.retry_after == 30


def test_server_error_raises_source_error(api, make_source):
    api.add(PAGE1, "<h1>500</h1>", status=500)
    with pytest.raises(SourceError, match="500"):
        make_source().fetch(None)


def test_failure_on_a_later_page_raises(api, load_fixture, make_source):
    api.add(PAGE1, load_fixture("lobsters/newest.json"))
    api.add(PAGE2, "bad gateway", status=502)
    with pytest.raises(SourceError):
        make_source().fetch(None)


def test_timeout_raises_source_error(api, make_source):
    api.add(PAGE1, [], delay=0.5)
    with pytest.raises(SourceError, match="timed out"):
        make_source(timeout=0.1).fetch(None)


def test_malformed_json_raises_source_error(api, make_source):
    api.add(PAGE1, '[{"short_id": ', content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        make_source().fetch(None)


def test_html_error_page_instead_of_a_list_raises_source_error(api, make_source):
    api.add(PAGE1, {"error": "maintenance"})
    with pytest.raises(SourceError, match="not a list"):
        make_source().fetch(None)


def test_page_cap_is_respected(api, load_fixture, make_source, monkeypatch):
    monkeypatch.setattr(LobstersSource, "max_pages", 2)
    page = load_fixture("lobsters/newest.json")
    api.default(PAGE1, page)
    api.default(PAGE2, [dict(s, short_id=s["short_id"] + "2") for s in page])
    api.default("/newest/page/3.json", [])
    make_source(brand_=BrandSettings(name="x", terms=("nothing",))).fetch(None)
    assert [r.path for r in api.requests] == [PAGE1, PAGE2]


def test_a_malformed_story_is_skipped_not_fatal(api, load_fixture, make_source, caplog):
    page = load_fixture("lobsters/newest.json")
    broken = dict(page[0], short_id="b4d001", created_at="not a time")
    api.add(PAGE1, [broken, *page])
    api.add(PAGE2, load_fixture("lobsters/newest_page2.json"))

    with caplog.at_level("WARNING", logger="bot.sources"):
        result = make_source().fetch(None)

    assert sorted(m.native_id for m in result.mentions) == ["k3xq9z", "r7t6y5", "zz9y8x"]
    (warning,) = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert "lobsters" in warning and "b4d001" in warning

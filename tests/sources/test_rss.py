"""RSS/Atom feeds against local stand-ins for Google Alerts and a blog."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.rss import RSSSource, bounded_seen, unwrap_link

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ALERTS = "/alerts/feeds/06807031914929345698/10604166159629661594"
BLOG = "/feed/"
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=UTF-8"


@pytest.fixture
def make_source(api, make_settings, brand, fake_sleep):
    def make(paths=(ALERTS,), timeout=2.0, clock=lambda: NOW):
        settings = make_settings("rss", "", options={"feeds": [api.url + p for p in paths]})
        return RSSSource(settings, brand, clock=clock, timeout=timeout, sleep=fake_sleep,
                         min_interval=0)
    return make


@pytest.fixture
def alerts(load_fixture) -> bytes:
    return load_fixture("rss/google_alerts.atom", raw=True)


@pytest.fixture
def blog(load_fixture) -> bytes:
    return load_fixture("rss/blog.rss", raw=True)


def test_google_alerts_entries_become_plain_mentions_with_real_links(api, alerts,
                                                                     make_source):
    api.add(ALERTS, alerts, content_type=ATOM)

    result = make_source().fetch(None)

    assert len(result.mentions) == 2
    first = next(m for m in result.mentions if "refund" in m.title)
    assert first.source == "rss"
    assert first.native_id == "tag:google.com,2013:googlealerts/feed:14316356436925541401"
    assert first.url == "https://news.example.com/2026/11/23/acme-refund-delays"
    assert first.title == "Acme customers report refund delays"
    assert first.text == ("Acme customers report refund delays\n\n"
                          "Customers of Acme say refunds take weeks & support won't answer. ...")
    assert first.created_at == datetime(2026, 11, 23, 11, 20, tzinfo=UTC)
    assert first.extra["feed_title"] == "Google Alert - Acme"
    other = next(m for m in result.mentions if m is not first)
    assert other.url == "https://travel.example.net/acme-air-routes"
    assert "a lounge <in Denver>" in other.text
    request = api.requests[0]
    assert request.headers["user-agent"] == USER_AGENT
    assert "if-none-match" not in request.headers


def test_blog_feed_uses_full_content_author_language_and_first_run_window(
        api, blog, make_source):
    api.add(BLOG, blog, content_type=RSS)

    result = make_source(paths=(BLOG,)).fetch(None)

    # The post from three days ago is outside the first run's window.
    (post,) = result.mentions
    assert post.native_id == "https://blog.example.org/?p=1001"
    assert post.url == "https://blog.example.org/2026/11/acme-air-app/"
    assert post.title == "Acme Air's new app is a mess"
    assert post.text == ("Acme Air's new app is a mess\n\n"
                         "The Acme Air app crashed twice & lost my boarding pass.\n\n"
                         "Support said \"reinstall it\". Really?")
    assert post.author == "Rita Reviewer"
    assert post.language == "en"
    assert post.created_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    # ...but it is remembered, so it never surfaces later either.
    assert len(result.cursor["feeds"][api.url + BLOG]["seen"]) == 4


def test_conditional_get_304_returns_nothing_and_keeps_the_cursor(api, alerts, make_source):
    api.add(ALERTS, alerts, content_type=ATOM,
            headers={"ETag": 'W/"abc123"', "Last-Modified": "Mon, 23 Nov 2026 11:30:00 GMT"})
    source = make_source()
    first = source.fetch(None)
    api.add(ALERTS, b"", status=304)

    second = source.fetch(first.cursor)

    assert second.mentions == []
    assert second.cursor == first.cursor
    request = api.requests[-1]
    assert request.headers["if-none-match"] == 'W/"abc123"'
    assert request.headers["if-modified-since"] == "Mon, 23 Nov 2026 11:30:00 GMT"


def test_redated_and_republished_items_do_not_surface_again(api, alerts, make_source):
    api.add(ALERTS, alerts, content_type=ATOM)
    source = make_source()
    first = source.fetch(None)

    text = alerts.decode()
    # Same guid, new date and wording; a new guid for an article already seen (its
    # redirect link differs only in Google's tracking parameters); one genuinely new.
    redated = text.replace("2026-11-23T11:20:00Z", "2026-11-23T11:55:00Z").replace(
        "refunds take weeks", "refunds take months")
    republished = redated.replace("feed:9087112340981234012", "feed:555").replace(
        "usg=AOvVaw2ZzZ", "usg=AOvVaw9QqQ")
    new_entry = """  <entry>
    <id>tag:google.com,2013:googlealerts/feed:777</id>
    <title type="html">&lt;b&gt;Acme&lt;/b&gt; opens new office</title>
    <link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://biz.example.com/acme-office&amp;ct=ga"></link>
    <published>2026-11-23T11:58:00Z</published>
    <content type="html">New office.</content>
  </entry>
</feed>"""
    api.add(ALERTS, republished.replace("</feed>", new_entry).encode(), content_type=ATOM)
    second = source.fetch(json.loads(json.dumps(first.cursor)))  # as stored

    assert [m.url for m in second.mentions] == ["https://biz.example.com/acme-office"]


def test_an_unseen_item_older_than_a_week_is_not_news(api, alerts, make_source):
    api.add(ALERTS, alerts, content_type=ATOM)
    source = make_source()
    first = source.fetch(None)
    old = """  <entry>
    <id>tag:google.com,2013:googlealerts/feed:1</id>
    <title>Acme archive</title>
    <link href="https://archive.example.com/acme"></link>
    <published>2026-10-01T08:00:00Z</published>
  </entry>
</feed>"""
    api.add(ALERTS, alerts.decode().replace("</feed>", old).encode(), content_type=ATOM)
    assert source.fetch(first.cursor).mentions == []


def test_one_failing_feed_does_not_block_the_others(api, alerts, blog, make_source, caplog):
    api.add(ALERTS, alerts, content_type=ATOM)
    api.add(BLOG, blog, content_type=RSS)
    source = make_source(paths=(ALERTS, BLOG))
    first = source.fetch(None)
    blog_state = first.cursor["feeds"][api.url + BLOG]

    api.add(ALERTS, alerts, content_type=ATOM)
    api.add(BLOG, "<h1>Internal Server Error</h1>", status=500)
    api.add(ALERTS, alerts, content_type=ATOM)
    api.add(BLOG, "<h1>Internal Server Error</h1>", status=500)
    with caplog.at_level(logging.WARNING):
        second = source.fetch(first.cursor)
        third = source.fetch(second.cursor)

    assert second.mentions == [] and third.mentions == []
    # The failed feed keeps its old position for when it comes back.
    assert third.cursor["feeds"][api.url + BLOG] == blog_state
    failures = [r for r in caplog.records if "feed failing" in r.getMessage()]
    assert len(failures) == 1  # once per outage, not once per poll


def test_every_feed_failing_raises_source_error(api, make_source):
    api.add(ALERTS, "down", status=500)
    api.add(BLOG, "down", status=502)
    with pytest.raises(SourceError, match="all 2 feed"):
        make_source(paths=(ALERTS, BLOG)).fetch(None)


def test_429_with_retry_after_raises_rate_limited_and_is_remembered(api, alerts, blog,
                                                                    make_source):
    api.add(ALERTS, "slow down", status=429, headers={"Retry-After": "90"})
    source = make_source()
    with pytest.raises(RateLimited) as info:
        source.fetch(None)
    assert info.value.retry_after == 90

    # With a second feed the poll goes on, and the limited feed records when to retry,
    # so the next poll does not call it early.
    api.add(ALERTS, "slow down", status=429, headers={"Retry-After": "90"})
    api.add(BLOG, blog, content_type=RSS)
    two = make_source(paths=(ALERTS, BLOG))
    result = two.fetch(None)
    state = result.cursor["feeds"][api.url + ALERTS]
    assert datetime.fromisoformat(state["retry_at"]) == NOW + timedelta(seconds=90)
    calls = len(api.requests_to(ALERTS))
    api.add(BLOG, blog, content_type=RSS)
    two.fetch(result.cursor)
    assert len(api.requests_to(ALERTS)) == calls


def test_timeout_raises_source_error(api, alerts, make_source):
    api.add(ALERTS, alerts, content_type=ATOM, delay=0.5)
    with pytest.raises(SourceError, match="timed out"):
        make_source(timeout=0.1).fetch(None)


def test_something_that_is_not_a_feed_raises_source_error(api, make_source):
    api.add(ALERTS, '{"error": "this is JSON, not XML"', content_type="application/json")
    with pytest.raises(SourceError, match="not a readable feed"):
        make_source().fetch(None)


def test_empty_feed_returns_nothing(api, load_fixture, make_source):
    api.add(ALERTS, load_fixture("rss/empty.rss", raw=True), content_type=RSS)
    result = make_source().fetch(None)
    assert result.mentions == []
    assert api.url + ALERTS in result.cursor["feeds"]


def test_unwrap_link_only_unwraps_google_redirects():
    assert unwrap_link("https://www.google.com/url?rct=j&sa=t&url=https://a.example/x%3Fy%3D1"
                       "&ct=ga") == "https://a.example/x?y=1"
    assert unwrap_link("https://www.google.co.uk/url?q=https://b.example/&sa=U") == \
        "https://b.example/"
    assert unwrap_link("https://evil.example/url?url=https://a.example/") == \
        "https://evil.example/url?url=https://a.example/"
    assert unwrap_link("https://www.google.com/url?url=javascript:alert(1)") == \
        "https://www.google.com/url?url=javascript:alert(1)"


def test_bounded_seen_always_keeps_keys_still_in_the_feed():
    old = [f"k{i}" for i in range(10)]
    kept = bounded_seen(old, ["k0", "new"], limit=5)
    assert kept == ["k7", "k8", "k9", "k0", "new"]
    assert bounded_seen(old, [f"c{i}" for i in range(8)], limit=5) == [
        f"c{i}" for i in range(8)]


def test_private_feed_keys_stay_out_of_errors_and_logs(api, make_source, caplog):
    """A Google Alerts feed URL is its own key: a failing feed is reported by host and
    path with the token-like parts masked, and never with its query."""
    from bot.sources.rss import shown_url

    secret = "/alerts/feeds/15243712345678901234/9876543210987654321"
    assert shown_url("https://user:pw@www.google.com" + secret + "?key=abc123") == (
        "https://www.google.com/alerts/feeds/…/…?…")
    assert shown_url("https://blog.example/feed.xml") == "https://blog.example/feed.xml"
    api.add(secret, "down", status=500)
    caplog.set_level(logging.DEBUG, logger="bot")
    with pytest.raises(SourceError) as info:
        make_source(paths=(secret,)).fetch(None)
    assert "15243712345678901234" not in str(info.value)
    assert "/alerts/feeds/…/…" in str(info.value)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert not any("15243712345678901234" in line for line in ours)


BROKEN_ENTRY = b"""
  <entry>
    <id>tag:example.com,2026:broken-date</id>
    <title>Acme from the far future</title>
    <link href="https://news.example.com/acme-future"></link>
    <updated>9999-12-31T23:00:00-05:00</updated>
    <content type="html">a date no datetime can hold</content>
  </entry>
</feed>"""


def test_a_malformed_item_is_skipped_and_remembered_not_fatal(api, alerts, make_source,
                                                               caplog):
    feed = alerts.replace(b"</feed>", BROKEN_ENTRY)
    api.default(ALERTS, feed, content_type=ATOM)
    src = make_source()

    with caplog.at_level(logging.WARNING, logger="bot.sources"):
        result = src.fetch(None)
    # The two good alerts still come through, and the poll succeeds.
    assert sorted(m.url for m in result.mentions) == [
        "https://news.example.com/2026/11/23/acme-refund-delays",
        "https://travel.example.net/acme-air-routes"]
    (warning,) = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert "rss" in warning and "tag:example.com,2026:broken-date" in warning
    # The broken item's guid and link are in the cursor's seen keys (2 + 2 good ones)...
    assert len(result.cursor["feeds"][api.url + ALERTS]["seen"]) == 6

    # ... so the next poll neither fails nor warns about it again.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.sources"):
        again = src.fetch(result.cursor)
    assert again.mentions == []
    assert not [r for r in caplog.records if "malformed" in r.getMessage()]

"""Bluesky (createSession + searchPosts) against a local stand-in for the XRPC host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import BrandSettings
from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.bluesky import OVERLAP, BlueskySource

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
LOGIN = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
CREDS = {"handle_env": "earshot-bot.bsky.social", "app_password_env": "abcd-efgh-ijkl-mnop"}
ACME = BrandSettings("Acme", terms=("Acme",))


@pytest.fixture
def source(api, make_settings, load_fixture):
    api.default(LOGIN, load_fixture("bluesky/session.json"))

    def make(brand: BrandSettings = ACME, **kwargs) -> BlueskySource:
        kwargs.setdefault("timeout", 0.5)
        kwargs.setdefault("min_interval", 0)
        settings = make_settings("bluesky", api.url + "/xrpc", credentials=CREDS)
        return BlueskySource(settings, brand, clock=lambda: NOW, **kwargs)
    return make


def bearer(load_fixture, name: str = "session") -> str:
    return "Bearer " + load_fixture(f"bluesky/{name}.json")["accessJwt"]


def test_logs_in_then_searches_latest_since_a_day_ago(api, source, load_fixture):
    api.add(SEARCH, load_fixture("bluesky/search_page1.json"))
    api.add(SEARCH, load_fixture("bluesky/search_page2.json"))
    api.add(SEARCH, load_fixture("bluesky/search_end.json"))
    result = source().fetch(None)

    login = api.requests_to(LOGIN)[0]
    assert login.method == "POST"
    assert login.json() == {"identifier": "earshot-bot.bsky.social",
                            "password": "abcd-efgh-ijkl-mnop"}
    searches = api.requests_to(SEARCH)
    assert all(r.headers["authorization"] == bearer(load_fixture) for r in searches)
    assert searches[0].headers["user-agent"] == USER_AGENT
    assert searches[0].param("q") == "Acme"
    assert searches[0].param("sort") == "latest"
    assert searches[0].param("limit") == "100"
    assert searches[0].param("since") == "2026-11-22T12:00:00.000Z"
    assert [r.param("cursor") for r in searches] == [None, "100", "200"]
    assert len(result.mentions) == 3


def test_posts_are_normalized_with_full_links_and_language(api, source, load_fixture):
    api.add(SEARCH, load_fixture("bluesky/search_page1.json") | {"cursor": None})
    bag, merci = source().fetch(None).mentions

    assert bag.text == ("Acme lost my bag again 😤 see "
                        "https://acme.example/claims/12345?ref=bsky")
    assert bag.url == "https://bsky.app/profile/traveler.bsky.social/post/3lbxyzabc2k2a"
    assert bag.native_id == "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbxyzabc2k2a"
    assert bag.author == "traveler.bsky.social"
    assert bag.created_at == NOW - timedelta(minutes=3)
    assert bag.language == "en"
    assert merci.language == "fr"
    assert merci.text == "Acme Air m'a remboursé en 2 jours, bravo & merci <3"
    # What a published reply needs to thread under the post.
    assert bag.extra["uri"] == bag.native_id
    assert bag.extra["cid"] == "bafyreib3lbxyzabc2k2axxxxxxxxxxxxxxxxxxxx"


def test_reply_posts_keep_their_thread_root(api, source, load_fixture):
    page = load_fixture("bluesky/search_page1.json")
    root = {"uri": "at://did:plc:abc/app.bsky.feed.post/root1", "cid": "bafyroot"}
    page["posts"][0]["record"]["reply"] = {"root": root, "parent": root}
    api.add(SEARCH, page | {"cursor": None})
    bag, _ = source().fetch(None).mentions
    assert (bag.extra["root_uri"], bag.extra["root_cid"]) == (root["uri"], root["cid"])


def test_post_without_langs_has_no_language(api, source, load_fixture):
    api.add(SEARCH, load_fixture("bluesky/search_page2.json") | {"cursor": None})
    (post,) = source().fetch(None).mentions
    assert post.language is None


def test_expired_token_is_refreshed_and_the_call_retried(api, source, load_fixture):
    src = source()
    api.add(SEARCH, load_fixture("bluesky/search_end.json"))
    cursor = src.fetch(None).cursor

    api.add(SEARCH, load_fixture("bluesky/expired_token.json"), status=400)
    api.add(REFRESH, load_fixture("bluesky/session_refreshed.json"))
    api.add(SEARCH, load_fixture("bluesky/search_page2.json") | {"cursor": None})
    result = src.fetch(cursor)

    refresh = api.requests_to(REFRESH)
    assert len(refresh) == 1
    assert refresh[0].headers["authorization"] == (
        "Bearer " + load_fixture("bluesky/session.json")["refreshJwt"])
    assert api.requests_to(SEARCH)[-1].headers["authorization"] == bearer(
        load_fixture, "session_refreshed")
    assert len(api.requests_to(LOGIN)) == 1
    assert len(result.mentions) == 1


def test_refused_refresh_falls_back_to_a_new_login(api, source, load_fixture):
    src = source()
    api.add(SEARCH, load_fixture("bluesky/search_end.json"))
    src.fetch(None)
    api.add(SEARCH, {"error": "InvalidToken", "message": "Bad token"}, status=401)
    api.add(REFRESH, load_fixture("bluesky/expired_token.json"), status=400)
    api.add(SEARCH, load_fixture("bluesky/search_end.json"))
    src.fetch(None)
    assert len(api.requests_to(LOGIN)) == 2


def test_wrong_app_password_is_a_clear_error(api, source):
    api.add(LOGIN, {"error": "AuthenticationRequired",
                    "message": "Invalid identifier or password"}, status=401)
    with pytest.raises(SourceError, match="check the handle and app password"):
        source().fetch(None)
    assert api.requests_to(SEARCH) == []


def test_second_poll_starts_at_the_newest_time_and_skips_seen_posts(
        api, source, load_fixture):
    src = source()
    api.add(SEARCH, load_fixture("bluesky/search_page1.json") | {"cursor": None})
    first = src.fetch(None)
    newest = datetime(2026, 11, 23, 11, 57, tzinfo=UTC)  # createdAt of the newest post
    assert first.cursor["since"] == newest.isoformat()

    api.add(SEARCH, load_fixture("bluesky/search_page1.json") | {"cursor": None})
    second = src.fetch(first.cursor)
    assert second.mentions == []
    since = (newest - OVERLAP).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert api.requests_to(SEARCH)[-1].param("since") == since


def test_burst_past_the_page_cap_leaves_a_gap_filled_next_time(
        api, source, load_fixture, monkeypatch):
    monkeypatch.setattr(BlueskySource, "max_pages", 1)
    src = source()
    api.add(SEARCH, load_fixture("bluesky/search_page1.json"))  # has a next cursor
    first = src.fetch({"since": (NOW - timedelta(hours=2)).isoformat(), "seen": []})
    assert len(first.mentions) == 2
    assert len(first.cursor["gaps"]) == 1

    api.add(SEARCH, load_fixture("bluesky/search_page2.json") | {"cursor": None})
    api.add(SEARCH, load_fixture("bluesky/search_end.json"))
    second = src.fetch(first.cursor)
    gap_request = api.requests_to(SEARCH)[1]
    assert gap_request.param("until") == "2026-11-23T11:52:00.001Z"
    assert [m.author for m in second.mentions] == ["acme-watch.bsky.social"]
    assert second.cursor["gaps"] == []


def test_empty_result(api, source, load_fixture):
    api.add(SEARCH, load_fixture("bluesky/search_end.json"))
    cursor = {"since": "2026-11-23T11:00:00+00:00", "seen": ["at://x"], "gaps": []}
    result = source().fetch(cursor)
    assert result.mentions == []
    assert result.cursor["since"] == "2026-11-23T11:00:00+00:00"


def test_429_raises_rate_limited(api, source):
    reset = int((NOW + timedelta(seconds=90)).timestamp())
    api.add(SEARCH, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            status=429, headers={"RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                                 "RateLimit-Reset": str(reset), "Retry-After": "90"})
    with pytest.raises(RateLimited) as info:
        source().fetch(None)
    assert info.value.retry_after == 90


def test_server_error_timeout_and_bad_json(api, source, load_fixture):
    src = source(timeout=0.1)
    api.add(SEARCH, {"error": "InternalServerError"}, status=500)
    with pytest.raises(SourceError, match="HTTP 500"):
        src.fetch(None)
    api.add(SEARCH, load_fixture("bluesky/search_end.json"), delay=0.4)
    with pytest.raises(SourceError, match="timed out"):
        src.fetch(None)
    api.add(SEARCH, "<html>", content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        src.fetch(None)


def test_a_malformed_post_is_skipped_not_fatal(api, source, load_fixture, caplog):
    page = load_fixture("bluesky/search_page1.json")
    good = [p["uri"] for p in page["posts"]]
    undated = {**page["posts"][0], "uri": "at://did:plc:x/app.bsky.feed.post/undated",
               "record": {"text": "Acme"}, "indexedAt": None}
    garbled = {**page["posts"][0], "uri": "at://did:plc:x/app.bsky.feed.post/garbled",
               "author": "not an object"}
    page["posts"] += [undated, garbled]
    api.add(SEARCH, page | {"cursor": None})
    with caplog.at_level("WARNING", logger="bot.sources"):
        result = source().fetch(None)
    assert [m.native_id for m in result.mentions] == good
    assert garbled["uri"] in result.cursor["seen"]
    warnings = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warnings) == 2
    assert any("undated" in w for w in warnings) and any("garbled" in w for w in warnings)

"""Reddit (app-only OAuth + search) against a local stand-in for www.reddit.com's token
endpoint and oauth.reddit.com."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.reddit import RedditSource

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TOKEN_PATH = "/api/v1/access_token"
CREDS = {"client_id_env": "my-client-id", "client_secret_env": "my-secret"}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source(api, make_settings, brand, clock, load_fixture):
    api.default(TOKEN_PATH, load_fixture("reddit/token.json"))

    def make(subreddits=(), **kwargs) -> RedditSource:
        kwargs.setdefault("timeout", 0.5)
        kwargs.setdefault("min_interval", 0)
        settings = make_settings("reddit", api.url, credentials=CREDS, options={
            "auth_url": api.url + TOKEN_PATH, "subreddits": list(subreddits)})
        return RedditSource(settings, brand, clock=clock, **kwargs)
    return make


def test_logs_in_with_basic_auth_then_searches_with_the_bearer_token(
        api, source, load_fixture):
    api.add("/search", load_fixture("reddit/search_page1.json"))
    api.add("/search", load_fixture("reddit/search_page2.json"))
    result = source().fetch(None)

    login = api.requests_to(TOKEN_PATH)
    assert len(login) == 1 and login[0].method == "POST"
    expected = base64.b64encode(b"my-client-id:my-secret").decode()
    assert login[0].headers["authorization"] == f"Basic {expected}"
    assert login[0].form() == {"grant_type": ["client_credentials"]}
    assert login[0].headers["user-agent"] == USER_AGENT

    searches = api.requests_to("/search")
    token = load_fixture("reddit/token.json")["access_token"]
    assert all(r.headers["authorization"] == f"bearer {token}" for r in searches)
    assert searches[0].param("q") == 'Acme OR "Acme Air" OR @acmeair'
    assert searches[0].param("sort") == "new"
    assert searches[0].param("limit") == "100"
    assert searches[0].param("raw_json") == "1"  # text as written, not HTML-escaped
    assert searches[0].param("after") is None
    assert searches[1].param("after") == "t3_1h2abcc"
    assert [m.native_id for m in result.mentions] == ["1h2abcd", "1h2abcc", "1h2abca"]


def test_posts_are_normalized(api, source, load_fixture):
    api.add("/search", load_fixture("reddit/search_page1.json"))
    api.add("/search", load_fixture("reddit/search_page2.json"))
    self_post, link_post, _ = source().fetch(None).mentions

    assert self_post.title == "Acme charged me twice & won't refund"
    assert self_post.text == ("Acme charged me twice & won't refund\n\nBought a kettle from "
                              "Acme, charged twice. Support says \"wait 5-7 days\" <sigh>.\n\n"
                              "Anyone had luck?")
    assert self_post.url == ("https://www.reddit.com/r/CustomerService/comments/1h2abcd/"
                             "acme_charged_me_twice_&_won't_refund/")
    assert self_post.created_at == NOW - timedelta(minutes=2)
    assert self_post.author == "kettle_owner"
    assert self_post.extra["subreddit"] == "CustomerService"
    assert link_post.text.endswith("https://acme.example/status?id=1&x=2")


def test_token_is_reused_until_it_nearly_expires(api, source, clock, load_fixture):
    api.default("/search", load_fixture("reddit/search_empty.json"))
    src = source()
    cursor = src.fetch(None).cursor
    clock.now += timedelta(hours=12)
    cursor = src.fetch(cursor).cursor
    assert len(api.requests_to(TOKEN_PATH)) == 1
    clock.now += timedelta(hours=11, minutes=59)  # inside the refresh margin
    src.fetch(cursor)
    assert len(api.requests_to(TOKEN_PATH)) == 2


def test_a_401_gets_a_fresh_token_and_retries_once(api, source, load_fixture):
    api.add("/search", {"message": "Unauthorized", "error": 401}, status=401)
    api.add("/search", load_fixture("reddit/search_page2.json"))
    result = source().fetch(None)
    assert len(api.requests_to(TOKEN_PATH)) == 2
    assert [m.native_id for m in result.mentions] == ["1h2abca"]


def test_a_refused_login_is_a_clear_source_error(api, source):
    api.add(TOKEN_PATH, {"error": "invalid_grant"}, status=401)
    with pytest.raises(SourceError, match="check the client id and secret"):
        source().fetch(None)
    assert api.requests_to("/search") == []


def test_subreddits_are_searched_together_restricted(api, source, load_fixture):
    api.add("/r/CustomerService+technology/search", load_fixture("reddit/search_empty.json"))
    source(subreddits=["CustomerService", "r/technology"]).fetch(None)
    req = api.requests_to("/r/CustomerService+technology/search")[0]
    assert req.param("restrict_sr") == "1"


def test_paging_stops_at_the_cursor_and_nothing_is_returned_twice(api, source, load_fixture):
    api.add("/search", load_fixture("reddit/search_page1.json"))
    api.add("/search", load_fixture("reddit/search_page2.json"))
    src = source()
    first = src.fetch(None)
    assert first.cursor["newest"] == (NOW - timedelta(minutes=2)).timestamp()

    # Next poll: the same posts come back (the overlap window re-asks the last minutes);
    # paging stops at the first post older than the window.
    api.add("/search", load_fixture("reddit/search_page1.json"))
    api.add("/search", load_fixture("reddit/search_page2.json"))
    api.add("/search", load_fixture("reddit/search_page2.json"))  # must not be asked
    second = src.fetch(first.cursor)
    assert second.mentions == []
    assert len(api.requests_to("/search")) == 4


def test_new_posts_since_the_cursor_are_collected_across_pages(api, source, load_fixture):
    cursor = {"newest": (NOW - timedelta(minutes=60)).timestamp(), "seen": []}
    api.add("/search", load_fixture("reddit/search_page1.json"))
    api.add("/search", load_fixture("reddit/search_page2.json"))
    result = source().fetch(cursor)
    assert len(result.mentions) == 3


def test_empty_listing(api, source, load_fixture):
    api.add("/search", load_fixture("reddit/search_empty.json"))
    cursor = {"newest": 1795430000.0, "seen": ["x"]}
    result = source().fetch(cursor)
    assert result.mentions == [] and result.cursor["newest"] == 1795430000.0


def test_429_raises_rate_limited_with_the_reset_delay(api, source):
    api.add("/search", {"message": "Too Many Requests", "error": 429}, status=429,
            headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "42",
                     "X-Ratelimit-Used": "100"})
    with pytest.raises(RateLimited) as info:
        source().fetch(None)
    assert info.value.retry_after == 42


def test_500_timeout_and_bad_json_raise_source_error(api, source, load_fixture):
    src = source(timeout=0.1)
    api.add("/search", "<html>upstream error</html>", status=502)
    with pytest.raises(SourceError, match="HTTP 502"):
        src.fetch(None)
    api.add("/search", load_fixture("reddit/search_empty.json"), delay=0.4)
    with pytest.raises(SourceError, match="timed out"):
        src.fetch(None)
    api.add("/search", "{not json", content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        src.fetch(None)
    api.add("/search", {"kind": "t1", "data": []})
    with pytest.raises(SourceError, match="Listing"):
        src.fetch(None)


def test_burst_past_the_page_cap_resumes_from_after_next_poll(
        api, source, load_fixture, monkeypatch):
    monkeypatch.setattr(RedditSource, "max_pages", 1)
    cursor = {"newest": (NOW - timedelta(hours=2)).timestamp(), "seen": []}
    api.add("/search", load_fixture("reddit/search_page1.json"))  # after = t3_1h2abcc
    src = source()
    first = src.fetch(cursor)
    assert [m.native_id for m in first.mentions] == ["1h2abcd", "1h2abcc"]
    cutoff = cursor["newest"] - 600
    assert first.cursor["gaps"] == [["t3_1h2abcc", cutoff]]

    api.add("/search", load_fixture("reddit/search_page2.json"))  # the rest of the burst
    api.add("/search", load_fixture("reddit/search_page1.json"))  # newest: already seen
    second = src.fetch(first.cursor)
    gap_req, new_req = api.requests_to("/search")[1:]
    assert gap_req.param("after") == "t3_1h2abcc"
    assert new_req.param("after") is None
    assert [m.native_id for m in second.mentions] == ["1h2abca"]
    assert second.cursor["gaps"] == [["t3_1h2abcc", first.cursor["newest"] - 600]]


def test_a_malformed_post_is_skipped_not_fatal(api, source, load_fixture, caplog):
    page = load_fixture("reddit/search_page1.json")
    first = page["data"]["children"][0]["data"]
    page["data"]["children"][1:1] = [
        {"kind": "t3", "data": {**first, "id": "b4dtime", "created_utc": "noon"}},
        {"kind": "t3", "data": {**first, "id": "b4dbody", "selftext": 7}}]
    api.add("/search", page)
    api.add("/search", load_fixture("reddit/search_page2.json"))
    with caplog.at_level("WARNING", logger="bot.sources"):
        result = source().fetch(None)
    assert [m.native_id for m in result.mentions] == ["1h2abcd", "1h2abcc", "1h2abca"]
    warnings = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warnings) == 2
    assert any("b4dtime" in w for w in warnings) and any("b4dbody" in w for w in warnings)

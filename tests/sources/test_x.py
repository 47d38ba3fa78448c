"""X API v2 recent search against a local stand-in serving v2-shaped responses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import BrandSettings
from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.x import XSource

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PATH = "/2/tweets/search/recent"


@pytest.fixture
def source(api, make_settings, brand):
    def make(brand: BrandSettings = brand, **kwargs) -> XSource:
        kwargs.setdefault("timeout", 0.5)
        kwargs.setdefault("min_interval", 0)
        settings = make_settings("x", api.url + "/2",
                                 credentials={"bearer_token_env": "AAAA-bearer"})
        return XSource(settings, brand, clock=lambda: NOW, **kwargs)
    return make


def ids(fixture) -> list[str]:
    return [t["id"] for t in fixture["data"]]


def test_first_poll_reads_one_page_of_the_last_day(api, source, load_fixture):
    api.add(PATH, load_fixture("x/search_page1.json"))  # has a next_token: not followed
    result = source().fetch(None)

    (req,) = api.requests
    assert req.headers["authorization"] == "Bearer AAAA-bearer"
    assert req.headers["user-agent"] == USER_AGENT
    assert req.param("query") == '(Acme OR "Acme Air" OR @acmeair) -is:retweet'
    assert req.param("max_results") == "100"
    assert req.param("start_time") == "2026-11-22T12:00:00Z"
    assert req.param("since_id") is None
    assert set(req.param("tweet.fields").split(",")) >= {
        "created_at", "lang", "author_id", "conversation_id"}
    assert req.param("expansions") == "author_id"
    assert [m.native_id for m in result.mentions] == ids(load_fixture("x/search_page1.json"))
    assert result.cursor["since_id"] == load_fixture("x/search_page1.json")["meta"][
        "newest_id"]


def test_posts_are_normalized_and_unescaped(api, source, load_fixture):
    api.add(PATH, load_fixture("x/search_page1.json"))
    bag, spanish = source().fetch(None).mentions
    assert bag.text == ("@acmeair lost my bag & nobody answers <3 hours on hold> "
                        "https://t.co/AbCdEf123")
    assert bag.author == "sam_travels"
    assert bag.url == f"https://x.com/sam_travels/status/{bag.native_id}"
    assert bag.created_at == NOW - timedelta(minutes=2)
    assert bag.language == "en"
    assert spanish.language == "es"


def test_long_posts_use_the_note_text_and_und_means_no_language(api, source, load_fixture):
    api.add(PATH, load_fixture("x/search_page2.json"))
    fixed, long_post = source().fetch(None).mentions
    assert fixed.language is None
    assert long_post.text.count("Flight cancelled") == 3
    assert "&amp;" not in long_post.text and "& counting" in long_post.text


def test_later_polls_page_down_to_since_id(api, source, load_fixture):
    page1, page2 = load_fixture("x/search_page1.json"), load_fixture("x/search_page2.json")
    api.add(PATH, page1)
    api.add(PATH, page2)
    since = str(int(page2["meta"]["oldest_id"]) - 1000)
    result = source().fetch({"since_id": since, "gaps": []})

    first, second = api.requests
    assert first.param("since_id") == since and second.param("since_id") == since
    assert second.param("next_token") == page1["meta"]["next_token"]
    assert [m.native_id for m in result.mentions] == ids(page1) + ids(page2)
    assert result.cursor == {"since_id": page1["meta"]["newest_id"], "gaps": []}

    api.add(PATH, load_fixture("x/search_empty.json"))
    again = source().fetch(result.cursor)
    assert again.mentions == []
    assert api.requests[-1].param("since_id") == page1["meta"]["newest_id"]
    assert again.cursor["since_id"] == page1["meta"]["newest_id"]


def test_burst_past_the_page_cap_is_finished_next_poll(api, source, load_fixture,
                                                       monkeypatch):
    monkeypatch.setattr(XSource, "max_pages", 1)
    page1, page2 = load_fixture("x/search_page1.json"), load_fixture("x/search_page2.json")
    since = "1000"
    api.add(PATH, page1)
    first = source().fetch({"since_id": since, "gaps": []})
    assert first.cursor["gaps"] == [[since, page1["meta"]["oldest_id"]]]

    api.add(PATH, page2)  # the gap
    api.add(PATH, load_fixture("x/search_empty.json"))  # anything newer
    second = source().fetch(first.cursor)
    gap_req = api.requests[1]
    assert gap_req.param("since_id") == since
    assert gap_req.param("until_id") == page1["meta"]["oldest_id"]
    assert [m.native_id for m in second.mentions] == ids(page2)
    assert second.cursor == {"since_id": page1["meta"]["newest_id"], "gaps": []}


def test_empty_result_keeps_the_cursor(api, source, load_fixture):
    api.add(PATH, load_fixture("x/search_empty.json"))
    result = source().fetch({"since_id": "42", "gaps": []})
    assert result.mentions == [] and result.cursor == {"since_id": "42", "gaps": []}


def test_bad_token_and_unenrolled_app_are_clear_errors(api, source, load_fixture):
    api.add(PATH, load_fixture("x/unauthorized.json"), status=401)
    with pytest.raises(SourceError, match="check the bearer token"):
        source().fetch(None)
    api.add(PATH, load_fixture("x/client_forbidden.json"), status=403)
    with pytest.raises(SourceError, match="developer App that is attached to a Project"):
        source().fetch(None)


def test_429_waits_until_the_reset_time(api, source, load_fixture):
    reset = int((NOW + timedelta(minutes=12)).timestamp())
    api.add(PATH, load_fixture("x/too_many.json"), status=429, headers={
        "x-rate-limit-limit": "60", "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset)})
    with pytest.raises(RateLimited) as info:
        source().fetch({"since_id": "1", "gaps": []})
    assert info.value.retry_after == pytest.approx(720)


def test_failure_on_the_second_page_raises(api, source, load_fixture):
    api.add(PATH, load_fixture("x/search_page1.json"))
    api.add(PATH, {"title": "Service Unavailable"}, status=503)
    with pytest.raises(SourceError, match="HTTP 503"):
        source().fetch({"since_id": "1", "gaps": []})


def test_timeout_and_malformed_json(api, source, load_fixture):
    src = source(timeout=0.1)
    api.add(PATH, load_fixture("x/search_empty.json"), delay=0.4)
    with pytest.raises(SourceError, match="timed out"):
        src.fetch(None)
    api.add(PATH, '{"data": [', content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        src.fetch(None)


def test_an_overlong_query_is_refused_in_words(api, source):
    brand = BrandSettings("Acme", terms=tuple(f"term number {i}" for i in range(60)))
    with pytest.raises(SourceError, match="Use fewer or shorter brand terms"):
        source(brand=brand).fetch(None)
    assert api.requests == []


STALE = {"errors": [{"parameters": {"since_id": ["1000"]},
                     "message": "Invalid 'since_id':'1000'. 'since_id' must be a tweet id "
                                "created after 2026-11-16T12:00Z."}],
         "title": "Invalid Request",
         "detail": "One or more parameters to your request was invalid.",
         "type": "https://api.twitter.com/2/problems/invalid-request"}


def test_cursor_older_than_the_search_window_moves_on_instead_of_failing_forever(
        api, source, load_fixture):
    """After a week's outage X refuses the old since_id with a 400: read from the
    oldest searchable post instead of failing every poll from then on."""
    from bot.sources.x import SEARCH_WINDOW, _id_at

    page1 = load_fixture("x/search_page1.json") | {"meta": {
        **load_fixture("x/search_page1.json")["meta"], "next_token": None}}
    api.add(PATH, STALE, status=400)
    api.add(PATH, page1)
    result = source().fetch({"since_id": "1000", "gaps": []})
    stale, retried = api.requests
    assert stale.param("since_id") == "1000"
    assert retried.param("since_id") == str(_id_at(NOW - SEARCH_WINDOW))
    assert [m.native_id for m in result.mentions] == ids(page1)
    assert result.cursor["since_id"] == page1["meta"]["newest_id"]


def test_gap_entirely_older_than_the_search_window_is_dropped(api, source, load_fixture):
    api.add(PATH, STALE, status=400)  # the gap
    api.add(PATH, load_fixture("x/search_empty.json"))  # anything newer
    since = str(int(load_fixture("x/search_page1.json")["meta"]["newest_id"]))
    result = source().fetch({"since_id": since, "gaps": [["1000", "2000"]]})
    assert result.cursor == {"since_id": since, "gaps": []}
    assert len(api.requests) == 2


def test_other_400_is_a_clear_error(api, source):
    api.add(PATH, {"title": "Invalid Request", "detail": "The query is malformed."},
            status=400)
    with pytest.raises(SourceError, match="The query is malformed"):
        source().fetch({"since_id": "42", "gaps": []})


def test_a_malformed_post_is_skipped_and_the_cursor_moves_past_it(
        api, source, load_fixture, caplog):
    page = load_fixture("x/search_page1.json")
    newest = str(int(page["meta"]["newest_id"]) + 1)
    page["data"].insert(0, {**page["data"][0], "id": newest, "created_at": "soon"})
    page["meta"] = {**page["meta"], "newest_id": newest}
    api.add(PATH, page)
    with caplog.at_level("WARNING", logger="bot.sources"):
        result = source().fetch(None)
    assert [m.native_id for m in result.mentions] == ids(load_fixture("x/search_page1.json"))
    assert result.cursor["since_id"] == newest
    (warning,) = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert "x:" in warning and newest in warning

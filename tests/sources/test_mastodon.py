"""Mastodon (hashtag timelines + status search) against a local stand-in instance."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import BrandSettings
from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.mastodon import SEARCH_OVERLAP, MastodonSource, snowflake_floor

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TAG = "/api/v1/timelines/tag/acme"
SEARCH = "/api/v2/search"
ACME = BrandSettings("Acme", terms=("Acme",))


@pytest.fixture
def source(api, make_settings):
    def make(brand: BrandSettings = ACME, hashtags=("acme",), token: str | None = None,
             **kwargs) -> MastodonSource:
        kwargs.setdefault("timeout", 0.5)
        kwargs.setdefault("min_interval", 0)
        creds = {"access_token_env": token} if token else {}
        settings = make_settings("mastodon", api.url, options={"hashtags": list(hashtags)},
                                 credentials=creds)
        return MastodonSource(settings, brand, clock=lambda: NOW, **kwargs)
    return make


def link_header(api, min_id: str, max_id: str) -> str:
    return (f'<{api.url}{TAG}?max_id={max_id}>; rel="next", '
            f'<{api.url}{TAG}?min_id={min_id}>; rel="prev"')


def test_first_poll_reads_the_newest_page_of_the_hashtag(api, source, load_fixture):
    api.add(TAG, load_fixture("mastodon/tag_newest.json"))
    result = source().fetch(None)
    (req,) = api.requests
    assert req.param("limit") == "40" and req.param("min_id") is None
    assert req.headers["user-agent"] == USER_AGENT
    assert "authorization" not in req.headers
    assert len(result.mentions) == 3
    newest_id = load_fixture("mastodon/tag_newest.json")[0]["id"]
    assert result.cursor["tags"] == {"acme": newest_id}


def test_statuses_are_normalized_to_plain_text(api, source, load_fixture):
    api.add(TAG, load_fixture("mastodon/tag_newest.json"))
    ana, bruno, carla = source().fetch(None).mentions
    raw = load_fixture("mastodon/tag_newest.json")[0]

    assert ana.text == ("#Acme support closed my ticket & didn't answer <again>.\n\n"
                        "Details: https://acme.example/support/ticket/98765")
    assert ana.url == raw["url"]
    assert ana.native_id == raw["uri"]
    assert ana.author == "ana@127.0.0.1"  # a local account gets the instance's host
    assert ana.created_at == NOW - timedelta(minutes=1)
    assert ana.language == "en"
    assert bruno.author == "bruno@social.example"
    assert bruno.language == "de"
    assert carla.language is None
    assert carla.text == "food pics\n\n#Acme airline food review"  # the content warning first


def test_later_polls_page_forward_from_the_cursor_with_min_id(api, source, load_fixture):
    newest = load_fixture("mastodon/tag_newest.json")
    later = load_fixture("mastodon/tag_after_cursor.json")
    cursor = {"tags": {"acme": newest[0]["id"]}, "search": {}, "seen": [newest[0]["id"]]}
    api.add(TAG, later, headers={"Link": link_header(api, later[0]["id"], later[-1]["id"])})
    api.add(TAG, [])
    result = source().fetch(cursor)

    first, second = api.requests
    assert first.param("min_id") == newest[0]["id"]
    assert second.param("min_id") == later[0]["id"]
    assert [m.author for m in result.mentions] == ["dan@127.0.0.1", "erin@mas.example"]
    assert result.cursor["tags"]["acme"] == later[0]["id"]

    # Polling again from there returns nothing already returned.
    api.add(TAG, [])
    again = source().fetch(result.cursor)
    assert again.mentions == [] and again.cursor["tags"]["acme"] == later[0]["id"]


def test_hashtags_default_to_the_brand_words(api, source):
    api.default("/api/v1/timelines/tag/acme", [])
    api.default("/api/v1/timelines/tag/acmeair", [])
    brand = BrandSettings("Acme", terms=("Acme", '"Acme Air"', "@acmeair", "acme.com"))
    source(brand=brand, hashtags=()).fetch(None)
    assert [r.path for r in api.requests] == ["/api/v1/timelines/tag/acme",
                                              "/api/v1/timelines/tag/acmeair"]


def test_search_with_a_token_sends_it_and_dedupes_against_the_tag(
        api, source, load_fixture):
    api.add(TAG, load_fixture("mastodon/tag_newest.json"))
    found = load_fixture("mastodon/search.json")
    found["statuses"].append(load_fixture("mastodon/tag_newest.json")[0])  # on both
    api.add(SEARCH, found)
    result = source(token="tok-123").fetch(None)

    (search,) = api.requests_to(SEARCH)
    assert search.headers["authorization"] == "Bearer tok-123"
    assert search.param("q") == "Acme"
    assert search.param("type") == "statuses"
    assert search.param("resolve") == "false"
    assert len(result.mentions) == 4
    assert len({m.native_id for m in result.mentions}) == 4


def test_search_rereads_an_overlap_window_without_returning_twice(
        api, source, load_fixture):
    src = source(hashtags=(), brand=BrandSettings("Acme", terms=("acme.com",)), token="t")
    api.add(SEARCH, load_fixture("mastodon/search.json"))
    first = src.fetch(None)
    assert len(first.mentions) == 1
    newest = first.cursor["search"]["acme.com"]["newest"]

    api.add(SEARCH, load_fixture("mastodon/search.json"))  # indexed late: seen again
    second = src.fetch(first.cursor)
    overlap_ms = int(SEARCH_OVERLAP.total_seconds() * 1000)
    assert api.requests[-1].param("min_id") == str(int(newest) - snowflake_floor(overlap_ms))
    assert second.mentions == []


def test_refused_search_token_is_a_clear_error(api, source):
    api.add(TAG, [])
    api.add(SEARCH, {"error": "The access token is invalid"}, status=401)
    with pytest.raises(SourceError, match="check the access token"):
        source(token="bad").fetch(None)


def test_empty_timeline(api, source):
    api.add(TAG, [])
    cursor = {"tags": {"acme": "1000"}, "search": {}, "seen": []}
    result = source().fetch(cursor)
    assert result.mentions == [] and result.cursor["tags"] == {"acme": "1000"}


def test_429_honours_the_iso_reset_header(api, source):
    api.add(TAG, {"error": "Too many requests"}, status=429, headers={
        "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": (NOW + timedelta(seconds=150)).isoformat().replace(
            "+00:00", "Z")})
    with pytest.raises(RateLimited) as info:
        source().fetch(None)
    assert info.value.retry_after == pytest.approx(150)


def test_500_timeout_and_bad_json(api, source):
    src = source(timeout=0.1)
    api.add(TAG, {"error": "oops"}, status=503)
    with pytest.raises(SourceError, match="HTTP 503"):
        src.fetch(None)
    api.add(TAG, [], delay=0.4)
    with pytest.raises(SourceError, match="timed out"):
        src.fetch(None)
    api.add(TAG, "[{", content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        src.fetch(None)
    api.add(TAG, {"error": "Record not found"})
    with pytest.raises(SourceError, match="expected a list"):
        src.fetch(None)


def test_search_pages_by_offset_until_it_reaches_the_cursor(api, source, load_fixture):
    template = load_fixture("mastodon/search.json")["statuses"][0]
    newest = int(template["id"])

    def statuses(ids):
        return [template | {"id": str(i), "uri": f"https://mstdn.example/s/{i}"} for i in ids]

    step = 1 << 16  # one millisecond apart
    cursor_id = newest - 100 * step
    lower = cursor_id - snowflake_floor(int(SEARCH_OVERLAP.total_seconds() * 1000))
    first_page = [newest - i * step for i in range(40)]
    # The second page crosses the cursor: the server's coarse date filter lets older
    # statuses through, which are dropped here and end the paging.
    second_page = [newest - (40 + i) * step for i in range(20)] + [lower - step, lower - 2]
    api.add(SEARCH, {"accounts": [], "statuses": statuses(first_page), "hashtags": []})
    api.add(SEARCH, {"accounts": [], "statuses": statuses(second_page), "hashtags": []})
    api.default(TAG, [])
    src = source(token="t")
    cursor = {"tags": {"acme": "1"}, "search": {"Acme": {"newest": str(cursor_id)}}, "seen": []}
    result = src.fetch(cursor)

    first, second = api.requests_to(SEARCH)
    assert first.param("offset") == "0" and second.param("offset") == "40"
    assert first.param("min_id") == str(lower)
    assert len(result.mentions) == 60
    assert result.cursor["search"]["Acme"]["newest"] == str(newest)


@pytest.mark.parametrize("damage", [
    {"created_at": "sometime last week"},  # ValueError
    {"account": "ana"},  # AttributeError: an account that is not an object
    {"content": 42},  # TypeError in the HTML parser
])
def test_one_malformed_status_is_skipped_and_the_tag_cursor_moves_past_it(
        api, source, load_fixture, caplog, damage):
    statuses = load_fixture("mastodon/tag_newest.json")
    broken_id = str(int(statuses[0]["id"]) + 1)
    broken = {**statuses[1], "id": broken_id, **damage}
    api.add(TAG, [broken, *statuses])
    src = source()

    with caplog.at_level(logging.WARNING, logger="bot.sources"):
        result = src.fetch(None)
    assert [m.native_id for m in result.mentions] == [s["uri"] for s in statuses]
    assert result.cursor["tags"] == {"acme": broken_id}  # past the broken status
    assert broken_id in result.cursor["seen"]
    (warning,) = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert "mastodon" in warning.getMessage() and broken_id in warning.getMessage()

    # The next poll starts after it: the broken status is not asked for again.
    api.add(TAG, [])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.sources"):
        again = src.fetch(result.cursor)
    assert api.requests[-1].param("min_id") == broken_id
    assert again.mentions == [] and not caplog.records

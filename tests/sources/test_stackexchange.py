"""Stack Exchange against a local stand-in for api.stackexchange.com/2.3."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import BrandSettings
from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.stackexchange import OVERLAP, StackExchangeSource

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PATH = "/search/advanced"


@pytest.fixture
def acme() -> BrandSettings:
    return BrandSettings(name="Acme", terms=("Acme",))


@pytest.fixture
def make_source(api, make_settings, acme, fake_sleep):
    def make(brand=None, options=None, credentials=None, timeout=2.0):
        settings = make_settings("stackexchange", api.url, options=options,
                                 credentials=credentials)
        return StackExchangeSource(settings, brand or acme, clock=lambda: NOW,
                                   timeout=timeout, sleep=fake_sleep, min_interval=0)
    return make


def test_pages_are_normalized_to_plain_text_mentions(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/search_advanced_page1.json"))
    api.add(PATH, load_fixture("stackexchange/search_advanced_page2.json"))

    result = make_source().fetch(None)

    by_id = {m.native_id: m for m in result.mentions}
    assert sorted(by_id) == ["79811001", "79811042", "79811107"]
    first = by_id["79811001"]
    assert first.source == "stackexchange"
    assert first.title == "Acme SDK refund() call returns \"401 Unauthorized\" & I can't see why"
    assert first.text.startswith(first.title + "\n\n")
    assert "I'm calling client.refund(order_id) with the Acme SDK and get:" in first.text
    assert "AcmeError: 401 Unauthorized <token expired>" in first.text
    assert "<p>" not in first.text and "&#39;" not in first.text and "&lt;" not in first.text
    assert first.author == "José O'Neil"
    assert first.url == ("https://stackoverflow.com/questions/79811001/"
                         "acme-sdk-refund-call-returns-401-unauthorized")
    assert first.created_at == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert first.language is None  # stackoverflow.com does not say
    assert by_id["79811042"].text.endswith("Is there a cursor?")


def test_request_carries_user_agent_and_search_parameters(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/search_advanced_page1.json"))
    api.add(PATH, load_fixture("stackexchange/search_advanced_page2.json"))

    make_source(options={"site": "superuser"}).fetch(None)

    first, second = api.requests_to(PATH)
    assert first.headers["user-agent"] == USER_AGENT
    expected_from = int((NOW - timedelta(hours=24) - OVERLAP).timestamp())
    assert first.query == {
        "site": ["superuser"], "q": ["Acme"], "fromdate": [str(expected_from)],
        "sort": ["creation"], "order": ["asc"], "filter": ["withbody"],
        "pagesize": ["100"], "page": ["1"]}
    assert second.param("page") == "2"
    assert "key" not in first.query


def test_key_is_sent_when_configured(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/search_advanced_empty.json"))
    make_source(credentials={"key_env": "k3y(("}).fetch(None)
    assert api.requests[0].param("key") == "k3y(("


def test_second_poll_returns_nothing_already_returned(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/search_advanced_page1.json"))
    api.add(PATH, load_fixture("stackexchange/search_advanced_page2.json"))
    source = make_source()
    first = source.fetch(None)

    # The overlap window serves the newest question again, plus one new one.
    again = load_fixture("stackexchange/search_advanced_page2.json")
    fresh = dict(again["items"][0], question_id=79811200, creation_date=1795434000,
                 title="Acme is down again")
    again["items"].append(fresh)
    api.add(PATH, again)
    second = source.fetch(json.loads(json.dumps(first.cursor)))  # as stored

    assert [m.native_id for m in second.mentions] == ["79811200"]
    newest = 1795431600  # creation_date of the newest question of the first poll
    assert api.requests[-1].param("fromdate") == str(newest - int(OVERLAP.total_seconds()))
    assert second.cursor["terms"]["Acme"]["since"] == 1795434000


def test_empty_page_returns_no_mentions_and_keeps_the_window(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/search_advanced_empty.json"))
    result = make_source().fetch(None)
    assert result.mentions == []
    assert result.cursor["terms"]["Acme"]["since"] == int((NOW - timedelta(hours=24))
                                                          .timestamp())


def test_each_term_is_searched_and_a_question_found_twice_is_returned_once(
        api, load_fixture, make_source):
    page = load_fixture("stackexchange/search_advanced_page2.json")
    api.add(PATH, page)
    api.add(PATH, page)
    brand = BrandSettings(name="Acme", terms=("Acme", '"Acme Air"'))

    result = make_source(brand=brand).fetch(None)

    assert [r.param("q") for r in api.requests] == ["Acme", "Acme Air"]
    assert [m.native_id for m in result.mentions] == ["79811107"]
    assert set(result.cursor["terms"]) == {"Acme", "Acme Air"}


def test_429_with_retry_after_raises_rate_limited(api, make_source):
    api.add(PATH, {"error": "slow down"}, status=429, headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as info:
        make_source().fetch(None)
    assert info.value.retry_after == 7


def test_throttle_violation_raises_rate_limited_with_its_delay(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/throttle_violation.json"), status=400)
    with pytest.raises(RateLimited) as info:
        make_source().fetch(None)
    assert info.value.retry_after == 82388


def test_other_api_errors_raise_source_error_with_the_message(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/bad_parameter.json"), status=400)
    with pytest.raises(SourceError, match="site is required"):
        make_source().fetch(None)


def test_server_error_raises_source_error(api, make_source):
    api.add(PATH, "<html>oops</html>", status=500)
    with pytest.raises(SourceError, match="500"):
        make_source().fetch(None)


def test_failure_on_a_later_page_raises_so_the_cursor_is_kept(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/search_advanced_page1.json"))
    api.add(PATH, "bad gateway", status=503)
    with pytest.raises(SourceError):
        make_source().fetch(None)


def test_timeout_raises_source_error(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/search_advanced_empty.json"), delay=0.5)
    with pytest.raises(SourceError, match="timed out"):
        make_source(timeout=0.1).fetch(None)


def test_malformed_json_raises_source_error(api, make_source):
    api.add(PATH, '{"items": [', content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        make_source().fetch(None)


def test_short_backoff_is_waited_before_the_next_call(api, load_fixture, make_source,
                                                      fake_sleep):
    page1 = dict(load_fixture("stackexchange/search_advanced_page1.json"), backoff=5)
    api.add(PATH, page1)
    api.add(PATH, load_fixture("stackexchange/search_advanced_page2.json"))

    result = make_source().fetch(None)

    assert len(result.mentions) == 3
    assert len(fake_sleep.calls) == 1 and 4 < fake_sleep.calls[0] <= 5


def test_long_backoff_stops_paging_and_is_honoured_by_the_next_poll(
        api, load_fixture, make_source):
    page1 = dict(load_fixture("stackexchange/search_advanced_page1.json"), backoff=120)
    api.add(PATH, page1)
    source = make_source()

    first = source.fetch(None)

    # What was read is returned, and the cursor points at the last question read.
    assert sorted(m.native_id for m in first.mentions) == ["79811001", "79811042"]
    assert first.cursor["terms"]["Acme"]["since"] == 1795417200
    assert datetime.fromisoformat(first.cursor["backoff_until"]) == NOW + timedelta(
        seconds=120)
    assert len(api.requests) == 1

    # A new process (fresh pacer) still honours the stored backoff: no request at all.
    with pytest.raises(RateLimited) as info:
        make_source().fetch(first.cursor)
    assert info.value.retry_after == 120
    assert len(api.requests) == 1


def test_site_language_is_reported_for_single_language_sites(api, load_fixture, make_source):
    api.add(PATH, load_fixture("stackexchange/search_advanced_page2.json"))
    result = make_source(options={"site": "pt.stackoverflow"}).fetch(None)
    assert result.mentions[0].language == "pt"


def test_backoff_during_one_term_defers_the_other_terms_to_the_next_poll(
        api, load_fixture, make_source):
    earlier = {"terms": {"Acme Air": {"since": 1795400000, "seen": ["1"]}}}
    api.add(PATH, dict(load_fixture("stackexchange/search_advanced_page2.json"), backoff=60))
    brand = BrandSettings(name="Acme", terms=("Acme", '"Acme Air"'))

    result = make_source(brand=brand).fetch(earlier)

    assert [r.param("q") for r in api.requests] == ["Acme"]
    assert [m.native_id for m in result.mentions] == ["79811107"]
    assert result.cursor["terms"]["Acme Air"] == earlier["terms"]["Acme Air"]
    assert "backoff_until" in result.cursor


def test_same_process_honours_a_backoff_from_the_previous_poll(api, load_fixture,
                                                               make_source):
    api.add(PATH, dict(load_fixture("stackexchange/search_advanced_page2.json"), backoff=300))
    source = make_source()
    first = source.fetch(None)
    without_stored_backoff = {"terms": first.cursor["terms"]}
    with pytest.raises(RateLimited) as info:
        source.fetch(without_stored_backoff)
    assert 290 < info.value.retry_after <= 300
    assert len(api.requests) == 1


def test_a_malformed_question_is_skipped_and_remembered(api, load_fixture, make_source,
                                                         caplog):
    page = load_fixture("stackexchange/search_advanced_page1.json")
    page["items"].append({**page["items"][0], "question_id": 79811999,
                          "creation_date": "today", "owner": "nobody"})
    api.add(PATH, page)
    api.add(PATH, load_fixture("stackexchange/search_advanced_page2.json"))
    with caplog.at_level("WARNING", logger="bot.sources"):
        result = make_source().fetch(None)
    assert sorted(m.native_id for m in result.mentions) == ["79811001", "79811042",
                                                            "79811107"]
    (state,) = result.cursor["terms"].values()
    assert "79811999" in state["seen"]  # not read again next poll
    (warning,) = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert "stackexchange" in warning and "79811999" in warning

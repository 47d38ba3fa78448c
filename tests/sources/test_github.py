"""GitHub issues (REST search) and discussions (GraphQL) against a local stand-in."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import BrandSettings
from bot.sources import github
from bot.sources.base import USER_AGENT, RateLimited, SourceError
from bot.sources.github import GitHubSource

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SEARCH = "/search/issues"
GRAPHQL = "/graphql"


@pytest.fixture
def acme() -> BrandSettings:
    return BrandSettings(name="Acme", terms=("Acme",))


@pytest.fixture
def make_source(api, make_settings, acme, fake_sleep):
    def make(brand=None, kinds=("issues",), token=None, timeout=2.0, base_url=None):
        creds = {"token_env": token} if token else {}
        settings = make_settings("github", base_url or api.url,
                                 options={"kinds": list(kinds)}, credentials=creds)
        return GitHubSource(settings, brand or acme, clock=lambda: NOW, timeout=timeout,
                            sleep=fake_sleep, min_interval=0)
    return make


def test_issue_pages_are_followed_and_normalized(api, load_fixture, make_source,
                                                 monkeypatch):
    monkeypatch.setattr(github, "PER_PAGE", 2)
    api.add(SEARCH, load_fixture("github/search_issues_page1.json"))
    api.add(SEARCH, load_fixture("github/search_issues_page2.json"))

    result = make_source().fetch(None)

    by_id = {m.native_id: m for m in result.mentions}
    assert sorted(by_id) == ["octo-org/shop/issues/412", "octo-org/shop/issues/416",
                             "someone/acme-cli/issues/7"]
    first = by_id["octo-org/shop/issues/412"]
    assert first.source == "github"
    assert first.url == "https://github.com/octo-org/shop/issues/412"
    assert first.author == "mona"
    assert first.created_at == datetime(2026, 11, 23, 7, 15, tzinfo=UTC)
    # Markdown stays as written (a "<v2.3>" is not a tag); template comments and
    # runs of blank lines go.
    assert first.title == "Checkout fails with Acme payments <v2.3>"
    assert first.text == (
        "Checkout fails with Acme payments <v2.3>\n\n### Describe the bug\n"
        "Acme's payment widget throws `TypeError` on checkout & the order is lost.\n\n"
        "### Steps\n1. Add item\n2. Pay with Acme")
    assert first.extra["kind"] == "issue"
    assert [r.param("page") for r in api.requests_to(SEARCH)] == ["1", "2"]


def test_search_request_has_the_documented_parameters_and_headers(api, load_fixture,
                                                                   make_source):
    api.add(SEARCH, load_fixture("github/search_issues_empty.json"))
    make_source().fetch(None)

    (request,) = api.requests
    start = NOW - timedelta(hours=24) - github.OVERLAP
    assert request.query == {
        "q": [f"Acme is:issue created:>={start:%Y-%m-%dT%H:%M:%S}+00:00"],
        "sort": ["created"], "order": ["asc"], "per_page": ["100"], "page": ["1"]}
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == USER_AGENT
    assert "authorization" not in request.headers


def test_phrases_are_quoted_and_pulls_use_is_pr(api, load_fixture, make_source):
    api.add(SEARCH, load_fixture("github/search_pulls_page.json"))
    brand = BrandSettings(name="Acme", terms=('"Acme Air"',))

    result = make_source(brand=brand, kinds=("pulls",)).fetch(None)

    assert api.requests[0].param("q").startswith('"Acme Air" is:pr created:>=')
    (mention,) = result.mentions
    assert mention.native_id == "octo-org/shop/pull/415"
    assert mention.extra["kind"] == "pull"


def test_second_poll_returns_only_new_issues(api, load_fixture, make_source):
    api.add(SEARCH, load_fixture("github/search_issues_page2.json"))
    source = make_source()
    first = source.fetch(None)
    assert [m.native_id for m in first.mentions] == ["octo-org/shop/issues/416"]

    # The overlap window returns the same issue again next to a newer one.
    page = load_fixture("github/search_issues_page2.json")
    newer = dict(page["items"][0], html_url="https://github.com/octo-org/shop/issues/420",
                 created_at="2026-11-23T11:40:00Z", title="Acme again")
    page["items"].append(newer)
    page["total_count"] = 2
    api.add(SEARCH, page)
    second = source.fetch(json.loads(json.dumps(first.cursor)))  # as stored

    assert [m.native_id for m in second.mentions] == ["octo-org/shop/issues/420"]
    assert api.requests[-1].param("q") == "Acme is:issue created:>=2026-11-23T10:50:00+00:00"
    assert second.cursor["issues"]["Acme"]["since"] == "2026-11-23T11:40:00+00:00"


def test_empty_result_gives_no_mentions(api, load_fixture, make_source):
    api.add(SEARCH, load_fixture("github/search_issues_empty.json"))
    result = make_source().fetch(None)
    assert result.mentions == []
    assert len(api.requests) == 1


def test_discussions_use_graphql_with_the_token_and_follow_end_cursor(
        api, load_fixture, make_source):
    api.add(GRAPHQL, load_fixture("github/graphql_discussions_page1.json"), method="POST")
    api.add(GRAPHQL, load_fixture("github/graphql_discussions_page2.json"), method="POST")

    result = make_source(kinds=("discussions",), token="ghp_s3cret").fetch(None)

    first, second = api.requests_to(GRAPHQL)
    assert first.headers["authorization"] == "Bearer ghp_s3cret"
    body = first.json()
    assert "search(type: DISCUSSION" in body["query"]
    assert body["variables"]["q"].startswith("Acme created:>=2026-11-22T11:50:00+00:00")
    assert body["variables"]["q"].endswith("sort:created-asc")
    assert body["variables"]["after"] is None
    assert second.json()["variables"]["after"] == "Y3Vyc29yOjE="
    by_id = {m.native_id: m for m in result.mentions}
    assert sorted(by_id) == ["acme/acme-js/discussions/90", "orgs/community/discussions/88"]
    first_mention = by_id["orgs/community/discussions/88"]
    assert first_mention.text == ("Is Acme still maintained?\n\n"
                                  "Acme hasn't shipped a release in a year & issues pile up.")
    assert first_mention.author == "octocat"
    assert by_id["acme/acme-js/discussions/90"].author == ""  # deleted account ("ghost")
    assert result.cursor["discussions"]["Acme"]["since"] == "2026-11-23T10:45:00+00:00"


def test_discussions_without_token_are_skipped_with_one_log_line(
        api, load_fixture, make_source, caplog):
    api.default(SEARCH, load_fixture("github/search_issues_empty.json"))
    source = make_source(kinds=("issues", "discussions"))
    with caplog.at_level(logging.WARNING):
        source.fetch(None)
        source.fetch(None)
    assert api.requests_to(GRAPHQL) == []
    assert len(api.requests_to(SEARCH)) == 2
    warnings = [r for r in caplog.records if "discussions need a token" in r.getMessage()]
    assert len(warnings) == 1


def test_enterprise_base_url_maps_to_its_graphql_endpoint(api, load_fixture, make_source):
    api.add("/api/graphql", load_fixture("github/graphql_discussions_page2.json"))
    result = make_source(kinds=("discussions",), token="t",
                         base_url=api.url + "/api/v3").fetch(None)
    assert len(result.mentions) == 1


def test_429_with_retry_after_raises_rate_limited(api, make_source):
    api.add(SEARCH, {"message": "slow down"}, status=429, headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as info:
        make_source().fetch(None)
    assert info.value.retry_after == 7


def test_secondary_rate_limit_403_with_retry_after_raises_rate_limited(
        api, load_fixture, make_source):
    api.add(SEARCH, load_fixture("github/secondary_rate_limit.json"), status=403,
            headers={"Retry-After": "60"})
    with pytest.raises(RateLimited) as info:
        make_source().fetch(None)
    assert info.value.retry_after == 60


def test_primary_rate_limit_403_waits_until_the_reset_time(api, make_source):
    reset = int(NOW.timestamp()) + 300
    api.add(SEARCH, {"message": "API rate limit exceeded"}, status=403,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    with pytest.raises(RateLimited) as info:
        make_source().fetch(None)
    assert info.value.retry_after == 300


def test_spent_quota_stops_the_poll_with_what_was_read(api, load_fixture, make_source):
    reset = int(NOW.timestamp()) + 600
    api.add(SEARCH, load_fixture("github/search_issues_page2.json"),
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    brand = BrandSettings(name="Acme", terms=("Acme", "Globex"))
    source = make_source(brand=brand)

    result = source.fetch(None)

    # The first term's issue is returned; the second term keeps no position yet, so
    # the next poll searches it from the start.
    assert [m.native_id for m in result.mentions] == ["octo-org/shop/issues/416"]
    assert set(result.cursor["issues"]) == {"Acme"}
    assert len(api.requests) == 1
    with pytest.raises(RateLimited) as info:
        source.fetch(result.cursor)
    assert 590 < info.value.retry_after <= 600
    assert len(api.requests) == 1


def test_graphql_rate_limit_error_raises_rate_limited(api, load_fixture, make_source):
    reset = int(NOW.timestamp()) + 120
    api.add(GRAPHQL, load_fixture("github/graphql_rate_limited.json"),
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    with pytest.raises(RateLimited) as info:
        make_source(kinds=("discussions",), token="t").fetch(None)
    assert info.value.retry_after == 120


def test_graphql_other_errors_raise_source_error(api, make_source):
    api.add(GRAPHQL, {"data": None, "errors": [{"message": "Something went wrong"}]})
    with pytest.raises(SourceError, match="Something went wrong"):
        make_source(kinds=("discussions",), token="t").fetch(None)


def test_bad_token_raises_source_error(api, load_fixture, make_source):
    api.add(SEARCH, load_fixture("github/bad_credentials.json"), status=401)
    with pytest.raises(SourceError, match="401"):
        make_source(token="expired").fetch(None)


def test_server_error_raises_source_error(api, make_source):
    api.add(SEARCH, "upstream failure", status=502)
    with pytest.raises(SourceError, match="502"):
        make_source().fetch(None)


def test_failure_on_a_later_page_raises(api, load_fixture, make_source, monkeypatch):
    monkeypatch.setattr(github, "PER_PAGE", 2)
    api.add(SEARCH, load_fixture("github/search_issues_page1.json"))
    api.add(SEARCH, "boom", status=500)
    with pytest.raises(SourceError):
        make_source().fetch(None)


def test_timeout_raises_source_error(api, load_fixture, make_source):
    api.add(SEARCH, load_fixture("github/search_issues_empty.json"), delay=0.5)
    with pytest.raises(SourceError, match="timed out"):
        make_source(timeout=0.1).fetch(None)


def test_malformed_json_raises_source_error(api, make_source):
    api.add(SEARCH, '{"total_count": 1, "items": [{', content_type="application/json")
    with pytest.raises(SourceError, match="malformed JSON"):
        make_source().fetch(None)


def test_pacing_keeps_to_the_search_limit(make_settings, acme, api):
    anonymous = GitHubSource(make_settings("github", api.url), acme)
    authed = GitHubSource(make_settings("github", api.url, credentials={"token_env": "t"}),
                          acme)
    assert anonymous.pacer.min_interval == 6.0  # 10 requests/minute
    assert authed.pacer.min_interval == 2.0  # 30 requests/minute


def test_partial_discussion_read_keeps_its_position_and_never_repeats(
        api, load_fixture, make_source, monkeypatch):
    # GraphQL search promises no order, so a read cut off by the page cap must not move
    # the window past discussions it has not read yet.
    monkeypatch.setattr(GitHubSource, "max_pages", 1)
    api.add(GRAPHQL, load_fixture("github/graphql_discussions_page1.json"))
    source = make_source(kinds=("discussions",), token="t")
    first = source.fetch(None)
    state = first.cursor["discussions"]["Acme"]
    assert state["since"] == (NOW - timedelta(hours=24)).isoformat()
    assert state["seen"] == ["orgs/community/discussions/88"]

    page = load_fixture("github/graphql_discussions_page1.json")
    page["data"]["search"]["nodes"] += load_fixture(
        "github/graphql_discussions_page2.json")["data"]["search"]["nodes"]
    page["data"]["search"]["pageInfo"]["hasNextPage"] = False
    api.add(GRAPHQL, page)
    second = source.fetch(json.loads(json.dumps(first.cursor)))
    assert [m.native_id for m in second.mentions] == ["acme/acme-js/discussions/90"]
    assert second.cursor["discussions"]["Acme"]["since"] == "2026-11-23T10:45:00+00:00"


def test_incomplete_results_do_not_move_the_window(api, load_fixture, make_source):
    page = dict(load_fixture("github/search_issues_page2.json"), incomplete_results=True)
    api.add(SEARCH, page)
    result = make_source().fetch(None)
    state = result.cursor["issues"]["Acme"]
    assert [m.native_id for m in result.mentions] == ["octo-org/shop/issues/416"]
    assert state["since"] == (NOW - timedelta(hours=24)).isoformat()
    assert state["seen"] == ["octo-org/shop/issues/416"]


def test_a_malformed_issue_is_skipped_not_fatal(api, load_fixture, make_source,
                                                 monkeypatch, caplog):
    monkeypatch.setattr(github, "PER_PAGE", 2)
    page = load_fixture("github/search_issues_page1.json")
    page["items"].append({**page["items"][0], "html_url":
                          "https://github.com/octo-org/shop/issues/999",
                          "created_at": None})
    api.add(SEARCH, page)
    api.add(SEARCH, load_fixture("github/search_issues_page2.json"))
    with caplog.at_level("WARNING", logger="bot.sources"):
        result = make_source().fetch(None)
    assert sorted(m.native_id for m in result.mentions) == [
        "octo-org/shop/issues/412", "octo-org/shop/issues/416", "someone/acme-cli/issues/7"]
    (warning,) = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert "github" in warning and "issues/999" in warning

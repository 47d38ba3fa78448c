"""Author reach recorded by each source: from the post's own payload (Mastodon, X,
Stack Exchange) or one lookup per author (Hacker News, Reddit, GitHub, Bluesky).
Unknown stays unknown (no "reach" at all), never 0; a failed lookup loses no mention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.reach import Reach, reach_of
from bot.settings import BrandSettings
from bot.sources.bluesky import BlueskySource
from bot.sources.github import GitHubSource
from bot.sources.hackernews import HackerNewsSource
from bot.sources.mastodon import MastodonSource
from bot.sources.reddit import RedditSource
from bot.sources.stackexchange import StackExchangeSource
from bot.sources.x import XSource

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ACME = BrandSettings("Acme", terms=("Acme",))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def by_author(mentions):
    return {m.author: reach_of(m) for m in mentions}


def test_mastodon_reads_followers_from_the_status_account(api, make_settings, load_fixture):
    api.add("/api/v1/timelines/tag/acme", load_fixture("mastodon/tag_newest.json"))
    src = MastodonSource(make_settings("mastodon", api.url, options={"hashtags": ["acme"]}),
                         ACME, clock=lambda: NOW, timeout=0.5, min_interval=0)
    found = by_author(src.fetch(None).mentions)
    assert found["ana@127.0.0.1"] == Reach(10, "followers")
    assert found["bruno@social.example"] == Reach(23456, "followers")
    assert len(api.requests) == 1  # no extra call: the status carries the account


def test_x_asks_for_public_metrics_and_leaves_a_user_without_them_unknown(
        api, make_settings, load_fixture):
    api.add("/2/tweets/search/recent", load_fixture("x/search_page1.json"))
    api.add("/2/tweets/search/recent", load_fixture("x/search_page2.json"))
    src = XSource(make_settings("x", api.url + "/2", credentials={"bearer_token_env": "t"}),
                  ACME, clock=lambda: NOW, timeout=0.5, min_interval=0)
    mentions = src.fetch(None).mentions
    assert "public_metrics" in api.requests[0].param("user.fields").split(",")
    found = by_author(mentions)
    assert found["sam_travels"] == Reach(312, "followers")
    assert found["devperson"] is None
    assert all("reach" not in m.extra for m in mentions if m.author == "devperson")


def test_stackexchange_reads_the_owner_reputation(api, make_settings, load_fixture):
    api.add("/search/advanced", load_fixture("stackexchange/search_advanced_page1.json"))
    api.add("/search/advanced", load_fixture("stackexchange/search_advanced_page2.json"))
    src = StackExchangeSource(make_settings("stackexchange", api.url), ACME,
                              clock=lambda: NOW, timeout=0.5, min_interval=0)
    found = by_author(src.fetch(None).mentions)
    assert found["José O'Neil"] == Reach(41, "reputation")


def test_hackernews_looks_each_author_up_once_and_remembers_for_a_day(
        api, make_settings, load_fixture):
    api.default("/search_by_date", load_fixture("hackernews/empty.json"))
    api.add("/search_by_date", load_fixture("hackernews/page1.json"))
    api.add("/users/pg_fan", load_fixture("hackernews/user_pg_fan.json"))
    # founder42 is not found (404 from the stand-in): unknown, not 0.
    clock = Clock()
    src = HackerNewsSource(make_settings("hackernews", api.url), ACME, clock=clock,
                           timeout=0.5, min_interval=0)
    mentions = src.fetch(None).mentions
    found = by_author(mentions)
    assert found["pg_fan"] == Reach(4821, "karma")
    assert found["founder42"] is None
    assert len(api.requests_to("/users/pg_fan")) == 1  # two posts, one lookup

    api.add("/search_by_date", load_fixture("hackernews/page1.json"))
    clock.now = NOW + timedelta(hours=2)
    src.fetch(None)
    assert len(api.requests_to("/users/pg_fan")) == 1  # still fresh: not asked again


def test_a_failed_lookup_keeps_every_mention_and_stops_asking_this_poll(
        api, make_settings, load_fixture):
    api.add("/search_by_date", load_fixture("hackernews/page1.json"))
    api.default("/search_by_date", load_fixture("hackernews/empty.json"))
    api.default("/users/pg_fan", {"message": "boom"}, status=500)
    api.default("/users/founder42", {"message": "boom"}, status=500)
    src = HackerNewsSource(make_settings("hackernews", api.url), ACME, clock=lambda: NOW,
                           timeout=0.5, min_interval=0)
    mentions = src.fetch(None).mentions
    assert {m.author for m in mentions} == {"pg_fan", "founder42"}
    assert all(reach_of(m) is None for m in mentions)
    lookups = [r for r in api.requests if r.path.startswith("/users/")]
    assert len(lookups) == 1


def test_reddit_reads_total_karma_and_skips_suspended_accounts(
        api, make_settings, load_fixture):
    api.default("/api/v1/access_token", load_fixture("reddit/token.json"))
    api.add("/search", load_fixture("reddit/search_page1.json"))
    api.default("/search", load_fixture("reddit/search_empty.json"))
    api.add("/user/kettle_owner/about", load_fixture("reddit/user_about.json"))
    api.add("/user/newsbot/about", load_fixture("reddit/user_suspended.json"))
    settings = make_settings("reddit", api.url, credentials={
        "client_id_env": "id", "client_secret_env": "secret"},
        options={"auth_url": api.url + "/api/v1/access_token", "subreddits": []})
    src = RedditSource(settings, ACME, clock=lambda: NOW, timeout=0.5, min_interval=0)
    found = by_author(src.fetch(None).mentions)
    assert found["kettle_owner"] == Reach(1261, "karma")
    assert found["newsbot"] is None
    lookup = api.requests_to("/user/kettle_owner/about")[0]
    assert lookup.headers["authorization"].startswith("bearer ")


def test_github_reads_followers_of_each_login(api, make_settings, load_fixture):
    api.add("/search/issues", load_fixture("github/search_issues_page1.json"))
    api.default("/search/issues", load_fixture("github/search_issues_empty.json"))
    api.add("/users/mona", load_fixture("github/user_mona.json"))
    settings = make_settings("github", api.url, options={"kinds": ["issues"]},
                             credentials={"token_env": "ghp_x"})
    src = GitHubSource(settings, ACME, clock=lambda: NOW, timeout=0.5, min_interval=0,
                       sleep=lambda s: None)
    found = by_author(src.fetch(None).mentions)
    assert found["mona"] == Reach(16384, "followers")
    assert found["hubot"] is None  # 404 from the stand-in


def test_bluesky_asks_for_all_authors_in_one_getprofiles_call(
        api, make_settings, load_fixture):
    api.default("/xrpc/com.atproto.server.createSession", load_fixture("bluesky/session.json"))
    api.add("/xrpc/app.bsky.feed.searchPosts", load_fixture("bluesky/search_page1.json"))
    api.add("/xrpc/app.bsky.feed.searchPosts", load_fixture("bluesky/search_end.json"))
    api.add("/xrpc/app.bsky.actor.getProfiles", load_fixture("bluesky/profiles.json"))
    settings = make_settings("bluesky", api.url + "/xrpc", credentials={
        "handle_env": "bot.bsky.social", "app_password_env": "pw"})
    src = BlueskySource(settings, ACME, clock=lambda: NOW, timeout=0.5, min_interval=0)
    found = by_author(src.fetch(None).mentions)
    (call,) = api.requests_to("/xrpc/app.bsky.actor.getProfiles")
    assert sorted(call.query["actors"]) == ["jean.bsky.social", "traveler.bsky.social"]
    assert found["traveler.bsky.social"] == Reach(87, "followers")
    assert found["jean.bsky.social"] is None  # not in the reply


def test_an_author_name_no_url_can_carry_is_unknown_and_the_rest_go_on(
        api, make_settings, load_fixture):
    page = load_fixture("hackernews/page1.json")
    page["hits"][1]["author"] = "mallory\ud800"  # a lone surrogate from a hostile API
    api.add("/search_by_date", page)
    api.default("/search_by_date", load_fixture("hackernews/empty.json"))
    api.add("/users/pg_fan", load_fixture("hackernews/user_pg_fan.json"))
    src = HackerNewsSource(make_settings("hackernews", api.url), ACME, clock=lambda: NOW,
                           timeout=0.5, min_interval=0)
    found = by_author(src.fetch(None).mentions)
    # The source cleans decoded JSON at once: the lone surrogate is a replacement mark.
    assert found["mallory\ufffd"] is None and found["pg_fan"] == Reach(4821, "karma")

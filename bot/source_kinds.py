"""One registry of mention sources: for each kind, its label, the class that reads it,
and the shape of its `[sources.<name>]` table.

Everything Earshot knows about a source kind lives in its one entry here (settings
validate against `spec`, messages show `label`, `bot.sources` loads `implementation`),
so adding a source is one entry plus its module. This module imports nothing from bot:
the class is named as "module:Class" and imported only when the source is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceSpec:
    """The shape of a source's table: default base_url and interval, extra keys with
    their types, and the keys that hold environment-variable names."""

    base_url: str
    interval_minutes: int
    options: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    required_env: tuple[str, ...] = ()
    optional_env: tuple[str, ...] = ()
    option_defaults: dict[str, Any] = field(default_factory=dict)
    # A stream, read live over a WebSocket by `serve`, rather than polled on an interval
    # (interval_minutes does not apply); its implementation names the function that
    # builds its channels (bot.sources.streaming) instead of a Source class.
    stream: bool = False
    url_schemes: tuple[str, ...] = ("http", "https")
    url_lists: tuple[str, ...] = ()  # options that are lists of URLs, checked like base_url


@dataclass(frozen=True)
class SourceKind:
    name: str
    label: str  # how people call it: "Hacker News"
    implementation: str  # "module:Class", imported on first use
    spec: SourceSpec


def _kind(name: str, label: str, implementation: str, spec: SourceSpec) -> SourceKind:
    return SourceKind(name, label, f"bot.sources.{implementation}", spec)


KINDS: dict[str, SourceKind] = {k.name: k for k in (
    _kind("hackernews", "Hacker News", "hackernews:HackerNewsSource", SourceSpec(
        "https://hn.algolia.com/api/v1", 5, {"tags": list},
        option_defaults={"tags": ["story", "comment"]})),
    _kind("reddit", "Reddit", "reddit:RedditSource", SourceSpec(
        "https://oauth.reddit.com", 10, {"auth_url": str, "subreddits": list},
        required_env=("client_id_env", "client_secret_env"),
        option_defaults={"auth_url": "https://www.reddit.com/api/v1/access_token",
                         "subreddits": []})),
    _kind("bluesky", "Bluesky", "bluesky:BlueskySource", SourceSpec(
        "https://bsky.social/xrpc", 5, {}, required_env=("handle_env", "app_password_env"))),
    _kind("mastodon", "Mastodon", "mastodon:MastodonSource", SourceSpec(
        "https://mastodon.social", 5, {"hashtags": list},
        optional_env=("access_token_env",), option_defaults={"hashtags": []})),
    _kind("stackexchange", "Stack Exchange", "stackexchange:StackExchangeSource", SourceSpec(
        "https://api.stackexchange.com/2.3", 30, {"site": str},
        optional_env=("key_env",), option_defaults={"site": "stackoverflow"})),
    _kind("github", "GitHub", "github:GitHubSource", SourceSpec(
        "https://api.github.com", 15, {"kinds": list},
        optional_env=("token_env",), option_defaults={"kinds": ["issues", "discussions"]})),
    _kind("lobsters", "Lobsters", "lobsters:LobstersSource", SourceSpec(
        "https://lobste.rs", 15, {})),
    _kind("rss", "RSS", "rss:RSSSource", SourceSpec(
        "", 30, {"feeds": list}, option_defaults={"feeds": []})),
    _kind("x", "X", "x:XSource", SourceSpec(
        "https://api.x.com/2", 15, {},
        required_env=("bearer_token_env",), optional_env=("user_token_env",))),
    _kind("bluesky_stream", "Bluesky (live)", "bluesky_stream:channels", SourceSpec(
        "wss://jetstream2.us-east.bsky.network", 1,
        {"fallback_urls": list, "rewind_seconds": int},
        option_defaults={"fallback_urls": [], "rewind_seconds": 5},
        stream=True, url_schemes=("ws", "wss"), url_lists=("fallback_urls",))),
    _kind("mastodon_stream", "Mastodon (live)", "mastodon_stream:channels", SourceSpec(
        "https://mastodon.social", 1, {"instances": list, "hashtags": list, "public": bool},
        optional_env=("access_token_env",),
        option_defaults={"instances": [], "hashtags": [], "public": False},
        stream=True, url_lists=("instances",))),
)}


def label(name: str) -> str:
    """"Hacker News" for "hackernews"; an unknown name as it is."""
    kind = KINDS.get(name)
    return kind.label if kind else name

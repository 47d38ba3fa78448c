"""How fast the source layer turns API pages into mentions, and what it costs in requests.

Runs each of the S1 sources (Hacker News, Reddit, Bluesky, Mastodon, X) against a local
stand-in serving pages of 100 (Mastodon: 40) realistic items, and prints mentions per
second for a first poll that pages through a burst, plus html_to_text throughput.
Network and pacing are local and zero, so the figures are the parsing/normalizing cost
(the real cost of a poll is the APIs' latency and rate limits).

    .venv/bin/python bench/sources.py
"""

from __future__ import annotations

import copy
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import SOURCE_SPECS, BrandSettings, SourceSettings  # noqa: E402
from bot.sources.base import html_to_text  # noqa: E402
from bot.sources.bluesky import BlueskySource  # noqa: E402
from bot.sources.hackernews import HackerNewsSource  # noqa: E402
from bot.sources.mastodon import MastodonSource  # noqa: E402
from bot.sources.reddit import RedditSource  # noqa: E402
from bot.sources.x import XSource  # noqa: E402
from tests.sources.conftest import FakeAPI  # noqa: E402

FIX = ROOT / "tests" / "sources" / "fixtures"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PAGES = 10
BRAND = BrandSettings("Acme", terms=("Acme",))


def load(name: str):
    return json.loads((FIX / name).read_text())


def settings(name: str, url: str, options=None, credentials=None) -> SourceSettings:
    spec = SOURCE_SPECS[name]
    return SourceSettings(name, True, url, 5, {**spec.option_defaults, **(options or {})},
                          dict(credentials or {}), {})


def replicate(items: list, count: int, key, start: int) -> list:
    out = []
    for i in range(count):
        item = copy.deepcopy(items[i % len(items)])
        key(item, start - i)
        out.append(item)
    return out


def hn(api: FakeAPI):
    base = load("hackernews/page1.json")
    t0 = int(NOW.timestamp()) - 60

    def key(hit, n):
        hit["objectID"] = str(50_000_000 + n)
        hit["created_at_i"] = t0 - (50_000 - n)
        hit["created_at"] = datetime.fromtimestamp(hit["created_at_i"], UTC).isoformat()

    for page in range(PAGES):
        hits = replicate(base["hits"], 100, key, 50_000 - page * 100)
        api.add("/search_by_date", base | {"hits": hits, "page": page, "nbPages": PAGES})
    return HackerNewsSource(settings("hackernews", api.url), BRAND, clock=lambda: NOW,
                            min_interval=0)


def reddit(api: FakeAPI):
    api.default("/token", load("reddit/token.json"))
    base = load("reddit/search_page1.json")
    t0 = NOW.timestamp() - 60

    def key(child, n):
        child["data"]["id"] = f"r{n}"
        child["data"]["created_utc"] = t0 - (50_000 - n)

    for page in range(PAGES):
        children = replicate(base["data"]["children"], 100, key, 50_000 - page * 100)
        after = None if page == PAGES - 1 else f"t3_p{page}"
        api.add("/search", {"kind": "Listing", "data": base["data"] | {
            "children": children, "after": after}})
    creds = {"client_id_env": "id", "client_secret_env": "secret"}
    return RedditSource(settings("reddit", api.url, {"auth_url": api.url + "/token"}, creds),
                        BRAND, clock=lambda: NOW, min_interval=0)


def bluesky(api: FakeAPI):
    api.default("/xrpc/com.atproto.server.createSession", load("bluesky/session.json"))
    base = load("bluesky/search_page1.json")

    def key(post, n):
        post["uri"] = post["uri"].rsplit("/", 1)[0] + f"/3l{n}"
        when = (NOW - timedelta(seconds=50_000 - n)).isoformat().replace("+00:00", "Z")
        post["record"]["createdAt"] = post["indexedAt"] = when

    for page in range(PAGES):
        posts = replicate(base["posts"], 100, key, 50_000 - page * 100)
        cursor = None if page == PAGES - 1 else str((page + 1) * 100)
        api.add("/xrpc/app.bsky.feed.searchPosts", {"posts": posts, "cursor": cursor})
    creds = {"handle_env": "h", "app_password_env": "p"}
    return BlueskySource(settings("bluesky", api.url + "/xrpc", credentials=creds), BRAND,
                         clock=lambda: NOW, min_interval=0)


def mastodon(api: FakeAPI):
    base = load("mastodon/tag_newest.json")
    first_id = int(base[-1]["id"]) - 10_000_000

    def key(status, n):
        status["id"] = str(first_id + n)
        status["uri"] = f"https://m.example/statuses/{first_id + n}"

    # Forward paging from a cursor: each page the next 40 ids, newest first.
    for page in range(PAGES):
        ids = replicate(base, 40, key, (page + 1) * 40)
        api.add("/api/v1/timelines/tag/acme", ids)
    api.add("/api/v1/timelines/tag/acme", [])
    src = MastodonSource(settings("mastodon", api.url, {"hashtags": ["acme"]}), BRAND,
                         clock=lambda: NOW, min_interval=0)
    return src, {"tags": {"acme": str(first_id)}, "search": {}, "seen": []}


def x(api: FakeAPI):
    base = load("x/search_page1.json")
    start = 1_900_000_000_000_000_000

    def key(post, n):
        post["id"] = str(start + n)

    for page in range(PAGES):
        data = replicate(base["data"], 100, key, 50_000 - page * 100)
        meta = {"result_count": 100, "next_token": None if page == PAGES - 1 else f"n{page}"}
        api.add("/2/tweets/search/recent", base | {"data": data, "meta": meta})
    src = XSource(settings("x", api.url + "/2", credentials={"bearer_token_env": "t"}), BRAND,
                  clock=lambda: NOW, min_interval=0)
    return src, {"since_id": str(start), "gaps": []}


def run(name: str, build) -> None:
    api = FakeAPI().start()
    try:
        built = build(api)
        source, cursor = built if isinstance(built, tuple) else (built, None)
        started = time.perf_counter()
        result = source.fetch(cursor)
        elapsed = time.perf_counter() - started
        requests = len(api.requests)
    finally:
        api.stop()
    print(f"{name:<11} {len(result.mentions):>6} mentions  {requests:>3} requests  "
          f"{elapsed * 1000:8.1f} ms  {len(result.mentions) / elapsed:10,.0f} mentions/s")


def main() -> None:
    print(f"one poll paging through a burst of {PAGES} pages (local stand-in, no pacing)")
    for name, build in [("hackernews", hn), ("reddit", reddit), ("bluesky", bluesky),
                        ("mastodon", mastodon), ("x", x)]:
        run(name, build)
    sample = load("hackernews/page1.json")["hits"][0]["comment_text"] * 3
    n = 20_000
    started = time.perf_counter()
    for _ in range(n):
        html_to_text(sample)
    elapsed = time.perf_counter() - started
    print(f"html_to_text: {n / elapsed:,.0f} comments/s ({len(sample)} chars each)")


if __name__ == "__main__":
    main()

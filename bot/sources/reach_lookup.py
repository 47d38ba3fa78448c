"""Author reach for sources whose search results do not carry it (Bluesky, Reddit,
Hacker News, GitHub): one extra API call per author (or per batch of authors),
remembered for a day, and never at the cost of the mentions themselves.

Reach is a nice-to-have next to the post: a lookup that fails (rate limit, outage,
deleted account) leaves the reach unknown, stops further lookups for this poll, and is
logged once; the fetch still returns every mention.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from bot import reach
from bot.mention import Mention
from bot.sources.base import SourceError

log = logging.getLogger(__name__)

TTL = timedelta(hours=24)  # followers and karma change slowly
PER_POLL = 25  # new lookups per poll at most: reach must not eat the API quota
CACHE_SIZE = 5_000

# authors -> {author: raw count (None if the API has no count for them)}
Lookup = Callable[[list[str]], dict[str, Any]]


class AuthorReach:
    """Fills `extra["reach"]` of mentions from a per-author lookup with a cache."""

    def __init__(self, name: str, kind: str, lookup: Lookup, clock: Callable[[], datetime],
                 *, batch: int = 1, per_poll: int = PER_POLL) -> None:
        self.name = name
        self.kind = kind
        self.lookup = lookup
        self.clock = clock
        self.batch = max(1, batch)
        self.per_poll = per_poll
        self._cache: OrderedDict[str, tuple[int | None, datetime]] = OrderedDict()

    def fill(self, mentions: Iterable[Mention]) -> None:
        mentions = [m for m in mentions if m.author]
        self._look_up(list(dict.fromkeys(m.author for m in mentions)))
        for mention in mentions:
            hit = self._cache.get(mention.author)
            if hit is not None and hit[0] is not None:
                reach.set_reach(mention.extra, hit[0], self.kind)

    def _look_up(self, authors: list[str]) -> None:
        now = self.clock()
        # A name no network could have issued (a lone surrogate, a control character) is
        # never sent in a lookup URL: it could not be encoded, and its reach stays unknown.
        wanted = [a for a in authors if _sendable(a) and not self._fresh(a, now)]
        wanted = wanted[: self.per_poll]
        for start in range(0, len(wanted), self.batch):
            chunk = wanted[start:start + self.batch]
            try:
                found = self.lookup(chunk)
            except SourceError as exc:
                log.info("%s: author reach not looked up this poll (%s); it shows as "
                         "unknown", self.name, exc)
                return
            except ValueError:  # a name no URL can carry (a lone surrogate): unknown
                found = {}
            for author in chunk:
                self._remember(author, reach.parse_count(found.get(author)), now)

    def _fresh(self, author: str, now: datetime) -> bool:
        hit = self._cache.get(author)
        return hit is not None and timedelta(0) <= now - hit[1] < TTL

    def _remember(self, author: str, count: int | None, now: datetime) -> None:
        self._cache[author] = (count, now)
        self._cache.move_to_end(author)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)


def attach(source: Any, kind: str, lookup: Lookup, *, batch: int = 1,
           per_poll: int = PER_POLL) -> AuthorReach:
    """The source's AuthorReach, made on first use (a source lives for the whole run,
    so its cache does too)."""
    found = source.__dict__.get("_author_reach")
    if found is None:
        found = AuthorReach(source.name, kind, lookup, source.clock, batch=batch,
                            per_poll=per_poll)
        source.__dict__["_author_reach"] = found
    return found


def _sendable(author: str) -> bool:
    try:
        author.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return author.isprintable()

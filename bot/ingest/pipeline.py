"""match -> dedupe -> judge -> store -> enqueue for posting.

One mention per story: a post already stored (same key) is skipped; a copy of a stored
story (same fingerprint, or same URL) on another source or with trivial changes is merged
into the stored mention as an extra link, and its Slack message refreshed, instead of
becoming a new mention.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot import resolution
from bot.judgment.dedupe import fingerprint
from bot.judgment.judge import Judge
from bot.judgment.matching import Matcher
from bot.mention import Link, Mention, utcnow
from bot.settings import Settings
from bot.slack.ports import Outbound
from bot.store.base import Store
from bot.text import clean_value, printable

log = logging.getLogger(__name__)


@dataclass
class PipelineResult:
    new: list[Mention] = field(default_factory=list)
    merged: list[tuple[str, Link]] = field(default_factory=list)  # (stored key, new link)
    seen: int = 0  # already stored under the same key
    dropped: list[tuple[Mention, str]] = field(default_factory=list)  # (mention, why)


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        poster: Outbound | None = None,
        judge: Judge | None = None,
        matcher: Matcher | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.poster = poster
        self.judge = judge or Judge(settings)
        self.matcher = matcher or Matcher(settings.brand)
        self.clock = clock
        # Pollers and streams share one pipeline: one mention at a time, so a post seen
        # by two of them at once is stored once ("already stored?" and "store it" are
        # one step under the lock), and a stream's match never waits for a whole batch.
        self._lock = threading.RLock()

    def process(self, mentions: Iterable[Mention]) -> PipelineResult:
        result = PipelineResult()
        # Oldest first, so numbers (E-41, E-42) follow the order people posted in.
        for mention in sorted(mentions, key=lambda m: m.created_at):
            with self._lock:
                self._process_one(clean_mention(mention), result)
        return result

    def process_matched(self, mention: Mention) -> PipelineResult:
        """`process` for one mention the caller has already matched (a stream matches
        in its reader thread): dedupe, judge, store, queue."""
        result = PipelineResult()
        with self._lock:
            self._process_one(clean_mention(mention), result, matched=True)
        return result

    def _process_one(self, mention: Mention, result: PipelineResult, *,
                     matched: bool = False) -> None:
        why = None if matched else self.matcher.drop_reason(mention)
        if why:
            result.dropped.append((mention, why))
            return
        if self.store.get_mention(mention.key) is not None:
            result.seen += 1
            return
        story = " ".join(part for part in (mention.title, mention.text) if part)
        fp = fingerprint(story)
        existing = (self.store.find_by_fingerprint(fp) if fp else None) or (
            self.store.find_by_link(mention.url) if mention.url else None)
        if existing is not None:
            self._merge(existing, mention, result)
            return
        judgment = self.judge.judge(story)
        judged = dataclasses.replace(
            mention,
            fingerprint=fp,
            sentiment=judgment.sentiment,
            complaint=judgment.complaint,
            department=judgment.department,
            reason=judgment.reason,
            fetched_at=self.clock(),
        )
        # The outbox on this store stores the mention and queues its post in one write.
        add_and_post = getattr(self.poster, "add_and_post_mention", None)
        if add_and_post is not None and getattr(self.poster, "store", None) is self.store:
            stored = add_and_post(judged)
        else:
            stored = self.store.add_mention(judged)
            if self.poster is not None:
                self.poster.post_mention(stored)
        result.new.append(stored)
        # After post_mention: its thread lines wait for the message to exist.
        resolution.link_return(self.store, self.poster, stored,
                               self.settings.summary.resolution_days, self.clock())

    def _merge(self, existing: Mention, copy: Mention, result: PipelineResult) -> None:
        link = Link(copy.source, copy.url)

        def add_link(m: Mention) -> Mention | None:
            if link in m.all_links():
                return None
            m.links = [*m.links, link]
            return m

        if self.store.update_mention(existing.key, add_link) is None:
            return  # the copy's link was already listed: seen before
        result.merged.append((existing.key, link))
        log.info("merged %s into %s (same story)", copy.key, existing.short_id or existing.key)
        if self.poster is not None:
            # Coalesced by the outbox, and held back until the message exists.
            self.poster.refresh(existing.key)


def clean_mention(mention: Mention) -> Mention:
    """`mention` with every text field made safe (bot.text.printable), once, where
    strangers' text enters: a lone surrogate would make the mention unstorable and its
    message unbuildable; control and bidi characters would reach terminals and Slack."""
    return dataclasses.replace(
        mention,
        source=printable(mention.source), native_id=printable(mention.native_id),
        text=printable(mention.text), url=printable(mention.url),
        author=printable(mention.author), title=printable(mention.title),
        language=printable(mention.language) if mention.language else mention.language,
        links=[Link(printable(link.source), printable(link.url)) for link in mention.links],
        extra=clean_value(mention.extra),
    )

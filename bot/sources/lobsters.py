"""Lobsters: new stories that mention the brand.

Lobsters has no search API, so this reads `{base}/newest.json` (then
`/newest/page/N.json`) back to the cursor and keeps the stories whose title,
description, tags or link mention a brand term (case-insensitive, on word boundaries).
The pipeline re-checks matches strictly; this only avoids passing on the whole site.
The cursor advances over every story read, matching or not, so none is read twice.
No documented rate limit: one request a second is polite enough.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.mention import Mention, parse_time
from bot.sources.base import (
    ITEM_ERRORS,
    FetchResult,
    Source,
    SourceError,
    brand_terms,
    html_to_text,
    remember,
)

FIRST_RUN_WINDOW = timedelta(hours=24)
# Stories are listed by submission time; re-read a little before the cursor in case a
# story's timestamp and its place in the list disagree, and drop ids already seen.
OVERLAP = timedelta(minutes=30)


def term_pattern(terms: list[str]) -> re.Pattern[str] | None:
    """One regex matching any term as a whole word ("Acme" does not match "Acmeville").

    Look-arounds instead of \\b so terms that start or end with punctuation ("@acme",
    "acme.com") still match as words.
    """
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class LobstersSource(Source):
    name = "lobsters"
    min_interval = 1.0
    max_pages = 5  # 25 stories a page: far more than Lobsters gets between two polls

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        # Long because reading pages back to the cursor and matching locally share the loop's
        # state (seen ids, the oldest time read); the matching itself is in base.
        now = self.clock()
        if cursor:
            since = parse_time(cursor["since"])
            seen = list(cursor.get("seen") or [])
        else:
            since = now - FIRST_RUN_WINDOW
            seen = []
        floor = since - OVERLAP if cursor else since
        seen_set = set(seen)
        pattern = term_pattern(brand_terms(self.brand))
        mentions: list[Mention] = []
        newest = since
        read: list[str] = []
        for page in range(1, self.max_pages + 1):
            path = "/newest.json" if page == 1 else f"/newest/page/{page}.json"
            stories = self.get_json(self.base_url + path)
            if not isinstance(stories, list):
                raise SourceError(f"lobsters: unexpected response from {path} (not a list)")
            reached_floor = not stories
            for story in stories:
                try:
                    sid = story["short_id"]
                    created = parse_time(story["created_at"])
                except ITEM_ERRORS as exc:
                    # One broken story must not stall the source: skip it, read on.
                    sid = story.get("short_id") if isinstance(story, dict) else None
                    self.skip_item(sid or "?", exc)
                    continue
                if created < floor:
                    reached_floor = True
                    continue
                if sid in seen_set:
                    continue
                seen_set.add(sid)
                read.append(sid)
                newest = max(newest, created)
                if pattern is None:
                    continue
                try:
                    if pattern.search(_haystack(story)):
                        mentions.append(self._mention(story, created))
                except ITEM_ERRORS as exc:
                    self.skip_item(sid, exc)
            if reached_floor:
                break
        else:
            self.log.warning("lobsters: read %d pages without reaching the last poll's "
                             "stories; older ones are skipped", self.max_pages)
        return FetchResult(mentions, {"since": newest.isoformat(),
                                      "seen": remember(seen, read)})

    def _mention(self, story: dict[str, Any], created: datetime) -> Mention:
        title = story.get("title") or ""
        description = _description(story)
        link = story.get("url") or ""
        text = "\n\n".join(part for part in (title, description.strip(), link) if part)
        return Mention(
            source=self.name,
            native_id=story["short_id"],
            text=text,
            url=story.get("short_id_url") or story.get("comments_url") or link,
            created_at=created,
            author=_submitter(story.get("submitter_user")),
            title=title,
            extra={"tags": list(story.get("tags") or []), "link": link,
                   "score": story.get("score", 0)},
        )


def _description(story: dict[str, Any]) -> str:
    # `description` is the rendered HTML; `description_plain` is the submitter's Markdown
    # source (link syntax and all), so it is only the fallback.
    if story.get("description"):
        return html_to_text(story["description"])
    return str(story.get("description_plain") or "")


def _haystack(story: dict[str, Any]) -> str:
    return "\n".join([story.get("title") or "", _description(story),
                      " ".join(story.get("tags") or []), story.get("url") or ""])


def _submitter(value: Any) -> str:
    # Older API versions sent an object {"username": ...}; current ones send the name.
    if isinstance(value, dict):
        return str(value.get("username") or "")
    return str(value or "")

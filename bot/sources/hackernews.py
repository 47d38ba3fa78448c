"""Hacker News through the Algolia search API (`search_by_date`, stories and comments).

One search per brand term (Algolia ANDs the words of one query, so "Acme OR Acme Air"
would match nothing), newest first, filtered by `created_at_i`. The cursor keeps the
newest creation time collected, the ids seen in an overlap window (Algolia indexes with
some lag, so an item can appear after a poll that covered its time), and a pending gap
when a burst was larger than the page cap: the next poll fills the gap first.

API: https://hn.algolia.com/api (about 10,000 requests/hour per IP; paging stops near
1,000 hits per query).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from bot.mention import Mention, parse_time
from bot.sources import reach_lookup
from bot.sources.base import (
    FetchResult,
    Source,
    SourceError,
    bounded_gaps,
    brand_terms,
    epoch_to_utc,
    html_to_text,
    remember,
)

log = logging.getLogger(__name__)

ITEM_URL = "https://news.ycombinator.com/item?id={}"
HITS_PER_PAGE = 100
FIRST_RUN_WINDOW = timedelta(hours=24)
OVERLAP_SECONDS = 15 * 60  # re-ask this far back: Algolia indexes items with some lag


class HackerNewsSource(Source):
    name = "hackernews"
    min_interval = 0.4  # 10,000 requests/hour is 0.36 s apart

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        # Long because paging back to the cursor, the per-term queries, the page budget and
        # the gaps left by a cut-short poll are one loop over shared state.
        now_i = int(self.clock().timestamp())
        if cursor:
            since = int(cursor["since"])
            seen = list(cursor.get("seen", []))
            gaps = [tuple(g) for g in cursor.get("gaps", [])]
        else:
            since = now_i - int(FIRST_RUN_WINDOW.total_seconds())
            seen, gaps = [], []
        seen_set = set(seen)
        found: dict[str, dict[str, Any]] = {}
        new_gaps: list[tuple[int, int]] = []
        unsearched: list[int] = []  # lower bounds of live windows a term never searched
        pages_left = self.max_pages * max(1, len(brand_terms(self.brand)))

        def collect(lo: int, hi: int | None) -> None:
            nonlocal pages_left
            for term in brand_terms(self.brand):
                hits, complete, pages_left = self._search(term, lo, hi, pages_left)
                for hit in hits:
                    found.setdefault(str(hit["objectID"]), hit)
                if not complete and not hits and hi is None:
                    unsearched.append(lo)  # no page left for this term at all: see below
                    continue
                if not complete:
                    oldest = min(int(h["created_at_i"]) for h in hits) if hits else hi
                    if oldest is not None and oldest > lo:
                        new_gaps.append((lo, oldest))
                        self.log.warning("hackernews: more than %d pages for %r; the rest "
                                         "is fetched on the next poll", self.max_pages, term)

        # Fill older gaps first so a long burst is finished before new items pile up.
        for lo, hi in gaps:
            collect(lo, hi)
        collect(since - OVERLAP_SECONDS, None)

        newest = max([since, *(int(hit["created_at_i"]) for hit in found.values())])
        mentions = self.normalize_each(
            (hit for object_id, hit in found.items() if object_id not in seen_set),
            self._normalize, lambda hit: hit["objectID"])
        reach_lookup.attach(self, "karma", self._karma).fill(mentions)
        if unsearched and newest > since:
            # Other terms moved the cursor on: keep the skipped term's window as a gap
            # (the next live search only reaches back to newest - OVERLAP).
            new_gaps.append((min(unsearched), newest))
        # Keep ids only as long as the overlap window can return them again.
        # and those at a gap's upper edge, which the gap's search returns again.
        edges = {hi for _, hi in new_gaps}
        recent = [oid for oid, hit in found.items()
                  if int(hit["created_at_i"]) > newest - OVERLAP_SECONDS - 60
                  or int(hit["created_at_i"]) in edges]
        return FetchResult(mentions, {
            "since": newest,
            "seen": remember([s for s in seen if s not in found], recent),
            "gaps": [list(g) for g in bounded_gaps(_merge(new_gaps), self.name)],
        })

    def _search(self, term: str, lo: int, hi: int | None, pages_left: int
                ) -> tuple[list[dict[str, Any]], bool, int]:
        """Hits created after `lo` (and at or before `hi`), paging newest first.
        Returns (hits, complete, pages_left)."""
        filters = f"created_at_i>{lo}" + (f",created_at_i<={hi}" if hi is not None else "")
        tags = self.options.get("tags") or ["story", "comment"]
        hits: list[dict[str, Any]] = []
        page = 0
        while True:
            if page >= self.max_pages or pages_left <= 0:
                return hits, False, pages_left
            data = self.get_json(f"{self.base_url}/search_by_date", params={
                "query": f'"{term}"' if " " in term else term,
                "tags": "(" + ",".join(tags) + ")",
                "numericFilters": filters,
                "hitsPerPage": HITS_PER_PAGE,
                "page": page,
            })
            pages_left -= 1
            if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
                raise SourceError("hackernews: unexpected response (no 'hits' list)")
            page_hits = [h for h in data["hits"]
                         if isinstance(h, dict) and "objectID" in h and self._dated(h)]
            hits.extend(page_hits)
            nb_pages = int(data.get("nbPages") or 0)
            page += 1
            if not data["hits"] or page >= nb_pages:
                return hits, True, pages_left

    def _karma(self, authors: list[str]) -> dict[str, Any]:
        """{author: karma} from Algolia's user endpoint (one author per call)."""
        (author,) = authors
        response = self.request("GET", f"{self.base_url}/users/{quote(author, safe='')}",
                                allow=(404,))
        if response.status_code == 404:
            return {}
        data = self.decode_json(response)
        return {author: data.get("karma")} if isinstance(data, dict) else {}

    def _dated(self, hit: dict[str, Any]) -> bool:
        """True when a hit has a usable `created_at_i` (the cursor is built from it);
        a hit without one is skipped, with a warning when the field is garbled."""
        if "created_at_i" not in hit:
            return False
        try:
            hit["created_at_i"] = int(hit["created_at_i"])
        except (ValueError, TypeError) as exc:
            self.skip_item(hit["objectID"], exc)
            return False
        return True

    def _normalize(self, hit: dict[str, Any]) -> Mention | None:
        tags = hit.get("_tags") or []
        object_id = str(hit["objectID"])
        created = (parse_time(hit["created_at"]) if hit.get("created_at")
                   else epoch_to_utc(hit["created_at_i"]))
        author = hit.get("author") or ""
        if "comment" in tags or hit.get("comment_text"):
            text = html_to_text(hit.get("comment_text"))
            title = ""
        else:
            title = html_to_text(hit.get("title"))
            body = html_to_text(hit.get("story_text"))
            link = hit.get("url") or ""
            text = "\n\n".join(part for part in (title, body, link) if part)
        if not text:
            return None
        extra = {k: hit[k] for k in ("points", "num_comments", "story_id", "parent_id")
                 if hit.get(k) is not None}
        if hit.get("story_title"):
            extra["story_title"] = hit["story_title"]
        if hit.get("url"):
            extra["link_url"] = hit["url"]
        return Mention(source=self.name, native_id=object_id, text=text,
                       url=ITEM_URL.format(object_id), created_at=created, author=author,
                       title=title, language=None, extra=extra)


def _merge(gaps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping (lo, hi] windows merged, so the cursor stays small."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(gaps):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out

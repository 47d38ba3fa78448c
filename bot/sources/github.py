"""GitHub: issues (REST search) and discussions (GraphQL search) mentioning the brand.

Issues: `GET {base}/search/issues?q=<term> is:issue created:>=<time>&sort=created&
order=asc&per_page=100`. Discussions: `POST {graphql}` with `search(type: DISCUSSION)`,
which GitHub only answers with a token (without one they are skipped with one log line).
Kinds come from `options.kinds` ("issues", "discussions", and "pulls" for pull requests).

One query per brand term (search has no reliable grouping of OR with qualifiers), each
with its own cursor. Results are read oldest-first, so a poll cut short by the page cap
or a spent quota returns what it read with a cursor at the last item: the next poll
continues from there. Search allows 10 requests/minute without a token, 30 with one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from bot.mention import Mention, parse_time
from bot.sources import reach_lookup
from bot.sources.base import (
    FetchResult,
    RateLimited,
    Source,
    SourceError,
    brand_terms,
    rate_limit_wait,
    remember,
)

FIRST_RUN_WINDOW = timedelta(hours=24)
# The search index lags behind new issues: re-read this much before the cursor and drop
# what was already returned (by id).
OVERLAP = timedelta(minutes=10)
PER_PAGE = 100
DISCUSSIONS_PER_PAGE = 50
SEARCH_RESULT_CAP = 1000  # GitHub search never returns more than this per query
MAX_BODY = 10_000  # characters; issue bodies can hold whole logs
API_VERSION = "2022-11-28"
AUTHED_INTERVAL = 2.0  # 30 search requests/minute with a token

_DISCUSSION_QUERY = """
query($q: String!, $first: Int!, $after: String) {
  search(type: DISCUSSION, query: $q, first: $first, after: $after) {
    discussionCount
    pageInfo { hasNextPage endCursor }
    nodes {
      ... on Discussion {
        id number title url createdAt bodyText
        author { login }
        repository { nameWithOwner }
        category { name }
      }
    }
  }
}
"""
_KINDS = ("issues", "pulls", "discussions")
_QUALIFIER = {"issues": "is:issue", "pulls": "is:pr"}


class GitHubSource(Source):
    name = "github"
    min_interval = 6.0  # 10 search requests/minute without a token
    max_pages = 3  # per term, kind and poll; asc order makes a cut-off safe

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token = self.settings.credentials.get("token_env") or None
        if self.token and kwargs.get("min_interval") is None:
            self.pacer.min_interval = AUTHED_INTERVAL
        if self.base_url.endswith("/api/v3"):  # GitHub Enterprise Server
            self.graphql_url = self.base_url[: -len("/v3")] + "/graphql"
        else:
            self.graphql_url = f"{self.base_url}/graphql"
        self._warned: set[str] = set()

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        cursor = cursor or {}
        if self._quota_out():
            wait = self.pacer.remaining()
            raise RateLimited(f"github: rate limit spent; retry in {wait:.0f} s", wait)
        now = self.clock()
        out: dict[str, Any] = {}
        mentions: dict[str, Mention] = {}
        for kind in self.options.get("kinds") or ["issues"]:
            if kind not in _KINDS:
                self._warn_once(kind, "github: unknown kind %r in kinds; expected one of "
                                + ", ".join(_KINDS), kind)
                continue
            if kind == "discussions" and not self.token:
                self._warn_once(kind, "github: discussions need a token (token_env); "
                                "searching issues only")
                continue
            states: dict[str, Any] = {}
            for term in brand_terms(self.brand):
                old = (cursor.get(kind) or {}).get(term)
                if self._quota_out():
                    states[term] = old  # not searched this time: keep its position
                    continue
                states[term], found = self._search(kind, term, old, now)
                for mention in found:
                    mentions.setdefault(mention.native_id, mention)
            out[kind] = {term: state for term, state in states.items() if state}
        found = list(mentions.values())
        if not self._quota_out():
            # Unauthenticated, GitHub allows 60 calls an hour: look up only a few.
            reach_lookup.attach(self, "followers", self._followers,
                                per_poll=reach_lookup.PER_POLL if self.token else 3
                                ).fill(found)
        return FetchResult(found, out)

    # -- one search ----------------------------------------------------------------------

    def _search(self, kind: str, term: str, state: dict[str, Any] | None, now: datetime
                ) -> tuple[dict[str, Any], list[Mention]]:
        if state:
            since = parse_time(state["since"])
            seen = list(state.get("seen") or [])
        else:
            since = now - FIRST_RUN_WINDOW
            seen = []
        seen_set = set(seen)
        start = (since - OVERLAP).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        newest = since
        found: list[Mention] = []
        if kind == "discussions":
            read, may_advance = self._discussion_pages(term, start)
        else:
            read, may_advance = self._issue_pages(kind, term, start)
        for mention in read:
            if mention.native_id in seen_set:
                continue
            seen_set.add(mention.native_id)
            seen.append(mention.native_id)
            found.append(mention)
        # Only move the window when nothing older can still be unread; otherwise keep
        # the old position and rely on the ids seen to skip what was returned.
        if may_advance:
            newest = max([since, *(m.created_at for m in found)])
        return {"since": newest.isoformat(), "seen": remember([], seen)}, found

    def _issue_pages(self, kind: str, term: str, start: str) -> tuple[list[Mention], bool]:
        """Mentions read, and whether the window may move to the newest of them.

        Results come oldest-first (documented), so a read cut short by the page cap or
        the quota may advance; one GitHub marks `incomplete_results` (a server-side
        timeout that can leave holes) may not.
        """
        read: list[Mention] = []
        complete = True
        query = f"{_quote(term)} {_QUALIFIER[kind]} created:>={start}"
        for page in range(1, self.max_pages + 1):
            if page > 1 and self._quota_out():
                return read, complete
            data = self.get_json(f"{self.base_url}/search/issues", headers=self._headers(),
                                 params={"q": query, "sort": "created", "order": "asc",
                                         "per_page": PER_PAGE, "page": page})
            if not isinstance(data, dict) or not isinstance(data.get("items"), list):
                raise SourceError("github: unexpected search response (no items list)")
            if data.get("incomplete_results"):
                complete = False
                self.log.info("github: search for %r timed out server-side; the next poll "
                              "searches the same window again", term)
            items = data["items"]
            read.extend(self.normalize_each(items, self._issue_mention, _issue_id))
            total = min(int(data.get("total_count") or 0), SEARCH_RESULT_CAP)
            if len(items) < PER_PAGE or page * PER_PAGE >= total:
                return read, complete
        self.log.info("github: page cap reached for %r; continuing next poll", term)
        return read, complete

    def _discussion_pages(self, term: str, start: str) -> tuple[list[Mention], bool]:
        """Mentions read, and whether every result was read (GraphQL search promises
        no order, so only a complete read may move the window)."""
        read: list[Mention] = []
        query = f"{_quote(term)} created:>={start} sort:created-asc"
        after: str | None = None
        for page in range(1, self.max_pages + 1):
            if page > 1 and self._quota_out():
                return read, False
            response = self.request("POST", self.graphql_url, headers=self._headers(),
                                    json={"query": _DISCUSSION_QUERY, "variables": {
                                        "q": query, "first": DISCUSSIONS_PER_PAGE,
                                        "after": after}})
            data = self.decode_json(response)
            errors = data.get("errors") if isinstance(data, dict) else None
            if errors:
                self._raise_graphql_errors(errors, response)
            try:
                search = data["data"]["search"]
                nodes = search["nodes"]
                info = search["pageInfo"]
            except (KeyError, TypeError):
                raise SourceError("github: unexpected GraphQL response (no search result)"
                                  ) from None
            if not isinstance(nodes, list):
                raise SourceError("github: unexpected GraphQL response (nodes not a list)")
            # Non-discussion nodes come back empty.
            read.extend(self.normalize_each(
                (node for node in nodes if node and (
                    not isinstance(node, dict) or node.get("url"))),
                self._discussion_mention, lambda node: node.get("url") or node.get("id")))
            if not info.get("hasNextPage"):
                return read, True
            after = info.get("endCursor")
        self.log.info("github: page cap reached for discussions %r; continuing next poll",
                      term)
        return read, False

    def _raise_graphql_errors(self, errors: list[dict[str, Any]], response: Any) -> None:
        if any(e.get("type") == "RATE_LIMITED" for e in errors):
            wait = rate_limit_wait(response, self.clock())
            wait = 60.0 if wait is None else wait
            self.pacer.hold(wait)
            raise RateLimited(f"github: GraphQL rate limit; retry in {wait:.0f} s", wait)
        messages = "; ".join(str(e.get("message", e)) for e in errors)[:300]
        raise SourceError(f"github: GraphQL error: {messages}")

    # -- helpers -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": API_VERSION}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _followers(self, authors: list[str]) -> dict[str, Any]:
        """{login: followers} from /users/<login> (one author per call)."""
        (login,) = authors
        response = self.request("GET", f"{self.base_url}/users/{quote(login, safe='')}",
                                headers=self._headers(), allow=(404,))
        if response.status_code == 404:
            return {}
        data = self.decode_json(response)
        return {login: data.get("followers")} if isinstance(data, dict) else {}

    def _quota_out(self) -> bool:
        """True when the pacer holds longer than a poll should wait (quota spent)."""
        return self.pacer.remaining() > self.pacer.max_inline_wait

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.log.warning(message, *args)

    def _issue_mention(self, item: dict[str, Any]) -> Mention:
        title = item.get("title") or ""
        body = _clean_markdown(item.get("body") or "")
        url = item.get("html_url") or ""
        return Mention(
            source=self.name,
            native_id=_path_id(url) or str(item.get("id")),
            text=f"{title}\n\n{body}".strip(),
            url=url,
            created_at=parse_time(item["created_at"]),
            author=(item.get("user") or {}).get("login") or "",
            title=title,
            extra={"kind": "pull" if "pull_request" in item else "issue",
                   "state": item.get("state"), "comments": item.get("comments", 0)},
        )

    def _discussion_mention(self, node: dict[str, Any]) -> Mention:
        title = node.get("title") or ""
        body = _clean_markdown(node.get("bodyText") or "")
        return Mention(
            source=self.name,
            native_id=_path_id(node["url"]) or str(node.get("id")),
            text=f"{title}\n\n{body}".strip(),
            url=node["url"],
            created_at=parse_time(node["createdAt"]),
            author=(node.get("author") or {}).get("login") or "",
            title=title,
            extra={"kind": "discussion",
                   "category": (node.get("category") or {}).get("name")},
        )


def _issue_id(item: Any) -> str:
    return str(item.get("html_url") or item.get("id"))


def _quote(term: str) -> str:
    return f'"{term}"' if re.search(r"\s", term) else term


def _path_id(url: str) -> str:
    """A stable, readable id from the public URL: "owner/repo/issues/12"."""
    return urlsplit(url).path.strip("/")


def _clean_markdown(body: str) -> str:
    # Issue templates leave HTML comments ("<!-- describe the bug -->") that nobody sees
    # on GitHub; they would only be noise in Slack.
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    body = re.sub(r"\r\n?", "\n", body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 1].rstrip() + "…"
    return body

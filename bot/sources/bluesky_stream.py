"""Bluesky, live: every post on the network from a Jetstream instance, matched locally.

Jetstream (`<base_url>/subscribe?wantedCollections=app.bsky.feed.post&cursor=<time_us>`)
sends each repository commit as JSON: `{"did", "time_us", "kind": "commit", "commit":
{"operation": "create", "collection", "rkey", "cid", "record": {"text", "createdAt",
"langs", "reply", "embed", "facets"}}}`. Only created posts become mentions; every event
moves the position (`time_us`, microseconds since the epoch). Cursors are portable
between instances, so the stream resumes on any of them `rewind_seconds` before the
stored position (the pipeline drops the repeats by key). A stored position more than a
minute in the future (a clock jump) is not trusted: the stream resumes live.

Mentions carry source "bluesky" and the post's at:// URI as native_id, like the polled
Bluesky source, so a post seen by both is one mention and the Bluesky writer answers it:
`extra` keeps `uri` and `cid`, the thread root (`root_uri`, `root_cid`: the post itself
when it starts a thread), the parent of a reply and the quoted post of a quote.
Jetstream sends no handle: `author` is the DID (list yours in brand.own_accounts).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from bot.mention import Mention, parse_time
from bot.settings import BrandSettings, SourceSettings
from bot.sources.bluesky import _expand_links
from bot.sources.streaming import MalformedEvent, StreamChannel, StreamItem

log = logging.getLogger(__name__)

POST = "app.bsky.feed.post"
FUTURE_SLACK_US = 60 * 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a draft's time until `complete` sets it
_DRAFT = "_commit"  # extra key holding the raw commit of a draft


class JetstreamChannel(StreamChannel):
    key = "time_us"  # the cursor is {"time_us": <microseconds>}, like Jetstream's own

    def __init__(self, settings: SourceSettings, brand: BrandSettings | None = None, *,
                 now_us: Any = None) -> None:
        self.endpoints = [settings.base_url, *settings.options.get("fallback_urls", [])]
        self.rewind_us = int(settings.options.get("rewind_seconds", 5)) * 1_000_000
        self._now_us = now_us or (lambda: time.time_ns() // 1000)
        self._warned_future = False

    def url(self, endpoint: str, position: Any) -> str:
        params: list[tuple[str, Any]] = [("wantedCollections", POST)]
        if position is not None:
            params.append(("cursor", max(0, int(position) - self.rewind_us)))
        return f"{endpoint}/subscribe?{urlencode(params)}"

    def check_position(self, position: Any) -> Any:
        if position is None:
            return None
        try:
            value = int(position)
        except (TypeError, ValueError):
            log.warning("bluesky_stream: stored cursor %r is not a number; resuming live",
                        position)
            return None
        if value > self._now_us() + FUTURE_SLACK_US:
            if not self._warned_future:
                log.warning("bluesky_stream: stored cursor %s is in the future (%s); "
                            "resuming live", value, _iso(value))
                self._warned_future = True
            return None
        return value

    def decode(self, message: str) -> list[StreamItem]:
        event = json.loads(message)
        if not isinstance(event, dict):
            raise MalformedEvent(f"expected a JSON object, got {type(event).__name__}")
        time_us = event.get("time_us")
        if not isinstance(time_us, int) or isinstance(time_us, bool) or time_us <= 0:
            raise MalformedEvent("no time_us")
        commit = event.get("commit")
        if (event.get("kind") != "commit" or not isinstance(commit, dict)
                or commit.get("operation") != "create" or commit.get("collection") != POST):
            return [StreamItem(time_us, None)]
        return [StreamItem(time_us, post_mention(event["did"], commit, time_us))]

    def complete(self, mention: Mention) -> Mention:
        return complete(mention)


def post_mention(did: str, commit: dict[str, Any], time_us: int) -> Mention | None:
    """A draft Mention for a created post (None for a post without text): what matching
    reads (text, url, author, language). `complete` adds the rest to the few kept."""
    record = commit["record"]
    rkey = commit["rkey"]
    if not isinstance(did, str) or not did.startswith("did:") or not isinstance(rkey, str):
        raise MalformedEvent("a commit without a did or rkey")
    if not isinstance(record, dict):
        raise MalformedEvent("a commit without a record")
    text = record.get("text")
    if not isinstance(text, str):
        raise MalformedEvent("a post record without text")
    # Shortened link labels matter to matching ("acme.com/..."); most posts have none.
    text = _expand_links(record) if record.get("facets") else text.strip()
    if not text:
        return None
    langs = record.get("langs")
    language = (langs[0].split("-")[0].lower()
                if isinstance(langs, list) and langs and isinstance(langs[0], str) else None)
    return Mention("bluesky", f"at://{did}/{POST}/{rkey}", text,
                   f"https://bsky.app/profile/{did}/post/{rkey}", _EPOCH, did,
                   language=language or None, extra={"time_us": time_us, _DRAFT: commit})


def complete(mention: Mention) -> Mention:
    """The post's time and the strong refs a reply needs (`uri`, `cid`, thread root,
    parent, quoted post), for a draft that matched."""
    commit = mention.extra.pop(_DRAFT, None)
    if commit is None:
        return mention
    record = commit["record"]
    uri = mention.native_id
    extra = mention.extra
    extra["uri"] = uri
    if isinstance(commit.get("cid"), str):
        extra["cid"] = commit["cid"]
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
    root, parent = _ref(reply.get("root")), _ref(reply.get("parent"))
    if root:
        extra["root_uri"], extra["root_cid"] = root
    elif not reply and extra.get("cid"):  # a post that starts a thread is its own root
        extra["root_uri"], extra["root_cid"] = uri, extra["cid"]
    if parent:
        extra["parent_uri"], extra["parent_cid"] = parent
    quoted = _quoted(record.get("embed"))
    if quoted:
        extra["quote_uri"], extra["quote_cid"] = quoted
    mention.created_at = _created_at(record.get("createdAt"), extra["time_us"])
    return mention


def _ref(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and isinstance(value.get("uri"), str) and isinstance(
            value.get("cid"), str):
        return value["uri"], value["cid"]
    return None


def _quoted(embed: Any) -> tuple[str, str] | None:
    """The strong ref of a quoted post: app.bsky.embed.record, or recordWithMedia."""
    if not isinstance(embed, dict):
        return None
    kind = embed.get("$type")
    if kind == "app.bsky.embed.record":
        return _ref(embed.get("record"))
    if kind == "app.bsky.embed.recordWithMedia":
        inner = embed.get("record")
        return _ref(inner.get("record")) if isinstance(inner, dict) else None
    return None


def _created_at(value: Any, time_us: int) -> datetime:
    """The post's own time; Jetstream's receipt time when that is missing or unreadable
    (createdAt is whatever the client wrote)."""
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            pass
    return datetime.fromtimestamp(time_us / 1e6, UTC)


def _iso(time_us: int) -> str:
    try:
        return datetime.fromtimestamp(time_us / 1e6, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return "far away"


def channels(settings: SourceSettings, brand: BrandSettings, **kwargs: Any
             ) -> list[StreamChannel]:
    return [JetstreamChannel(settings, brand, **kwargs)]

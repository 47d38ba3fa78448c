"""Mastodon, live: the streaming API of one or more instances, matched locally.

One WebSocket per instance (`wss://<instance>/api/v1/streaming`), subscribed to the
brand's hashtag streams (`hashtags`, by default the brand's words as tags) and, with
`public = true` and an access token, to the instance's public stream (every status the
instance sees; most instances want a token for it). Events are `{"stream": [...],
"event": "update", "payload": "<the status JSON as a string>"}`; other events (deletes,
edits) are ignored.

The streaming API has no resume cursor, so the position kept per instance is the
newest status id seen, and every reconnect first fills the gap with the polled Mastodon
source (bot.sources.mastodon: hashtag timelines from that id, and status search when a
token is set), then streams on. The pipeline drops what it already has.

Mentions carry source "mastodon" and the status URI as native_id, like the polled
source. `extra["id"]` (the id a reply needs) is kept only for statuses read from
`base_url`, the instance the Mastodon writer posts from; ids of other instances mean
other statuses there.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from websockets.sync.client import ClientConnection

from bot.mention import Mention
from bot.settings import BrandSettings, SourceSettings
from bot.sources.base import SourceError, brand_terms
from bot.sources.mastodon import MastodonSource
from bot.sources.streaming import MalformedEvent, StreamChannel, StreamItem

log = logging.getLogger(__name__)


class MastodonStreamChannel(StreamChannel):
    server_position = False  # the newest id seen: ours, for filling gaps
    def __init__(self, settings: SourceSettings, brand: BrandSettings, instance: str, *,
                 primary: bool, poller: MastodonSource | None = None) -> None:
        self.key = instance
        self.instance = instance
        self.primary = primary
        host = urlsplit(instance)
        scheme = "wss" if host.scheme == "https" else "ws"
        self.endpoints = [f"{scheme}://{host.netloc}{host.path}/api/v1/streaming"]
        self.token = settings.credentials.get("access_token_env")
        self.public = bool(settings.options.get("public"))
        self.poller = poller or MastodonSource(
            dataclasses.replace(settings, name="mastodon", base_url=instance), brand)
        self.tags = self.poller._hashtags()

    def url(self, endpoint: str, position: Any) -> str:
        return endpoint  # no cursor: gaps are filled by polling in opened()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def opened(self, ws: ClientConnection, position: Any) -> list[StreamItem]:
        for tag in self.tags:
            ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": tag}))
        if self.public and self.token:
            ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
        if position is None:
            return []
        return self._fill_gap(str(position))

    def _fill_gap(self, since_id: str) -> list[StreamItem]:
        """What was posted while disconnected, from the polling API."""
        cursor = {"tags": {tag: since_id for tag in self.tags},
                  "search": ({term: {"newest": since_id} for term in _terms(self.poller)}
                             if self.token else {}),
                  "seen": [], "noted_no_token": True}
        try:
            fetched = self.poller.fetch(cursor)
        except SourceError as exc:
            log.warning("mastodon_stream %s: cannot fill the gap since status %s: %s; "
                        "posts from that time may be missed", self.instance, since_id, exc)
            return []
        items = [StreamItem(None, self._local(m)) for m in fetched.mentions]
        ids = [int(m.extra["id"]) for m in fetched.mentions if str(
            m.extra.get("id", "")).isdigit()]
        if ids:
            items.append(StreamItem(str(max(ids)), None))
        if items:
            log.info("mastodon_stream %s: %d status(es) fetched for the gap",
                     self.instance, len(fetched.mentions))
        return items

    def decode(self, message: str) -> list[StreamItem]:
        event = json.loads(message)
        if not isinstance(event, dict):
            raise MalformedEvent(f"expected a JSON object, got {type(event).__name__}")
        if event.get("event") != "update":
            return []
        status = event["payload"]
        if isinstance(status, str):
            status = json.loads(status)
        if not isinstance(status, dict) or not str(status.get("id", "")).isdigit() or \
                not status.get("created_at"):
            raise MalformedEvent("an update without a status id or time")
        mention = self.poller._normalize(status)
        return [StreamItem(str(status["id"]), self._local(mention) if mention else None)]

    def _local(self, mention: Mention) -> Mention:
        mention.extra["instance"] = self.instance
        if not self.primary:
            mention.extra.pop("id", None)
        return mention


def _terms(poller: MastodonSource) -> list[str]:
    return brand_terms(poller.brand)


def channels(settings: SourceSettings, brand: BrandSettings, **kwargs: Any
             ) -> list[StreamChannel]:
    instances = list(dict.fromkeys([settings.base_url, *settings.options.get("instances", [])]))
    return [MastodonStreamChannel(settings, brand, url, primary=(i == 0), **kwargs)
            for i, url in enumerate(instances)]

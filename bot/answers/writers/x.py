"""Publish a reply on X: POST {base}/tweets (API v2, base https://api.x.com/2).

Body {"text", "reply": {"in_reply_to_tweet_id"}}, authorised with an OAuth 2.0
user-context token (scope tweet.write) as `Authorization: Bearer`. X has no idempotency
key: the draft state machine (a draft publishes at most once) is what prevents doubles.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from bot.answers.writers.base import DEFAULT_TIMEOUT, Published, PublishError, post_json

log = logging.getLogger(__name__)

WEB_URL = "https://x.com/i/web/status/{id}"


class XWriter:
    source = "x"

    def __init__(self, base_url: str, user_token: str, session: requests.Session, *,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_token = user_token
        self.session = session
        self.timeout = timeout

    def publish(self, mention: Any, text: str, *, idempotency_key: str) -> Published:
        del idempotency_key  # X offers none; see the module docstring
        body = post_json(
            self.session, f"{self.base_url}/tweets",
            json={"text": text, "reply": {"in_reply_to_tweet_id": str(mention.native_id)}},
            headers={"Authorization": f"Bearer {self.user_token}"},
            timeout=self.timeout, what="X")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        tweet_id = str(data.get("id") or "")
        if not tweet_id:
            raise PublishError("X answered without a post id")
        return Published(url=WEB_URL.format(id=tweet_id), native_id=tweet_id)

"""Publish a reply on Mastodon: POST {base}/api/v1/statuses.

https://docs.joinmastodon.org/methods/statuses/#create: `status`, `in_reply_to_id`,
`visibility`; `Authorization: Bearer <token>` (scope write:statuses); an
`Idempotency-Key` header makes the server return the first status for a repeated key
(kept about an hour), so a retry after a timeout cannot post twice.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from bot.answers.writers.base import DEFAULT_TIMEOUT, Published, PublishError, post_json

log = logging.getLogger(__name__)


class MastodonWriter:
    source = "mastodon"

    def __init__(self, base_url: str, access_token: str, session: requests.Session, *,
                 visibility: str = "public", timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.session = session
        self.visibility = visibility
        self.timeout = timeout

    def publish(self, mention: Any, text: str, *, idempotency_key: str) -> Published:
        """Reply to the mention's status (its id on this same instance)."""
        status_id = local_status_id(mention)
        if not status_id:
            raise PublishError("this Mastodon mention lacks the status id on the instance, "
                               "so a reply cannot be threaded under it")
        body = post_json(
            self.session, f"{self.base_url}/api/v1/statuses",
            json={"status": text, "in_reply_to_id": status_id,
                  "visibility": self.visibility},
            headers={"Authorization": f"Bearer {self.access_token}",
                     "Idempotency-Key": idempotency_key},
            timeout=self.timeout, what="Mastodon")
        status_id = str(body.get("id") or "")
        if not status_id:
            raise PublishError("Mastodon answered without a status id")
        url = str(body.get("url") or body.get("uri") or f"{self.base_url}/statuses/{status_id}")
        return Published(url=url, native_id=status_id)


def local_status_id(mention: Any) -> str:
    """The status id on our instance: the source keeps it in `extra["id"]` (its
    `native_id` is the status URI, which is global); a numeric native_id also works."""
    value = str((mention.extra or {}).get("id") or "")
    if value:
        return value
    native = str(mention.native_id or "")
    return native if native.isdigit() else ""

"""Write clients for the sources Earshot can reply on (Mastodon, Bluesky, X).

`writer_for(source_settings, session)` returns the client for a configured source, or
None when the source cannot be written to or its write credential is not set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import requests

from bot.answers.writers.base import DEFAULT_TIMEOUT, Published, PublishError, Writer
from bot.answers.writers.bluesky import BlueskyWriter
from bot.answers.writers.mastodon import MastodonWriter
from bot.answers.writers.x import XWriter
from bot.mention import utcnow
from bot.settings import SourceSettings

__all__ = ["WRITABLE", "Published", "PublishError", "Writer", "missing_credentials",
           "writer_for"]

# Source kind -> the credential keys its write client needs (see bot.settings.SOURCE_SPECS).
WRITABLE: dict[str, tuple[str, ...]] = {
    "mastodon": ("access_token_env",),
    "bluesky": ("handle_env", "app_password_env"),
    "x": ("user_token_env",),
}


def missing_credentials(src: SourceSettings) -> list[str]:
    """Config keys whose environment variable must be set before `src` can be written."""
    return [key for key in WRITABLE.get(src.name, ()) if not src.credentials.get(key)]


def writer_for(src: SourceSettings | None, session: requests.Session, *,
               timeout: float = DEFAULT_TIMEOUT,
               clock: Callable[[], datetime] = utcnow) -> Writer | None:
    """The write client for a source, or None (not a writable source, or no credential)."""
    if src is None or src.name not in WRITABLE or missing_credentials(src):
        return None
    creds = src.credentials
    if src.name == "mastodon":
        return MastodonWriter(src.base_url, str(creds["access_token_env"]), session,
                              timeout=timeout)
    if src.name == "bluesky":
        return BlueskyWriter(src.base_url, str(creds["handle_env"]),
                             str(creds["app_password_env"]), session, timeout=timeout,
                             clock=clock)
    return XWriter(src.base_url, str(creds["user_token_env"]), session, timeout=timeout)

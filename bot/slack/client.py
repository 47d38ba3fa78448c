"""The one place a Slack WebClient is configured.

slack_sdk retries only connection errors by default, and passing `retry_handlers`
replaces that default, so the connection handler is listed explicitly. The rate-limit
handler sleeps Retry-After in the calling thread: fine for a listener's occasional
views.open, wrong for bulk posting, which is why the outbox strips these handlers from
its own copy of the client and handles 429 per channel itself.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import SlackSettings

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10  # seconds; Slack answers in well under a second when healthy


def make_client(
    settings: SlackSettings,
    token: str | None = None,
    *,
    timeout: int = DEFAULT_TIMEOUT,
    connection_retries: int = 2,
    rate_limit_retries: int = 1,
    server_error_retries: int = 2,
) -> WebClient:
    """A WebClient for `settings.api_url` with the bot token (or `token`), a timeout, and
    retries for connection errors, 429 (sleeping Retry-After) and 500/503."""
    return WebClient(
        token=token or settings.bot_token,
        base_url=settings.api_url,
        timeout=timeout,
        logger=log,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=connection_retries),
            RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
            ServerErrorRetryHandler(max_retry_count=server_error_retries),
        ],
    )

"""The one place a Slack WebClient is configured.

slack_sdk retries only connection errors by default, and passing `retry_handlers`
replaces that default, so the connection handler is listed explicitly. The rate-limit
handler sleeps Retry-After in the calling thread: fine for a listener's occasional
views.open, wrong for bulk posting, which is why the outbox strips these handlers from
its own copy of the client and handles 429 per channel itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import SlackSettings

log = logging.getLogger(__name__)
_silent = logging.getLogger(__name__ + ".probe")
_silent.disabled = True

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


class SlackUnreachable(Exception):
    """Slack could not be asked (network, DNS, timeout, or a 5xx/429 from Slack's side)."""


def auth_test(settings: SlackSettings, *, timeout: int = 5) -> dict[str, Any]:
    """One `auth.test` with the bot token: no retries, nothing logged by slack_sdk (the
    caller says what happened in its own words). Returns Slack's answer; raises
    SlackApiError when Slack refuses the token, SlackUnreachable when it cannot answer.
    Network failures arrive as urllib's URLError/OSError as well as SlackClientError."""
    client = WebClient(token=settings.bot_token, base_url=settings.api_url, timeout=timeout,
                       logger=_silent, retry_handlers=[])
    try:
        return dict(client.auth_test().data)  # type: ignore[arg-type]
    except SlackApiError as exc:
        status = getattr(exc.response, "status_code", 200)
        if status >= 500 or status == 429:
            raise SlackUnreachable(f"Slack answered HTTP {status}") from None
        raise
    except (SlackClientError, OSError) as exc:
        raise SlackUnreachable(_reason(exc)) from None


def wait_for_slack(settings: SlackSettings, *, sleep: Callable[[float], Any] = time.sleep,
                   first_delay: float = 1.0, max_delay: float = 60.0) -> dict[str, Any]:
    """auth.test until Slack answers, backing off (1 s, 2 s, 4 s ... at most `max_delay`)
    while it is unreachable: a network blip at boot must not become a crash loop. Logs
    one line when the outage starts and one when Slack answers. Raises SlackApiError
    if Slack refuses the token (retrying cannot help)."""
    delay, failures = first_delay, 0
    while True:
        try:
            answer = auth_test(settings)
        except SlackUnreachable as exc:
            failures += 1
            if failures == 1:
                log.warning("Slack is unreachable at %s (%s); retrying with backoff until it "
                            "answers (health check says \"starting\" meanwhile)",
                            settings.api_url, exc)
            else:
                log.debug("Slack still unreachable (%d tries): %s", failures, exc)
            sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if failures:
            log.info("Slack answered after %d failed tries", failures)
        return answer


def slack_problem(settings: SlackSettings, *, timeout: int = 5) -> str | None:
    """None when Slack answers `auth.test` with the bot token; otherwise why not, in
    words ("Slack is unreachable at URL (...)", "Slack refused SLACK_BOT_TOKEN (...)")."""
    try:
        auth_test(settings, timeout=timeout)
    except SlackApiError as exc:
        return f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')})"
    except SlackUnreachable as exc:
        return f"Slack is unreachable at {settings.api_url} ({exc})"
    return None


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # URLError wraps the socket error
    return str(getattr(reason, "strerror", None) or reason or exc)

"""make_client: base URL, token and retry handlers; the outbox's copy does not sleep on 429."""

from __future__ import annotations

from urllib.error import URLError

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import SlackSettings
from bot.slack.client import make_client
from bot.slack.outbox import Outbox
from tests.slack.helpers import make_settings


def settings_for(url: str) -> SlackSettings:
    return SlackSettings(api_url=url, bot_token="xoxb-env", signing_secret=None, app_token=None)


def test_client_uses_configured_url_token_and_all_three_retry_handlers(slack):
    client = make_client(settings_for(slack.url))
    assert client.base_url == slack.url and client.token == "xoxb-env"
    kinds = {type(h) for h in client.retry_handlers}
    assert kinds == {ConnectionErrorRetryHandler, RateLimitErrorRetryHandler,
                     ServerErrorRetryHandler}
    assert make_client(settings_for(slack.url), token="xoxb-other").token == "xoxb-other"


def test_client_retries_429_and_500_for_listeners(slack):
    client = make_client(settings_for(slack.url))
    slack.fail_next("auth.test", status=429, retry_after=0)
    assert client.auth_test()["ok"]
    slack.fail_next("auth.test", status=500)
    assert client.auth_test()["ok"]
    assert len(slack.calls_to("auth.test")) == 4


def test_outbox_copy_has_no_sleeping_retries_and_leaves_the_original_alone(slack, store):
    client = make_client(settings_for(slack.url))
    outbox = Outbox(store, client, make_settings())
    # Only "never reached Slack" is retried by slack_sdk; never a lost answer or a 429.
    [handler] = outbox.client.retry_handlers
    assert isinstance(handler, ConnectionErrorRetryHandler)
    assert handler.error_types_to_do_retries == [URLError]
    assert len(client.retry_handlers) == 3
    assert outbox.client.base_url == slack.url

"""Departments configured by #name are found from the channel ids Slack sends."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.settings import LEADERSHIP
from bot.slack.services import ChannelDirectory
from tests.e2e.helpers import make_settings, raw_config


class Tick:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _directory(slack, tmp_path, tick=None):
    raw = raw_config()
    raw["escalation"]["channel"] = "#leadership"
    settings = make_settings(slack, tmp_path, raw)
    client = WebClient(token="xoxb-test", base_url=slack.url, retry_handlers=[])
    return ChannelDirectory(settings, client, monotonic=tick or Tick())


def test_names_resolve_once_through_conversations_list(slack, tmp_path):
    slack.channels.update({"product": "CPROD", "leadership": "CLEAD", "other": "COTHER"})
    d = _directory(slack, tmp_path)
    assert d.department_for_channel("CPROD") == "product"
    assert d.department_for_channel("CLEAD") == LEADERSHIP
    assert d.department_for_channel("CBILLING") == "billing"  # configured by id
    assert d.resolve("#product") == "CPROD" and d.resolve("CX") == "CX"
    assert len(slack.calls_to("conversations.list")) == 1


def test_an_unknown_channel_refreshes_at_most_once_a_minute(slack, tmp_path):
    tick = Tick()
    d = _directory(slack, tmp_path, tick)
    assert d.department_for_channel("CNEW") is None
    calls = len(slack.calls_to("conversations.list"))
    slack.channels["product"] = "CNEW"  # created after we looked
    assert d.department_for_channel("CNEW") is None  # not again within the minute
    assert len(slack.calls_to("conversations.list")) == calls
    tick.now = 61
    assert d.department_for_channel("CNEW") == "product"


def test_channel_name_is_the_fallback_when_slack_cannot_list(slack, tmp_path):
    slack.fail_next("conversations.list", error="missing_scope", times=5)
    d = _directory(slack, tmp_path)
    assert d.department_for_channel("CPROD", "product") == "product"
    assert d.department_for_channel("CPROD", "random") is None

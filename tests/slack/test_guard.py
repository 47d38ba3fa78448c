"""The member check, one rule at a time, against the Slack stand-in over real HTTP.

The end-to-end tests (tests/e2e/test_publishing.py) show outsiders refused; each rule
here is checked alone, so that a rule masked there by another one is still caught."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.slack.guard import MemberCheck, Verdict
from tests.slack_standin import TEAM_ID, SlackStandIn


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def member_check(slack: SlackStandIn) -> MemberCheck:
    client = WebClient(token="xoxb-test", base_url=slack.url, timeout=2)
    return MemberCheck(lambda: client, lambda: TEAM_ID)


def test_a_payload_from_another_team_is_refused_without_asking_users_info(slack):
    # users.info alone would let this user through: the payload's team must decide.
    slack.users["UCONNECT"] = {"name": "connect"}
    check = member_check(slack)
    assert check.verdict("UCONNECT", "TOTHERORG") == Verdict.OUTSIDER
    assert slack.calls_to("users.info") == []
    assert check.verdict("UCONNECT", TEAM_ID) == Verdict.ALLOWED

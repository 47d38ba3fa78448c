"""Who may publish: listed users and members of user groups, cached with a TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.answers.publishers import Publishers
from bot.slack.client import make_client
from bot.store import open_store
from tests.answers.conftest import make_settings
from tests.slack_standin import SlackStandIn


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _publishers(slack: SlackStandIn, tmp_path: Path, clock: Clock, **kw) -> Publishers:
    settings = make_settings(tmp_path, "http://127.0.0.1:9", slack_url=slack.url,
                             publishers=("ULISTED",), groups=("SPUB",), **kw)
    client = make_client(settings.slack, connection_retries=0, server_error_retries=0)
    return Publishers(settings, open_store(tmp_path / "data"), client, clock=clock,
                      ttl=timedelta(minutes=10))


def _lookups(slack: SlackStandIn) -> int:
    return len(slack.calls_to("usergroups.users.list"))


def test_listed_users_and_group_members_publish_others_do_not(slack: SlackStandIn,
                                                              tmp_path: Path) -> None:
    slack.usergroups["SPUB"] = ["UMEMBER"]
    pubs = _publishers(slack, tmp_path, Clock())
    assert pubs.is_publisher("ULISTED")
    assert pubs.is_publisher("UMEMBER")
    assert not pubs.is_publisher("USTRANGER")
    assert not pubs.is_publisher("")


def test_group_members_are_cached_until_the_ttl_passes(slack: SlackStandIn,
                                                       tmp_path: Path) -> None:
    slack.usergroups["SPUB"] = ["UMEMBER"]
    clock = Clock()
    pubs = _publishers(slack, tmp_path, clock)
    for _ in range(5):
        assert pubs.is_publisher("UMEMBER")
    assert _lookups(slack) == 1
    slack.usergroups["SPUB"] = ["UNEW"]
    clock.now += timedelta(minutes=9)
    assert pubs.is_publisher("UMEMBER")  # still cached
    clock.now += timedelta(minutes=2)
    assert not pubs.is_publisher("UMEMBER") and pubs.is_publisher("UNEW")
    assert _lookups(slack) == 2


def test_group_change_event_drops_the_cache_at_once(slack: SlackStandIn,
                                                    tmp_path: Path) -> None:
    slack.usergroups["SPUB"] = ["UMEMBER"]
    pubs = _publishers(slack, tmp_path, Clock())
    assert pubs.is_publisher("UMEMBER")
    slack.usergroups["SPUB"] = []
    pubs.invalidate("SPUB")
    assert not pubs.is_publisher("UMEMBER")


def test_cache_is_shared_through_the_store(slack: SlackStandIn, tmp_path: Path) -> None:
    slack.usergroups["SPUB"] = ["UMEMBER"]
    clock = Clock()
    first = _publishers(slack, tmp_path, clock)
    assert first.is_publisher("UMEMBER")
    first.store.close()
    second = _publishers(slack, tmp_path, clock)  # a restart, or another replica
    assert second.is_publisher("UMEMBER")
    assert _lookups(slack) == 1


def test_slack_failure_keeps_the_last_known_members(slack: SlackStandIn,
                                                    tmp_path: Path) -> None:
    slack.usergroups["SPUB"] = ["UMEMBER"]
    clock = Clock()
    pubs = _publishers(slack, tmp_path, clock)
    assert pubs.is_publisher("UMEMBER")
    clock.now += timedelta(hours=1)
    slack.fail_next("usergroups.users.list", status=500)
    assert pubs.is_publisher("UMEMBER")


def test_with_no_members_known_nobody_publishes_through_the_group(slack: SlackStandIn,
                                                                  tmp_path: Path) -> None:
    slack.usergroups["SPUB"] = ["UMEMBER"]
    pubs = _publishers(slack, tmp_path, Clock())
    slack.fail_next("usergroups.users.list", status=500)
    assert not pubs.is_publisher("UMEMBER")  # fail closed: their answer goes to approval
    assert pubs.is_publisher("ULISTED")


def test_no_writer_when_publishing_is_off(slack: SlackStandIn, tmp_path: Path) -> None:
    pubs = _publishers(slack, tmp_path, Clock(), publish=False)
    assert pubs.writer("mastodon") is None
    on = _publishers(slack, tmp_path / "on", Clock())
    assert on.writer("mastodon") is not None and on.writer("hackernews") is None

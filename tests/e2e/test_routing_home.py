"""Routing health in App Home through the real app: an escalation made with the real
/escalate command, moves, an undo and a complaint mark recorded in the store, and the
figures in the view Slack is given."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.mention import Event, EventKind, State
from tests.e2e.helpers import CHANNELS, slash, start_harness, wait_for
from tests.e2e.test_resolution import Clock, open_home

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ANN = "U1ANN"


@pytest.fixture
def world(slack, tmp_path):
    clock = Clock()
    clock.now = NOW - timedelta(hours=1)
    harness = start_harness(slack, tmp_path, clock=clock)
    try:
        yield harness, clock
    finally:
        harness.stop()


def escalate(harness, mention, target: str) -> None:
    resp = slash(harness.url, "/escalate", f"{mention.short_id} {target} not ours",
                 user=ANN, channel=CHANNELS[mention.department],
                 response_url=harness.slack.response_url(f"escalate-{target}"))
    assert resp.status_code == 200
    # The reply comes after the mention, its event and the thread line are recorded.
    wait_for(lambda: harness.responses(f"escalate-{target}"), what=f"the reply ({target})")
    assert harness.mention(mention.key).state is State.ESCALATED


def record(harness, mention, kind: str, at: datetime, **data) -> None:
    harness.store.add_event(Event(mention.key, kind, at, user=ANN, data=data))


def test_app_home_shows_moves_and_accuracy_beside_the_week_before(world):
    harness, clock = world
    day_ago = NOW - timedelta(days=1)
    escalated, undone, moved = (harness.add(department="support", created_at=day_ago,
                                            text=f"Acme support problem {i}")
                                for i in range(3))
    to_leaders = harness.add(department="billing", created_at=day_ago, text="Acme billing")
    last_week = harness.add(department="support", created_at=NOW - timedelta(days=9),
                            text="Acme support last week", post=False)

    escalate(harness, escalated, "billing")  # a routing label: out of support, into billing
    escalate(harness, to_leaders, "leadership")  # not a routing correction
    hour = timedelta(hours=1)
    move = {"from": "support", "to": "engineering"}
    record(harness, undone, EventKind.MOVED, day_ago + hour, **move)
    record(harness, undone, EventKind.MOVE_UNDONE, day_ago + 2 * hour, **move)
    record(harness, moved, EventKind.MOVED, day_ago + hour, **move)
    record(harness, moved, EventKind.MARKED, day_ago + 2 * hour, complaint=False,
           previous=True)
    record(harness, last_week, EventKind.MOVED, NOW - timedelta(days=8),
           **{"from": "support", "to": "billing"})

    clock.now = NOW
    view = json.loads(open_home(harness, ANN))
    assert len(view) <= 100  # App Home's block limit
    sections = [b["text"]["text"] for b in view if b["type"] == "section"]
    (routing,) = [s for s in sections if "Routing accuracy" in s]
    assert routing.splitlines() == [
        "*Routing accuracy this week*, estimated from moves: ~50% of 4 "
        "(week before ~0% of 1: better)",
        "• *support*: 0 moved in, 2 moved out · ~33% of 3 (week before ~0% of 1: better)",
        "• *billing*: 1 moved in, 0 moved out · ~100% of 1",
        "• *engineering*: 1 moved in, 0 moved out, 1 complaint flag changed · nothing arrived",
    ]

"""Modal and App Home builders: what they tell people, escaping, Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.mention import Event, State
from bot.slack import ids
from bot.slack import views as v
from tests.e2e.helpers import escalate_values, new_mention
from tests.slack.home_reference import gather_home

NASTY = "<!channel> <@U123> & <https://evil.example|x>"


def _shown(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(("mode", "words", "submit"), [
    ("publish", "published on Mastodon", "Publish"),
    ("approval", "sent to a publisher for approval", "Send for approval"),
    ("record", "recorded in the thread only", "Record"),
])
def test_answer_modal_says_what_will_happen_to_the_reply(mode, words, submit):
    m = new_mention(source="mastodon", text=NASTY, number=42)
    view = v.answer_modal(m, mode, channel="CSUPPORT", thread_ts="1.2")
    assert view["callback_id"] == ids.ANSWER_VIEW
    assert words in _shown(view) and view["submit"]["text"] == submit
    assert view["title"]["text"] == "Answer E-42" and len(view["title"]["text"]) <= 24
    assert v.read_metadata(view["private_metadata"]) == {
        "key": m.key, "channel": "CSUPPORT", "thread_ts": "1.2", "mode": mode}
    shown = _shown(view)
    assert "<!channel>" not in shown and "<@U123>" not in shown and "&lt;!channel&gt;" in shown
    [answer_input] = [b for b in view["blocks"] if b.get("block_id") == v.ANSWER_BLOCK]
    assert answer_input["element"]["action_id"] == v.ANSWER_INPUT


def test_answer_modal_in_record_mode_links_to_the_post():
    m = new_mention(text="hi")
    assert f"<{m.url}|open the post>" in _shown(v.answer_modal(m, "record"))


def test_answer_modal_warns_when_already_answered():
    m = new_mention(state=State.ANSWERED)
    assert "already been answered" in _shown(v.answer_modal(m, "record"))


def test_escalate_modal_offers_the_given_targets_and_three_inputs():
    m = new_mention(number=7)
    view = v.escalate_modal(m, ["billing", "leadership"], channel="C1")
    assert view["callback_id"] == ids.ESCALATE_VIEW
    [target] = [b for b in view["blocks"] if b.get("block_id") == v.TARGET_BLOCK]
    assert [(o["value"], o["text"]["text"]) for o in target["element"]["options"]] == [
        ("billing", "billing"), ("leadership", "Leadership")]
    ids_ = {b.get("block_id") for b in view["blocks"]}
    assert {v.TARGET_BLOCK, v.REASON_BLOCK, v.URGENCY_BLOCK} <= ids_
    assert v.read_metadata(view["private_metadata"]) == {"key": m.key, "channel": "C1"}


def test_submitted_value_reads_inputs_selects_and_radios():
    view = {"state": {"values": escalate_values("billing", "why", "urgent")}}
    assert v.submitted_value(view, v.TARGET_BLOCK, v.TARGET_INPUT) == "billing"
    assert v.submitted_value(view, v.REASON_BLOCK, v.REASON_INPUT) == "why"
    assert v.submitted_value(view, v.URGENCY_BLOCK, v.URGENCY_INPUT) == "urgent"
    assert v.submitted_value(view, "missing", "x") == ""
    assert v.submitted_value({}, v.TARGET_BLOCK, v.TARGET_INPUT) == ""
    assert v.read_metadata("not json") == {} and v.read_metadata("[1]") == {}


def test_home_stays_under_100_blocks_with_many_departments_and_claims():
    mine = [new_mention(number=i, owner="U1", state=State.CLAIMED,
                        claimed_at=datetime.now(UTC)) for i in range(40)]
    queues = {f"dept{i}": [new_mention(department=f"dept{i}", text=NASTY) for _ in range(9)]
              for i in range(30)}
    view = v.home_view(v.HomeData(user="U1", mine=mine, queues=queues, counts={"new": 3}))
    assert view["type"] == "home" and len(view["blocks"]) <= v.MAX_VIEW_BLOCKS
    shown = _shown(view)
    assert "Your claimed mentions (40)" in shown and "and 25 more" in shown
    assert "More departments are not shown" in shown
    assert "<!channel>" not in shown and "3 new" in shown
    assert len(json.dumps(view)) < 250_000


def test_gather_home_counts_today_only_and_sorts_mine_from_queues():
    start = datetime(2026, 11, 23, tzinfo=UTC)
    today, yesterday = start + timedelta(hours=3), start - timedelta(hours=3)
    mine = new_mention(created_at=today, owner="U1", state=State.CLAIMED, complaint=True)
    other = new_mention(created_at=today, owner="U2", state=State.CLAIMED, complaint=False)
    waiting = new_mention(department="billing", created_at=yesterday)
    escalated = new_mention(department="leadership", created_at=yesterday,
                            state=State.ESCALATED)
    answered = new_mention(created_at=yesterday, state=State.ANSWERED)
    events = [Event(mine.key, "claimed", today, "U1"), Event(other.key, "claimed", today, "U2"),
              Event(waiting.key, "claimed", yesterday, "U2"),
              Event(answered.key, "answered", today, "U2")]
    data = gather_home([mine, other, waiting, escalated, answered], events, "U1",
                       ["support", "billing", "leadership"], start)
    assert [m.key for m in data.mine] == [mine.key]
    assert {d: [m.key for m in q] for d, q in data.queues.items()} == {
        "support": [], "billing": [waiting.key], "leadership": [escalated.key]}
    assert data.counts == {"new": 2, "complaints": 1, "claimed": 2, "answered": 1,
                           "escalated": 0}

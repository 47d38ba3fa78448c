"""The leaders' daily habit through the real Bolt app and the Slack stand-in, with a fixed
clock: two leaders in two time zones (one crossing a daylight-saving change), the picks
and their rules, Claim and Answer from the DM, App Home controls, a restart at the
minute of sending, the weekly line, and the config check of the [habit] people."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from bot.habit import dm, state
from bot.habit.job import habit_tick
from bot.habit.people import check
from bot.slack import ids
from bot.slack import views as v
from bot.slack.client import make_client
from bot.slack.outbox import Outbox
from bot.slack.services import Services
from tests.e2e.helpers import (
    CHANNELS,
    action_payload,
    answer_values,
    new_mention,
    raw_config,
    signed_post,
    start_harness,
    view_submission,
    wait_for,
)

ANN, BOB = "U1ANN", "U2BOB"  # Berlin, New York
ANN_DM, BOB_DM = "D1ANN", "D2BOB"
FRIDAY = datetime(2026, 3, 6, tzinfo=UTC)  # New York: EST (UTC-5); Berlin: CET (UTC+1)
MONDAY = datetime(2026, 3, 9, tzinfo=UTC)  # New York moved to EDT (UTC-4) on 8 March


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


class Clock:
    def __init__(self) -> None:
        self.now = at(FRIDAY, 7)

    def __call__(self) -> datetime:
        return self.now


def habit_config() -> dict:
    raw = raw_config()
    raw["habit"] = {"people": [ANN], "groups": ["SLEADS"], "time": "09:00",
                    "timezone": "UTC", "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                    "count": 3}
    return raw


@pytest.fixture
def world(slack, tmp_path):
    slack.users.update({
        ANN: {"name": "ann", "real_name": "Ann", "tz": "Europe/Berlin"},
        BOB: {"name": "bob", "real_name": "Bob", "tz": "America/New_York"},
    })
    slack.usergroups["SLEADS"] = [BOB]
    slack.members[CHANNELS["billing"]].add(ANN)
    slack.members[CHANNELS["engineering"]].add(BOB)
    clock = Clock()
    harness = start_harness(slack, tmp_path, raw=habit_config(), clock=clock)
    try:
        yield harness, clock
    finally:
        harness.stop()


def seed(harness) -> dict[str, object]:
    """Open mentions with known ages; "bags" complaints arrive in the last day."""
    def add(name, dept, created, text, complaint=True):
        return name, harness.add(new_mention(dept, text, created_at=created,
                                             complaint=complaint))

    rows = dict([
        add("chatty", "support", at(FRIDAY, 1) - timedelta(days=5), "Acme is fine I guess",
            complaint=False),
        add("oldest", "support", at(FRIDAY, 9) - timedelta(days=4),
            "Acme support never called me back"),
        add("older", "support", at(FRIDAY, 9) - timedelta(days=3),
            "Acme chat agent hung up on me"),
        add("billing", "billing", at(FRIDAY, 9) - timedelta(days=1),
            "Acme charged me twice, I want a refund"),
        add("eng", "engineering", at(FRIDAY, 10) - timedelta(days=1),
            "the Acme app crashes on login, bug"),
        *(add(f"bag{i}", "support", at(FRIDAY, 16 + i) - timedelta(days=1),
              f"Acme lost my bag on flight {i}, no luggage at all") for i in range(3)),
    ])
    return rows


def tick(harness, clock, when: datetime) -> int:
    clock.now = when
    sent = habit_tick(harness.services, when)
    harness.drain()
    return sent


def dms(harness, channel: str) -> list[dict]:
    return [m for m in harness.slack.messages.get(channel, []) if not m.get("thread_ts")]


def picked(message: dict) -> list[str]:
    return [e["value"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"] if e["action_id"] == ids.CLAIM]


def test_two_leaders_get_their_dms_at_local_time_with_the_rules_and_no_overlap(world):
    harness, clock = world
    m = seed(harness)
    assert tick(harness, clock, at(FRIDAY, 7, 59)) == 0  # 08:59 in Berlin
    assert tick(harness, clock, at(FRIDAY, 8)) == 1  # 09:00 in Berlin: Ann only
    (ann,) = dms(harness, ANN_DM)
    assert not dms(harness, BOB_DM)
    # Longest-waiting complaint, then the fastest-growing theme's oldest, then the
    # department whose channel Ann is in.
    assert picked(ann) == [m["oldest"].key, m["bag0"].key, m["billing"].key]
    shown = json.dumps(ann["blocks"])
    assert "Waiting longest" in shown and "lost or delayed bags" in shown
    assert "*billing*, a department you follow" in shown

    assert tick(harness, clock, at(FRIDAY, 8, 5)) == 0  # no second DM that day
    assert tick(harness, clock, at(FRIDAY, 13, 59)) == 0  # 08:59 in New York
    assert tick(harness, clock, at(FRIDAY, 14)) == 1  # 09:00 EST
    (bob,) = dms(harness, BOB_DM)
    assert picked(bob) == [m["older"].key, m["bag1"].key, m["eng"].key]
    assert not set(picked(ann)) & set(picked(bob))

    # Monday: New York is on daylight time now, 09:00 there is 13:00 UTC; Berlin is not.
    assert tick(harness, clock, at(MONDAY, 8)) == 1
    assert tick(harness, clock, at(MONDAY, 12, 59)) == 0
    assert tick(harness, clock, at(MONDAY, 13)) == 1
    assert len(dms(harness, BOB_DM)) == 2 and len(dms(harness, ANN_DM)) == 2
    assert tick(harness, clock, at(MONDAY, 14)) == 0
    # A weekend day sends nothing.
    assert tick(harness, clock, at(datetime(2026, 3, 7, tzinfo=UTC), 8)) == 0


def click_in_dm(harness, action_id: str, key: str, user: str, dm_message: dict,
                index: int) -> None:
    payload = action_payload(action_id, key, user=user, channel=dm_message["channel"],
                             message_ts=dm_message["ts"], block_id=f"{dm.BLOCK_PREFIX}{index}")
    payload["message"] = {"type": "message", "ts": dm_message["ts"], "user": "UBOT",
                          "text": dm_message["text"], "blocks": dm_message["blocks"]}
    body = urlencode({"payload": json.dumps(payload)})
    resp = signed_post(harness.url, body, "application/x-www-form-urlencoded")
    assert resp.status_code == 200


def test_claim_from_the_dm_updates_the_channel_message_the_dm_and_app_home(world):
    harness, clock = world
    m = seed(harness)
    tick(harness, clock, at(FRIDAY, 8))
    (ann,) = dms(harness, ANN_DM)
    target = m["billing"]
    clock.now = at(FRIDAY, 8, 7)
    click_in_dm(harness, ids.CLAIM, target.key, ANN, ann, 2)
    wait_for(lambda: harness.mention(target.key).owner == ANN, what="the claim")
    harness.drain_until(lambda: "Claimed by <@U1ANN>" in json.dumps(
        harness.message_of(target)["blocks"]), what="the channel message update")
    home = wait_for(lambda: [c for c in harness.slack.calls_to("views.publish")
                             if c.params["user_id"] == ANN], what="App Home")
    assert "Your claimed mentions (1)" in json.dumps(home[-1].params["view"]["blocks"])
    updated = wait_for(lambda: [c for c in harness.slack.calls_to("chat.update")
                                if c.params["channel"] == ANN_DM], what="the DM update")
    shown = json.dumps(updated[-1].params["blocks"])
    assert "Claimed by <@U1ANN>" in shown and shown.count(ids.CLAIM) == 2
    (sent,) = state.log_of(harness.store, ANN)
    assert sent.opened_at == at(FRIDAY, 8, 7).isoformat()  # the first click opened it


def test_weekly_line_counts_answers_from_when_the_dm_was_opened(world):
    harness, clock = world
    m = seed(harness)
    tick(harness, clock, at(FRIDAY, 14))  # Bob's DM (Ann's is not due at 14:00)
    (bob,) = dms(harness, BOB_DM)
    first = harness.mention(picked(bob)[0])
    assert first.key == m["oldest"].key  # Ann's DM is not out yet: Bob gets the oldest
    clock.now = at(FRIDAY, 14, 10)
    click_in_dm(harness, ids.ANSWER, first.key, BOB, bob, 0)  # opens the modal
    wait_for(lambda: state.log_of(harness.store, BOB)[0].opened_at, what="opened")
    clock.now = at(FRIDAY, 14, 32)
    meta = v.metadata(key=first.key, channel=BOB_DM, mode="record")
    view_submission(harness.url, ids.ANSWER_VIEW, meta, answer_values("Sorry!"), user=BOB)
    wait_for(lambda: [e for e in harness.store.events(first.key) if e.kind == "answered"],
             what="the answer")
    tick(harness, clock, at(MONDAY, 13))
    monday = dms(harness, BOB_DM)[-1]
    assert ("This week you answered 1 customer, median 22 minutes after you opened the DM"
            in json.dumps(monday["blocks"]))
    assert "This week" not in json.dumps(bob["blocks"])  # Friday's was not a first


def home_action(harness, action_id: str, user: str, **extra) -> None:
    payload = action_payload(action_id, extra.pop("value", ""), user=user, home=True,
                             channel=None, block_id="earshot_habit_controls")
    payload["actions"][0].update(extra)
    body = urlencode({"payload": json.dumps(payload)})
    assert signed_post(harness.url, body, "application/x-www-form-urlencoded"
                       ).status_code == 200


def test_pause_and_time_change_from_app_home_take_effect_the_next_day(world):
    harness, clock = world
    seed(harness)
    tick(harness, clock, at(FRIDAY, 8))
    clock.now = at(FRIDAY, 9)
    home_action(harness, ids.HABIT_PAUSE, ANN, value="pause")
    wait_for(lambda: state.get_prefs(harness.store, ANN).paused, what="pause")
    home = wait_for(lambda: [c for c in harness.slack.calls_to("views.publish")
                             if c.params["user_id"] == ANN], what="App Home")
    assert "Paused" in json.dumps(home[-1].params["view"]["blocks"])
    assert tick(harness, clock, at(MONDAY, 8)) == 0
    home_action(harness, ids.HABIT_PAUSE, ANN, value="resume")
    home_action(harness, ids.HABIT_TIME, ANN, type="timepicker", selected_time="10:30")
    wait_for(lambda: (lambda p: not p.paused and p.time == "10:30")(
        state.get_prefs(harness.store, ANN)), what="resume and the new time")
    tuesday = datetime(2026, 3, 10, tzinfo=UTC)
    assert tick(harness, clock, at(tuesday, 8)) == 0  # the old time passes quietly
    assert tick(harness, clock, at(tuesday, 9, 30)) == 1  # 10:30 in Berlin
    assert len(dms(harness, ANN_DM)) == 2


def test_choosing_departments_in_app_home_steers_the_third_pick(world):
    harness, clock = world
    m = seed(harness)
    home_action(harness, ids.HABIT_DEPARTMENTS, ANN, type="multi_static_select",
                selected_options=[{"value": "engineering", "text": {
                    "type": "plain_text", "text": "engineering"}}])
    wait_for(lambda: state.get_prefs(harness.store, ANN).departments == ["engineering"],
             what="the departments")
    tick(harness, clock, at(FRIDAY, 8))
    assert picked(dms(harness, ANN_DM)[0])[2] == m["eng"].key


def test_a_restart_at_the_minute_of_sending_sends_nothing_twice(world, slack):
    harness, clock = world
    seed(harness)
    # An earlier run reserved Ann's picks and died before queueing the DM.
    reserved = state.reserve(harness.store, ANN, at(FRIDAY, 8).date(), at(FRIDAY, 8),
                             lambda taken: [harness.store.get_by_number(3).key])
    assert tick(harness, clock, at(FRIDAY, 8)) == 1
    # The process restarts within the same minute: new services, outbox and roster.
    outbox = Outbox(harness.store, make_client(harness.settings.slack), harness.settings,
                    clock=clock, rate_per_second=1000, burst=1000)
    again = Services(settings=harness.settings, store=harness.store, outbox=outbox,
                     clock=clock, client=make_client(harness.settings.slack),
                     team_id=harness.services.team_id)
    assert habit_tick(again, at(FRIDAY, 8, 0) + timedelta(seconds=40)) == 0
    outbox.drain(max_seconds=5)
    harness.drain()
    (only,) = dms(harness, ANN_DM)
    assert picked(only) == reserved


def test_nothing_open_is_one_line(world):
    harness, clock = world
    tick(harness, clock, at(FRIDAY, 8))
    (ann,) = dms(harness, ANN_DM)
    assert ann["text"] == dm.NOTHING_OPEN and len(ann["blocks"]) == 1


def test_config_check_refuses_guests_and_outsiders_and_skips_the_departed(slack, tmp_path):
    slack.users.update({
        "U1OK": {"name": "ok", "tz": "Asia/Tokyo"},
        "U2GUEST": {"name": "guest", "is_restricted": True},
        "U3OTHER": {"name": "other", "team_id": "T999"},
        "U4GONE": {"name": "gone", "deleted": True},
    })
    slack.usergroups["SGOOD"] = ["U1OK", "U4GONE"]
    habit = type("H", (), {"people": ("U1OK", "U2GUEST", "U3OTHER", "U9NOBODY"),
                           "groups": ("SGOOD", "SNOPE"), "timezone": "UTC"})()
    client = make_client(type("S", (), {"api_url": slack.url, "bot_token": "xoxb-t"})())
    found = check(habit, client, "T001")
    assert found.errors == [
        "habit.groups: SNOPE is not a user group of this workspace",
        "habit.people: U2GUEST is a guest; guests cannot be leaders in the habit (they "
        "would see customers' posts from every department)",
        "habit.people: U3OTHER belongs to another workspace; only members of this one can "
        "be leaders in the habit",
        "habit.people: U9NOBODY is not a user of this workspace"]
    assert found.warnings == [
        "habit.groups (SGOOD): U4GONE has left the workspace (deactivated); skipped"]
    assert [(x.user, x.timezone) for x in found.leaders] == [("U1OK", "Asia/Tokyo")]

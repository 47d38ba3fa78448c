"""End to end: corrections from the ⋯ menu through the real Bolt app over signed HTTP,
against the Slack stand-in: move (and what the learner makes of it), undo, complaint
flag, a race, and the refusals."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.ingest.pipeline import Pipeline
from bot.judgment.judge import Judge
from bot.judgment.learned_store import Retrainer, stored_labels
from bot.mention import Mention, State
from bot.slack import ids
from bot.slack import views as v
from tests.e2e.helpers import (
    CHANNELS,
    USERS,
    EarshotHarness,
    action,
    action_payload,
    option_value,
    signed_post,
    start_harness,
    view_submission,
    wait_for,
)
from tests.slack_standin import SlackStandIn

ANN, BOB, CAT, _ = USERS
GUEST = "UGUEST"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def world(slack: SlackStandIn, tmp_path: Path) -> Iterator[tuple[EarshotHarness, Judge]]:
    """The app with learning on: a judge whose learner a real Retrainer feeds."""
    slack.users[GUEST] = {"name": "guest", "is_restricted": True}
    harness = start_harness(slack, tmp_path)
    judge = Judge(harness.settings)
    judge.learner = judge.new_learner(harness.settings)
    harness.services.learning = Retrainer(judge.learner, harness.store, delay=0.0).start()
    try:
        yield harness, judge
    finally:
        harness.services.learning.stop()
        harness.stop()


MENU_VALUE = object()  # the value the menu itself would send


def choose(earshot: EarshotHarness, m: Mention, choice: str | None, *, user: str = ANN,
           value: object = MENU_VALUE, **kw) -> int:
    """Pick `choice` in the mention message's ⋯ menu, shaped like Slack's overflow payload."""
    payload = action_payload(ids.CORRECT, "", user=user, channel=m.slack_channel,
                             message_ts=m.slack_ts, **kw)
    picked = f"{choice}|{m.short_id}" if value is MENU_VALUE else value
    payload["actions"][0] = {
        "action_id": ids.CORRECT, "block_id": "earshot_actions", "type": "overflow",
        "action_ts": f"{time.time():.6f}",
        "selected_option": {"text": {"type": "plain_text", "text": str(choice)},
                            "value": picked}}
    body = urlencode({"payload": json.dumps(payload)})
    return signed_post(earshot.url, body, FORM).status_code


def opened_move_views(earshot: EarshotHarness) -> list[dict]:
    return [c.params["view"] for c in earshot.slack.calls_to("views.open")
            if c.params["view"]["callback_id"] == ids.MOVE_VIEW]


def submit_move(earshot: EarshotHarness, view: dict, target: str, user: str = ANN):
    return view_submission(earshot.url, ids.MOVE_VIEW, view["private_metadata"],
                           {v.MOVE_BLOCK: {v.MOVE_INPUT: option_value(target)}}, user=user)


def channel_posts(earshot: EarshotHarness, name: str) -> list[dict]:
    with earshot.slack.lock:
        return list(earshot.slack.messages.get(CHANNELS[name], []))


def blocks_text(message: dict) -> str:
    return json.dumps(message.get("blocks") or [])


def told(earshot: EarshotHarness, user: str, words: str) -> list[dict]:
    return [e for e in earshot.ephemerals_for(user) if words in e["text"]]


def test_a_move_reroutes_posts_once_and_the_next_similar_post_goes_there_learned(world):
    earshot, judge = world
    m = earshot.add(department="support",
                    text="Acme gizmo app double charged my card for the yearly plan")
    menu = [e for e in earshot.message_of(m)["blocks"][-1]["elements"]
            if e["action_id"] == ids.CORRECT][0]
    assert [o["text"]["text"] for o in menu["options"]] == [
        "Move to another department…", "Not a complaint"]

    assert choose(earshot, m, ids.MOVE_CHOICE) == 200
    view = wait_for(lambda: opened_move_views(earshot), what="move modal")[0]
    options = [o["value"] for b in view["blocks"] if b.get("block_id") == v.MOVE_BLOCK
               for o in b["element"]["options"]]
    assert options == ["billing", "engineering", "product"]  # configured, not its own
    resp = submit_move(earshot, view, "billing")
    assert resp.status_code == 200 and resp.text == ""

    wait_for(lambda: earshot.mention(m.key).department == "billing", what="moved")
    notice = earshot.drain_until(lambda: channel_posts(earshot, "billing"), what="notice")[0]
    earshot.drain_until(lambda: "Moved to *billing*" in blocks_text(earshot.message_of(m))
                        and earshot.thread_of(m), what="message update and thread line")
    assert earshot.thread_of(m)[-1]["text"] == f"moved from support to billing by <@{ANN}>"
    shown = notice["text"] + blocks_text(notice)
    assert f"<@{ANN}> moved *{m.short_id}* from *support* to *billing*" in shown
    assert "https://standin.slack.com/archives/" in shown  # links the original message
    assert [e.data for e in earshot.store.events(m.key) if e.kind == "moved"] == [
        {"from": "support", "to": "billing"}]
    assert told(earshot, ANN, "You moved")  # the mover hears how to undo it
    earshot.drain()
    assert len(channel_posts(earshot, "billing")) == 1  # exactly once
    # The billing team claims it from the notice.
    action(earshot.url, ids.CLAIM, m.key, user=CAT, channel=CHANNELS["billing"],
           message_ts=notice["ts"], block_id="earshot_move_actions")
    wait_for(lambda: earshot.mention(m.key).owner == CAT, what="claimed from the notice")

    # The learner refits in the background; the next similar post goes to billing.
    assert earshot.services.learning.wait_idle(1)
    [label] = stored_labels(earshot.store)
    assert (label.value, label.source, label.previous, label.by) == (
        "billing", "move", "support", ANN)
    pipeline = Pipeline(earshot.settings, earshot.store, poster=earshot.outbox, judge=judge)
    assert judge.router.route(NEXT_POST).department == "support"  # what the rules say
    [new] = pipeline.process([_post(NEXT_POST)]).new
    assert new.department == "billing"
    assert new.reason.startswith("learned from 1 moves: similar to 'Acme gizmo app")
    earshot.drain_until(lambda: len(channel_posts(earshot, "billing")) == 2, what="new post")
    assert "learned from 1 moves" in blocks_text(channel_posts(earshot, "billing")[-1])


NEXT_POST = "The Acme gizmo app double charged my card for my yearly plan"


def _post(text: str) -> Mention:
    return Mention(source="hackernews", native_id=f"next-{time.monotonic_ns()}", text=text,
                   url="https://news.ycombinator.com/item?id=99", author="someone",
                   created_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


def test_only_the_mover_can_undo_and_undo_forgets_the_label(world):
    earshot, _ = world
    m = earshot.add(department="support")
    meta = v.metadata(key=m.key, channel=m.slack_channel, seen="support")
    submit_move(earshot, {"private_metadata": meta}, "engineering", user=ANN)
    wait_for(lambda: earshot.mention(m.key).department == "engineering", what="moved")
    wait_for(lambda: stored_labels(earshot.store), what="label kept")
    moved = earshot.drain_until(lambda: [o["value"] for o in [
        e for e in earshot.message_of(m)["blocks"][-1]["elements"]
        if e["action_id"] == ids.CORRECT][0]["options"]][-1] == f"undo_move|{m.short_id}",
        what="undo offered")
    assert moved

    choose(earshot, m, ids.UNDO_MOVE_CHOICE, user=BOB)
    refusal = wait_for(lambda: told(earshot, BOB, "can undo"), what="refusal")[0]
    assert refusal["text"] == (f"Sorry, only <@{ANN}> can undo their move of {m.short_id}; "
                               "you can move it again instead.")
    assert refusal["channel"] == m.slack_channel
    assert earshot.mention(m.key).department == "engineering"

    choose(earshot, m, ids.UNDO_MOVE_CHOICE, user=ANN)
    wait_for(lambda: earshot.mention(m.key).department == "support", what="undone")
    wait_for(lambda: stored_labels(earshot.store) == [], what="label forgotten")
    undone = [e for e in earshot.store.events(m.key) if e.kind == "move_undone"]
    assert [(e.user, e.data) for e in undone] == [(ANN, {"from": "support", "to": "engineering"})]
    earshot.drain_until(lambda: earshot.thread_of(m)[-1]["text"] == (
        f"moved back from engineering to support by <@{ANN}> (move undone)"), what="line")
    assert told(earshot, ANN, "can undo") == []
    # Engineering saw the move's notice; it also hears that the move was undone.
    posts = earshot.drain_until(lambda: len(channel_posts(earshot, "engineering")) == 2
                                and channel_posts(earshot, "engineering"), what="undo note")
    assert f"<@{ANN}> undid the move of *{m.short_id}*" in posts[-1]["text"]


def test_two_people_moving_at_the_same_instant_give_one_result_and_one_post(world):
    earshot, _ = world
    for round_ in range(3):  # a few rounds: the race must hold every time
        m = earshot.add(department="support")
        meta = v.metadata(key=m.key, channel=m.slack_channel, seen="support")
        barrier = threading.Barrier(2)
        answers = {}

        def move(user: str, target: str, meta=meta, barrier=barrier, answers=answers) -> None:
            barrier.wait()
            answers[user] = submit_move(earshot, {"private_metadata": meta}, target, user=user)

        threads = [threading.Thread(target=move, args=a) for a in ((ANN, "billing"),
                                                                   (BOB, "engineering"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.status_code for r in answers.values()] == [200, 200]
        moves = wait_for(lambda m=m: [e for e in earshot.store.events(m.key)
                                      if e.kind == "moved"], what="a move")
        winner, loser = (ANN, BOB) if moves[0].user == ANN else (BOB, ANN)
        # The loser hears it in the modal (the move was seen before it closed) or, when
        # both passed that check, ephemerally from the conditional update.
        in_modal = answers[loser].text and "a moment ago" in answers[loser].json()[
            "errors"][v.MOVE_BLOCK]
        assert in_modal or wait_for(
            lambda m=m, loser=loser: [e for e in told(earshot, loser, "a moment ago")
                                      if m.short_id in e["text"]], what="told")
        earshot.drain_until(lambda r=round_: len(channel_posts(earshot, "billing"))
                            + len(channel_posts(earshot, "engineering")) == r + 1,
                            what="one notice")
        assert [e.user for e in earshot.store.events(m.key) if e.kind == "moved"] == [winner]
    earshot.drain()
    assert len(channel_posts(earshot, "billing")) + len(channel_posts(earshot, "engineering")) == 3
    assert len(stored_labels(earshot.store)) == 3


def test_refusals_change_nothing_and_bad_payloads_get_one_line(world, caplog):
    earshot, _ = world
    m = earshot.add(department="support")
    meta = v.metadata(key=m.key, channel=m.slack_channel, seen="support")
    # A department removed from the config since the modal opened, and its own department.
    for target, words in (("marketing", "no longer a department"),
                          ("support", "already with support")):
        resp = submit_move(earshot, {"private_metadata": meta}, target)
        assert words in resp.json()["errors"][v.MOVE_BLOCK]
    # A mention that does not exist, and metadata that is not ours.
    for bad_meta in (v.metadata(key="nothing:here", seen="support"), "{not json", "[]"):
        resp = submit_move(earshot, {"private_metadata": bad_meta}, "billing")
        assert resp.json()["errors"][v.MOVE_BLOCK] == "This mention no longer exists."
    # A guest, or someone from another organisation in a shared channel, can neither use
    # the menu nor submit the modal.
    url = earshot.slack.response_url("refusal")
    choose(earshot, m, ids.MOVE_CHOICE, user=GUEST, response_url=url)
    choose(earshot, m, ids.NOT_COMPLAINT_CHOICE, user="UFOREIGN", team="TOTHERORG",
           response_url=url)
    resp = submit_move(earshot, {"private_metadata": meta}, "billing", user=GUEST)
    assert "only members of this workspace" in resp.json()["errors"][v.MOVE_BLOCK]
    refusals = wait_for(lambda: len(earshot.responses("refusal")) == 2
                        and earshot.responses("refusal"), what="refusals")
    assert all("only members of this workspace" in r["body"]["text"] for r in refusals)
    # Choices that are not what Slack sends: one polite line each, no traceback.
    with caplog.at_level("INFO"):
        for value in ("delete|" + m.short_id, 42, None, "move|E-99999", "move|"):
            assert choose(earshot, m, "x", value=value) == 200
        wait_for(lambda: len(told(earshot, ANN, "couldn't tell")) == 4
                 and told(earshot, ANN, "no longer exists"), what="polite lines")
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
    time.sleep(0.1)
    got = earshot.mention(m.key)
    assert (got.department, got.complaint, got.state) == ("support", True, State.NEW)
    assert {e.kind for e in earshot.store.events(m.key)} <= {"posted"}
    assert stored_labels(earshot.store) == [] and opened_move_views(earshot) == []


def test_not_a_complaint_flips_the_flag_updates_the_message_and_teaches(world):
    earshot, judge = world
    m = earshot.add(department="support", complaint=True)
    assert choose(earshot, m, ids.NOT_COMPLAINT_CHOICE, user=BOB) == 200
    wait_for(lambda: earshot.mention(m.key).complaint is False, what="flag cleared")
    earshot.drain_until(lambda: "Not a complaint" not in blocks_text(earshot.message_of(m))
                        and "Is a complaint" in blocks_text(earshot.message_of(m)),
                        what="menu offers the other flag")
    assert ":red_circle: *Complaint*" not in blocks_text(earshot.message_of(m))
    earshot.drain_until(lambda: earshot.thread_of(m)[-1]["text"] ==
                        f"<@{BOB}> marked {m.short_id} as not a complaint", what="line")
    [event] = [e for e in earshot.store.events(m.key) if e.kind == "marked"]
    assert (event.user, event.data) == (BOB, {"complaint": False, "previous": True})
    assert earshot.services.learning.wait_idle(1)
    [label] = stored_labels(earshot.store)
    assert (label.kind, label.value, label.source, label.previous) == (
        "complaint", "no", "mark", "yes")
    # A second click of the same choice (a stale message) changes nothing and says so.
    choose(earshot, m, ids.NOT_COMPLAINT_CHOICE, user=ANN)
    wait_for(lambda: told(earshot, ANN, "already marked as not a complaint"), what="notice")
    assert len([e for e in earshot.store.events(m.key) if e.kind == "marked"]) == 1

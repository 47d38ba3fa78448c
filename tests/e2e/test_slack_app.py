"""End to end: the real Bolt app over real HTTP, signed like Slack, against the stand-in."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

import requests

from bot import workflow
from bot.mention import State
from bot.slack import ids
from bot.slack import views as v
from tests.e2e.helpers import (
    CHANNELS,
    SECRET,
    USERS,
    action,
    action_payload,
    answer_values,
    escalate_values,
    signed_post,
    slash,
    view_submission,
    wait_for,
)

ANN, BOB, CAT, _ = USERS


def _blocks_text(message: dict) -> str:
    return json.dumps(message.get("blocks") or [])


def _buttons(message: dict) -> list[str]:
    return [e["action_id"] for b in message.get("blocks") or [] if b["type"] == "actions"
            for e in b["elements"]]


# --- serving and signatures ------------------------------------------------------------------


def test_healthz_answers_ok(earshot):
    resp = requests.get(earshot.url + "/healthz", timeout=5)
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
    assert requests.get(earshot.url + "/nope", timeout=5).status_code == 404


def test_forged_missing_and_stale_signatures_are_rejected_and_change_nothing(earshot):
    m = earshot.add()
    body = urlencode({"payload": json.dumps(
        action_payload(ids.CLAIM, m.key, user=ANN, message_ts=m.slack_ts))})
    ctype = "application/x-www-form-urlencoded"
    assert signed_post(earshot.url, body, ctype, forge=True).status_code == 401
    assert signed_post(earshot.url, body, ctype, sign=False).status_code == 401
    stale = int(time.time()) - 301
    assert signed_post(earshot.url, body, ctype, timestamp=stale).status_code == 401
    assert signed_post(earshot.url, body, ctype, secret="wrong").status_code == 401
    time.sleep(0.2)
    assert earshot.mention(m.key).owner is None
    # The same body, correctly signed and fresh, is accepted.
    assert signed_post(earshot.url, body, ctype).status_code == 200
    wait_for(lambda: earshot.mention(m.key).owner == ANN, what="claim")


# --- Claim / Release ----------------------------------------------------------------------


def test_claim_shows_owner_on_the_message_and_one_thread_line(earshot):
    m = earshot.add()
    assert _buttons(earshot.message_of(m))[0] == ids.CLAIM
    resp = action(earshot.url, ids.CLAIM, m.key, user=ANN, channel=m.slack_channel,
                  message_ts=m.slack_ts)
    assert resp.status_code == 200
    claimed = wait_for(lambda: earshot.mention(m.key).owner, what="owner")
    assert claimed == ANN and earshot.mention(m.key).state is State.CLAIMED
    earshot.drain_until(lambda: earshot.thread_of(m), what="thread line")
    message = earshot.drain_until(lambda: "Claimed by" in _blocks_text(earshot.message_of(m))
                                  and earshot.message_of(m), what="message update")
    assert f"Claimed by <@{ANN}> since <!date^" in _blocks_text(message)
    assert _buttons(message)[0] == ids.RELEASE
    lines = [x["text"] for x in earshot.thread_of(m)]
    assert lines == [f"<@{ANN}> claimed {m.short_id}"]
    assert earshot.ephemerals_for(ANN) == []  # the winner needs no notice
    assert [e.kind for e in earshot.store.events(m.key)].count("claimed") == 1


def test_two_simultaneous_claims_make_one_owner_and_one_notice(earshot):
    for _ in range(3):  # a few rounds: the race must hold every time
        m = earshot.add()
        barrier = threading.Barrier(2)
        statuses = []

        def click(user: str, m=m, barrier=barrier, statuses=statuses) -> None:
            barrier.wait()
            statuses.append(action(earshot.url, ids.CLAIM, m.key, user=user,
                                   channel=m.slack_channel, message_ts=m.slack_ts).status_code)

        threads = [threading.Thread(target=click, args=(u,)) for u in (ANN, BOB)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200, 200]
        owner = wait_for(lambda m=m: earshot.mention(m.key).owner, what="owner")
        loser = BOB if owner == ANN else ANN

        def notices(m=m, loser=loser) -> list[dict]:
            return [e for e in earshot.ephemerals_for(loser) if m.short_id in e["text"]]

        wait_for(notices, what="notice for the second click")
        time.sleep(0.2)  # anything extra would have arrived by now
        assert len(notices()) == 1
        assert f"already claimed by <@{owner}>" in notices()[0]["text"]
        assert notices()[0]["channel"] == m.slack_channel
        assert [e for e in earshot.ephemerals_for(owner) if m.short_id in e["text"]] == []
        claims = [e for e in earshot.store.events(m.key) if e.kind == "claimed"]
        assert [e.user for e in claims] == [owner]


def test_only_the_owner_can_release_and_release_reopens_the_mention(earshot):
    m = earshot.add()
    action(earshot.url, ids.CLAIM, m.key, user=ANN, channel=m.slack_channel,
           message_ts=m.slack_ts)
    wait_for(lambda: earshot.mention(m.key).owner == ANN)
    action(earshot.url, ids.RELEASE, m.key, user=BOB, channel=m.slack_channel,
           message_ts=m.slack_ts)
    notice = wait_for(lambda: earshot.ephemerals_for(BOB), what="refusal")
    assert f"Only <@{ANN}> can release" in notice[0]["text"]
    assert earshot.mention(m.key).owner == ANN
    action(earshot.url, ids.RELEASE, m.key, user=ANN, channel=m.slack_channel,
           message_ts=m.slack_ts)
    wait_for(lambda: earshot.mention(m.key).owner is None, what="release")
    assert earshot.mention(m.key).state is State.NEW
    earshot.drain_until(lambda: len(earshot.thread_of(m)) == 2, what="release line")
    earshot.drain_until(lambda: _buttons(earshot.message_of(m))[0] == ids.CLAIM)
    assert [x["text"] for x in earshot.thread_of(m)][-1].startswith(f"<@{ANN}> released")


# --- Answer -------------------------------------------------------------------------------------


def _opened_view(earshot, callback_id: str, count: int = 1) -> dict:
    calls = wait_for(lambda: [c for c in earshot.slack.calls_to("views.open")
                              if c.params["view"]["callback_id"] == callback_id][count - 1:],
                     what="views.open")
    return calls[0].params


def test_answer_opens_a_modal_and_the_submission_records_the_reply(earshot):
    m = earshot.add()
    action(earshot.url, ids.ANSWER, m.key, user=ANN, channel=m.slack_channel,
           message_ts=m.slack_ts)
    params = _opened_view(earshot, ids.ANSWER_VIEW)
    assert params["trigger_id"]
    view = params["view"]
    shown = json.dumps(view["blocks"])
    # publish = false: the modal says the reply is only recorded and links to the post.
    assert "recorded in the thread only" in shown and m.url in shown
    meta = json.loads(view["private_metadata"])
    assert meta["key"] == m.key and meta["channel"] == m.slack_channel

    resp = view_submission(earshot.url, ids.ANSWER_VIEW, view["private_metadata"],
                           answer_values("Sorry & thanks <3, we're on it"), user=ANN)
    assert resp.status_code == 200 and resp.text == ""  # closes the modal
    wait_for(lambda: earshot.mention(m.key).state is State.ANSWERED, what="answered")
    notice = wait_for(lambda: earshot.ephemerals_for(ANN), what="notice")
    assert "recorded" in notice[0]["text"] and notice[0]["channel"] == m.slack_channel
    earshot.drain_until(lambda: earshot.thread_of(m), what="answer line")
    line = earshot.thread_of(m)[-1]["text"]
    assert f"<@{ANN}> answered" in line and "Sorry &amp; thanks &lt;3" in line
    answered = [e for e in earshot.store.events(m.key) if e.kind == "answered"]
    assert answered[0].user == ANN and answered[0].data["published"] is False


def test_an_empty_answer_is_refused_inside_the_modal(earshot):
    m = earshot.add()
    meta = v.metadata(key=m.key, channel=m.slack_channel)
    resp = view_submission(earshot.url, ids.ANSWER_VIEW, meta, answer_values("   "),
                           user=ANN)
    assert resp.status_code == 200
    body = resp.json()
    assert body["response_action"] == "errors" and v.ANSWER_BLOCK in body["errors"]
    time.sleep(0.2)
    assert earshot.mention(m.key).state is State.NEW


# --- Escalate ------------------------------------------------------------------------------------


def test_escalate_through_the_modal_moves_the_mention_and_pings_the_target(earshot):
    m = earshot.add(department="support")
    action(earshot.url, ids.CLAIM, m.key, user=ANN, channel=m.slack_channel,
           message_ts=m.slack_ts)
    wait_for(lambda: earshot.mention(m.key).owner == ANN)
    action(earshot.url, ids.ESCALATE, m.key, user=ANN, channel=m.slack_channel,
           message_ts=m.slack_ts)
    view = _opened_view(earshot, ids.ESCALATE_VIEW)["view"]
    options = [o["value"] for b in view["blocks"] if b.get("block_id") == v.TARGET_BLOCK
               for o in b["element"]["options"]]
    assert "support" not in options and {"billing", "leadership"} <= set(options)

    resp = view_submission(earshot.url, ids.ESCALATE_VIEW, view["private_metadata"],
                           escalate_values("billing", "Charged twice <!here> & angry",
                                           "urgent"), user=ANN)
    assert resp.status_code == 200 and resp.text == ""
    wait_for(lambda: earshot.mention(m.key).state is State.ESCALATED, what="escalated")
    got = earshot.mention(m.key)
    assert got.department == "billing" and got.owner is None and got.escalated_at
    summary = earshot.drain_until(lambda: earshot.slack.messages.get(CHANNELS["billing"]),
                                  what="summary")[0]
    earshot.drain_until(lambda: "Escalated to" in _blocks_text(earshot.message_of(m))
                        and len(earshot.thread_of(m)) == 2, what="update and thread line")
    shown = summary["text"] + _blocks_text(summary)
    assert "<!subteam^SBILLINGLEAD>" in shown
    assert "https://standin.slack.com/archives/" in shown  # links the original message
    assert "&lt;!here&gt; &amp; angry" in shown and "<!here>" not in shown
    # The original message stays where it was and says where it went.
    assert "Escalated to *billing*" in _blocks_text(earshot.message_of(m))
    assert "escalated to billing (urgent)" in earshot.thread_of(m)[-1]["text"]
    esc = [e for e in earshot.store.events(m.key) if e.kind == "escalated"][0]
    assert esc.data == {"from": "support", "to": "billing",
                        "reason": "Charged twice <!here> & angry", "urgency": "urgent"}
    # The billing team can now claim it.
    action(earshot.url, ids.CLAIM, m.key, user=CAT, channel=CHANNELS["billing"],
           message_ts=summary["ts"], block_id="earshot_escalation_actions")
    wait_for(lambda: earshot.mention(m.key).owner == CAT, what="target claims")


def test_escalate_to_leadership_posts_in_the_escalation_channel(earshot):
    m = earshot.add(department="engineering")
    meta = v.metadata(key=m.key, channel=m.slack_channel)
    view_submission(earshot.url, ids.ESCALATE_VIEW, meta,
                    escalate_values("leadership", "Press is asking"), user=BOB)
    wait_for(lambda: earshot.mention(m.key).department == "leadership")
    summary = earshot.drain_until(
        lambda: earshot.slack.messages.get(CHANNELS["leadership"]))[0]
    assert "<!subteam^SLEADERS>" in summary["text"] + _blocks_text(summary)


def test_escalate_without_reason_is_refused_inside_the_modal(earshot):
    m = earshot.add()
    meta = v.metadata(key=m.key, channel=m.slack_channel)
    resp = view_submission(earshot.url, ids.ESCALATE_VIEW, meta,
                           escalate_values("support", "  "), user=BOB)
    errors = resp.json()["errors"]
    assert set(errors) == {v.REASON_BLOCK, v.TARGET_BLOCK}  # empty reason, same department
    time.sleep(0.2)
    assert earshot.mention(m.key).state is State.NEW


# --- slash commands ----------------------------------------------------------------------------


def _reply(earshot, name: str) -> str:
    got = wait_for(lambda: earshot.responses(name), what=f"response {name}")
    assert len(got) == 1
    assert got[0]["body"]["response_type"] == "ephemeral"
    return got[0]["body"]["text"]


def _slash(earshot, command: str, text: str, name: str, **kw) -> str:
    resp = slash(earshot.url, command, text, response_url=earshot.slack.response_url(name),
                 **kw)
    assert resp.status_code == 200
    return _reply(earshot, name)


def test_claim_command_by_short_id_and_by_permalink(earshot):
    m1, m2 = earshot.add(), earshot.add()
    reply = _slash(earshot, "/claim", m1.short_id, "a", user=ANN, channel=CHANNELS["random"])
    assert reply == f"You claimed {m1.short_id}."
    assert earshot.mention(m1.key).owner == ANN
    permalink = earshot.mention(m2.key).extra.get("permalink") or (
        f"https://standin.slack.com/archives/{m2.slack_channel}/p"
        + m2.slack_ts.replace(".", ""))
    reply = _slash(earshot, "/claim", permalink, "b", user=BOB)
    assert reply == f"You claimed {m2.short_id}."
    reply = _slash(earshot, "/claim", m1.short_id.lower(), "c", user=BOB)
    assert f"already claimed by <@{ANN}>" in reply


def test_bare_claim_takes_the_oldest_unclaimed_of_the_channels_department(earshot):
    old = earshot.add(department="billing")
    newer = earshot.add(department="billing")
    earshot.add(department="support")
    reply = _slash(earshot, "/claim", "", "a", user=ANN, channel=CHANNELS["billing"])
    assert reply == f"You claimed {old.short_id}."
    reply = _slash(earshot, "/claim", "", "b", user=BOB, channel=CHANNELS["billing"])
    assert reply == f"You claimed {newer.short_id}."
    reply = _slash(earshot, "/claim", "", "c", user=CAT, channel=CHANNELS["billing"])
    assert "Nothing is waiting in the billing queue" in reply


def test_bare_claim_resolves_departments_configured_by_channel_name(earshot):
    m = earshot.add(department="product")
    reply = _slash(earshot, "/claim", "", "a", user=ANN, channel=CHANNELS["product"],
                   channel_name="renamed-since")
    assert reply == f"You claimed {m.short_id}."
    assert earshot.slack.calls_to("conversations.list")


def test_claim_command_bad_input_gets_clear_replies(earshot):
    m = earshot.add()
    assert "I can't find a mention `E-999`" in _slash(earshot, "/claim", "E-999", "a")
    assert "takes one mention id" in _slash(earshot, "/claim", "E-1 E-2", "b")
    assert "isn't a department channel" in _slash(earshot, "/claim", "", "c",
                                                    channel=CHANNELS["random"])
    assert "/claim E-42" in _slash(earshot, "/claim", "help", "d")
    _slash(earshot, "/claim", m.short_id, "e", user=ANN)
    assert f"already claimed by <@{ANN}>" in _slash(earshot, "/claim", m.short_id, "f",
                                                     user=BOB)
    assert "You already have" in _slash(earshot, "/claim", m.short_id, "g", user=ANN)


def test_escalate_command_good_and_bad_input(earshot):
    m = earshot.add(department="support")
    reply = _slash(earshot, "/escalate", f"{m.short_id} billing --urgent charged twice", "a",
                   user=ANN)
    assert reply == f"You escalated {m.short_id} to billing (urgent)."
    got = earshot.mention(m.key)
    assert got.state is State.ESCALATED and got.department == "billing"
    assert "/escalate E-42 billing" in _slash(earshot, "/escalate", "help", "b")
    assert "/escalate E-42 billing" in _slash(earshot, "/escalate", "", "c")
    assert "I can't find a mention `E-999`" in _slash(earshot, "/escalate",
                                                       "E-999 billing why", "d")
    assert "add a reason" in _slash(earshot, "/escalate", f"{m.short_id} support", "e")
    assert "Where should" in _slash(earshot, "/escalate", m.short_id, "f")
    reply = _slash(earshot, "/escalate", f"{m.short_id} biling why not", "g")
    assert "Did you mean `billing`?" in reply and "leadership" in reply
    reply = _slash(earshot, "/escalate", f"{m.short_id} billing again", "h")
    assert "already with billing" in reply


def test_escalate_without_a_target_goes_to_the_escalation_channel_with_the_reason(earshot):
    """The documented short form `/escalate E-42 reason…` (issue 10, item 13)."""
    m = earshot.add(department="support")
    reply = _slash(earshot, "/escalate", f"{m.short_id} customer threatens --urgent to cancel",
                   "a", user=ANN)
    assert reply.startswith(f"You escalated {m.short_id} to leadership (urgent).")
    assert "all of your text as the reason" in reply
    got = earshot.mention(m.key)
    assert got.state is State.ESCALATED and got.department == "leadership"
    summary = earshot.drain_until(
        lambda: earshot.slack.messages.get(CHANNELS["leadership"]))[0]
    assert "customer threatens to cancel" in summary["text"] + _blocks_text(summary)
    # A reason of one word is still a reason; a target without one still asks for it.
    other = earshot.add(department="support")
    assert "to leadership" in _slash(earshot, "/escalate", f"{other.short_id} lawsuit", "b")
    third = earshot.add(department="support")
    assert "add a reason" in _slash(earshot, "/escalate", f"{third.short_id} billing", "c")


# --- hostile text and App Home -----------------------------------------------------------------


def test_hostile_post_text_stays_harmless_through_claim_and_escalation(earshot):
    nasty = ("<!channel> hey <@U123> & <https://evil.example|click> 😡🔥 "
             + "long complaint " * 700)
    m = earshot.add(text=nasty)
    assert len(nasty) > 10_000
    message = earshot.message_of(m)
    shown = message["text"] + _blocks_text(message)
    assert "<!channel>" not in shown and "<@U123>" not in shown
    assert "&lt;!channel&gt;" in shown
    _slash(earshot, "/escalate", f"{m.short_id} leadership <!everyone> look", "x", user=ANN)
    summary = earshot.drain_until(
        lambda: earshot.slack.messages.get(CHANNELS["leadership"]))[0]
    out = summary["text"] + _blocks_text(summary)
    assert "<!channel>" not in out and "<!everyone>" not in out and "<@U123>" not in out


def test_app_home_lists_my_claims_and_the_queues(earshot):
    mine = earshot.add(department="support", text="mine & only mine")
    waiting = earshot.add(department="billing", text="waiting <b>")
    _slash(earshot, "/claim", mine.short_id, "a", user=ANN)
    event = {"token": "x", "team_id": "T001", "api_app_id": "AEARSHOT", "type": "event_callback",
             "event_id": "Ev1", "event_time": int(time.time()),
             "event": {"type": "app_home_opened", "user": ANN, "channel": "DANN",
                       "tab": "home", "event_ts": f"{time.time():.6f}"}}
    resp = signed_post(earshot.url, json.dumps(event), "application/json", secret=SECRET)
    assert resp.status_code == 200
    call = wait_for(lambda: earshot.slack.calls_to("views.publish"), what="views.publish")[0]
    view = call.params["view"]
    assert call.params["user_id"] == ANN and view["type"] == "home"
    assert len(view["blocks"]) <= 100
    shown = json.dumps(view["blocks"])
    assert "Your claimed mentions (1)" in shown and "mine &amp; only mine" in shown
    assert "waiting &lt;b&gt;" in shown and "*billing*: 1 waiting" in shown
    assert "1 claimed" in shown

    # Claiming from the Home tab re-renders it.
    action(earshot.url, ids.CLAIM, waiting.key, user=ANN, home=True, channel=None)
    wait_for(lambda: len(earshot.slack.calls_to("views.publish")) >= 2, what="re-render")
    assert earshot.mention(waiting.key).owner == ANN


def test_the_ack_does_not_wait_for_slow_work_after_it(earshot):
    m = earshot.add()
    earshot.slack.fail_next("views.open", hang=1.5, status=200, accept=True)
    started = time.monotonic()
    resp = action(earshot.url, ids.ANSWER, m.key, user=ANN, channel=m.slack_channel,
                  message_ts=m.slack_ts)
    acked = time.monotonic() - started
    assert resp.status_code == 200 and acked < 0.5, acked
    _opened_view(earshot, ids.ANSWER_VIEW)  # the modal still opens, after the ack


def test_a_claims_work_yields_to_requests_still_being_answered(earshot):
    """In a burst, the work after an ack waits for a quiet moment (bot.listeners.yielding):
    the click is acknowledged at once, the claim is made once no request is in flight."""
    m = earshot.add()
    traffic = earshot.server.app.traffic
    with traffic.answering():  # another request, as far as the app can tell
        resp = action(earshot.url, ids.CLAIM, m.key, user=ANN, channel=m.slack_channel,
                      message_ts=m.slack_ts)
        assert resp.status_code == 200
        time.sleep(0.3)
        assert earshot.mention(m.key).owner is None
    assert wait_for(lambda: earshot.mention(m.key).owner, what="owner") == ANN


def test_a_rate_limited_views_open_is_retried_after_retry_after(earshot):
    m = earshot.add()
    earshot.slack.fail_next("views.open", status=429, retry_after=1)
    action(earshot.url, ids.ESCALATE, m.key, user=ANN, channel=m.slack_channel,
           message_ts=m.slack_ts)
    wait_for(lambda: earshot.slack.views, timeout=5, what="the modal after the retry")
    opens = earshot.slack.calls_to("views.open")
    assert len(opens) == 2 and opens[1].at - opens[0].at >= 0.9
    assert earshot.ephemerals_for(ANN) == []


def test_when_slack_fails_to_open_the_modal_the_user_is_told(earshot):
    m = earshot.add()
    earshot.slack.fail_next("views.open", error="expired_trigger_id")
    action(earshot.url, ids.ANSWER, m.key, user=ANN, channel=m.slack_channel,
           message_ts=m.slack_ts)
    notice = wait_for(lambda: earshot.ephemerals_for(ANN), what="notice")
    assert "click the button again" in notice[0]["text"]


def test_two_bare_claims_at_once_take_the_two_oldest(earshot):
    first, second = earshot.add(department="billing"), earshot.add(department="billing")
    barrier = threading.Barrier(2)
    replies: dict[str, str] = {}

    def claim(user: str) -> None:
        barrier.wait()
        replies[user] = _slash(earshot, "/claim", "", f"q{user}", user=user,
                               channel=CHANNELS["billing"])

    threads = [threading.Thread(target=claim, args=(u,)) for u in (ANN, BOB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(replies.values()) == sorted(
        [f"You claimed {first.short_id}.", f"You claimed {second.short_id}."])
    owners = {earshot.mention(first.key).owner, earshot.mention(second.key).owner}
    assert owners == {ANN, BOB}


def test_an_unclaimed_escalation_gets_one_reminder_in_the_target_channel(earshot):
    m = earshot.add(department="support")
    _slash(earshot, "/escalate", f"{m.short_id} billing charged twice", "e", user=ANN)
    escalated_at = earshot.mention(m.key).escalated_at
    assert workflow.remind_stale_escalations(earshot.services,
                                             escalated_at + timedelta(minutes=10)) == 0
    later = escalated_at + timedelta(minutes=31)
    assert workflow.remind_stale_escalations(earshot.services, later) == 1
    assert workflow.remind_stale_escalations(earshot.services, later) == 0
    earshot.drain_until(lambda: len(earshot.slack.messages.get(CHANNELS["billing"], [])) == 2,
                        what="summary and reminder")
    reminder = earshot.slack.messages[CHANNELS["billing"]][1]
    assert "Reminder" in reminder["text"] and "<!subteam^SBILLINGLEAD>" in reminder["text"]
    earshot.drain_until(lambda: "Reminder" in earshot.thread_of(m)[-1]["text"])

"""Publishing guard rails end to end: the real Bolt app over real HTTP with signed
requests, against the Slack stand-in and the Mastodon/Bluesky/X write stand-in."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.answers import drafts, messages
from bot.app import build_app, build_services
from bot.mention import State
from bot.slack import ids
from bot.slack import views as v
from bot.slack.client import make_client
from bot.slack.outbox import Outbox
from bot.store import open_store
from bot.web import WebServer
from tests.answers.conftest import ENV, source_tables
from tests.answers.standins import WriteStandIn
from tests.e2e.helpers import (
    CHANNELS,
    USERS,
    EarshotHarness,
    action,
    answer_values,
    make_settings,
    new_mention,
    raw_config,
    signed_post,
    slash,
    text_value,
    view_submission,
    wait_for,
)
from tests.slack_standin import SlackStandIn

AUTHOR, PUB, PUB2, OTHER = USERS  # PUB and PUB2 are publishers; AUTHOR and OTHER are not
EXTERNAL, GUEST = "UEXTERNAL", "UGUEST"


def start(slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path, *,
          publish: bool = True, groups: tuple[str, ...] = ()) -> EarshotHarness:
    """Like tests.e2e.helpers.start_harness, with write credentials in the environment."""
    slack.channels.update(CHANNELS)
    for user in USERS:
        slack.users.setdefault(user, {"name": user.lower()})
    slack.users[EXTERNAL] = {"name": "ext", "team_id": "TOTHERORG"}
    slack.users[GUEST] = {"name": "guest", "is_restricted": True}
    raw = raw_config()
    raw["sources"] = source_tables(writes.url)
    raw["answer"] = {"publish": publish, "publishers": [PUB, PUB2],
                     "publisher_groups": list(groups)}
    settings = make_settings(slack, tmp_path, raw, env=ENV)
    store = open_store(settings.data_dir)
    client = make_client(settings.slack)
    outbox = Outbox(store, client, settings, rate_per_second=1000, burst=1000)
    services = build_services(settings, store, client=client, outbox=outbox)
    app = build_app(settings, store, services=services)
    server = WebServer(app, host="127.0.0.1", port=0, threads=16).start()
    return EarshotHarness(slack, settings, store, outbox, services, server)


@pytest.fixture
def writes() -> Iterator[WriteStandIn]:
    standin = WriteStandIn().start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def earshot(slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path
            ) -> Iterator[EarshotHarness]:
    harness = start(slack, writes, tmp_path)
    try:
        yield harness
    finally:
        harness.stop()


def post(h: EarshotHarness, source: str = "mastodon"):
    m = new_mention(source=source)
    # What the sources store: Mastodon's native_id is the status URI and extra["id"] the
    # id on the instance; Bluesky's is the at:// uri (the cid is looked up when missing).
    if source == "mastodon":
        m.extra = {"id": m.native_id.split("-")[0]}
        m.native_id = f"https://mastodon.example/users/cust/statuses/{m.native_id}"
    elif source == "bluesky":
        m.native_id = f"at://did:plc:cust/app.bsky.feed.post/{m.native_id}"
        m.extra = {"uri": m.native_id}
    return h.add(m)


def answer(h: EarshotHarness, mention, user: str, text: str) -> None:
    """Click Answer, then submit the modal Slack was asked to open (its real metadata)."""
    before = len(h.slack.views)
    assert action(h.url, ids.ANSWER, mention.key, user=user,
                  message_ts=mention.slack_ts).status_code == 200
    opened = wait_for(lambda: h.slack.views[before:], what="answer modal")[0]["view"]
    resp = view_submission(h.url, ids.ANSWER_VIEW, opened["private_metadata"],
                           answer_values(text), user=user)
    assert resp.status_code == 200


def events(h: EarshotHarness, mention, kind: str) -> list:
    return [e for e in h.store.events(mention.key) if e.kind == kind]


def draft_id_of(h: EarshotHarness, mention) -> str:
    return wait_for(lambda: events(h, mention, "draft"), what="draft")[0].data["draft_id"]


def draft_message(h: EarshotHarness, mention) -> dict[str, Any]:
    def find():
        h.drain()
        return [m for m in h.thread_of(mention)
                if any(b["type"] == "actions" for b in m.get("blocks") or [])]
    return wait_for(find, what="draft message in the thread")[0]


def leave_group(h: EarshotHarness, group: str, user: str) -> None:
    """`user` leaves the user group `group`, and Slack tells the app."""
    h.slack.usergroups[group] = [u for u in h.slack.usergroups[group] if u != user]
    body = json.dumps({
        "token": "legacy", "team_id": "T001", "api_app_id": "AEARSHOT",
        "type": "event_callback", "event_id": "Ev1", "event_time": 1,
        "event": {"type": "subteam_members_changed", "subteam_id": group,
                  "team_id": "T001", "removed_users": [user],
                  "removed_users_count": 1, "event_ts": "1.0"}})
    assert signed_post(h.url, body, "application/json").status_code == 200
    wait_for(lambda: h.store.get_meta(f"publishers:group:{group}") is None,
             what="cache dropped")


def test_publisher_answer_is_published_once(earshot: EarshotHarness,
                                            writes: WriteStandIn) -> None:
    m = post(earshot, "mastodon")
    answer(earshot, m, PUB, "Thanks for flagging, fixed now")
    wait_for(lambda: events(earshot, m, "published"), what="published")
    [req] = writes.to("/api/v1/statuses")
    assert req.body["status"] == "Thanks for flagging, fixed now"
    assert req.body["in_reply_to_id"] == m.extra["id"]
    assert earshot.mention(m.key).state is State.ANSWERED
    url = events(earshot, m, "published")[0].data["url"]
    told = wait_for(lambda: earshot.ephemerals_for(PUB), what="notice")
    assert url in told[-1]["text"]
    earshot.drain()
    assert any(url in x["text"] and "written by" in x["text"]
               for x in earshot.thread_of(m))  # the audit line in the thread


def test_non_publisher_answer_waits_and_two_approvers_publish_once(
        earshot: EarshotHarness, writes: WriteStandIn) -> None:
    m = post(earshot, "x")
    answer(earshot, m, AUTHOR, "Sorry about the outage")
    draft_id = draft_id_of(earshot, m)
    msg = draft_message(earshot, m)
    assert writes.requests == []
    assert "<!subteam^SSUPPORTLEAD>" in msg["text"]

    barrier = threading.Barrier(2)
    codes: list[int] = []

    def click(user: str) -> None:
        barrier.wait()
        codes.append(action(earshot.url, ids.APPROVE, draft_id, user=user,
                            message_ts=msg["ts"], block_id=f"draft_{draft_id}").status_code)

    threads = [threading.Thread(target=click, args=(u,)) for u in (PUB, PUB2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200]
    wait_for(lambda: events(earshot, m, "published"), what="published")
    wait_for(lambda: earshot.ephemerals_for(PUB) and earshot.ephemerals_for(PUB2),
             what="both approvers told")
    assert len(writes.to("/2/tweets")) == 1
    assert len(events(earshot, m, "published")) == 1
    assert len(events(earshot, m, "approved")) == 1
    told = [e["text"] for e in earshot.ephemerals_for(PUB) + earshot.ephemerals_for(PUB2)]
    assert sum("Published" in t for t in told) == 1
    assert sum("already" in t.lower() for t in told) == 1
    assert wait_for(lambda: earshot.ephemerals_for(AUTHOR), what="author told")
    # The draft message lost its buttons, so nobody clicks a stale one.
    updated = [x for x in earshot.slack.messages[m.slack_channel] if x["ts"] == msg["ts"]][0]
    assert not any(b["type"] == "actions" for b in updated["blocks"])


def test_non_publisher_cannot_approve(earshot: EarshotHarness, writes: WriteStandIn) -> None:
    m = post(earshot, "mastodon")
    answer(earshot, m, AUTHOR, "hello")
    draft_id = draft_id_of(earshot, m)
    action(earshot.url, ids.APPROVE, draft_id, user=OTHER)
    told = wait_for(lambda: earshot.ephemerals_for(OTHER), what="refusal")
    assert "Only publishers" in told[0]["text"]
    assert writes.requests == []
    assert drafts.get(earshot.store, draft_id).status == drafts.DRAFT


def test_edit_publishes_the_edited_text(earshot: EarshotHarness,
                                        writes: WriteStandIn) -> None:
    m = post(earshot, "bluesky")
    answer(earshot, m, AUTHOR, "first try")
    draft_id = draft_id_of(earshot, m)
    msg = draft_message(earshot, m)
    before = len(earshot.slack.views)
    action(earshot.url, ids.EDIT_DRAFT, draft_id, user=PUB, message_ts=msg["ts"])
    modal = wait_for(lambda: earshot.slack.views[before:], what="edit modal")[0]["view"]
    assert modal["callback_id"] == ids.EDIT_VIEW
    resp = view_submission(earshot.url, ids.EDIT_VIEW, modal["private_metadata"],
                           {messages.REPLY_BLOCK: {messages.REPLY_ACTION:
                                                   text_value("better wording")}}, user=PUB)
    assert resp.status_code == 200
    wait_for(lambda: events(earshot, m, "published"), what="published")
    [req] = writes.to("createRecord")
    assert req.body["record"]["text"] == "better wording"
    assert events(earshot, m, "published")[0].data["author"] == AUTHOR


def test_edit_too_long_is_refused_inside_the_modal(earshot: EarshotHarness,
                                                   writes: WriteStandIn) -> None:
    m = post(earshot, "x")
    answer(earshot, m, AUTHOR, "short")
    draft_id = draft_id_of(earshot, m)
    meta = json.dumps({"draft_id": draft_id})
    resp = view_submission(earshot.url, ids.EDIT_VIEW, meta, {messages.REPLY_BLOCK: {
        messages.REPLY_ACTION: text_value("語" * 141)}}, user=PUB)
    body = resp.json()
    assert body["response_action"] == "errors"
    assert "Too long for X: 282 of 280" in body["errors"][messages.REPLY_BLOCK]
    assert writes.requests == []


def test_an_edit_submitted_after_leaving_the_publishers_is_refused_inside_the_modal(
        slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path) -> None:
    # The modal opened while OTHER was a publisher; the submission is checked again.
    slack.usergroups["SPRTEAM"] = [OTHER]
    h = start(slack, writes, tmp_path, groups=("SPRTEAM",))
    try:
        m = post(h, "mastodon")
        answer(h, m, AUTHOR, "first try")
        draft_id = draft_id_of(h, m)
        msg = draft_message(h, m)
        before = len(h.slack.views)
        action(h.url, ids.EDIT_DRAFT, draft_id, user=OTHER, message_ts=msg["ts"])
        modal = wait_for(lambda: h.slack.views[before:], what="edit modal")[0]["view"]
        leave_group(h, "SPRTEAM", OTHER)
        resp = view_submission(h.url, ids.EDIT_VIEW, modal["private_metadata"],
                               {messages.REPLY_BLOCK: {messages.REPLY_ACTION:
                                                       text_value("my wording")}},
                               user=OTHER)
        body = resp.json()
        assert body["response_action"] == "errors"
        assert "Only publishers" in body["errors"][messages.REPLY_BLOCK]
        assert writes.requests == []
        assert drafts.get(h.store, draft_id).status == drafts.DRAFT
    finally:
        h.stop()


def test_reject_publishes_nothing_and_the_author_hears_why(earshot: EarshotHarness,
                                                           writes: WriteStandIn) -> None:
    m = post(earshot, "mastodon")
    answer(earshot, m, AUTHOR, "whatever")
    draft_id = draft_id_of(earshot, m)
    msg = draft_message(earshot, m)
    before = len(earshot.slack.views)
    action(earshot.url, ids.REJECT, draft_id, user=PUB, message_ts=msg["ts"])
    modal = wait_for(lambda: earshot.slack.views[before:], what="reject modal")[0]["view"]
    empty = view_submission(earshot.url, ids.REJECT_VIEW, modal["private_metadata"],
                            {messages.REASON_BLOCK: {messages.REASON_ACTION: text_value(" ")}},
                            user=PUB)
    assert empty.json()["response_action"] == "errors"
    view_submission(earshot.url, ids.REJECT_VIEW, modal["private_metadata"],
                    {messages.REASON_BLOCK: {messages.REASON_ACTION:
                                             text_value("Please apologise first")}}, user=PUB)
    wait_for(lambda: events(earshot, m, "rejected"), what="rejected")
    told = wait_for(lambda: [e for e in earshot.ephemerals_for(AUTHOR)
                             if "did not approve" in e["text"]], what="author told")
    assert "Please apologise first" in told[0]["text"]
    action(earshot.url, ids.APPROVE, draft_id, user=PUB2)  # too late: already rejected
    wait_for(lambda: earshot.ephemerals_for(PUB2), what="late approver told")
    assert writes.requests == []
    assert earshot.mention(m.key).state is State.NEW


def test_failed_publish_shows_retry_and_retry_publishes_once(earshot: EarshotHarness,
                                                             writes: WriteStandIn) -> None:
    m = post(earshot, "mastodon")
    writes.fail_next("/api/v1/statuses", status=503)
    answer(earshot, m, PUB, "We are on it")
    wait_for(lambda: events(earshot, m, "publish_failed"), what="publish_failed")
    msg = draft_message(earshot, m)
    [retry] = [el for b in msg["blocks"] if b["type"] == "actions" for el in b["elements"]]
    assert retry["action_id"] == ids.RETRY_PUBLISH and "Not published" in msg["text"]
    assert earshot.mention(m.key).state is not State.ANSWERED
    action(earshot.url, ids.RETRY_PUBLISH, retry["value"], user=PUB2, message_ts=msg["ts"])
    wait_for(lambda: events(earshot, m, "published"), what="published after retry")
    action(earshot.url, ids.RETRY_PUBLISH, retry["value"], user=PUB2, message_ts=msg["ts"])
    wait_for(lambda: len(earshot.ephemerals_for(PUB2)) >= 2, what="second retry refused")
    assert len(events(earshot, m, "published")) == 1
    # Both tries carried the same Idempotency-Key: the draft id.
    keys = {r.headers["Idempotency-Key"] for r in writes.to("/api/v1/statuses")}
    assert keys == {retry["value"]}


def test_publish_off_never_calls_a_write_api(slack: SlackStandIn, writes: WriteStandIn,
                                             tmp_path: Path) -> None:
    h = start(slack, writes, tmp_path, publish=False)
    try:
        for source in ("mastodon", "bluesky", "x"):
            m = post(h, source)
            answer(h, m, PUB, f"answer on {source}")
            wait_for(lambda m=m: events(h, m, "answered"), what="recorded")
            assert events(h, m, "answered")[0].data["published"] is False
        assert writes.requests == []
    finally:
        h.stop()


def open_answer_modal(h: EarshotHarness, mention, user: str) -> dict[str, Any]:
    before = len(h.slack.views)
    assert action(h.url, ids.ANSWER, mention.key, user=user,
                  message_ts=mention.slack_ts).status_code == 200
    return wait_for(lambda: h.slack.views[before:], what="answer modal")[0]["view"]


def test_a_long_answer_that_is_only_recorded_is_not_length_checked(
        slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path) -> None:
    h = start(slack, writes, tmp_path, publish=False)
    try:
        long_text = "We are looking into it. " * 40  # 960 characters: over every limit
        for source in ("mastodon", "bluesky", "x"):
            m = post(h, source)
            modal = open_answer_modal(h, m, PUB)
            resp = view_submission(h.url, ids.ANSWER_VIEW, modal["private_metadata"],
                                   answer_values(long_text), user=PUB)
            assert resp.status_code == 200
            assert not resp.text or "errors" not in resp.json()  # a plain ack
            wait_for(lambda m=m: events(h, m, "answered"), what="recorded")
            [recorded] = events(h, m, "answered")
            assert recorded.data["published"] is False
            assert recorded.data["text"] == long_text.strip()
        assert writes.requests == []
    finally:
        h.stop()


@pytest.mark.parametrize("user", [PUB, AUTHOR])  # "publish" and "approval" modes
def test_a_long_answer_to_publish_is_refused_inside_the_modal(
        earshot: EarshotHarness, writes: WriteStandIn, user: str) -> None:
    m = post(earshot, "x")
    modal = open_answer_modal(earshot, m, user)
    resp = view_submission(earshot.url, ids.ANSWER_VIEW, modal["private_metadata"],
                           answer_values("語" * 141), user=user)
    body = resp.json()
    assert body["response_action"] == "errors"
    assert "Too long for X: 282 of 280" in body["errors"][v.ANSWER_BLOCK]
    assert events(earshot, m, "answered") == [] and events(earshot, m, "draft") == []
    assert writes.requests == []


@pytest.mark.parametrize("who", ["payload_team", EXTERNAL, GUEST])
def test_outsiders_and_guests_are_refused_and_change_nothing(
        earshot: EarshotHarness, writes: WriteStandIn, who: str) -> None:
    m = post(earshot, "mastodon")
    answer(earshot, m, AUTHOR, "a draft")
    draft_id = draft_id_of(earshot, m)
    user, team = (("UFOREIGN", "TOTHERORG") if who == "payload_team"
                  else (who, "T001"))
    before_events = len(earshot.store.events(m.key))
    before_views = len(earshot.slack.views)
    url = earshot.slack.response_url("refusal")

    for action_id, value in ((ids.CLAIM, m.key), (ids.ANSWER, m.key),
                             (ids.APPROVE, draft_id), (ids.REJECT, draft_id)):
        resp = action(earshot.url, action_id, value, user=user, team=team,
                      response_url=url)
        assert resp.status_code == 200
    resp = view_submission(earshot.url, ids.ANSWER_VIEW,
                           v.metadata(key=m.key, channel=m.slack_channel, mode="publish"),
                           answer_values("I speak for Acme now"), user=user, team=team)
    assert resp.json()["response_action"] == "errors"
    resp = slash(earshot.url, "/claim", m.short_id, user=user, team=team)
    assert "only members of this workspace" in resp.text

    refusals = wait_for(lambda: len(earshot.responses("refusal")) >= 4 and
                        earshot.responses("refusal"), what="refusals")
    assert all("only members of this workspace" in r["body"]["text"] for r in refusals)
    assert all(r["body"].get("response_type") == "ephemeral" for r in refusals)
    assert len(earshot.store.events(m.key)) == before_events
    assert len(earshot.slack.views) == before_views
    assert earshot.mention(m.key).state is State.NEW and earshot.mention(m.key).owner is None
    assert drafts.get(earshot.store, draft_id).status == drafts.DRAFT
    assert writes.requests == []


def test_member_still_passes_the_guard(earshot: EarshotHarness) -> None:
    m = post(earshot, "mastodon")
    action(earshot.url, ids.CLAIM, m.key, user=OTHER, message_ts=m.slack_ts)
    wait_for(lambda: earshot.mention(m.key).owner == OTHER, what="claimed")


def test_audit_csv_lists_exactly_the_published_replies(
        earshot: EarshotHarness, writes: WriteStandIn, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    direct = post(earshot, "mastodon")
    answer(earshot, direct, PUB, "Published directly")
    approved = post(earshot, "x")
    answer(earshot, approved, AUTHOR, "Published after approval")
    action(earshot.url, ids.APPROVE, draft_id_of(earshot, approved), user=PUB2,
           message_ts=draft_message(earshot, approved)["ts"])
    rejected = post(earshot, "mastodon")
    answer(earshot, rejected, AUTHOR, "Never published")
    draft = draft_id_of(earshot, rejected)
    view_submission(earshot.url, ids.REJECT_VIEW, json.dumps({"draft_id": draft}),
                    {messages.REASON_BLOCK: {messages.REASON_ACTION: text_value("no")}},
                    user=PUB)
    recorded = post(earshot, "hackernews")
    answer(earshot, recorded, PUB, "Only recorded")
    wait_for(lambda: events(earshot, approved, "published") and
             events(earshot, rejected, "rejected") and events(earshot, recorded, "answered")
             and events(earshot, direct, "published"), what="all four outcomes")
    earshot.store.flush()

    config = tmp_path / "audit.toml"
    config.write_text('[brand]\nterms=["Acme"]\n[departments.support]\nchannel="C1"\n'
                      '[routing]\ndefault="support"\n[escalation]\nchannel="C2"\n'
                      '[summary]\nchannel="C3"\n')
    monkeypatch.setenv("EARSHOT_DATA", str(earshot.settings.data_dir))
    capsys.readouterr()
    assert main(["audit", "--config", str(config)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert sorted((r["mention_key"], r["text"], r["written_by"], r["approved_by"])
                  for r in rows) == sorted([
        (direct.key, "Published directly", PUB, PUB),
        (approved.key, "Published after approval", AUTHOR, PUB2)])
    urls = {r["published_url"] for r in rows}
    assert all(u.startswith(("http://127.0.0.1", "https://x.com/")) for u in urls)
    assert len(writes.requests) == 2


def test_publisher_group_members_publish_until_the_group_changes(
        slack: SlackStandIn, writes: WriteStandIn, tmp_path: Path) -> None:
    slack.usergroups["SPRTEAM"] = [OTHER]
    h = start(slack, writes, tmp_path, groups=("SPRTEAM",))
    try:
        first = post(h, "mastodon")
        answer(h, first, OTHER, "As a group member")
        wait_for(lambda: events(h, first, "published"), what="published by group member")

        leave_group(h, "SPRTEAM", OTHER)
        second = post(h, "mastodon")
        answer(h, second, OTHER, "No longer a member")
        draft_id_of(h, second)  # a draft awaiting approval, not a publication
        assert len(writes.to("/api/v1/statuses")) == 1
    finally:
        h.stop()

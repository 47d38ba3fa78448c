"""The Slack stand-in behaves like the parts of Slack's Web API we rely on."""

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


def client(slack, **kw) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.url, retry_handlers=[], **kw)


def test_post_is_recorded_and_readable_in_history_with_metadata(slack):
    c = client(slack)
    meta = {"event_type": "earshot_mention", "event_payload": {"outbox_id": "o1"}}
    resp = c.chat_postMessage(channel="C1", text="hi <b>", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}], metadata=meta)
    assert slack.messages["C1"][0]["ts"] == resp["ts"]
    assert slack.messages["C1"][0]["metadata"] == meta
    method, params, headers = slack.calls_to("chat.postMessage")[0]
    assert method == "chat.postMessage" and params["text"] == "hi <b>"
    assert headers["authorization"] == "Bearer xoxb-test"
    plain = c.conversations_history(channel="C1")["messages"][0]
    assert "metadata" not in plain
    full = c.conversations_history(channel="C1", include_all_metadata=True)["messages"][0]
    assert full["metadata"]["event_payload"]["outbox_id"] == "o1"
    assert slack.posts_by_metadata() == {"o1": 1}


def test_history_is_newest_first_and_respects_oldest_and_pages(slack):
    c = client(slack)
    ts = [c.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)]
    page = c.conversations_history(channel="C1", limit=2)
    assert [m["text"] for m in page["messages"]] == ["4", "3"] and page["has_more"]
    nxt = c.conversations_history(channel="C1", limit=2,
                                  cursor=page["response_metadata"]["next_cursor"])
    assert [m["text"] for m in nxt["messages"]] == ["2", "1"]
    after = c.conversations_history(channel="C1", oldest=ts[2])
    assert [m["text"] for m in after["messages"]] == ["4", "3"]


def test_update_edits_in_place_and_replies_stay_out_of_history(slack):
    c = client(slack)
    ts = c.chat_postMessage(channel="C1", text="v1")["ts"]
    c.chat_update(channel="C1", ts=ts, text="v2")
    c.chat_postMessage(channel="C1", text="reply", thread_ts=ts)
    assert [m["text"] for m in c.conversations_history(channel="C1")["messages"]] == ["v2"]
    replies = c.conversations_replies(channel="C1", ts=ts)["messages"]
    assert [m["text"] for m in replies] == ["v2", "reply"]
    with pytest.raises(SlackApiError) as err:
        c.chat_update(channel="C1", ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"


def test_injected_429_has_retry_after_and_is_counted(slack):
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    c = client(slack)
    with pytest.raises(SlackApiError) as err:
        c.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] in ("7", ["7"])
    assert slack.rate_limited == 1
    c.chat_postMessage(channel="C1", text="x")  # only the next call failed
    assert len(slack.messages["C1"]) == 1


def test_injected_500_hang_and_error(slack):
    c = client(slack, timeout=0.2)
    slack.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as err:
        c.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 500
    slack.fail_next("chat.postMessage", hang=1)
    t0 = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - urllib's timeout type varies
        c.chat_postMessage(channel="C1", text="x")
    assert time.monotonic() - t0 < 0.9
    slack.fail_next("chat.postMessage", error="channel_not_found", channel="C2")
    c.chat_postMessage(channel="C1", text="x")  # other channel unaffected
    with pytest.raises(SlackApiError) as err:
        c.chat_postMessage(channel="C2", text="x")
    assert err.value.response["error"] == "channel_not_found"
    assert len(slack.messages["C1"]) == 1 and not slack.messages.get("C2")


def test_accepted_then_failed_post_is_stored(slack):
    slack.fail_next("chat.postMessage", status=500, accept=True)
    with pytest.raises(SlackApiError):
        client(slack).chat_postMessage(channel="C1", text="x")
    assert len(slack.messages["C1"]) == 1


def test_rate_limit_is_per_channel_with_burst(slack):
    slack.rate_per_second, slack.burst = 2, 3
    c = client(slack)
    for _ in range(3):
        c.chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as err:
        c.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    c.chat_postMessage(channel="C2", text="x")  # another channel has its own bucket
    time.sleep(0.55)
    c.chat_postMessage(channel="C1", text="x")
    assert slack.rate_limited == 1


def test_limits_refused_like_slack(slack):
    c = client(slack)
    with pytest.raises(SlackApiError) as err:
        c.chat_postMessage(channel="C1", text="x" * 40_001)
    assert err.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as err:
        c.chat_postMessage(channel="C1", text="x", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}])
    assert err.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as err:
        c.chat_postMessage(channel="C1", text="x", blocks=[{"type": "divider"}] * 51)
    assert err.value.response["error"] == "invalid_blocks"


def test_auth_views_users_groups_lists_and_response_url(slack):
    import requests

    slack.channels["support"] = "C1"
    slack.users["U1"] = {"name": "ann", "is_restricted": True}
    slack.usergroups["S1"] = ["U1", "U2"]
    c = client(slack)
    assert c.auth_test()["team_id"] == "T001"
    assert c.auth_test()["user_id"] == "UBOT"
    assert c.conversations_list()["channels"][0] == {
        "id": "C1", "name": "support", "is_channel": True, "is_member": True}
    assert c.users_info(user="U1")["user"]["is_restricted"] is True
    assert c.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    view = c.views_open(trigger_id="t1", view={"type": "modal", "title": {}})["view"]
    c.views_update(view_id=view["id"], view={"type": "modal", "title": {"x": 1}})
    assert [v["method"] for v in slack.views] == ["views.open", "views.update"]
    c.views_publish(user_id="U1", view={"type": "home"})
    assert slack.views[-1]["user_id"] == "U1"
    ts = c.chat_postMessage(channel="C1", text="x")["ts"]
    assert c.chat_getPermalink(channel="C1", message_ts=ts)["permalink"].endswith(
        ts.replace(".", ""))
    c.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert slack.ephemerals[0]["text"] == "only you"
    r = requests.post(slack.response_url("abc"), json={"text": "done"}, timeout=5)
    assert r.json()["ok"]
    assert slack.responses == [{"name": "abc", "body": {"text": "done"},
                                "headers": slack.responses[0]["headers"]}]


def test_missing_token_is_not_authed(slack):
    c = WebClient(base_url=slack.url, retry_handlers=[])
    with pytest.raises(SlackApiError) as err:
        c.auth_test()
    assert err.value.response["error"] == "not_authed"


def test_files_upload_v2_goes_through_the_three_steps_into_a_thread(slack):
    c = client(slack)
    parent = c.chat_postMessage(channel="C1", text="summary")["ts"]
    data = b"\x89PNG\r\n\x1a\n" + b"x" * 100
    resp = c.files_upload_v2(channel="C1", thread_ts=parent, content=data,
                             filename="chart.png", title="Chart", alt_txt="a chart")
    assert resp["ok"] and resp["file"]["id"]
    assert [c.method for c in slack.calls] == [
        "chat.postMessage", "files.getUploadURLExternal", "files.completeUploadExternal"]
    (stored,) = slack.files
    assert stored["data"] == data and stored["thread_ts"] == parent
    assert stored["title"] == "Chart" and stored["alt_txt"] == "a chart"
    share = slack.messages["C1"][-1]
    assert share["thread_ts"] == parent and share["files"][0]["name"] == "chart.png"


def test_completing_an_upload_that_never_arrived_fails(slack):
    c = client(slack)
    url = c.files_getUploadURLExternal(filename="a.png", length=10)
    with pytest.raises(SlackApiError) as err:
        c.files_completeUploadExternal(files=[{"id": url["file_id"], "title": "a"}],
                                       channel_id="C1")
    assert err.value.response["error"] == "file_not_found"

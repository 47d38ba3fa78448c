"""The mention message: hostile text stays harmless, limits hold, buttons and state lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot import mrkdwn
from bot.mention import Event, Link, State
from bot.slack import blocks, ids
from tests.slack.helpers import make_mention, make_settings

HOSTILE = "Hey <!channel> <!here> <@U123> & <https://evil.example|click> &amp; > < "
SETTINGS = make_settings()


def all_mrkdwn(message: dict) -> list[str]:
    out = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        for el in block.get("elements", []):
            if el.get("type") == "mrkdwn":
                out.append(el["text"])
    return out


def test_escape_replaces_ampersand_first():
    assert mrkdwn.escape_mrkdwn("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"


def test_hostile_text_author_and_title_cannot_ping_or_link():
    m = make_mention(text=HOSTILE, author="<!everyone>", title="<@U999> & <!here>", number=7)
    msg = blocks.mention_message(m, SETTINGS)
    joined = "\n".join(all_mrkdwn(msg))
    for bad in ("<!channel>", "<!here>", "<@U123>", "<@U999>", "<!everyone>",
                "<https://evil.example|click>"):
        assert bad not in joined
    assert "&lt;!channel&gt;" in joined and "&lt;@U123&gt;" in joined
    assert "&amp;amp;" in joined  # a literal "&amp;" in the post shows as typed
    assert "link_names" not in msg


def test_every_angle_bracket_comes_from_our_own_markup():
    m = make_mention(text=HOSTILE * 50, author="a<b>c", title="t>x<y")
    for text in all_mrkdwn(blocks.mention_message(m, SETTINGS)):
        # Strip our own constructs (<!date^..>, <https://..|..>); what remains is escaped.
        residue = text
        for start in ("<!date^", "<https://news.ycombinator.com"):
            while start in residue:
                i = residue.index(start)
                residue = residue[:i] + residue[residue.index(">", i) + 1:]
        assert "<" not in residue and ">" not in residue, residue


def test_long_emoji_post_is_cut_inside_limits_with_link_to_the_rest():
    text = (HOSTILE + "😀👍🏽🇩🇪👨‍👩‍👧 é" * 10) * 60
    text = (text * 3)[:10_000]
    m = make_mention(text=text, number=42)
    msg = blocks.mention_message(m, SETTINGS)
    assert len(msg["blocks"]) <= blocks.MAX_BLOCKS
    assert mrkdwn.slack_len(msg["text"]) <= blocks.MAX_TEXT
    for block in msg["blocks"]:
        if "text" in block:
            assert mrkdwn.slack_len(block["text"]["text"]) <= blocks.MAX_SECTION
        for el in block.get("elements", []):
            assert len(el.get("value", "")) <= blocks.MAX_BUTTON_VALUE
    body = msg["blocks"][1]["text"]["text"]
    assert body.endswith(f"… (<{m.url.replace('&', '&amp;')}|read the rest>)")
    # The text must survive a JSON round trip as valid UTF-8 (no lone surrogates).
    json.dumps(msg, ensure_ascii=False).encode("utf-8")
    kept = body[: body.rindex("… (")]
    assert kept.startswith("Hey &lt;!channel&gt;")
    assert not kept.endswith("\u200d") and not kept.endswith("&")  # whole emoji, no half entity


@pytest.mark.parametrize("tail", ["👍🏽", "🇩🇪", "👨‍👩‍👧", "é", "e\u0301", "1️⃣"])
def test_cut_never_splits_an_emoji_or_combining_sequence(tail):
    for room in range(1, 12):
        text = "x" * room + tail * 5
        cut, was_cut = mrkdwn.escape_cut(text, room + len(tail.encode("utf-16-le")) // 2 * 2
                                         - 1)
        assert was_cut
        rest = cut[room:]
        assert rest == tail * (len(rest) // len(tail)) if rest else True, (tail, room, cut)


def test_ampersands_count_escaped_and_entity_never_split():
    cut, was_cut = mrkdwn.escape_cut("&" * 100, 12)
    assert was_cut and cut == "&amp;&amp;"


def test_badges_routing_reason_and_short_id():
    m = make_mention(number=42)
    msg = blocks.mention_message(m, SETTINGS)
    joined = "\n".join(all_mrkdwn(msg))
    assert "*E-42*" in joined and "/claim E-42" in joined
    assert "Complaint" in joined and "-0.62" in joined
    assert "Routed to *billing*: matched keywords: refund, charged" in joined
    pos = blocks.mention_message(make_mention(complaint=False, sentiment=0.7), SETTINGS)
    assert "Positive" in "\n".join(all_mrkdwn(pos)) and "+0.70" in "\n".join(all_mrkdwn(pos))
    neutral = blocks.mention_message(make_mention(complaint=False, sentiment=0.0), SETTINGS)
    assert "Neutral" in "\n".join(all_mrkdwn(neutral))


def test_links_to_every_place_seen_capped_with_more_count():
    links = [Link("reddit", f"https://reddit.com/r/x/{i}") for i in range(12)]
    m = make_mention(links=links)
    line = blocks.mention_message(m, SETTINGS)["blocks"][2]["elements"][0]["text"]
    assert f"<{m.url}|Hacker News>" in line
    assert line.count("|Reddit>") == blocks.MAX_LINKS - 1
    assert line.endswith(f"+{13 - blocks.MAX_LINKS} more")


def test_link_with_pipe_or_bracket_in_url_cannot_break_out():
    assert mrkdwn.link("https://x.example/a|b>c", "x") == "<https://x.example/a%7Cb&gt;c|x>"
    assert mrkdwn.link("javascript:alert(1)", "x") == "x (javascript:alert(1))"


def test_buttons_carry_the_mention_key_and_claim_turns_into_release():
    m = make_mention()
    actions = blocks.mention_message(m, SETTINGS)["blocks"][-1]
    assert [e["action_id"] for e in actions["elements"]] == [ids.CLAIM, ids.ANSWER, ids.ESCALATE,
                                                             ids.CORRECT]
    assert {e["value"] for e in actions["elements"][:3]} == {m.key}
    claimed = make_mention(state=State.CLAIMED, owner="U1",
                           claimed_at=datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    actions = blocks.mention_message(claimed, SETTINGS)["blocks"][-1]
    assert actions["elements"][0]["action_id"] == ids.RELEASE


def test_state_lines():
    claimed = make_mention(state=State.CLAIMED, owner="U1",
                           claimed_at=datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    line = blocks.state_line(claimed)
    assert "Claimed by <@U1> since <!date^1795438800^" in line
    answered = make_mention(state=State.ANSWERED,
                            answered_at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    ev = Event(answered.key, "answered", datetime(2026, 11, 23, 14, 0, tzinfo=UTC), user="U2",
               data={"text": "done", "published": True, "url": "https://bsky.app/x"})
    line = blocks.state_line(answered, [ev])
    assert "Answered by <@U2>" in line and "<https://bsky.app/x|published reply>" in line
    esc = make_mention(state=State.ESCALATED, department="leadership",
                       escalated_at=datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    ev = Event(esc.key, "escalated", datetime(2026, 11, 23, 15, 0, tzinfo=UTC), user="U3",
               data={"from": "support", "to": "leadership", "reason": "press", "urgency": "urgent"})
    assert "Escalated to *leadership* (urgent) by <@U3>" in blocks.state_line(esc, [ev])
    assert "Unclaimed" in blocks.state_line(make_mention(number=3))


def test_thread_lines_escape_user_text():
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert blocks.thread_line(Event("k", "claimed", at, user="U1"), "E-42") == \
        "<@U1> claimed E-42"
    line = blocks.thread_line(Event("k", "answered", at, user="U2",
                                    data={"text": "<!channel> thanks & sorry"}))
    assert line == "<@U2> answered: &lt;!channel&gt; thanks &amp; sorry"
    line = blocks.thread_line(Event("k", "escalated", at, user="U3",
                                    data={"to": "billing", "urgency": "urgent",
                                          "reason": "refund <@U9>"}))
    assert line == "<@U3> escalated to billing (urgent): refund &lt;@U9&gt;"
    assert blocks.thread_line(Event("k", "claimed", at, user="<!here>")).startswith(
        "&lt;!here&gt; claimed")
    long = blocks.thread_line(Event("k", "answered", at, user="U2", data={"text": "x" * 9000}))
    assert mrkdwn.slack_len(long) <= blocks.MAX_TEXT


def test_a_posted_line_links_only_a_real_channel_id():
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert blocks.thread_line(Event("k", "posted", at, data={"channel": "C0SUPPORT"})) == \
        "Posted to <#C0SUPPORT>"
    line = blocks.thread_line(Event("k", "posted", at, data={"channel": "#support <!here>"}))
    assert line == "Posted to #support &lt;!here&gt;"


def test_fallback_text_is_escaped_and_bounded():
    m = make_mention(text="<!channel> " + "😀" * 5000, number=5)
    text = blocks.mention_message(m, SETTINGS)["text"]
    assert text.startswith("E-5 Complaint on Hacker News by user1: &lt;!channel&gt;")
    assert mrkdwn.slack_len(text) <= 4000


def test_long_title_and_url_never_leave_a_link_cut_open():
    """A title of ampersands (5 units each escaped) beside a long URL overflows the
    header section; the cut must shorten the title, not split the <url|title> link."""
    url = "https://example.org/" + "a" * 1400
    m = make_mention(title="&" * 600, url=url, author="x" * 200)
    header = blocks.mention_message(m, SETTINGS)["blocks"][0]["text"]["text"]
    assert mrkdwn.slack_len(header) <= blocks.MAX_SECTION
    assert f"<{url}|" in header and header.rstrip("*").endswith(">")
    assert header.count("<") == header.count(">")


@pytest.mark.parametrize("url", ["https://x.example/a\n", "https://x.example/a\nb",
                                 "https://x.example/a\tb"])
def test_url_with_a_line_break_is_not_made_into_a_link(url):
    out = mrkdwn.link(url, "x")
    assert "\n" not in out.split("(")[0] and not out.startswith("<")


def test_url_of_ampersands_cannot_push_a_section_past_the_limit():
    url = "https://example.org/?" + "&" * 1200  # 1,221 characters, 6,021 units escaped
    m = make_mention(title="t" * 500, url=url, text="x" * 5000)
    message = blocks.mention_message(m, SETTINGS)
    assert mrkdwn.slack_len(message["text"]) <= blocks.MAX_TEXT
    for text in all_mrkdwn(message)[1:]:  # the sections and contexts
        assert mrkdwn.slack_len(text) <= blocks.MAX_SECTION


def test_reach_shows_next_to_the_author_only_when_known():
    known = make_mention(author="ana@mastodon.example",
                         extra={"reach": {"count": 23456, "kind": "followers"}})
    header = blocks.mention_message(known)["blocks"][0]["text"]["text"]
    assert "ana@mastodon.example (23k followers)" in header
    unknown = make_mention(author="ana@mastodon.example")
    header = blocks.mention_message(unknown)["blocks"][0]["text"]["text"]
    assert "ana@mastodon.example ·" in header and "followers" not in header


# --- the corrections menu -------------------------------------------------------------------


def _menu(mention):
    actions = blocks.mention_message(mention, SETTINGS)["blocks"][-1]
    return next(e for e in actions["elements"] if e["action_id"] == ids.CORRECT)


def test_the_corrections_menu_offers_a_move_and_the_other_complaint_flag():
    menu = _menu(make_mention(number=42, complaint=True))
    assert menu["type"] == "overflow"
    assert [(o["text"]["text"], o["value"]) for o in menu["options"]] == [
        ("Move to another department…", "move|E-42"), ("Not a complaint", "not_complaint|E-42")]
    menu = _menu(make_mention(number=42, complaint=False))
    assert [o["text"]["text"] for o in menu["options"]][-1] == "Is a complaint"
    for option in menu["options"]:  # Slack's limits: text and value at most 75 characters
        assert len(option["text"]["text"]) <= 75 and len(option["value"]) <= 75


def test_undo_is_offered_while_the_last_move_holds_and_answered_ones_only_get_the_flag():
    moved = make_mention(number=7, department="billing", extra={blocks.MOVE_KEY: {
        "from": "support", "to": "billing", "by": "U1", "at": "2026-11-23T12:00:00+00:00"}})
    assert [o["value"] for o in _menu(moved)["options"]] == [
        "move|E-7", "not_complaint|E-7", "undo_move|E-7"]
    moved_on = make_mention(number=7, department="support", extra=moved.extra)
    assert "undo_move|E-7" not in [o["value"] for o in _menu(moved_on)["options"]]
    answered = make_mention(number=7, state=State.ANSWERED)
    lone = _menu(answered)  # an overflow needs two options: one choice is a button
    assert lone["type"] == "button" and lone["value"] == "not_complaint|E-7"


def test_a_mention_without_a_short_ref_gets_no_menu_and_values_are_read_strictly():
    huge = make_mention(native_id="x" * 200)
    actions = blocks.mention_message(huge, SETTINGS)["blocks"][-1]
    assert ids.CORRECT not in [e["action_id"] for e in actions["elements"]]
    assert blocks.read_correction("move|E-4") == ("move", "E-4")
    assert blocks.read_correction("undo_move|hackernews:1|2") == ("undo_move", "hackernews:1|2")
    for bad in (None, 7, "", "move", "move|", "delete|E-4", ["move|E-4"], "|E-4"):
        assert blocks.read_correction(bad) is None, bad


def test_correction_thread_lines_escape_department_names():
    t = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    moved = Event("k", "moved", t, user="U1", data={"from": "a<b", "to": "c&d"})
    assert blocks.thread_line(moved) == "moved from a&lt;b to c&amp;d by <@U1>"
    undone = Event("k", "move_undone", t, user="U1", data={"from": "booking", "to": "ops"})
    assert blocks.thread_line(undone) == "moved back from ops to booking by <@U1> (move undone)"
    marked = Event("k", "marked", t, user="U2", data={"complaint": True, "previous": False})
    assert blocks.thread_line(marked, "E-3") == "<@U2> marked E-3 as a complaint"

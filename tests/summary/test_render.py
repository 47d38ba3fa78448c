"""Rendering: Slack's limits hold on a huge day; outside text is escaped; phone-friendly."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.mrkdwn import slack_len
from bot.summary.jobs import post_daily_summary
from bot.summary.render import MAX_BLOCKS, MAX_SECTION, MAX_TEXT, duration, to_slack, to_text
from bot.summary.report import build_report
from tests.summary.helpers import mention, settings

DAY = datetime(2026, 3, 10, tzinfo=UTC)

PROBLEMS = ["my bag was lost", "on hold for hours", "refund never came", "flight delayed",
            "charged twice", "the app crashes at login", "rude staff at the desk",
            "my package never arrived", "seat was broken", "no reply to my emails",
            "wifi did not work", "order cancelled"]


def big_day(n: int = 10_000):
    rng = random.Random(7)
    out = []
    for i in range(n):
        problem = rng.choice(PROBLEMS)
        # Long, hostile text: mrkdwn control characters, mentions, fake links, emoji.
        text = (f"<!channel> @acme {problem} & <https://evil.example|click> "
                + "😡 " * rng.randint(0, 50) + "x" * rng.randint(0, 3000))
        out.append(mention(text, DAY + timedelta(seconds=8 * i), complaint=i % 5 != 0,
                           department=rng.choice(["support", "baggage", "billing", "ops",
                                                  "x" * 300]),
                           source=rng.choice(["mastodon", "reddit", "bluesky", "x"]),
                           links=rng.randint(1, 4)))
    return out


def check_limits(message: dict) -> None:
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert slack_len(message["text"]) <= MAX_TEXT
    for block in blocks:
        texts = []
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
        elif block["type"] == "header":
            assert slack_len(block["text"]["text"]) <= 150
        for text in texts:
            assert slack_len(text) <= MAX_SECTION
            assert "<!channel>" not in text and "<https://evil" not in text


def test_ten_thousand_mentions_fit_slack_limits():
    report = build_report(big_day(), [], start=DAY, end=DAY + timedelta(days=1),
                          title="big day", brand_words=["acme"])
    assert report.total == 10_000 and len(report.themes) == 10
    message = to_slack(report)
    check_limits(message)
    body = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    assert "&lt;!channel&gt;" in body and "&amp;" in body
    # Phone-friendly: quoted posts are cut short, no line is a wall of text.
    assert max(len(line) for line in body.split("\n")) < 400


def test_theme_names_and_sources_are_escaped(tmp_path):
    m = mention("my <b>bag</b> & case lost", DAY + timedelta(hours=1), source="a<b>&c")
    message = to_slack(build_report([m], [], start=DAY, end=DAY + timedelta(days=1)))
    text = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    assert "a&lt;b&gt;&amp;c" in text
    assert "my &lt;b&gt;bag&lt;/b&gt; &amp; case lost" in text


def test_links_with_control_characters_cannot_break_out():
    m = mention("bag lost", DAY + timedelta(hours=1),
                permalink="https://x.example/a|b><!here>")
    text = to_slack(build_report([m], [], start=DAY, end=DAY + timedelta(days=1)))
    body = "\n".join(b["text"]["text"] for b in text["blocks"] if b["type"] == "section")
    assert "<!here>" not in body and "https://x.example/a%7Cb%3E%3C!here%3E|" in body
    bad = mention("bag lost", DAY + timedelta(hours=1), permalink="javascript:alert(1)")
    body = str(to_slack(build_report([bad], [], start=DAY, end=DAY + timedelta(days=1))))
    assert "javascript:" not in body


def test_durations_read_short():
    assert [duration(x) for x in (None, 42, 600, 3900, 90000)] == [
        "–", "42s", "10m", "1h 05m", "1d 1h"]


def test_plain_text_lists_themes_departments_and_positive():
    mentions = [mention("my bag was lost again", DAY + timedelta(hours=i),
                        department="baggage") for i in range(4)]
    mentions.append(mention("love acme", DAY, complaint=False, sentiment=0.9, links=2))
    text = to_text(build_report(mentions, [], start=DAY, end=DAY + timedelta(days=1),
                                title="Tue", departments=["support", "baggage"]))
    assert "1. lost or delayed bags — 4" in text and "· baggage" in text
    assert "Most shared positive (2 places): love acme" in text
    assert "- baggage: 4 mentions, 4 unclaimed" in text


def test_daily_summary_posts_once_through_the_outbox_to_slack(tmp_path, slack, store):
    from bot.slack.client import make_client
    from bot.slack.outbox import Outbox

    s = settings(tmp_path, slack_url=slack.url)
    now = DAY + timedelta(hours=9)
    for i in range(5):
        store.add_mention(mention(f"@acme my bag {i} was lost & gone", now - timedelta(hours=i)))
    outbox = Outbox(store, make_client(s.slack), s, sleep=lambda _: None)
    post_daily_summary(s, store, outbox, now)
    post_daily_summary(s, store, outbox, now + timedelta(minutes=1))  # a rerun: no-op
    stats = outbox.drain(max_seconds=10)
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 1, stats
    assert [m["channel"] for m in slack.all_messages()] == ["#daily"]
    message = slack.messages["#daily"][0]
    check_limits({"text": message["text"], "blocks": message["blocks"]})
    assert "lost or delayed bags" in str(message["blocks"]) and "&amp; gone" in str(
        message["blocks"])


def test_example_url_with_a_line_break_stays_one_link():
    from bot.summary.render import mrkdwn_link

    out = mrkdwn_link("https://x.example/a\nb\tc", "E-1")
    assert out == "<https://x.example/a%0Ab%09c|E-1>"

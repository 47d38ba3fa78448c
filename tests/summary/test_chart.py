"""The 14-day theme chart: counts per day from a fixture (written out), a valid PNG of
a sensible size, `summary --chart`, and the upload into the summary's thread through
the Slack stand-in's files.getUploadURLExternal / files.completeUploadExternal."""

from __future__ import annotations

import logging
import struct
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.client import make_client
from bot.slack.outbox import Outbox
from bot.summary import chart as charts
from bot.summary.chart_post import upload_pending
from bot.summary.jobs import post_daily_summary, report_for_day
from tests.summary.helpers import mention, settings
from tests.summary.test_cli import run

DAY = datetime(2026, 3, 10, tzinfo=UTC).date()
BAGS = ["Acme lost my bag", "my luggage is lost, thanks Acme", "Acme, where is my suitcase"]
HOLD = ["on hold with Acme for two hours", "Acme kept me on hold all morning"]
# days before 10 March -> (lost bags, waits on hold)
PLAN = {0: (3, 2), 1: (1, 0), 3: (2, 1), 13: (1, 1), 14: (5, 5)}  # 14 days back: outside


def fill(store) -> None:
    for back, (bags, holds) in PLAN.items():
        at = datetime(2026, 3, 10, 10, tzinfo=UTC) - timedelta(days=back)
        for i in range(bags):
            store.add_mention(mention(BAGS[i % 3] + f" #{back}{i}", at + timedelta(minutes=i)))
        for i in range(holds):
            store.add_mention(mention(HOLD[i % 2] + f" #{back}{i}",
                                      at + timedelta(minutes=30 + i)))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_series_counts_each_theme_per_day(tmp_path, store):
    fill(store)
    report = report_for_day(settings(tmp_path), store, DAY, chart=True)
    series = report.chart
    assert series.days[0].isoformat() == "2026-02-25" and series.days[-1] == DAY
    by_name = dict(series.lines)
    assert set(by_name) == {"lost or delayed bags", "long waits on hold"}
    # index 13 = 10 March, 12 = 9 March, 10 = 7 March, 0 = 25 February
    assert by_name["lost or delayed bags"] == [1] + [0] * 9 + [2, 0, 1, 3]
    assert by_name["long waits on hold"] == [1] + [0] * 9 + [1, 0, 0, 2]


def test_png_is_valid_and_sized_for_slack(tmp_path, store):
    fill(store)
    series = report_for_day(settings(tmp_path), store, DAY, chart=True).chart
    data = charts.render_png(series)
    assert png_size(data) == (800, 450)
    assert 10_000 < len(data) < 400_000
    empty = charts.render_png(charts.Series(days=series.days))
    assert png_size(empty) == (800, 450)
    text = charts.alt_text(series)
    assert "lost or delayed bags: 3 on the last day, 7 in 14 days" in text


def test_theme_names_with_dollar_signs_are_drawn_as_text():
    days = [DAY - timedelta(days=i) for i in range(13, -1, -1)]
    series = charts.Series(days, [("$5 fee for a $$ seat $x^2$", [1] * 14)])
    assert png_size(charts.render_png(series)) == (800, 450)


def test_summary_chart_command_writes_a_png(tmp_path):
    from tests.summary.test_cli import export

    out = tmp_path / "chart.png"
    result = run(tmp_path, "--from", str(export(tmp_path)), "--dry-run", "--chart", str(out))
    assert result.returncode == 0, result.stderr
    assert png_size(out.read_bytes()) == (800, 450)
    assert f"written to {out}" in result.stderr
    bad = run(tmp_path, "--from", str(export(tmp_path)), "--chart", str(tmp_path / "x.jpg"))
    assert bad.returncode == 2 and "ending in .png" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run(tmp_path, "--dry-run", "--chart", str(tmp_path / "nope" / "c.png"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def posted(tmp_path, store, slack):
    """The daily summary queued and sent through the real outbox to the stand-in; its
    chart queued to follow."""
    cfg = settings(tmp_path, slack_url=slack.url)
    fill(store)
    outbox = Outbox(store, make_client(cfg.slack), cfg, rate_per_second=1000, burst=1000)
    post_daily_summary(cfg, store, outbox, NOW, item_id="summary:t")
    assert not slack.files  # nothing waits for Slack while the summary queues
    outbox.drain(max_seconds=5)
    return outbox


def test_chart_goes_into_the_summary_thread_once(posted, store, slack):
    summary = slack.messages["#daily"][0]
    assert upload_pending(store, posted.client, NOW) == 1
    (upload,) = slack.files
    assert upload["thread_ts"] == summary["ts"] and upload["filename"] == "earshot-2026-03-10.png"
    assert png_size(upload["data"]) == (800, 450)
    assert "lost or delayed bags: 3 on the last day" in upload["alt_txt"]
    assert [c.method for c in slack.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal", "files.completeUploadExternal"]
    # The next check (every minute, or after a restart) has nothing left to upload.
    assert upload_pending(store, posted.client, NOW + timedelta(minutes=1)) == 0
    assert len(slack.files) == 1


def test_missing_scope_costs_one_log_line_and_the_summary_stays(posted, store, slack, caplog):
    slack.fail_next("files.getUploadURLExternal", error="missing_scope")
    with caplog.at_level(logging.WARNING, logger="bot.summary.chart_post"):
        assert upload_pending(store, posted.client, NOW) == 0
    (line,) = [r.getMessage() for r in caplog.records]
    assert "missing_scope" in line and "files:write" in line
    assert not slack.files and len(slack.messages["#daily"]) == 1
    assert upload_pending(store, posted.client, NOW) == 0  # not retried every minute
    assert len(slack.calls_to("files.getUploadURLExternal")) == 1


def test_a_summary_not_yet_posted_keeps_its_chart_waiting(tmp_path, store, slack, caplog):
    cfg = settings(tmp_path, slack_url=slack.url)
    fill(store)
    outbox = Outbox(store, make_client(cfg.slack), cfg, rate_per_second=1000, burst=1000)
    post_daily_summary(cfg, store, outbox, NOW, item_id="summary:late")
    assert upload_pending(store, outbox.client, NOW + timedelta(minutes=1)) == 0
    outbox.drain(max_seconds=5)  # the bot comes back and posts the summary
    assert upload_pending(store, outbox.client, NOW + timedelta(minutes=30)) == 1
    assert slack.files[0]["thread_ts"] == slack.messages["#daily"][0]["ts"]


def test_a_summary_never_posted_gets_no_chart(tmp_path, store, slack, caplog):
    cfg = settings(tmp_path, slack_url=slack.url)
    fill(store)
    outbox = Outbox(store, make_client(cfg.slack), cfg, rate_per_second=1000, burst=1000)
    post_daily_summary(cfg, store, outbox, NOW, item_id="summary:never")
    with caplog.at_level(logging.WARNING, logger="bot.summary.chart_post"):
        assert upload_pending(store, outbox.client, NOW + timedelta(hours=3)) == 0
    assert "was not posted" in caplog.text and not slack.files
    assert upload_pending(store, outbox.client, NOW + timedelta(hours=3)) == 0

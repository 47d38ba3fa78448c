"""summary: print or post the daily top-complaints summary.

  python -m bot summary --dry-run [--date YYYY-MM-DD]   the summary as text
  python -m bot summary --json [--date YYYY-MM-DD]      the same content as JSON
  python -m bot summary --post                          post it now (and drain the outbox)
  python -m bot summary --from FILE --dry-run|--json    what it would have said about an
                                                        export (CSV/JSONL, like `replay`)
  python -m bot summary --chart FILE.png [...]          also write the 14-day theme chart
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import logging
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.commands.common import UsageError, posting_turn
from bot.ingest.exports import ExportError, Post, read_posts
from bot.mention import Mention, utcnow
from bot.settings import Settings, load_settings
from bot.summary.render import to_json, to_slack, to_text
from bot.summary.report import Report, build_report, day_window
from bot.text import plural

if TYPE_CHECKING:
    from bot.judgment.judge import Judge

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "summary", help="print or post the daily top-complaints summary",
        description="Build the daily summary from the store (or from an export with "
                    "--from) and print it as text (--dry-run), as JSON (--json), or post "
                    "it to the summary channel now (--post).")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the summary as text")
    mode.add_argument("--json", action="store_true", help="print the summary as JSON")
    mode.add_argument("--post", action="store_true", help="post it to Slack now")
    p.add_argument("--date", metavar="YYYY-MM-DD",
                   help="a calendar day in the configured time zone (default: the 24 "
                        "hours to now; with --from: the export's last day)")
    p.add_argument("--from", dest="source_file", metavar="FILE",
                   help="build it from a CSV/JSONL export instead of the store")
    p.add_argument("--chart", metavar="FILE.png",
                   help="also write the chart of the top themes over the last 14 days "
                        "(a PNG; with --post it also goes into the summary's thread)")
    return p


def _fail(message: str) -> int:
    print(f"earshot summary: {message}", file=sys.stderr)
    return 2


# The report reads a week before the day and ends a day after it; keep every date
# it computes inside what datetime can hold (year 1 and 9999 overflow).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def run(args: argparse.Namespace) -> int:
    day: date | None = None
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            return _fail(f"--date {args.date!r} is not a date like 2026-03-01")
        if not FIRST_DAY <= day <= LAST_DAY:
            return _fail(f"--date {args.date} is out of range; expected a day from "
                         f"{FIRST_DAY} to {LAST_DAY}")
    if args.source_file and args.post:
        return _fail("--from builds a preview only; use it with --dry-run or --json")
    chart_problem = _chart_path_problem(getattr(args, "chart", None))
    if chart_problem:
        return _fail(chart_problem)
    settings = load_settings(args.config)
    if args.source_file:
        try:
            report = report_from_export(settings, Path(args.source_file), day,
                                        chart=bool(args.chart))
        except ExportError as exc:
            return _fail(str(exc))
        except (UnicodeDecodeError, csv.Error) as exc:
            return _fail(f"{args.source_file}: cannot be read as UTF-8 CSV/JSONL ({exc})")
        except OSError as exc:  # a directory named like a file, no permission...
            return _fail(f"{args.source_file}: cannot be read ({exc.strerror or exc})")
    else:
        if args.post and not settings.slack.bot_token:
            return _fail("SLACK_BOT_TOKEN is not set: cannot post (try --dry-run)")
        return _from_store(settings, args, day)
    _print(report, args)
    return _write_chart(report, args)


def _chart_path_problem(path: str | None) -> str | None:
    """Checked before any work: a chart that cannot be written should not cost a run."""
    if path is None:
        return None
    target = Path(path)
    if target.suffix.lower() != ".png":
        return f"--chart {path!r}: expected a file name ending in .png"
    if target.is_dir():
        return f"--chart {path!r} is a directory"
    if not target.parent.is_dir():
        return f"--chart {path!r}: the folder {str(target.parent)!r} does not exist"
    return None


def _write_chart(report: Report, args: argparse.Namespace) -> int:
    if not args.chart:
        return 0
    from bot.summary import chart as charts

    series = report.chart or charts.Series(days=[])
    try:
        Path(args.chart).write_bytes(charts.render_png(series))
    except OSError as exc:
        return _fail(f"--chart {args.chart!r}: cannot be written ({exc.strerror or exc})")
    themes = len(series.lines)
    print(f"chart of {themes} theme{'' if themes == 1 else 's'} over {len(series.days)} "
          f"days written to {args.chart}", file=sys.stderr)
    return 0


def _print(report: Report, args: argparse.Namespace) -> None:
    if args.json:
        json.dump(to_json(report), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(to_text(report))


def _from_store(settings: Settings, args: argparse.Namespace, day: date | None) -> int:
    from bot.commands.common import open_data_store
    from bot.store.lockfile import StoreLockedError
    from bot.summary import jobs as summary_jobs

    try:
        # --dry-run/--json only read: without the lock, so also while the bot runs.
        store = open_data_store(settings, read_only=not args.post)
    except StoreLockedError as exc:  # --post writes: the running bot holds the store
        raise UsageError(f"summary --post cannot run beside the bot: {exc}. The running "
                         "bot posts the daily summary itself; stop it to post one now. "
                         "--dry-run and --json work while it runs.") from None
    except RuntimeError as exc:
        print(f"earshot summary: cannot open the store in {settings.data_dir}: {exc}",
              file=sys.stderr)
        return 1
    try:
        now = utcnow()
        if args.post:
            return _post_now(settings, store, args, day, now)
        chart = bool(args.chart)
        report = (summary_jobs.report_for_day(settings, store, day, chart=chart) if day
                  else summary_jobs.report_last_24h(settings, store, now, chart=chart))
        _print(report, args)
        return _write_chart(report, args)
    finally:
        store.close()


def _post_now(settings: Settings, store: Any, args: argparse.Namespace, day: date | None,
              now: datetime) -> int:
    """--post: queue the summary (and its chart), post it if Slack answers, then upload
    the chart. Slack being down is said in one sentence: the summary stays queued and
    the bot posts it when Slack answers."""
    from bot.slack.client import make_client, slack_problem
    from bot.slack.outbox import Outbox
    from bot.summary import chart_post
    from bot.summary import jobs as summary_jobs

    problem = slack_problem(settings.slack)  # one quiet try, not a minute of retries
    outbox = Outbox(store, make_client(settings.slack), settings)
    manual = f"summary:manual:{now.isoformat()}"
    if day is None:  # its chart is uploaded below, once the summary is posted
        report = summary_jobs.post_daily_summary(settings, store, outbox, now, item_id=manual)
    else:
        report = summary_jobs.report_for_day(settings, store, day, chart=True)
        message = to_slack(report)
        outbox.message(settings.summary.channel, message["text"], blocks=message["blocks"],
                       item_id=manual)
        if report.chart and not report.chart.empty:
            chart_post.queue_chart(store, manual, report.chart, day.isoformat(), now)
    if problem is None:
        with posting_turn() as mine:
            if not mine:
                store.flush()
                print(f"queued the summary for {report.title}; the running `serve` (the "
                      "leader replica) posts it to "
                      f"{settings.summary.channel} within seconds")
                return _write_chart(report, args)
            outbox.drain(max_seconds=60)
        item = store.get_outbox(manual)
        if item is not None and item.status == "sent":
            print(f"posted the summary for {report.title} to {settings.summary.channel}")
            chart_post.upload_pending(store, outbox.client, now)
            return _write_chart(report, args)
        problem = "Slack did not take it within a minute"
    store.flush()
    print(f"earshot summary: the summary for {report.title} is queued; {problem}, so it "
          "will be posted when Slack answers (the running bot, or the next `summary "
          "--post`, sends it)", file=sys.stderr)
    return 1


def report_from_export(settings: Settings, path: Path, day: date | None, *,
                       chart: bool = False) -> Report:
    """Judge every post of the export like the pipeline would, then build the report
    for `day` (default: the export's last day). Posts without created_at are taken to
    be from the reported day, and a warning on stderr (and the title) says so."""
    from bot.judgment.judge import Judge
    from bot.summary import jobs as summary_jobs

    posts = list(read_posts(path))
    if not posts:
        raise ExportError(f"{path}: no posts in the file")
    tz = ZoneInfo(settings.summary.timezone)
    if day is None:
        dated = [p.created_at for p in posts if p.created_at]
        day = max(dated).astimezone(tz).date() if dated else utcnow().astimezone(tz).date()
    start, end = day_window(day, settings.summary.timezone)
    undated = sum(1 for p in posts if p.created_at is None)
    note = ""
    if undated:
        # Said out loud: an export without dates would otherwise look like one busy day.
        every = "none of its rows carry" if undated == len(posts) else (
            f"{plural(undated, 'row')} of {len(posts):,} carry no")
        print(f"earshot summary: {path}: {every} a created_at date; they are counted on "
              f"{day.isoformat()}", file=sys.stderr)
        note = f"; {plural(undated, 'post')} without a date"
    judge = Judge(settings)
    mentions = [_mention(p, judge, start) for p in posts]
    mentions.sort(key=lambda m: m.created_at)
    report = build_report(
        mentions, [], start=start, end=end, timezone=settings.summary.timezone,
        title=f"{summary_jobs.day_title(day)} (from {path.name}{note})",
        departments=list(settings.departments),
        brand_words=summary_jobs.brand_words(settings))
    if chart:
        from bot.summary.chart import theme_series

        report.chart = theme_series(report, mentions)
    return report


def _mention(post: Post, judge: Judge, default_time: datetime) -> Mention:
    # Exports keep HTML entities (&amp;); a mention's text is plain (sources unescape).
    judgment = judge.judge(post.text)
    created = post.created_at or default_time
    return Mention(
        source=str(post.extra.get("source") or "export"), native_id=post.id,
        text=html.unescape(post.text), url=post.url, created_at=created, author=post.author,
        sentiment=judgment.sentiment, complaint=judgment.complaint,
        department=judgment.department, reason=judgment.reason)

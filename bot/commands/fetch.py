"""fetch: poll the mention sources (once, or on their schedules)."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TextIO

from bot.commands.common import open_data_store, posting_turn
from bot.ingest.polling import PollOutcome, SourcePoller
from bot.mention import Mention
from bot.scheduler import build_pollers, build_scheduler
from bot.settings import Settings, load_settings
from bot.store import Store, open_store
from bot.text import printable  # posts must not send terminal escapes

if TYPE_CHECKING:
    from bot.slack.outbox import Outbox, OutboxQueue
    from bot.store import Store

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "fetch", help="poll the mention sources",
        description="Poll every enabled source for new mentions, judge and route them, store "
                    "them and queue them for Slack. Without --once, keep polling on each "
                    "source's interval until interrupted (use `serve` to also run Slack).")
    p.add_argument("--once", action="store_true", help="run one polling cycle and exit")
    p.add_argument("--dry-run", action="store_true",
                   help="print each new mention (department, complaint, reason, links) "
                        "instead of storing it or posting to Slack")
    p.add_argument("--source", action="append", metavar="NAME",
                   help="poll only this source (repeatable)")
    return p


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.source:
        streams = set(args.source) & {s.name for s in settings.enabled_streams()}
        if streams:
            print(f"earshot: --source {', '.join(sorted(streams))}: a live stream, read by "
                  "`serve` as posts arrive; fetch polls the other sources", file=sys.stderr)
            return 2
        unknown = set(args.source) - {s.name for s in settings.enabled_sources()}
        if unknown:
            print(f"earshot: --source {', '.join(sorted(unknown))}: not an enabled source in "
                  f"{settings.path}", file=sys.stderr)
            return 2
    if not settings.enabled_sources():
        live = " (streams are read by `serve`)" if settings.enabled_streams() else ""
        print(f"earshot: no polled source is enabled in {settings.path}{live}; enable one "
              "under [sources.<name>]", file=sys.stderr)
        return 2
    if args.dry_run:
        if not args.once:
            print("earshot: --dry-run polls once (as with --once): a dry run stores "
                  "nothing, so there is nothing for a second cycle to continue",
                  file=sys.stderr)
        # A throwaway store: a dry run can be repeated and changes nothing.
        with tempfile.TemporaryDirectory(prefix="earshot-dry-run-") as tmp:
            # embedded: never DATABASE_URL's database, whatever the environment says
            return _run_once(settings, open_store(tmp, embedded=True), args.source,
                             dry_run=True)
    if args.once:
        return _run_once(settings, open_data_store(settings), args.source, dry_run=False)
    return _run_forever(settings)


def _run_once(settings: Settings, store: Store, only: list[str] | None, *,
              dry_run: bool) -> int:
    queue, outbox = (None, None) if dry_run else _queues(settings, store)
    try:
        if outbox is not None:
            outbox.queue_unposted()
        pollers = [p for p in build_pollers(settings, store, queue)
                   if not only or p.name in only]
        outcomes = poll_all(pollers)
        if dry_run:
            for outcome in outcomes:
                if outcome.result:
                    print_mentions(outcome.result.new, sys.stdout)
        print_summary(outcomes, sys.stderr)
        if outbox is not None:
            _post_queued(outbox)
        elif not dry_run:
            print("slack: not configured (SLACK_BOT_TOKEN unset); new mentions are queued "
                  "and will be posted when `python -m bot serve` runs", file=sys.stderr)
    finally:
        if outbox is not None:
            outbox.close()
        store.close()
    return 0 if any(o.ok for o in outcomes) else 1


def _post_queued(outbox: Outbox) -> None:
    with posting_turn() as mine:
        if not mine:
            print("slack: new mentions are queued; the running `serve` (the leader replica) "
                  "posts them", file=sys.stderr)
            return
        stats = outbox.drain(max_seconds=120)
    print(f"slack: {stats}", file=sys.stderr)


def poll_all(pollers: list[SourcePoller]) -> list[PollOutcome]:
    """Poll every source at once, each on its own thread: a slow or hanging source (it
    is cut off at its read deadline) never delays the others' mentions."""
    if len(pollers) <= 1:
        return [p.poll(force=True, report=False) for p in pollers]
    with ThreadPoolExecutor(max_workers=len(pollers), thread_name_prefix="fetch") as pool:
        return list(pool.map(lambda p: p.poll(force=True, report=False), pollers))


def _run_forever(settings: Settings) -> int:
    from apscheduler.schedulers.blocking import BlockingScheduler

    store = open_data_store(settings)
    queue, outbox = _queues(settings, store)
    roles = None
    if outbox is not None:
        from bot.roles import Roles
        from bot.slack.outbox import OutboxWorker

        # Posts only while no `serve` replica leads (PostgreSQL): one poster per outbox.
        roles = Roles(store, outbox, OutboxWorker(outbox), None).start()
    scheduler = build_scheduler(settings, store, queue, poll_only=True,
                                scheduler=BlockingScheduler(timezone="UTC"))
    log.info("polling %d source(s); Ctrl-C to stop", len(settings.enabled_sources()))
    from bot.commands.shutdown import graceful_sigterm

    try:
        with graceful_sigterm():  # Terminated is a SystemExit
            scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if roles is not None:
            roles.stop()
        store.close()
    return 0


def _queues(settings: Settings, store: Store) -> tuple[OutboxQueue, Outbox | None]:
    """(queue, sender): where the pipeline queues posts, and the outbox that sends them
    (None without a Slack token). Without Slack the mentions are still queued, by an
    enqueue-only queue, so `serve` posts them later: a mention stored without its
    outbox row would never be posted."""
    from bot.slack.outbox import Outbox, OutboxQueue

    if not settings.slack.bot_token:
        return OutboxQueue(store, settings), None
    from bot.slack.client import make_client

    outbox = Outbox(store, make_client(settings.slack), settings)
    return outbox, outbox


def print_mentions(mentions: Iterable[Mention], out: TextIO) -> None:
    for m in mentions:
        flag = "complaint" if m.complaint else "no complaint"
        snippet = " ".join(printable(m.text).split())
        if len(snippet) > 160:
            snippet = snippet[:157] + "..."
        lines = [f"{m.short_id or m.key}  -> {m.department}  [{flag}, sentiment "
                 f"{m.sentiment:+.2f}]",
                 f"    {m.source} @{' '.join(m.author.split())}: {snippet}",
                 f"    why: {m.reason}",
                 *(f"    {link.source}: {link.url}" for link in m.all_links())]
        for line in lines:
            print(printable(line), file=out)


def print_summary(outcomes: list[PollOutcome], out: TextIO) -> None:
    for o in outcomes:
        if o.ok and o.result is not None:
            r = o.result
            print(f"{o.source}: {o.fetched} fetched, {len(r.new)} new, {len(r.merged)} merged "
                  f"into earlier mentions, {r.seen} already seen, {len(r.dropped)} dropped"
                  + _why_dropped(r.dropped), file=out)
        elif o.skipped:
            print(f"{o.source}: not polled: {o.error or 'backing off'} (cursor kept)", file=out)
        else:
            error = o.error or "unknown error"
            if error.startswith(f"{o.source}: "):  # source errors name their source
                error = error[len(o.source) + 2:]
            print(f"{o.source}: failed: {error} (cursor kept; will retry)", file=out)


def _why_dropped(dropped: list[tuple[Mention, str]]) -> str:
    """" (no brand term: 2; own account: 1)": why, counted, most common first."""
    if not dropped:
        return ""
    counts = Counter(why for _, why in dropped)
    return " (" + "; ".join(f"{why}: {n}" for why, n in counts.most_common()) + ")"

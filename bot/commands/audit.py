"""audit: every reply published on a source, as CSV.

  python -m bot audit                      all published replies
  python -m bot audit --since 2026-11-01   published on or after that day (UTC)

Columns: published_at, mention (E-42), mention_key, source, original_url, written_by,
approved_by (Slack user ids), published_url, text (exactly as published), draft_id.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime

from bot.answers.audit import audit_rows, write_csv
from bot.commands.common import open_data_store
from bot.settings import load_settings
from bot.store import Store

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "audit", help="print every published reply as CSV",
        description="Print every reply Earshot published on a source (who wrote it, who "
                    "approved it, when, the exact text and the link) as CSV, from the "
                    "store in the data directory.")
    p.add_argument("--since", metavar="YYYY-MM-DD",
                   help="only replies published on or after this day (UTC)")
    return p


def run(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        try:
            since = datetime.combine(date.fromisoformat(args.since), datetime.min.time(),
                                     tzinfo=UTC)
        except ValueError:
            print(f"earshot audit: --since expects a date like 2026-11-01, got "
                  f"{args.since!r}", file=sys.stderr)
            return 2
    settings = load_settings(args.config)
    try:
        # Read-only: no lock, so this works while the bot runs on the same store.
        store = open_data_store(settings, read_only=True)
        return _print(store, since)
    except RuntimeError as exc:  # e.g. the store kept changing while it was read
        print(f"earshot audit: cannot read the store in {settings.data_dir}: {exc}",
              file=sys.stderr)
        return 1


def _print(store: Store, since: datetime | None) -> int:
    try:
        write_csv(audit_rows(store, since), sys.stdout)
    finally:
        store.close()
    return 0

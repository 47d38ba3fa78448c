"""store copy: move everything Earshot remembers between the embedded TinyDB store and
PostgreSQL.

  python -m bot store copy --to "$DATABASE_URL"     TinyDB directory -> PostgreSQL
  python -m bot store copy --from "$DATABASE_URL"   PostgreSQL -> TinyDB directory

The TinyDB directory is --data (default $EARSHOT_DATA or ./data). A target that already
holds anything is refused unless --force: a PostgreSQL target is then emptied in the
same transaction as the copy, a TinyDB directory is moved aside (nothing is deleted).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.store.lockfile import StoreLockedError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "store", help="copy the store between TinyDB and PostgreSQL",
        description="copy: every mention (with its number), cursor, outbox row, event, "
                    "draft and audit entry from the TinyDB directory to PostgreSQL (--to) "
                    "or back (--from), then print the counts on both sides.")
    p.add_argument("action", choices=["copy"], help="what to do")
    way = p.add_mutually_exclusive_group(required=True)
    way.add_argument("--to", metavar="DATABASE_URL",
                     help="copy the TinyDB directory into this PostgreSQL database")
    way.add_argument("--from", dest="from_url", metavar="DATABASE_URL",
                     help="copy this PostgreSQL database into the TinyDB directory")
    p.add_argument("--data", metavar="DIR", type=Path, default=None,
                   help="the TinyDB data directory (default: $EARSHOT_DATA or ./data)")
    p.add_argument("--force", action="store_true",
                   help="replace a target that is not empty (PostgreSQL: emptied in the "
                        "same transaction; TinyDB: the directory is moved aside)")
    return p


def run(args: argparse.Namespace) -> int:
    from bot.store.postgres.url import normalise

    data = args.data or Path(os.environ.get("EARSHOT_DATA") or "./data")
    url = normalise(args.to or args.from_url)  # StoreOpenError: one line, exit 2
    try:
        if args.to:
            return _to_postgres(data, url, force=args.force)
        return _to_tinydb(url, data, force=args.force)
    except StoreLockedError as exc:
        print(f"earshot store copy: {exc}", file=sys.stderr)
        return 2


def _to_postgres(data: Path, url: str, *, force: bool) -> int:
    from bot.store.transfer import PostgresSide, TinyDBSide, copy_all

    if not data.is_dir():
        print(f"earshot store copy: no TinyDB store at {data} (set --data or EARSHOT_DATA)",
              file=sys.stderr)
        return 2
    source = TinyDBSide(data, read_only=True)
    target = PostgresSide(url, read_only=False)
    try:
        if any(target.counts().values()):
            if not force:
                return _refuse(target.name, target.counts())
            target.wipe()
        before = source.counts()
        copied = copy_all(source, target)
        after = target.counts()
        if copied == before == after:
            target.commit()  # otherwise close() rolls the copy back
    finally:
        target.close()
        source.close()
    return _report(source.name, target.name, before, copied, after)


def _to_tinydb(url: str, data: Path, *, force: bool) -> int:
    from bot.store.transfer import PostgresSide, TinyDBSide, copy_all

    source = PostgresSide(url, read_only=True)
    try:
        if data.exists() and any(data.iterdir()):
            existing = TinyDBSide(data, read_only=True)
            counts = existing.counts()
            existing.close()
            if any(counts.values()) and not force:
                return _refuse(existing.name, counts)
            aside = data.with_name(f"{data.name}.replaced-"
                                   f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
            data.rename(aside)
            print(f"earshot store copy: moved the existing {data} aside to {aside}",
                  file=sys.stderr)
        before = source.counts()
        target = TinyDBSide(data, read_only=False)
        try:
            copied = copy_all(source, target)
        finally:
            target.close()
        reopened = TinyDBSide(data, read_only=True)  # indexes rebuilt from what was written
        after = reopened.counts()
        reopened.close()
    finally:
        source.close()
    return _report(source.name, target.name, before, copied, after)


def _refuse(name: str, counts: dict[str, int]) -> int:
    held = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    print(f"earshot store copy: the target {name} is not empty ({held}); pass --force to "
          "replace it", file=sys.stderr)
    return 2


def _report(source: str, target: str, before: dict[str, int], copied: dict[str, int],
            after: dict[str, int]) -> int:
    """Counts in the source, copied, and in the target afterwards; 1 if any differ."""
    print(f"copied {source} -> {target}")
    print(f"  {'':10} {'source':>10} {'copied':>10} {'target':>10}")
    for kind in before:
        same = before[kind] == copied[kind] == after[kind]
        print(f"  {kind:10} {before[kind]:>10,} {copied[kind]:>10,} {after[kind]:>10,}"
              f"{'' if same else '   MISMATCH'}")
    if not before == copied == after:
        print("earshot store copy: the counts differ (see above); a PostgreSQL target was "
              "left as it was", file=sys.stderr)
        return 1
    return 0

"""Give an export without dates some: created_at spread over the last N days, in file order.

  .venv/bin/python bench/dated_export.py IN.csv OUT.csv [--days 14] [--end 2026-03-10]

The development data (../shared/data/*.csv) has no usable dates (the airline file lost
them in a spreadsheet), so `summary --chart` on it would draw a single day. This writes
a copy whose rows are spread evenly over `--days` days ending on `--end` (noon UTC of
that day is the last post), keeping their order. The airline rows are grouped by
airline, so the days differ the way the airlines' complaints do: synthetic dates, for a
picture of what a leader gets, not a measurement.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path)
    p.add_argument("target", type=Path)
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--end", type=date.fromisoformat, default=date(2026, 3, 10))
    args = p.parse_args(argv)
    with args.source.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        fields = [f for f in reader.fieldnames or [] if f != "created_at"] + ["created_at"]
    if not rows:
        print(f"{args.source}: no rows", file=sys.stderr)
        return 2
    end = datetime.combine(args.end, time(12), UTC)
    span = timedelta(days=args.days) - timedelta(minutes=1)
    with args.target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for i, row in enumerate(rows):
            at = end - span + span * i / max(1, len(rows) - 1)
            writer.writerow({**row, "created_at": at.isoformat(timespec="seconds")})
    print(f"wrote {len(rows):,} rows over {args.days} days to {args.target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

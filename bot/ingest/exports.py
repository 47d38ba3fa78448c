"""Read a CSV or JSONL export of posts (for `replay` and `summary --from`).

Columns: `id`, `text`, optional `author`, `url`, `created_at`; other columns are kept
in `Post.extra` (so evaluation scripts can read labels from the same rows).
"""

from __future__ import annotations

import csv
import itertools
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.mention import parse_time


class ExportError(Exception):
    """A problem with the export file, worded for the person who gave it. `why` is the
    same without the file and line (for a warning that names them itself)."""

    def __init__(self, message: str, *, why: str | None = None) -> None:
        super().__init__(message)
        self.why = why or message


@dataclass
class Post:
    id: str
    text: str
    author: str = ""
    url: str = ""
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# Called with (where, why) for a row that cannot be read; without it, such a row
# raises ExportError and ends the read.
OnBadRow = Callable[[str, str], None]


def read_posts(path: str | Path, *, on_bad_row: OnBadRow | None = None) -> Iterator[Post]:
    """Yield posts from a .csv or .jsonl/.ndjson/.json-lines file, or from standard input
    when `path` is "-" (JSONL if the first line starts with "{", else CSV). A malformed
    row raises ExportError, or, given `on_bad_row`, is reported to it and skipped.
    A file-level problem (missing, wrong kind, missing columns) always raises."""
    if str(path) == "-":
        yield from _read(sys.stdin, "-", None, on_bad_row)
        return
    path = Path(path)
    if not path.exists():
        raise ExportError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        kind = "jsonl"
    elif suffix in {".csv", ".tsv"}:
        kind = suffix[1:]
    else:
        raise ExportError(f"{path}: expected a .csv or .jsonl file")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from _read(fh, str(path), kind, on_bad_row)


def _read(fh: TextIO, name: str, kind: str | None, on_bad_row: OnBadRow | None
          ) -> Iterator[Post]:
    lines: Iterator[str] = iter(fh)
    if kind is None:  # standard input: look at the first line to tell the format
        first = next(lines, "")
        kind = "jsonl" if first.lstrip("\ufeff \t").startswith("{") else "csv"
        lines = itertools.chain([first], lines)
    rows = (_jsonl_rows(lines, name) if kind == "jsonl"
            else _csv_rows(lines, name, delimiter="\t" if kind == "tsv" else ","))
    for lineno, row in rows:
        try:
            if isinstance(row, ExportError):
                raise row
            yield _to_post(name, lineno, row)
        except ExportError as exc:
            if on_bad_row is None:
                raise
            on_bad_row(f"{name}:{lineno}", exc.why)


def _csv_rows(lines: Iterable[str], name: str, delimiter: str
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(lines, delimiter=delimiter)
    missing = {"id", "text"} - set(reader.fieldnames or [])
    if missing:
        raise ExportError(f"{name}: missing column(s) {', '.join(sorted(missing))}; "
                          "expected id, text and optionally author, url, created_at")
    for row in reader:
        yield reader.line_num, row


def _jsonl_rows(lines: Iterable[str], name: str
                ) -> Iterator[tuple[int, dict[str, Any] | ExportError]]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield lineno, ExportError(f"{name}:{lineno}: not valid JSON ({exc.msg})",
                                      why=f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            yield lineno, ExportError(f"{name}:{lineno}: expected a JSON object per line",
                                      why="expected a JSON object per line")
            continue
        yield lineno, row


def _to_post(name: str, lineno: int, row: dict[str, Any]) -> Post:
    if row.get("id") in (None, "") or row.get("text") is None:
        raise ExportError(f"{name}:{lineno}: every row needs 'id' and 'text'",
                          why="every row needs 'id' and 'text'")
    created = row.get("created_at")
    try:
        created_at = parse_time(str(created)) if created not in (None, "") else None
    except ValueError:
        why = f"created_at {created!r} is not an ISO 8601 date-time"
        raise ExportError(f"{name}:{lineno}: {why}", why=why) from None
    known = {"id", "text", "author", "url", "created_at"}
    return Post(
        id=str(row["id"]), text=str(row["text"]), author=str(row.get("author") or ""),
        url=str(row.get("url") or ""), created_at=created_at,
        extra={k: v for k, v in row.items() if k not in known},
    )

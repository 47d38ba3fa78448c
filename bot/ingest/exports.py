"""Read a CSV or JSONL export of posts (for `replay` and `summary --from`).

Columns: `id`, `text`, optional `author`, `url`, `created_at`; other columns are kept
in `Post.extra` (so evaluation scripts can read labels from the same rows).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.mention import parse_time


class ExportError(Exception):
    """A problem with the export file, worded for the person who gave it."""


@dataclass
class Post:
    id: str
    text: str
    author: str = ""
    url: str = ""
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def read_posts(path: str | Path) -> Iterator[Post]:
    """Yield posts from a .csv or .jsonl/.ndjson/.json-lines file. Raises ExportError."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        rows = _jsonl_rows(path)
    elif suffix in {".csv", ".tsv"}:
        rows = _csv_rows(path, delimiter="\t" if suffix == ".tsv" else ",")
    else:
        raise ExportError(f"{path}: expected a .csv or .jsonl file")
    for lineno, row in rows:
        yield _to_post(path, lineno, row)


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        missing = {"id", "text"} - set(reader.fieldnames or [])
        if missing:
            raise ExportError(f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                              "expected id, text and optionally author, url, created_at")
        for row in reader:
            yield reader.line_num, row


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ExportError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ExportError(f"{path}:{lineno}: expected a JSON object per line")
            yield lineno, row


def _to_post(path: Path, lineno: int, row: dict[str, Any]) -> Post:
    if row.get("id") in (None, "") or row.get("text") is None:
        raise ExportError(f"{path}:{lineno}: every row needs 'id' and 'text'")
    created = row.get("created_at")
    try:
        created_at = parse_time(str(created)) if created not in (None, "") else None
    except ValueError:
        raise ExportError(f"{path}:{lineno}: created_at {created!r} is not an ISO 8601 "
                          "date-time") from None
    known = {"id", "text", "author", "url", "created_at"}
    return Post(
        id=str(row["id"]), text=str(row["text"]), author=str(row.get("author") or ""),
        url=str(row.get("url") or ""), created_at=created_at,
        extra={k: v for k, v in row.items() if k not in known},
    )

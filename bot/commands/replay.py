"""replay: judge an export of past posts, one JSON line per post, to try routing rules.

Every post is judged (an export is already a list of mentions, so brand matching does
not apply). A bad file is reported on one line and exits 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from bot.ingest.exports import ExportError, Post, read_posts
from bot.judgment.judge import Judge
from bot.settings import load_settings

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "replay", help="judge a CSV/JSONL export of posts and print one JSON line per post",
        description="Read a CSV or JSONL export of posts (columns id, text; optional "
                    "author, url, created_at) and print one JSON line per post: id, "
                    "department, complaint, sentiment, reason. Use it to try department "
                    "keywords and examples on history before going live.")
    parser.add_argument("file", metavar="FILE", help="a .csv or .jsonl export")
    return parser


def judge_posts(posts: Iterable[Post], judge: Judge) -> Iterator[dict[str, Any]]:
    """One result row per post, in input order (the logic behind the command)."""
    for post in posts:
        j = judge.judge(post.text)
        yield {"id": post.id, "department": j.department, "complaint": j.complaint,
               "sentiment": j.sentiment, "reason": j.reason}


def replay(path: str | Path, judge: Judge, out: TextIO) -> int:
    """Write one JSON line per post of `path` to `out`; returns how many. Raises ExportError."""
    count = 0
    for row in judge_posts(read_posts(path), judge):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    judge = Judge(settings)
    try:
        count = replay(args.file, judge, sys.stdout)
    except ExportError as exc:
        sys.stdout.flush()
        print(f"earshot: replay: {exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, csv.Error) as exc:
        sys.stdout.flush()
        print(f"earshot: replay: {args.file}: cannot be read as UTF-8 CSV/JSONL ({exc})",
              file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `replay ... | head` closed the pipe: not an error. Point stdout at devnull so
        # the interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a directory named like a file, no permission...
        sys.stdout.flush()
        print(f"earshot: replay: {args.file}: cannot be read ({exc.strerror or exc})",
              file=sys.stderr)
        return 2
    log.debug("replayed %d posts", count)
    return 0

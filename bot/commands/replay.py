"""replay: judge an export of past posts, one JSON line per post, to try routing rules.

Every post is judged (an export is already a list of mentions, so brand matching does
not apply). A bad file is reported on one line and exits 2; a malformed row is skipped
with one warning naming its line, and the skips are counted at the end (exit 1 only if
no post at all could be read).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from bot.commands.replay_learn import replay_learning
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
    parser.add_argument("file", metavar="FILE",
                        help="a .csv or .jsonl export, or - for standard input (JSONL if "
                             "the first line starts with {, else CSV)")
    parser.add_argument(
        "--learn", action="store_true",
        help="the export has each post's true 'department' (and optionally 'complaint'): "
             "judge each post, then learn from it as the team would (a correction where "
             "wrong, a confirmation where right); lines gain 'learned', and accuracy and "
             "complaint F1 per window go to stderr")
    return parser


def judge_posts(posts: Iterable[Post], judge: Judge) -> Iterator[dict[str, Any]]:
    """One result row per post, in input order (the logic behind the command)."""
    for post in posts:
        j = judge.judge(post.text)
        yield {"id": post.id, "department": j.department, "complaint": j.complaint,
               "sentiment": j.sentiment, "reason": j.reason}


def replay(path: str | Path, judge: Judge, out: TextIO,
           on_bad_row: Callable[[str, str], None] | None = None) -> int:
    """Write one JSON line per post of `path` ("-": standard input) to `out`; returns
    how many. Raises ExportError (a malformed row too, unless `on_bad_row` is given)."""
    count = 0
    for row in judge_posts(read_posts(path, on_bad_row=on_bad_row), judge):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    judge = Judge(settings)
    skipped: list[str] = []

    def skip(where: str, why: str) -> None:
        # One warning per bad row, naming it; the rest of the export is still judged.
        sys.stdout.flush()
        print(f"earshot: replay: skipped {where}: {why}", file=sys.stderr)
        skipped.append(where)

    name = "standard input" if args.file == "-" else args.file
    try:
        if getattr(args, "learn", False):
            judge.learner = judge.new_learner(settings)
            count = replay_learning(list(read_posts(args.file, on_bad_row=skip)), judge, name,
                                    sys.stdout, sys.stderr)
        else:
            count = replay(args.file, judge, sys.stdout, on_bad_row=skip)
    except ExportError as exc:
        sys.stdout.flush()
        print(f"earshot: replay: {exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, csv.Error) as exc:
        sys.stdout.flush()
        print(f"earshot: replay: {name}: cannot be read as UTF-8 CSV/JSONL ({exc})",
              file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # `| head`: python -m bot handles it for every command
    except OSError as exc:  # a directory named like a file, no permission...
        sys.stdout.flush()
        print(f"earshot: replay: {name}: cannot be read ({exc.strerror or exc})",
              file=sys.stderr)
        return 2
    sys.stdout.flush()
    if skipped:
        print(f"earshot: replay: {count:,} judged, {len(skipped):,} malformed "
              f"row{'s' if len(skipped) != 1 else ''} skipped", file=sys.stderr)
    if count == 0:
        print(f"earshot: replay: {name}: no posts" + (" could be read" if skipped else ""),
              file=sys.stderr)
        return 1
    log.debug("replayed %d posts", count)
    return 0

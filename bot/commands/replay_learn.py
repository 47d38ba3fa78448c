"""replay --learn: judge history in file order and learn from it as the team would have.

Each post needs its true `department` (and may have a `complaint` column: yes/no,
true/false, 1/0). The post is judged first, then learned from: a correction where the
judgment was wrong, a confirmation where it was right. One JSON line per post (with
`learned`) goes to stdout; the figures per window go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from bot.ingest.exports import ExportError, Post
from bot.judgment.judge import Judge
from bot.judgment.teaching import Taught, complaint_windows, route_windows, teach

TRUE_WORDS = {"yes", "true", "1", "y", "complaint"}
FALSE_WORDS = {"no", "false", "0", "n", ""}


def truths(posts: Sequence[Post], departments: Sequence[str], path: str
           ) -> list[tuple[str, str, str | None, bool | None]]:
    """(id, text, department, complaint) per post; ExportError for a bad label column."""
    if posts and not any("department" in p.extra for p in posts):
        raise ExportError(f"{path}: --learn needs a 'department' column with each post's "
                          "true department")
    unknown: dict[str, list[str]] = {}
    out = []
    for post in posts:
        dep = str(post.extra.get("department") or "").strip()
        if dep and dep not in departments:
            unknown.setdefault(dep, []).append(post.id)
        raw = post.extra.get("complaint")
        flag = None
        if raw is not None and str(raw).strip() != "":
            word = str(raw).strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise ExportError(f"{path}: post {post.id}: complaint '{raw}' is not yes/no")
            flag = word in TRUE_WORDS
        out.append((post.id, post.text, dep or None, flag))
    if unknown:
        shown = ", ".join(f"'{d}' (post {', '.join(ids[:3])}{', …' if len(ids) > 3 else ''})"
                          for d, ids in list(unknown.items())[:5])
        raise ExportError(f"{path}: departments not in the config: {shown}; the config has "
                          f"{', '.join(departments)}")
    return out


def replay_learning(posts: Sequence[Post], judge: Judge, path: str, out: TextIO,
                    report: TextIO) -> int:
    """Write one JSON line per post and the window figures; returns how many posts."""
    learner = judge.learner
    assert learner is not None
    items = truths(posts, learner.departments, path)
    rows: list[Taught] = []
    for taught in teach(items, judge):
        j = taught.judgment
        row: dict[str, Any] = {"id": taught.id, "department": j.department,
                               "complaint": j.complaint, "sentiment": j.sentiment,
                               "reason": j.reason, "learned": j.learned}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        rows.append(taught)
    out.flush()
    write_windows(rows, report)
    return len(rows)


def write_windows(rows: Sequence[Taught], report: TextIO) -> None:
    report.write(f"learned from {len(rows)} posts (each judged before it was learned)\n")
    for title, windows, unit in (("department", route_windows(rows), "accuracy"),
                                 ("complaint", complaint_windows(rows), "F1")):
        if not windows:
            continue
        report.write(f"{title} {unit}, posts after N corrections (learned / rules alone):\n")
        for w in windows:
            report.write(f"  after {w.after:>5}: {w.learned:.3f} / {w.rules:.3f} "
                         f"over {w.posts} posts\n")

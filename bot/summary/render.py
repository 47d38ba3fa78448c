"""Report -> plain text (terminal), -> Slack message (Block Kit), -> JSON.

Slack output stays within Slack's limits (50 blocks, 3,000 characters a section, 4,000
for the fallback text, 150 for a header) however many mentions the day had, and keeps
lines short so it reads on a phone. Every piece of outside text (post excerpts, theme
names made from posts, department and source names) is escaped for mrkdwn.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from bot import resolution, source_kinds
from bot.mrkdwn import clip, escape_mrkdwn, fit_lines, link
from bot.summary import routing_health
from bot.summary.report import DepartmentLine, Example, Report, ThemeLine
from bot.text import plural, printable

MAX_BLOCKS = 50
MAX_SECTION = 3_000
MAX_TEXT = 4_000
MAX_HEADER = 150
EXCERPT = 120  # characters of a post quoted under a theme
SLACK_THEMES = 10


# --- small formatting helpers ---------------------------------------------------------

def duration(seconds: float | None) -> str:
    """45s, 12m, 1h 05m, 2d 3h; "–" when there is nothing to measure."""
    if seconds is None:
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def signed(value: float) -> str:
    if abs(value - round(value)) < 0.05:
        value = round(value)
        return f"+{value}" if value > 0 else ("±0" if value == 0 else f"−{-value}")
    return f"+{value:.1f}" if value > 0 else f"−{-value:.1f}"


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """One line of at most `limit` characters, cut at a word where possible."""
    return clip(re.sub(r"\s+", " ", printable(text)).strip(), limit, at_word=True)


def _safe_url(url: str) -> str | None:
    """A URL usable inside <url|label>: http(s) only, no characters that end the link."""
    if not re.match(r"^https?://", url or ""):
        return None
    url = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    # Any whitespace (a line break too, not only spaces) would end the link early.
    return re.sub(r"\s", lambda m: quote(m.group()), url)


def mrkdwn_link(url: str, label: str) -> str:
    safe = _safe_url(url)
    return link(safe, label) if safe else escape_mrkdwn(label)


def _theme_change(t: ThemeLine) -> str:
    if t.new:
        return "new"
    if not t.history:
        return ""
    return f"{signed(t.change_vs_yesterday)} vs yesterday, {signed(t.change_vs_week)} vs 7-day avg"


def _dept_times(d: DepartmentLine) -> str:
    if d.claim_median is None and d.answer_median is None:
        return "nothing claimed or answered yet"
    return (f"claim {duration(d.claim_median)} (p90 {duration(d.claim_p90)}) · "
            f"answer {duration(d.answer_median)} (p90 {duration(d.answer_p90)})")



_plural = plural


# --- plain text -----------------------------------------------------------------------

def to_text(report: Report) -> str:
    """The summary as plain text for a terminal (nothing escaped)."""
    out = [f"Earshot daily summary: {report.title}"]
    out.append(f"{_plural(report.total, 'mention')}, {_plural(report.complaints, 'complaint')} "
               f"({report.complaint_share:.0%})")
    if report.by_source:
        out.append("By source: " + ", ".join(f"{source_kinds.label(s)} {n:,}"
                                             for s, n in report.by_source.items()))
    if report.quiet:
        out.append("Quiet day: " + (f"only {_plural(report.complaints, 'complaint')}."
                                    if report.complaints else "no complaints."))
    if report.themes:
        out.append("")
        out.append("Top complaints:" if report.themes[0].history
                   else "Top complaints (no earlier days to compare):")
        for i, t in enumerate(report.themes, 1):
            dept = f" · {t.department}" if t.department else ""
            change = f" ({_theme_change(t)})" if _theme_change(t) else ""
            out.append(f"{i}. {t.name} — {t.count:,}{change}{dept}")
            for ex in t.examples:
                where = f" {ex.url}" if ex.url else ""
                label = ex.short_id or ex.key
                out.append(f"   - {label}: {excerpt(ex.text)}{where}")
    if report.new_themes:
        out.append("New: " + ", ".join(t.name for t in report.new_themes))
    if report.top_positive:
        p = report.top_positive
        out.append("")
        out.append(f"Most shared positive ({_plural(p.links, 'place')}): {excerpt(p.text)}"
                   + (f" {p.url}" if p.url else ""))
    if report.departments:
        out.append("")
        out.append("Departments:")
        for d in report.departments:
            out.append(f"- {d.name}: {_plural(d.mentions, 'mention')}, {d.unclaimed:,} unclaimed, "
                       f"{_plural(d.open_escalations, 'open escalation')}")
            out.append(f"  {_dept_times(d)}")
    for extra in (routing_health.lines(report.routing, slack=False),
                  fairness_lines(report, slack=False), resolution_lines(report, slack=False)):
        if extra:
            out += ["", *extra]
    return printable("\n".join(out)) + "\n"


# --- Slack ----------------------------------------------------------------------------

def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit_lines(text, MAX_SECTION)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context",
            "elements": [{"type": "mrkdwn", "text": fit_lines(text, MAX_SECTION)}]}



def example_line(ex: Example) -> str:
    """• <link|E-12> excerpt; without a link just the id (or nothing to click)."""
    text = escape_mrkdwn(excerpt(ex.text))
    if _safe_url(ex.url):
        return f"• {mrkdwn_link(ex.url, ex.short_id or 'open')} {text}"
    return f"• {ex.short_id} {text}" if ex.short_id else f"• {text}"


def to_slack(report: Report) -> dict[str, Any]:
    """{"text": fallback, "blocks": [...]} for chat.postMessage, within Slack's limits."""
    header = fit_lines(f"Earshot daily: {report.title}", MAX_HEADER)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}}]
    sources = " · ".join(f"{escape_mrkdwn(source_kinds.label(s))} {n:,}"
                         for s, n in report.by_source.items())
    overview = (f"*{_plural(report.total, 'mention')}* · {_plural(report.complaints, 'complaint')} "
                f"({report.complaint_share:.0%})")
    blocks.append(_section(overview + (f"\n{sources}" if sources else "")))
    if report.quiet:
        blocks.append(_section("Quiet day: " + (
            f"only {_plural(report.complaints, 'complaint')}." if report.complaints
            else "no complaints.")))
    if report.themes:
        blocks.append(_section("*Top complaints*"))
        for i, t in enumerate(report.themes[:SLACK_THEMES], 1):
            dept = f" · {escape_mrkdwn(t.department)}" if t.department else ""
            lines = [f"*{i}. {escape_mrkdwn(t.name)}* — {t.count:,}{dept}"]
            if _theme_change(t):
                lines.append(f"_{_theme_change(t)}_")
            lines += [example_line(ex) for ex in t.examples]
            blocks.append(_section("\n".join(lines)))
    if report.new_themes:
        blocks.append(_section(":new: " + ", ".join(escape_mrkdwn(t.name)
                                                     for t in report.new_themes)))
    if report.top_positive:
        p = report.top_positive
        blocks.append(_section(
            f"*Most shared positive* ({_plural(p.links, 'place')})\n{example_line(p)}"))
    if report.departments:
        blocks.append({"type": "divider"})
        lines = ["*Departments*"]
        for d in report.departments:
            esc = f" · {d.open_escalations} escalated" if d.open_escalations else ""
            lines.append(f"*{escape_mrkdwn(d.name)}*: {_plural(d.mentions, 'mention')} · "
                         f"{d.unclaimed:,} unclaimed{esc}")
            lines.append(_dept_times(d))
        blocks.append(_section("\n".join(lines)))
        blocks.append(_context("Times run from posting to the first claim / answer; "
                               "p90: 9 in 10 were faster."))
    for extra in (routing_health.lines(report.routing, slack=True),
                  fairness_lines(report, slack=True), resolution_lines(report, slack=True)):
        if extra:
            blocks.append(_section("\n".join(extra)))
    blocks = blocks[:MAX_BLOCKS]
    return {"text": fit_lines(_fallback(report), MAX_TEXT), "blocks": blocks}


def _fallback(report: Report) -> str:
    """The notification text: short, escaped."""
    top = ", ".join(f"{escape_mrkdwn(t.name)} ({t.count})" for t in report.themes[:3])
    text = (f"Earshot daily {escape_mrkdwn(report.title)}: {_plural(report.total, 'mention')}, "
            f"{_plural(report.complaints, 'complaint')}")
    return text + (f". Top: {top}" if top else "")


# --- JSON -----------------------------------------------------------------------------

def to_json(report: Report) -> dict[str, Any]:
    """The same content as plain data; each theme with its name, count, department and
    the ids (mention keys) of its posts."""
    return {
        "title": report.title,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "timezone": report.timezone,
        "total": report.total,
        "complaints": report.complaints,
        "complaint_share": round(report.complaint_share, 4),
        "quiet": report.quiet,
        "by_source": report.by_source,
        "themes": [
            {"key": t.key, "name": t.name, "count": t.count, "department": t.department,
             "yesterday": t.yesterday, "week_avg": round(t.week_avg, 3), "new": t.new,
             "ids": t.ids, "post_ids": [k.split(":", 1)[-1] for k in t.ids],
             "examples": [asdict(e) for e in t.examples]}
            for t in report.themes],
        "new_themes": [t.name for t in report.new_themes],
        "top_positive": asdict(report.top_positive) if report.top_positive else None,
        "departments": [asdict(d) for d in report.departments],
        "fairness": fairness_json(report),
        "first_contact_resolution": resolution_json(report),
        "routing": routing_health.to_json(report.routing),
    }


# --- fairness and first-contact resolution (optional parts of a report) -----------------

def fairness_lines(report: Report, *, slack: bool) -> list[str]:
    """Median time to the first answer by reach band over 7 days, and the warning when
    loud accounts are answered more than twice as fast as quiet ones."""
    f = report.fairness
    if f is None or not any(b.mentions for b in f.bands):
        return []
    bold = "*" if slack else ""
    esc = escape_mrkdwn if slack else str  # band names hold "<" and ">"
    parts = [f"{esc(b.name)}: {duration(b.median_seconds)} "
             f"({b.answered} of {b.mentions} answered)" for b in f.bands if b.mentions]
    lines = [f"{bold}Time to first answer by reach (7 days){bold}", " · ".join(parts)]
    if f.unknown:
        lines.append(f"{f.unknown:,} more of unknown reach")
    if f.warning:
        times = "far" if f.ratio == float("inf") else f"{f.ratio:.1f}×"
        icon = ":warning: " if slack else "Warning: "
        lines.append(f"{icon}accounts with {esc(f.loud)} followers were answered {times} as "
                     f"fast as those with {esc(f.quiet)} over the last 7 days")
    return lines


def resolution_lines(report: Report, *, slack: bool) -> list[str]:
    """First-contact resolution over 30 days, per department and per answerer."""
    if report.resolution is None:
        return []
    return resolution.lines(report.resolution, slack=slack)


def fairness_json(report: Report) -> dict[str, Any] | None:
    f = report.fairness
    if f is None:
        return None
    return {"bands": [asdict(b) for b in f.bands], "unknown": f.unknown,
            "ratio": None if f.ratio in (None, float("inf")) else round(f.ratio, 3),
            "warning": f.warning, "quiet": f.quiet, "loud": f.loud}


def resolution_json(report: Report) -> dict[str, Any] | None:
    r = report.resolution
    if r is None:
        return None

    def one(rate: Any) -> dict[str, Any]:
        return {**asdict(rate), "rate": rate.rate}

    return {"resolution_days": r.days, "window_days": r.window_days,
            "overall": one(r.overall), "by_department": [one(d) for d in r.by_department],
            "by_answerer": [one(a) for a in r.by_answerer]}

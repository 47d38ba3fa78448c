"""The summary's picture: daily complaint counts of the top themes over the last 14 days.

`theme_series` (pure) counts, for each of the report's top themes, its complaints in each
of the 14 periods of 24 hours that end with the report: the report's own day from the
themes' members, earlier days placed with the day's theme model (as the summary's
"vs yesterday" figures are). `render_png` draws it headless with matplotlib's Agg
backend (no display, no pyplot global state, so safe on the scheduler's threads).
Sized for Slack: 800×450 px with thick lines and large type, readable as a thumbnail.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.mention import Mention
from bot.summary.report import Report

DAYS = 14
THEMES = 5
WIDTH, HEIGHT, DPI = 8.0, 4.5, 100  # inches at DPI: 800 × 450 pixels
NAME_CHARS = 38  # a legend entry longer than this is cut


@dataclass
class Series:
    days: list[date]  # the local date each 24-hour period ends on, oldest first
    lines: list[tuple[str, list[int]]] = field(default_factory=list)  # theme, per-day count

    @property
    def empty(self) -> bool:
        return not any(sum(counts) for _, counts in self.lines)


def theme_series(report: Report, mentions: Iterable[Mention], *, days: int = DAYS,
                 top: int = THEMES) -> Series:
    """Per-period counts of the report's top `top` themes; `mentions` should reach back
    `days` days before the report's end (older and later ones are ignored)."""
    tz = ZoneInfo(report.timezone)
    period = timedelta(days=1)
    labels = [(report.end - period * back - timedelta(microseconds=1)).astimezone(tz).date()
              for back in range(days - 1, -1, -1)]
    themes = report.themes[:top]
    wanted = {t.key for t in themes}
    members = {key: t.key for t in themes for key in t.ids}
    counts = {t.key: [0] * days for t in themes}
    first = report.end - period * days
    for m in mentions:
        if not m.complaint or not first <= m.created_at < report.end:
            continue
        if m.created_at >= report.start:
            theme = members.get(m.key)  # the day itself: exactly the summary's themes
        else:
            theme = report.theme_model.classify(m.text) if report.theme_model else None
        if theme in wanted:
            back = int((report.end - m.created_at) // period)
            counts[theme][days - 1 - back] += 1
    return Series(labels, [(t.name, counts[t.key]) for t in themes])


def _legend_name(name: str) -> str:
    name = name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1].rstrip() + "…"
    return name.replace("$", r"\$")  # "$...$" would be read as mathtext


def render_png(series: Series, title: str = "Top complaint themes, last 14 days") -> bytes:
    """The chart as PNG bytes (a note instead of lines when there is nothing to draw)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    # Constrained layout makes room for the legend under the plot, clear of the lines.
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = list(range(len(series.days)))
    if series.empty:
        ax.text(0.5, 0.5, "No complaint themes in these 14 days", ha="center",
                va="center", fontsize=16, transform=ax.transAxes, color="#555555")
    for name, counts in series.lines:
        ax.plot(x, counts, marker="o", markersize=5, linewidth=2.8, label=_legend_name(name))
    step = 2 if len(x) > 8 else 1
    ax.set_xticks(x[::step], [f"{d:%b} {d.day}" for d in series.days][::step], fontsize=11)
    ax.tick_params(axis="y", labelsize=11)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("complaints a day", fontsize=12)
    ax.set_title(title, fontsize=15, loc="left", fontweight="bold")
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if series.lines and not series.empty:
        fig.legend(loc="outside lower center", fontsize=11, frameon=False,
                   ncol=min(3, len(series.lines)))
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def alt_text(series: Series) -> str:
    """What the picture shows, in words, for screen readers (Slack's alt_txt)."""
    if series.empty:
        return "No complaint themes in the last 14 days."
    parts = [f"{name}: {counts[-1]} on the last day, {sum(counts)} in 14 days"
             for name, counts in series.lines]
    return ("Daily complaints of the top themes over 14 days. " + "; ".join(parts))[:1000]

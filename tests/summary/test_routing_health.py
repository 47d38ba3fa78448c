"""Routing health from hand-built corrections: moves, undos, escalations to departments
and to leadership, complaint marks, the two weeks and the empty week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.mention import Event, EventKind
from bot.summary.routing_health import lines, routing_health, to_json
from tests.summary.helpers import mention

END = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
THIS = END - timedelta(days=3)  # inside this week
BEFORE = END - timedelta(days=10)  # inside the week before
DEPTS = ["support", "baggage"]


def ev(m, kind, at, **data):
    return Event(m.key, kind, at, user="U1ANN", data=data)


def move(m, at, src, dst):
    return ev(m, EventKind.MOVED, at, **{"from": src, "to": dst})


def undo(m, at, src, dst):
    return ev(m, EventKind.MOVE_UNDONE, at, **{"from": src, "to": dst})


def escalate(m, at, src, dst):
    return ev(m, EventKind.ESCALATED, at, **{"from": src, "to": dst, "reason": "r",
                                             "urgency": "normal"})


def history():
    """A week and the week before, with the answers worked out by hand in the test."""
    # The stored department is the current one: a moved mention already has its new one.
    wrong, undone, to_lead, kept, flipped = (
        mention("a", THIS, department=d) for d in
        ("baggage", "support", "leadership", "support", "support"))
    esc_dept, via_lead, marked = (mention("b", THIS, department=d)
                                  for d in ("support", "support", "baggage"))
    p_wrong, p_undone, p_kept = (mention("c", BEFORE, department=d)
                                 for d in ("baggage", "support", "baggage"))
    old = mention("d", END - timedelta(days=20), department="baggage")
    h = timedelta(hours=1)
    events = [
        move(wrong, THIS + h, "support", "baggage"),
        move(undone, THIS + h, "support", "baggage"), undo(undone, THIS + 2 * h, "support",
                                                          "baggage"),
        escalate(to_lead, THIS + h, "support", "leadership"),  # not a routing correction
        ev(flipped, EventKind.MARKED, THIS + h, complaint=False, previous=True),
        ev(flipped, EventKind.MARKED, THIS + 2 * h, complaint=True, previous=False),
        escalate(esc_dept, THIS + h, "baggage", "support"),
        escalate(via_lead, THIS + h, "baggage", "leadership"),
        escalate(via_lead, THIS + 2 * h, "leadership", "support"),  # out of baggage
        ev(marked, EventKind.MARKED, THIS + h, complaint=False, previous=True),
        move(p_wrong, BEFORE + h, "support", "baggage"),
        move(p_undone, BEFORE + h, "support", "baggage"),
        undo(p_undone, THIS, "support", "baggage"),  # undone this week: cancels last week's
        move(old, THIS + h, "support", "baggage"),  # an old mention: moved, not in accuracy
        move(kept, END + h, "support", "baggage"),  # after the window: not seen
    ]
    mentions = [wrong, undone, to_lead, kept, flipped, esc_dept, via_lead, marked, p_wrong,
                p_undone, p_kept, old]
    return mentions, events


def figures(f):
    return (f.routed, f.right, f.moved_in, f.moved_out, f.flags)


def test_moves_undos_and_escalations_per_department_and_week():
    mentions, events = history()
    health = routing_health(mentions, events, end=END, departments=DEPTS)
    support, baggage = health.departments
    assert support.name == "support" and baggage.name == "baggage"
    # (routed, right, moved in, moved out, flags changed)
    assert figures(support.week) == (5, 4, 2, 2, 0)
    assert figures(baggage.week) == (3, 1, 2, 2, 1)
    assert figures(health.overall.week) == (8, 5, 4, 4, 1)
    assert figures(support.before) == (2, 1, 0, 1, 0)
    assert figures(baggage.before) == (1, 1, 1, 0, 0)
    assert support.week.accuracy == 0.8 and baggage.before.accuracy == 1.0


def test_summary_lines_show_accuracy_beside_the_week_before():
    health = routing_health(*history(), end=END, departments=DEPTS)
    text = lines(health, slack=False)
    assert text == [
        "Routing accuracy this week, estimated from moves: ~62% of 8 "
        "(week before ~66% of 3: worse)",
        "• support: 2 moved in, 2 moved out · ~80% of 5 (week before ~50% of 2: better)",
        "• baggage: 2 moved in, 2 moved out, 1 complaint flag changed · ~33% of 3 "
        "(week before ~100% of 1: worse)",
    ]
    data = to_json(health)
    assert data["overall"]["week"]["accuracy"] == 0.625
    assert data["overall"]["trend"] == "worse"
    assert [(d["name"], d["week"]["moved_out"], d["week_before"]["routed"])
            for d in data["departments"]] == [("support", 2, 2), ("baggage", 2, 1)]


def test_a_week_without_moves_is_one_line_and_names_are_escaped():
    quiet = [mention("x", THIS, department="support") for _ in range(4)]
    health = routing_health(quiet, [], end=END, departments=DEPTS)
    assert lines(health, slack=True) == [
        "*Routing*: no mentions were moved this week: routing accuracy ~100% of 4."]
    assert lines(routing_health([], [], end=END), slack=False) == [
        "Routing: no mentions were moved this week."]
    # A department that is not configured (any more) still shows, after the others, escaped.
    odd = mention("y", THIS, department="R&D <ops>")
    health = routing_health([odd], [move(odd, THIS, "support", "R&D <ops>")], end=END,
                            departments=DEPTS)
    assert [d.name for d in health.shown] == ["support", "R&D <ops>"]
    assert "• *R&amp;D &lt;ops&gt;*: 1 moved in, 0 moved out · nothing arrived" in lines(
        health, slack=True)


def test_the_slack_summary_carries_the_routing_section_escaped():
    from bot.summary.render import to_slack
    from bot.summary.report import build_report

    odd = mention("y", THIS, department="R&D <ops>")
    report = build_report([], [], start=END - timedelta(days=1), end=END)
    report.routing = routing_health([odd], [move(odd, THIS, "support", "R&D <ops>")],
                                    end=END, departments=DEPTS)
    sections = [b["text"]["text"] for b in to_slack(report)["blocks"] if b["type"] == "section"]
    (routing,) = [s for s in sections if "Routing accuracy this week" in s]
    assert routing.splitlines() == [
        "*Routing accuracy this week*, estimated from moves: ~0% of 1",
        "• *support*: 0 moved in, 1 moved out · ~0% of 1",
        "• *R&amp;D &lt;ops&gt;*: 1 moved in, 0 moved out · nothing arrived"]


def test_percent_rounds_down_exactly():
    from bot.summary.routing_health import Figures, percent

    assert percent(Figures(routed=100, right=29)) == "~29% of 100"  # not 28 (float)
    assert percent(Figures(routed=1000, right=999)) == "~99% of 1,000"
    assert percent(Figures()) == "nothing arrived"

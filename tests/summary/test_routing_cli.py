"""The routing figures through the real `python -m bot summary` (subprocess), from
corrections recorded in a real store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.mention import Event, EventKind
from bot.store import open_store
from tests.summary.helpers import mention
from tests.summary.test_cli import run

# --date 2026-03-10 in Europe/Berlin ends at 23:00 UTC: this week is the 7 days before.
END = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)


def test_dry_run_and_json_show_moves_and_accuracy_against_the_week_before(tmp_path):
    store = open_store(tmp_path / "data")
    this_week = [store.add_mention(mention("my bag was lost", END - timedelta(days=2, hours=i),
                                           department="baggage")) for i in range(4)]
    last_week = [store.add_mention(mention("on hold for hours", END - timedelta(days=9, hours=i)))
                 for i in range(2)]

    def record(m, kind, days_before, **data):
        store.add_event(Event(m.key, kind, END - timedelta(days=days_before), "U1ANN", data))

    # This week: one bag moved to support and kept there, one moved and undone, one
    # escalated to leadership (not a routing correction). The week before: one of two
    # support mentions escalated to baggage.
    record(this_week[0], EventKind.MOVED, 1, **{"from": "baggage", "to": "support"})
    record(this_week[1], EventKind.MOVED, 1, **{"from": "baggage", "to": "support"})
    record(this_week[1], EventKind.MOVE_UNDONE, 0.5, **{"from": "baggage", "to": "support"})
    record(this_week[2], EventKind.ESCALATED, 1, **{"from": "baggage", "to": "leadership",
                                                     "reason": "VIP", "urgency": "urgent"})
    record(last_week[0], EventKind.ESCALATED, 8, **{"from": "support", "to": "baggage",
                                                     "reason": "bags", "urgency": "normal"})
    store.close()

    text = run(tmp_path, "--dry-run", "--date", "2026-03-10")
    assert text.returncode == 0, text.stderr
    assert ("Routing accuracy this week, estimated from moves: ~75% of 4 "
            "(week before ~50% of 2: better)") in text.stdout
    assert "• support: 1 moved in, 0 moved out · nothing arrived" in text.stdout
    # No bags arrived the week before: nothing to compare baggage's accuracy with.
    assert "• baggage: 0 moved in, 1 moved out · ~75% of 4\n" in text.stdout

    data = json.loads(run(tmp_path, "--json", "--date", "2026-03-10").stdout)
    routing = data["routing"]
    assert routing["end"] == END.isoformat()
    assert routing["overall"]["week"] == {"routed": 4, "right": 3, "moved_in": 1,
                                          "moved_out": 1, "flags": 0, "accuracy": 0.75}
    assert routing["overall"]["week_before"]["accuracy"] == 0.5
    assert routing["overall"]["trend"] == "better"
    by_name = {d["name"]: d for d in routing["departments"]}
    assert by_name["support"]["week_before"]["moved_out"] == 1
    assert by_name["baggage"]["week_before"]["moved_in"] == 1
    assert {"themes", "departments", "fairness"} <= set(data)  # the rest is unchanged

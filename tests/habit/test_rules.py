"""The habit's rules on a real store: picks (order, claimed ones left out, larger
counts), due times across daylight saving, and the weekly line's arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.habit import dm, state
from bot.habit.picks import FOLLOWED, GROWING, MORE, WAITING, Growth, choose
from bot.habit_config import HabitSettings
from bot.mention import Event, Mention, State
from bot.store import open_store

T = datetime(2026, 3, 6, 8, tzinfo=UTC)


def mention(n: int, dept: str, hours_ago: int, complaint: bool = True, **kw) -> Mention:
    return Mention(source="hackernews", native_id=str(n), text=f"post {n}",
                   url=f"https://x.example/{n}", created_at=T - timedelta(hours=hours_ago),
                   department=dept, complaint=complaint, **kw)


def test_picks_follow_the_rules_skip_claimed_and_fill_larger_counts(tmp_path):
    store = open_store(tmp_path / "data")
    try:
        rows = [mention(1, "support", 90, state=State.CLAIMED, owner="U1"),  # claimed
                mention(2, "support", 80, complaint=False),  # oldest open, not a complaint
                mention(3, "support", 70), mention(4, "billing", 60),
                mention(5, "support", 50), mention(6, "billing", 40)]
        for m in rows:
            store.add_mention(m)
        # Fastest growing first (as theme_growth orders them); its claimed one is skipped.
        growth = Growth([("bags", 4, ["hackernews:1", "hackernews:6", "hackernews:5"]),
                         ("shrinking", -2, ["hackernews:3"])])
        got = choose(store, count=5, taken={"hackernews:4"}, followed=["billing"],
                     growth=growth)
        assert [(p.mention.native_id, p.why, p.detail) for p in got] == [
            ("3", WAITING, ""), ("5", GROWING, "bags"), ("6", FOLLOWED, "billing"),
            ("2", MORE, "")]  # 4 is taken by another leader, 1 is claimed: only four
        two = choose(store, count=2, taken=set(), followed=["billing"], growth=growth)
        assert [p.why for p in two] == [WAITING, GROWING]
        shrinking = Growth([("shrinking", -2, ["hackernews:5"])])  # nothing is growing
        got = choose(store, count=3, taken=set(), followed=[], growth=shrinking)
        assert [(p.mention.native_id, p.why) for p in got] == [
            ("3", WAITING), ("4", MORE), ("5", MORE)]
    finally:
        store.close()


def test_due_only_at_the_local_minute_and_on_habit_days():
    habit = HabitSettings(people=("U1",), timezone="UTC")
    prefs = state.Prefs()
    ny = "America/New_York"
    # 09:00 in New York is 14:00 UTC before 8 March 2026 and 13:00 UTC from then on.
    assert state.due_date(prefs, habit, ny, datetime(2026, 3, 6, 14, tzinfo=UTC)) == \
        date(2026, 3, 6)
    assert state.due_date(prefs, habit, ny, datetime(2026, 3, 9, 13, tzinfo=UTC)) == \
        date(2026, 3, 9)
    assert state.due_date(prefs, habit, ny, datetime(2026, 3, 9, 14, tzinfo=UTC)) is None
    assert state.due_date(prefs, habit, ny, datetime(2026, 3, 9, 13, 14, tzinfo=UTC))
    assert state.due_date(prefs, habit, ny, datetime(2026, 3, 9, 13, 15, tzinfo=UTC)) is None
    assert state.due_date(prefs, habit, ny, datetime(2026, 3, 7, 14, tzinfo=UTC)) is None
    late = state.Prefs(time="17:45")
    assert state.due_date(late, habit, ny, datetime(2026, 3, 9, 21, 45, tzinfo=UTC))
    assert state.due_date(state.Prefs(paused=True), habit, ny,
                          datetime(2026, 3, 9, 13, tzinfo=UTC)) is None


def test_weekly_line_median_and_counting_each_customer_once():
    sent = [state.Sent("2026-03-02", "2026-03-02T08:00:00+00:00", ["a", "b"],
                       opened_at="2026-03-02T08:10:00+00:00"),
            state.Sent("2026-03-03", "2026-03-03T08:00:00+00:00", ["c"])]

    def answered(key, at, user="U1"):
        return Event(key, "answered", datetime.fromisoformat(at), user=user)

    answers = [answered("a", "2026-03-02T08:20:00+00:00"),  # 10 min after opening
               answered("a", "2026-03-02T09:00:00+00:00"),  # the same customer again
               answered("b", "2026-03-02T08:40:00+00:00", user="U2"),  # someone else
               answered("c", "2026-03-03T08:50:00+00:00")]  # 50 min after sending
    line = dm.weekly_line(sent, answers, "U1", datetime(2026, 3, 6, 8, tzinfo=UTC))
    assert line == (":calendar: This week you answered 2 customers, median 30 minutes "
                    "after you opened the DM")
    none = dm.weekly_line(sent, [], "U1", datetime(2026, 3, 6, 8, tzinfo=UTC))
    assert none == ":calendar: This week you answered none of the 3 customers your DMs picked."
    assert dm.weekly_line(sent, answers, "U1", datetime(2026, 3, 12, tzinfo=UTC)) is None

"""/escalate's text: what it accepts and what it says when it cannot."""

from __future__ import annotations

from bot.listeners.commands import EscalateArgs, parse_escalate


def test_parse_escalate_reads_id_target_and_reason():
    assert parse_escalate("E-42 billing charged twice") == EscalateArgs(
        "E-42", "billing", "charged twice", "normal")


def test_parse_escalate_takes_urgent_anywhere():
    assert parse_escalate("E-1 --urgent leadership press call") == EscalateArgs(
        "E-1", "leadership", "press call", "urgent")


def test_parse_escalate_explains_what_is_missing_and_escapes_input():
    assert "Tell me which mention" in parse_escalate("   ")
    one = parse_escalate("<!channel>")
    assert "Where should" in one and "<!channel>" not in one and "&lt;!channel&gt;" in one
    assert "add a reason" in parse_escalate("E-1 billing")


def test_parse_escalate_without_a_target_word_means_leadership_with_the_whole_reason():
    targets = {"billing", "leadership"}
    assert parse_escalate("E-42 customer threatens to cancel", targets.__contains__) == (
        EscalateArgs("E-42", "leadership", "customer threatens to cancel", "normal"))
    assert parse_escalate("E-42 billing charged twice", targets.__contains__) == (
        EscalateArgs("E-42", "billing", "charged twice", "normal"))

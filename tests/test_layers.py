"""The layout stays true: imports inside bot/ only point down the floors below, and no
module imports itself back through a chain (docs/architecture.md draws the floors)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

# Lowest floor first. A unit is a top-level module or package of bot/. A unit may import
# itself and any unit on a lower floor, never a unit on its own floor or above.
FLOORS: list[set[str]] = [
    {"bot", "source_kinds", "mention", "mrkdwn", "text", "habit_config"},
    {"settings", "reach"},
    {"store"},
    {"judgment", "sources", "slack", "resolution"},
    {"ingest", "answers", "workflow"},
    {"summary", "corrections"},
    {"habit"},
    {"listeners"},
    {"app", "web", "scheduler", "roles"},
    {"commands"},
    {"__main__"},
]
FLOOR = {unit: i for i, floor in enumerate(FLOORS) for unit in floor}


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every bot module a file imports, at the top or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "bot"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "bot":
                continue
            for alias in node.names:
                # `from bot.x import y` imports the module bot.x.y when y is one.
                sub = f"{node.module}.{alias.name}"
                out.add(sub if _is_module(sub) else node.module)
    return out


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (BOT / rel).with_suffix(".py").exists() or (BOT / rel / "__init__.py").exists()


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "bot"


def graph() -> dict[str, set[str]]:
    return {module_name(p): imported(p) for p in sorted(BOT.rglob("*.py"))}


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in edges.items():
        here = unit_of(module)
        for target in targets:
            there = unit_of(target)
            if there != here and FLOOR[there] >= FLOOR[here]:
                bad.append(f"{module} -> {target}")
    return sorted(bad)


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle between modules, as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            # A package's __init__ importing its own submodules is how packages work.
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt in edges and not state.get(nxt):
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if not state.get(start):
            found = visit(start)
            if found:
                return found
    return None


def test_every_unit_of_bot_has_a_floor() -> None:
    units = {unit_of(m) for m in graph()}
    assert units <= set(FLOOR), f"give these a floor in FLOORS: {sorted(units - set(FLOOR))}"


def test_no_import_points_up_or_sideways() -> None:
    assert upward_imports(graph()) == []


def test_no_import_cycle_between_modules() -> None:
    assert find_cycle(graph()) is None


@pytest.mark.parametrize("module, target", [
    ("bot.slack.blocks", "bot.workflow"),          # Slack's low layer reaching the domain
    ("bot.store.base", "bot.mention"),             # allowed: points down
    ("bot.judgment.routing", "bot.sources.base"),  # sideways between peers
])
def test_the_checker_sees_a_planted_import(module: str, target: str) -> None:
    edges = graph()
    edges[module] = set(edges[module]) | {target}
    planted = f"{module} -> {target}"
    allowed = FLOOR[unit_of(target)] < FLOOR[unit_of(module)]
    assert (planted in upward_imports(edges)) is not allowed


def test_the_checker_sees_a_planted_cycle() -> None:
    edges = graph()
    edges["bot.mention"] = set(edges["bot.mention"]) | {"bot.store.base"}
    assert find_cycle(edges) is not None

"""Learning from corrections on the shared data: prints figures, asserts nothing.

    .venv/bin/python bench/learning.py [--data DIR] [--runs N] [--skip-speed]

Replays the shared files in file order the way `replay --learn` does (judge each post,
then learn from it: a correction where it was wrong, a confirmation where it was right)
and prints, prequentially (every post is judged before it is learned):
- airline routing: department accuracy of negative tweets whose negativereason maps to a
  department (config/examples/airline.toml), over the posts after the first 0, 100, 250,
  500, 1,000, 2,000 routing corrections, next to the rules alone on the same posts, and
  the worst 500-post window after the first 500 (learned minus rules);
- airline complaints: F1 against airline_sentiment == negative on every tweet;
- Bitext routing with config/examples/retail.toml;
- speed: learning one correction and a refit with 5,000 labels, and judging with that
  model (CPU time, min and median of --runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality import AIRLINE_DEPARTMENTS, BITEXT_DEPARTMENTS  # noqa: E402
from bot.ingest.exports import Post, read_posts  # noqa: E402
from bot.judgment.judge import Judge  # noqa: E402
from bot.judgment.labels import ROUTE, Label  # noqa: E402
from bot.judgment.teaching import (  # noqa: E402
    complaint_windows,
    route_windows,
    teach,
    worst_window,
)
from bot.settings import load_settings  # noqa: E402


def fresh_judge(config: str) -> Judge:
    settings = load_settings(ROOT / config, env={})
    judge = Judge(settings)
    judge.learner = judge.new_learner(settings)
    return judge


def show(title: str, windows: list, unit: str) -> None:
    print(title)
    for w in windows:
        print(f"    after {w.after:>5} corrections ({w.posts:>5} posts): {unit} learned "
              f"{w.learned:.3f}  rules {w.rules:.3f}  ({w.learned - w.rules:+.3f})")


def airline(data: Path) -> None:
    posts = list(read_posts(data / "airline_tweets.shared.csv"))

    def negative(p: Post) -> bool:
        return p.extra.get("airline_sentiment") == "negative"
    routed = [(p.id, p.text, AIRLINE_DEPARTMENTS[p.extra["negativereason"]], None)
              for p in posts
              if negative(p) and p.extra.get("negativereason") in AIRLINE_DEPARTMENTS]
    start = time.process_time()
    rows = list(teach(routed, fresh_judge("config/examples/airline.toml")))
    secs = time.process_time() - start
    show(f"Airline routing, {len(rows)} negative tweets in file order "
         f"({secs:.1f} s CPU incl. refits):", route_windows(rows), "accuracy")
    worst = worst_window(rows)
    print(f"    worst 500-post window after the first 500: learned − rules = {worst:+.3f}")
    flagged = [(p.id, p.text, None, negative(p)) for p in posts]
    rows = list(teach(flagged, fresh_judge("config/examples/airline.toml")))
    show(f"Airline complaints, {len(rows)} tweets in file order:", complaint_windows(rows), "F1")


def bitext(data: Path) -> None:
    def dept(p: Post) -> str:
        if p.extra.get("intent") == "cancel_order":
            return "refunds"
        return BITEXT_DEPARTMENTS[p.extra["category"]]
    items = [(p.id, p.text, dept(p), None)
             for p in read_posts(data / "bitext_customer_support.shared.csv")]
    rows = list(teach(items, fresh_judge("config/examples/retail.toml")))
    show(f"Bitext routing, {len(rows)} requests in file order (retail.toml):",
         route_windows(rows), "accuracy")
    for after in (500, 1000):
        part = rows[after:]
        learned = sum(r.judgment.department == r.department for r in part) / len(part)
        rules = sum(r.rules_department == r.department for r in part) / len(part)
        print(f"    after {after} labelled posts ({len(part)} posts): accuracy learned "
              f"{learned:.3f}  rules {rules:.3f}")


def speed(data: Path, runs: int) -> None:
    posts = [p for p in read_posts(data / "airline_tweets.shared.csv")]
    judge = fresh_judge("config/examples/airline.toml")
    learner = judge.learner
    assert learner is not None
    deps = learner.departments
    labels = [Label(ROUTE, p.text, deps[i % len(deps)], "move") for i, p in enumerate(posts[:5000])]
    learner.learn(labels)
    t = time.process_time()
    learner.retrain()
    refit = time.process_time() - t
    one = []
    for i in range(max(runs, 5)):
        label = Label(ROUTE, posts[5000 + i].text, deps[0], "move")
        t = time.process_time()
        learner.learn([label])
        one.append(time.process_time() - t)
    texts = [p.text for p in posts]
    rules_only = []
    for _ in range(runs):
        t = time.process_time()
        for text in texts:
            judge.detector.analyze(text)
            judge.router.route(text)
        rules_only.append(len(texts) / (time.process_time() - t))
    rates = []
    for _ in range(runs):
        t = time.process_time()
        judge.judge_many(texts)
        rates.append(len(texts) / (time.process_time() - t))
    print(f"\nSpeed with a model of {len(learner.labels)} labels (CPU time):")
    print(f"    learning one correction: min {min(one) * 1000:.1f} ms, "
          f"median {statistics.median(one) * 1000:.1f} ms (then a background refit: "
          f"{refit:.2f} s)")
    print(f"    judging {len(texts)} posts in one batch: min {min(rates):.0f} posts/s, "
          f"median {statistics.median(rates):.0f} posts/s (the rules alone on this machine "
          f"now: median {statistics.median(rules_only):.0f} posts/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--only", choices=["airline", "bitext", "speed"])
    args = parser.parse_args()
    if args.only in (None, "airline"):
        airline(args.data)
    if args.only in (None, "bitext"):
        bitext(args.data)
    if not args.skip_speed and args.only in (None, "speed"):
        speed(args.data, args.runs)


if __name__ == "__main__":
    main()

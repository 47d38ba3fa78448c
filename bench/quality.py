"""Judgment quality on the shared evaluation data: prints figures, asserts nothing.

    .venv/bin/python bench/quality.py [--data DIR] [--seed N]

Runs the replay logic (bot.commands.replay.judge_posts) over
- airline_tweets.shared.csv with config/examples/airline.toml: complaint P/R/F1 against
  airline_sentiment == negative (and VADER's compound alone for comparison), department
  accuracy on negative tweets whose negativereason maps to a department, confusion matrix;
- bitext_customer_support.shared.csv with config/examples/retail.toml: department accuracy;
- vader_tweets.shared.csv: complaint F1 against polarity_label == negative (out of domain).
Each figure is also printed on a deterministic random 50/50 split ("A" for tuning, "B"
held back), so over-fitting to one half shows as a gap between the two.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands.replay import judge_posts  # noqa: E402
from bot.ingest.exports import Post, read_posts  # noqa: E402
from bot.judgment.judge import Judge  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.text import clean  # noqa: E402

AIRLINE_DEPARTMENTS = {
    "Lost Luggage": "baggage", "Damaged Luggage": "baggage",
    "Flight Booking Problems": "booking",
    "Late Flight": "operations", "Cancelled Flight": "operations", "longlines": "operations",
    "Flight Attendant Complaints": "inflight", "Bad Flight": "inflight",
    "Customer Service Issue": "support",
}
BITEXT_DEPARTMENTS = {
    "PAYMENT": "billing", "INVOICE": "billing", "CANCELLATION_FEE": "billing",
    "DELIVERY": "shipping", "SHIPPING_ADDRESS": "shipping", "ORDER": "shipping",
    "ACCOUNT": "accounts", "REFUND": "refunds",
    "CONTACT": "support", "FEEDBACK": "support", "NEWSLETTER": "support",
}

Row = tuple[Post, dict[str, Any]]  # (post, judgment row)


def split_halves(n: int, seed: int) -> tuple[set[int], set[int]]:
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    return set(idx[: n // 2]), set(idx[n // 2:])


def prf(pred: Sequence[bool], gold: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def by_half(rows: Sequence[Row], seed: int, figure: Callable[[Sequence[Row]], str]) -> None:
    a, b = split_halves(len(rows), seed)
    print(f"    all  ({len(rows):>5}): {figure(rows)}")
    print(f"    A    ({len(a):>5}): {figure([r for i, r in enumerate(rows) if i in a])}")
    print(f"    B    ({len(b):>5}): {figure([r for i, r in enumerate(rows) if i in b])}")


def complaint_figure(gold: Callable[[Post], bool], key: str = "complaint"
                     ) -> Callable[[Sequence[Row]], str]:
    def figure(rows: Sequence[Row]) -> str:
        p, r, f = prf([bool(j[key]) for _, j in rows], [gold(post) for post, _ in rows])
        return f"precision {p:.3f}  recall {r:.3f}  F1 {f:.3f}"
    return figure


def accuracy_figure(gold: Callable[[Post], str]) -> Callable[[Sequence[Row]], str]:
    def figure(rows: Sequence[Row]) -> str:
        right = sum(j["department"] == gold(post) for post, j in rows)
        return f"accuracy {right / len(rows):.3f} ({right}/{len(rows)})" if rows else "-"
    return figure


def confusion(rows: Sequence[Row], gold: Callable[[Post], str], labels: Sequence[str]) -> None:
    counts = Counter((gold(post), j["department"]) for post, j in rows)
    width = max(len(x) for x in labels) + 2
    print("    gold \\ predicted".ljust(width + 4) + "".join(x[:10].rjust(11) for x in labels)
          + "     recall")
    for g in labels:
        total = sum(counts[(g, p)] for p in labels)
        line = "    " + g.ljust(width) + "".join(str(counts[(g, p)]).rjust(11) for p in labels)
        print(line + (f"     {counts[(g, g)] / total:.3f}" if total else ""))


def judged(path: Path, config: Path) -> tuple[list[Row], float]:
    judge = Judge(load_settings(config, env={}))
    posts = list(read_posts(path))
    # CPU time, not wall time: the figure should not depend on what else the machine runs.
    start = time.process_time()
    rows = list(zip(posts, judge_posts(posts, judge), strict=True))
    return rows, time.process_time() - start


def add_vader_baseline(rows: list[Row]) -> None:
    # Stock VADER alone: negative when the compound score is below its neutral band.
    vader = SentimentIntensityAnalyzer()
    for post, j in rows:
        compound = vader.polarity_scores(clean(post.text))["compound"]
        j["vader_negative"] = compound <= -0.05
        j["vader_not_positive"] = compound < 0.05


def airline(data: Path, seed: int) -> None:
    rows, secs = judged(data / "airline_tweets.shared.csv",
                        ROOT / "config/examples/airline.toml")
    add_vader_baseline(rows)
    print(f"Airline tweets ({len(rows)} posts judged in {secs:.2f} s CPU, "
          f"{len(rows) / secs:.0f} posts/s)")

    def negative(post: Post) -> bool:
        return post.extra.get("airline_sentiment") == "negative"

    print("  complaint vs airline_sentiment == negative (Earshot):")
    by_half(rows, seed, complaint_figure(negative))
    print("  baseline: VADER compound <= -0.05 alone:")
    by_half(rows, seed, complaint_figure(negative, "vader_negative"))
    print("  baseline: VADER compound < 0.05 (not positive) alone:")
    by_half(rows, seed, complaint_figure(negative, "vader_not_positive"))

    def dept(post: Post) -> str:
        return AIRLINE_DEPARTMENTS[post.extra["negativereason"]]

    routed = [r for r in rows if negative(r[0])
              and r[0].extra.get("negativereason") in AIRLINE_DEPARTMENTS]
    print("  department accuracy on negative tweets with a mapped reason "
          "(Can't Tell excluded):")
    by_half(routed, seed, accuracy_figure(dept))
    majority = Counter(dept(p) for p, _ in routed).most_common(1)[0]
    print(f"    (always '{majority[0]}' would score {majority[1] / len(routed):.3f})")
    confusion(routed, dept, ["baggage", "booking", "operations", "inflight", "support"])


def bitext(data: Path, seed: int) -> None:
    rows, secs = judged(data / "bitext_customer_support.shared.csv",
                        ROOT / "config/examples/retail.toml")
    print(f"\nBitext customer support ({len(rows)} posts judged in {secs:.2f} s CPU)")

    def dept(post: Post) -> str:
        if post.extra.get("intent") == "cancel_order":
            return "refunds"
        return BITEXT_DEPARTMENTS[post.extra["category"]]

    print("  department accuracy:")
    by_half(rows, seed, accuracy_figure(dept))
    confusion(rows, dept, ["billing", "shipping", "accounts", "refunds", "support"])


def vader_tweets(data: Path, seed: int) -> None:
    # Any config will do: only the complaint flag is scored here.
    rows, secs = judged(data / "vader_tweets.shared.csv", ROOT / "config/examples/retail.toml")
    add_vader_baseline(rows)
    print(f"\nVADER tweets, out of domain ({len(rows)} posts judged in {secs:.2f} s CPU)")

    def negative(post: Post) -> bool:
        return post.extra.get("polarity_label") == "negative"

    print("  complaint vs polarity_label == negative (Earshot):")
    by_half(rows, seed, complaint_figure(negative))
    print("  baseline: VADER compound <= -0.05 alone:")
    by_half(rows, seed, complaint_figure(negative, "vader_negative"))
    print("  baseline: VADER compound < 0.05 (not positive) alone:")
    by_half(rows, seed, complaint_figure(negative, "vader_not_positive"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    airline(args.data, args.seed)
    bitext(args.data, args.seed)
    vader_tweets(args.data, args.seed)


if __name__ == "__main__":
    main()

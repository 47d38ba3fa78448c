"""Theme quality on labelled complaints (prints figures; not a test).

  .venv/bin/python bench/themes.py [CSV] [--config config/examples/airline.toml]

Runs the same path as `python -m bot summary --from CSV --dry-run` (every post judged by
bot.judgment.judge, themes found among the judged complaints), then scores the top 10 themes over
the tweets labelled negative whose `negativereason` is not "Can't Tell":

- coverage: the share of those tweets that sit in one of the top 10 themes;
- purity: for each top-10 theme, the tweets of its most common reason, summed, over all
  labelled tweets in the top 10.

Also printed: the same figures with the labelled negatives given as the complaints
(themes alone, without the judge's misses), and a 50/50 random split: themes found
separately on each half, to show the method is not fitted to particular tweets; and, as a
check on another company's data with nothing tuned to it, the themes of the Bitext
customer-service requests scored against their `category` labels (every request taken
as a complaint: that set has no complaint labels).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.commands.summary import report_from_export  # noqa: E402
from bot.judgment.judge import Judge  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.summary.themes import Doc, find_themes  # noqa: E402

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared/data/airline_tweets.shared.csv"
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config/examples/airline.toml"
OTHER_CSV = Path(__file__).resolve().parents[2] / "shared/data/bitext_customer_support.shared.csv"


def labels(rows: list[dict[str, str]]) -> dict[str, str]:
    return {r["id"]: r["negativereason"] for r in rows
            if r.get("airline_sentiment") == "negative"
            and r.get("negativereason") not in ("", None, "Can't Tell")}


def score(themes: list[tuple[str, list[str]]], gold: dict[str, str]) -> tuple[float, float]:
    """(coverage, purity) of the top 10 themes, given as (name, post ids)."""
    inside = pure = 0
    for _, ids in themes[:10]:
        reasons = Counter(gold[i] for i in ids if i in gold)
        inside += sum(reasons.values())
        pure += reasons.most_common(1)[0][1] if reasons else 0
    return inside / max(len(gold), 1), pure / max(inside, 1)


def via_summary(rows: list[dict[str, str]], settings, fieldnames: list[str]
                ) -> list[tuple[str, list[str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fieldnames)
            writer.writeheader()
            writer.writerows(rows)
        report = report_from_export(settings, path, None)
    return [(t.name, [k.split(":", 1)[1] for k in t.ids]) for t in report.themes]


def themes_only(rows: list[dict[str, str]]) -> list[tuple[str, list[str]]]:
    docs = [Doc(r["id"], r["text"]) for r in rows if r["airline_sentiment"] == "negative"]
    background = [r["text"] for r in rows if r["airline_sentiment"] != "negative"]
    model = find_themes(docs, background=background)
    return [(t.name, t.ids) for t in model.themes]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="?", default=str(DEFAULT_CSV))
    ap.add_argument("--config", default=str(DEFAULT_CONFIG))
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    settings = load_settings(args.config)
    with open(args.csv, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fieldnames = list(reader.fieldnames or [])
        rows = list(reader)
    gold = labels(rows)
    reasons = Counter(gold.values())
    print(f"{len(rows)} posts, {len(gold)} labelled complaints (negative, reason known); "
          f"largest reason alone: {reasons.most_common(1)[0][1] / len(gold):.2f}")

    started = time.perf_counter()
    themes = via_summary(rows, settings, fieldnames)
    took = time.perf_counter() - started
    cov, pur = score(themes, gold)
    judge = Judge(settings)
    by_id = {r["id"]: r["text"] for r in rows}
    recall = sum(judge.judge(by_id[i]).complaint for i in gold) / len(gold)
    print(f"\nsummary --from (judge + themes), {took:.1f} s:")
    print(f"  top-10 coverage {cov:.3f}   purity {pur:.3f}   "
          f"(the judge flags {recall:.3f} of the labelled complaints: coverage's ceiling)")
    for i, (name, ids) in enumerate(themes[:10], 1):
        top = Counter(gold[x] for x in ids if x in gold).most_common(1)
        main_reason = f"{top[0][0]} {top[0][1] / max(1, sum(x in gold for x in ids)):.0%}" \
            if top else "-"
        print(f"  {i:2d}. {name:<36} {len(ids):5d}   ({main_reason})")

    cov, pur = score(themes_only(rows), gold)
    print(f"\nthemes alone (labelled negatives as the complaints): "
          f"coverage {cov:.3f}   purity {pur:.3f}")

    if OTHER_CSV.exists():
        with OTHER_CSV.open(newline="", encoding="utf-8") as fh:
            other = list(csv.DictReader(fh))
        model = find_themes([Doc(r["id"], r["text"]) for r in other])
        cov, pur = score([(t.name, t.ids) for t in model.themes],
                         {r["id"]: r["category"] for r in other})
        print(f"\nanother company ({OTHER_CSV.name}, {len(other)} requests, labels: "
              f"category): coverage {cov:.3f}   purity {pur:.3f}")
        print("  themes: " + ", ".join(t.name for t in model.themes[:10]))

    rng = random.Random(args.seed)
    shuffled = rows[:]
    rng.shuffle(shuffled)
    half = len(shuffled) // 2
    print(f"\n50/50 random split (seed {args.seed}), themes found on each half separately:")
    for label, part in (("A", shuffled[:half]), ("B", shuffled[half:])):
        cov, pur = score(via_summary(part, settings, fieldnames), labels(part))
        print(f"  half {label}: coverage {cov:.3f}   purity {pur:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Brand matching for a firehose: the matcher beside one compiled regular expression.

    .venv/bin/python bench/matching.py               # 100,000 posts, 5 runs
    .venv/bin/python bench/matching.py --count 20000 --runs 3

Prints decisions per second (CPU time of this process, so other load on the machine
counts less) for the mixed-length synthetic corpus (bench/synthetic.py: short, medium
and long posts, a quarter not plain ASCII, ~0.5% mentioning the brand) and for its
short and long posts apart:
- `matcher`: Matcher.drop_reason, the decision the pipeline makes (own accounts,
  languages, cleaning, exclusions, terms), with its literal pre-filter;
- `reference`: today's matcher before the pre-filter (tests.judgment.matching_reference.py);
- `one regex`: all brand terms as one compiled case-insensitive expression searched
  in the raw text: no cleaning, no exclusions, no own accounts; a lower bound on cost.
Then the number of decisions (keep/drop and the reason) that differ from the reference
on the tricky-case corpus (tests/judgment/tricky.py), on the synthetic one and (when
../shared/data is there) on real airline tweets. All must be 0.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import make_posts  # noqa: E402
from bot.judgment.matching import Matcher, term_pattern  # noqa: E402
from bot.mention import Mention  # noqa: E402
from bot.settings import BrandSettings  # noqa: E402
from tests.judgment.matching_reference import ReferenceMatcher  # noqa: E402
from tests.judgment.tricky import BRANDS, cases  # noqa: E402

BRAND = BrandSettings("Acme", terms=("Acme", '"Acme Cloud"', "@acme", "acme.com"),
                      exclude=("Acme Corporation cartoon", "Wile E. Coyote"),
                      own_accounts=("@acme", "acme@mastodon.social", "acme.bsky.social"),
                      languages=())  # no language filter: every post is matched
WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def one_regex(brand: BrandSettings) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p.pattern})" for t in brand.terms
                               if (p := term_pattern(t))), re.IGNORECASE)


def rate(fn, items, runs: int) -> tuple[float, float]:
    """(best, median) items per CPU second over `runs` runs."""
    rates = []
    for _ in range(runs):
        start = time.process_time()
        for item in items:
            fn(item)
        rates.append(len(items) / max(time.process_time() - start, 1e-9))
    return max(rates), statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    posts = make_posts(args.count)
    mentions = [Mention("bench", str(i), p.text, "", WHEN, author=p.author,
                        language=p.language) for i, p in enumerate(posts)]
    groups = {
        "mixed": mentions,
        "short (<300 chars)": [m for m in mentions if len(m.text) < 300],
        "long (1-4 kB)": [m for m in mentions if len(m.text) >= 1000],
    }
    fast, ref, regex = Matcher(BRAND), ReferenceMatcher(BRAND), one_regex(BRAND)
    print(f"{args.count:,} synthetic posts, {args.runs} runs; posts per CPU second "
          "(best / median)")
    print(f"{'corpus':20} {'matcher':>19} {'reference':>19} {'one regex':>19}")
    for name, items in groups.items():
        cols = [rate(fast.drop_reason, items, args.runs),
                rate(ref.drop_reason, items, max(1, args.runs // 2)),
                rate(lambda m: regex.search(m.text), items, args.runs)]
        print(f"{name:20} " + " ".join(f"{b:>9,.0f} / {m:>7,.0f}" for b, m in cols))

    matchers = {id(b): (Matcher(b), ReferenceMatcher(b)) for b in BRANDS}
    tricky = list(cases())
    differ = sum(matchers[id(b)][0].drop_reason(m) != matchers[id(b)][1].drop_reason(m)
                 for b, m in tricky)
    kept = sum(fast.drop_reason(m) is None for m in mentions)
    differ_synth = sum(fast.drop_reason(m) != ref.drop_reason(m) for m in mentions)
    print(f"tricky corpus: {len(tricky):,} cases over {len(BRANDS)} brand configs, "
          f"{differ} decisions differ from the reference")
    print(f"synthetic corpus: {kept:,} kept of {len(mentions):,}, {differ_synth} decisions "
          "differ from the reference")
    real = airline_tweets()
    if real:
        airline = BrandSettings("United", terms=("United", "@united", '"Southwest Air"',
                                                 "delta.com", "@JetBlue"),
                                exclude=("United States",))
        a, b = Matcher(airline), ReferenceMatcher(airline)
        kept = sum(a.drop_reason(m) is None for m in real)
        differ = sum(a.drop_reason(m) != b.drop_reason(m) for m in real)
        print(f"real airline tweets: {kept:,} kept of {len(real):,}, {differ} decisions "
              "differ from the reference")


def airline_tweets() -> list[Mention]:
    """The shared airline tweets (../shared/data), if present: real text to compare on."""
    import csv
    path = ROOT.parent / "shared" / "data" / "airline_tweets.shared.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return [Mention("csv", row["id"], row["text"], "", WHEN, author="someone")
                for row in csv.DictReader(f)]


if __name__ == "__main__":
    main()

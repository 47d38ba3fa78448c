"""Every output of `Judge.judge_many` on the shared data, to prove a speed-up changes no
decision: prints figures and differences, asserts nothing.

    .venv/bin/python bench/judge_outputs.py --save before.json   # on the old code
    .venv/bin/python bench/judge_outputs.py --compare before.json  # on the new code

Judges every post of every shared file with the airline and the retail config, each with
the rules alone and with a learner taught real labels (department and complaint flags
from the files, learned in chunks with a refit after each, so the gates open and the
learned models and near copies speak), and with the 5,000-label model of
bench/learning.py's speed figure. Labels go through `learn`, which judges them too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality import AIRLINE_DEPARTMENTS, BITEXT_DEPARTMENTS  # noqa: E402
from bot.ingest.exports import Post, read_posts  # noqa: E402
from bot.judgment.judge import Judge  # noqa: E402
from bot.judgment.labels import COMPLAINT, ROUTE, Label  # noqa: E402
from bot.settings import load_settings  # noqa: E402

CONFIGS = {"airline": "config/examples/airline.toml", "retail": "config/examples/retail.toml"}
FILES = ("airline_tweets.shared.csv", "bitext_customer_support.shared.csv",
         "vader_tweets.shared.csv")


def judge_for(config: str, learner: bool) -> Judge:
    settings = load_settings(ROOT / CONFIGS[config], env={})
    judge = Judge(settings)
    if learner:
        judge.learner = judge.new_learner(settings)
    return judge


def real_labels(config: str, posts: dict[str, list[Post]]) -> list[Label]:
    out = []
    if config == "airline":
        for p in posts["airline_tweets.shared.csv"][:3000]:
            out.append(Label(COMPLAINT, p.text, "yes" if p.extra.get("airline_sentiment")
                             == "negative" else "no", "mark"))
            dep = AIRLINE_DEPARTMENTS.get(p.extra.get("negativereason", ""))
            if dep and p.extra.get("airline_sentiment") == "negative":
                out.append(Label(ROUTE, p.text, dep, "move"))
    else:
        for p in posts["bitext_customer_support.shared.csv"][:1500]:
            dep = ("refunds" if p.extra.get("intent") == "cancel_order"
                   else BITEXT_DEPARTMENTS[p.extra["category"]])
            out.append(Label(ROUTE, p.text, dep, "move"))
    return out


def speed_labels(judge: Judge, posts: list[Post]) -> list[Label]:
    assert judge.learner is not None
    deps = judge.learner.departments
    return [Label(ROUTE, p.text, deps[i % len(deps)], "move") for i, p in enumerate(posts[:5000])]


def outputs(data: Path) -> dict[str, list[list]]:
    posts = {name: list(read_posts(data / name)) for name in FILES}
    out: dict[str, list[list]] = {}
    for config in CONFIGS:
        judges = {"rules": judge_for(config, False)}
        taught = judge_for(config, True)
        labels = real_labels(config, posts)
        for start in range(0, len(labels), 500):
            taught.learner.learn(labels[start:start + 500])  # type: ignore[union-attr]
            taught.learner.retrain()  # type: ignore[union-attr]
        judges["taught"] = taught
        speed = judge_for(config, True)
        speed.learner.learn(speed_labels(speed, posts[FILES[0]]))  # type: ignore[union-attr]
        speed.learner.retrain()  # type: ignore[union-attr]
        judges["speed-model"] = speed
        for kind, judge in judges.items():
            for name in FILES:
                texts = [p.text for p in posts[name]]
                out[f"{config}/{kind}/{name}"] = [
                    [j.department, j.complaint, j.sentiment, j.reason, j.learned]
                    for j in judge.judge_many(texts)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--save", type=Path)
    what.add_argument("--compare", type=Path)
    args = parser.parse_args()
    t = time.monotonic()
    now = outputs(args.data)
    took = time.monotonic() - t
    if args.save:
        args.save.write_text(json.dumps(now))
        total = sum(len(v) for v in now.values())
        print(f"saved {total} judgments in {len(now)} sets to {args.save} ({took:.0f} s)")
        return
    before = json.loads(args.compare.read_text())
    total = differ = 0
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key, []), now.get(key, [])
        diffs = [i for i in range(max(len(old), len(new)))
                 if i >= len(old) or i >= len(new) or old[i] != new[i]]
        total += len(new)
        differ += len(diffs)
        learned = sum(row[4] for row in new)
        print(f"{key}: {len(new)} judgments ({learned} learned), {len(diffs)} differ")
        for i in diffs[:3]:
            print(f"    #{i}: before {old[i] if i < len(old) else None}")
            print(f"         after  {new[i] if i < len(new) else None}")
    print(f"{'IDENTICAL' if differ == 0 else 'DIFFERENT'}: {total} judgments compared, "
          f"{differ} differ ({took:.0f} s)")


if __name__ == "__main__":
    main()

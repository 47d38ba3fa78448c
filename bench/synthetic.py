"""A synthetic firehose for the benchmarks: mixed lengths, mixed scripts, few mentions.

Shapes follow what Bluesky and the long-form sources carry: half short posts (a line),
a third medium (up to Bluesky's 300 characters), the rest long (Hacker News / Reddit
comments of 1-4 kB). About a quarter are not plain ASCII (emoji, accents, CJK, curly
quotes), some carry links, @handles, hashtags and HTML entities. `match_rate` of them
mention the brand "Acme" in one of its written forms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

WORDS = ("the a to and of in is it you that for on my this with was be are not have "
         "just so but at like what all your can get out up about how one more when now "
         "today people time good new love think know really flight support order refund "
         "phone app update server cloud deploy release bug fix coffee weather game music "
         "academy acne came mace macro camera").split()
# Near misses: contain the brand's letters but are not the brand (tested, then dropped).
NEAR = ("Acmeville", "acmecorp", "SuperAcme", "acme_bot", "notacme.com", "@acmesupport")
OTHER = ("café", "naïve", "über", "señor", "日本語", "ありがとう", "привет", "😀", "🔥",
         "👍🏽", "’s", "“quoted”", "—", "…", "straße", "İstanbul", "東京", "🎉")
BRAND_FORMS = ("Acme", "ACME", "acme's", "#acme", "@acme", "Acme Cloud", "acme.com/pricing",
               "https://shop.acme.com/x", "ａｃｍｅ", "Ac&#109;e")
LANGS = ("en", "en", "en", "en", "ja", "pt", "de", "es", None)


@dataclass
class Post:
    text: str
    author: str
    language: str | None
    brand: bool  # generated with a brand form (some forms may still be dropped by rules)


def _words(rng: random.Random, length: int, exotic: bool) -> str:
    out: list[str] = []
    size = 0
    while size < length:
        r = rng.random()
        if exotic and r < 0.12:
            w = rng.choice(OTHER)
        elif r < 0.015:
            w = f"https://example.com/{rng.randrange(10**6)}"
        elif r < 0.03:
            w = f"@user{rng.randrange(10**5)}.bsky.social"
        elif r < 0.04:
            w = "#" + rng.choice(WORDS)
        elif r < 0.045:
            w = "&amp;" if not exotic else "&"
        else:
            w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


def make_posts(count: int, *, seed: int = 13, match_rate: float = 0.005,
               long_share: float = 0.15) -> list[Post]:
    """`count` posts; deterministic for a seed. `long_share=0` for Bluesky alone (its
    posts are at most 300 characters)."""
    rng = random.Random(seed)
    posts = []
    for i in range(count):
        r = rng.random()
        length = (rng.randint(1000, 4000) if r < long_share else rng.randint(20, 140)
                  if r < long_share + (1 - long_share) * 0.6 else rng.randint(140, 300))
        exotic = rng.random() < 0.25
        text = _words(rng, length, exotic)
        brand = rng.random() < match_rate
        if not brand and rng.random() < match_rate:
            text = f"{text} {rng.choice(NEAR)}"
        if brand:
            at = rng.randrange(len(text) + 1)
            cut = text.rfind(" ", 0, at)
            cut = 0 if cut < 0 else cut
            text = f"{text[:cut]} {rng.choice(BRAND_FORMS)} {text[cut:]}".strip()
        posts.append(Post(text, f"user{i % 50_000}.bsky.social", rng.choice(LANGS), brand))
    return posts

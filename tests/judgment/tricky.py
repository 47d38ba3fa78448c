"""The tricky-case corpus: posts and brand settings where matching is easy to get wrong.

Hand-written cases (lookalike words, possessives, hashtags, handles, domains, HTML
entities, full-width and other compatibility letters, invisible characters, Turkish
dotted I, long s, Kelvin sign...) plus seeded variations of them, each run against
several brand configurations (words, phrases, handles, domains, exclusions, own
accounts, languages). Shared by the identical-decision test and bench/matching.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

from bot.mention import Mention
from bot.settings import BrandSettings

BRANDS = (
    BrandSettings("Acme", terms=("Acme",)),
    BrandSettings("Acme", terms=("Acme", '"Acme Cloud"', "@acme", "acme.com"),
                  exclude=("Acme Corporation cartoon", "Wile E. Coyote"),
                  own_accounts=("@acme", "acme@mastodon.social", "acme.bsky.social"),
                  languages=("en",)),
    BrandSettings("Acme Cloud", terms=('"Acme Cloud"',), exclude=("acme anvil",)),
    BrandSettings("Acme", terms=("@acme", "acme.com", "@acme.bsky.social")),
    BrandSettings("AT&T", terms=('"AT&T"', "ATT")),
    BrandSettings("Café Noir", terms=("Café Noir", "ſtar", "İstanbul", "Kelvin")),
    BrandSettings("Skål", terms=("skål", "#skal", "straße"), languages=("de", "sv")),
    BrandSettings("Istanbul", terms=("Istanbul", "Kelvin", "stack")),
)

TEXTS = (
    "I love Acme!", "ACME is down again", "acme's support is slow", "ACME’s app", "#acme rocks",
    "#AcmeCloud", "thanks @acme", "thanks @Acme.", "hi @acme.bsky.social", "@acmesupport help",
    "mail bob@acme.io", "see https://www.acme.com/pricing", "acme.com/path?x=1", "acme.com.",
    "visit notacme.com", "join acme.community", "shop.acme.com", "acme.co.uk", "Acmeville",
    "Greetings from Acmeville", "acmecorp has a sale", "the SuperAcme widget", "acme_bot",
    "acme-bot", "acme2", "2acme", "(Acme) again", "Acme\u200bville", "Ac\u200bme", "A\u00adcme",
    "moving to acme   cloud today", "Acme\nCloud outage", "Acme is cloudy", "cloud by Acme",
    "an ACME anvil fell", "Wile E. Coyote orders from Acme", "Acme Corporation cartoon fans",
    "my AT&amp;T bill", "my AT&amp;amp;T bill", "AT&T", "AT &amp; T", "ATT", "att", "AT&TX",
    "&#65;cme", "Ac&#109;e rocks", "Ac&amp;#109;e rocks", "&#x41;CME", "Acme&nbsp;Cloud",
    "&lt;Acme&gt;", "Acme&amp;co", "ＡＣＭＥ", "ａｃｍｅ ｃｌｏｕｄ", "Ａcme", "𝐀𝐜𝐦𝐞 bold",
    "𝔞𝔠𝔪𝔢", "ⓐⓒⓜⓔ", "ᴬᶜᴹᴱ", "Acme\ufe0f", "Acme👍🏽", "café noir", "CAFÉ NOIR", "Cafe Noir",
    "cafe\u0301 noir", "ﬅar", "ſtar", "star", "STAR", "İSTANBUL", "istanbul", "ıstanbul",
    "kelvin", "\u212aelvin", "SKÅL", "skal", "#skal", "#Skål", "STRASSE", "strasse", "straße",
    "ẞtraße", "Acme's", "acme’s", "acmé", "acme\u0301", "ACME!!!", "«Acme»", "「Acme」",
    "アクメ Acme", "ＡＴ＆Ｔ", "A T & T", "at&t", "", " ", "@acme@mastodon.social",
    "https://bsky.app/profile/acme.bsky.social/post/3k", "ACME.COM/PATH",
    "Acme… really", "日本語のAcmeです", "Ａcme…", "acme\u0301 …", "ac…me", "＠acme", "acme．com",
    "ａｃｍｅ．ｃｏｍ", "ｃｏｙｏｔｅ", "Wile E. Ｃoyote", "acme\u2024com", "ＡＴ&amp;Ｔ",
    "😀acme😀", "acme\u200d", "\u200dacme", "Ac\u2060me…", "ca\u0301fe\u0301 noir",
    "CAFE\u0301 NOIR", "Acme & co", "acme &co", "ac&\tme", "&acme", "acme&", "Ac& me",
    "& #109;", "AT&T & co 😀", "A&#x200b;cme", "Ac&zwj;me", "𝚤stanbul 😀", "𝚤stanbul",
    "ſtack 😀", "\u212aelvin 😀", "ｋelvin", "İSTANBUL 😀", "stack…", "𝐬𝐭𝐚𝐜𝐤",
)
AUTHORS = ("someone", "@Acme", "acme", "ACME@mastodon.social", "https://mastodon.social/@acme",
           "acme.bsky.social", "https://bsky.app/profile/acme.bsky.social", "acmefan",
           "acme@evil.example", "notacme.bsky.social", "", "İacme", "ACME.BSKY.SOCIAL ")
LANGS = (None, "en", "en-US", "EN_gb", "de", "fr", "sv-SE", "")
FILLER = ("hello", "world", "the", "order", "refund", "日本語", "😀", "…", "’", "&amp;",
          "&quot;", "cloud", "acme", "Acme", "\u200d", "ｆｕｌｌ", "straße", "İ")
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _mutate(text: str, rng: random.Random) -> str:
    choice = rng.randrange(6)
    if choice == 0:
        return text.upper()
    if choice == 1:  # full-width letters
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and rng.random() < 0.5 else c
                       for c in text)
    if choice == 2 and text:  # an entity for one character
        i = rng.randrange(len(text))
        return f"{text[:i]}&#{ord(text[i])};{text[i + 1:]}"
    if choice == 3 and text:  # an invisible character inside
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice("\u200b\u200d\ufe0f\u2060") + text[i:]
    if choice == 4:
        return text.replace("&", "&amp;")
    return text


def cases(variations: int = 6, seed: int = 13) -> Iterator[tuple[BrandSettings, Mention]]:
    """(brand, mention) pairs: every text x brand, plus seeded variations in context."""
    rng = random.Random(seed)
    n = 0
    for brand in BRANDS:
        for text in TEXTS:
            for variant in [text] + [_mutate(text, rng) for _ in range(variations)]:
                before = " ".join(rng.choice(FILLER) for _ in range(rng.randrange(4)))
                after = " ".join(rng.choice(FILLER) for _ in range(rng.randrange(4)))
                body = f"{before} {variant} {after}".strip() if rng.random() < 0.7 else variant
                title = rng.choice(("", "", "", variant, "Acme news"))
                url = rng.choice(("", "", "https://example.com/x",
                                  "https://blog.acme.com/p", "https://notacme.com/"))
                n += 1
                yield brand, Mention(source="t", native_id=str(n), text=body, url=url,
                                     created_at=WHEN, author=rng.choice(AUTHORS),
                                     title=title, language=rng.choice(LANGS))

"""Slack mrkdwn, the lowest layer: escaping untrusted text, cutting it to Slack's limits,
and the few `<...>` references Earshot builds (links, users, channels, groups, dates).

Every piece of outside text passes through `escape_mrkdwn` (directly or via `escape_cut`
or `link`) before it reaches a message. Only `&`, `<` and `>` are control characters in
mrkdwn; `@channel` written as text pings nobody unless `link_names` is set, which Earshot
never sets. Pure functions only: every layer above may import this one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]+$")
# fullmatch only: `$` would also accept a URL ending in a line break, which ends the link.
_HTTP_URL = re.compile(r"https?://\S+", re.IGNORECASE)
ELLIPSIS = "…"


# --- escaping -----------------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """Escape outside text for mrkdwn: `&` first (so nothing is escaped twice), then < >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_len(text: str) -> int:
    """Length as UTF-16 code units: an emoji outside the BMP counts 2. Never less than
    len(text), so staying under a limit in these units is safe however Slack counts."""
    return len(text.encode("utf-16-le")) // 2


# --- cutting: every cut goes through safe_cut, so none splits an emoji or an entity ---------


def _unit_len(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _joins_previous(ch: str) -> bool:
    """True for characters that belong to the character before them (cutting before
    one would split an emoji or an accented letter)."""
    cp = ord(ch)
    return (
        cp == 0x200D  # zero-width joiner
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
        or cp == 0x20E3  # combining enclosing keycap
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def safe_cut(text: str, end: int) -> int:
    """Move a cut position left until it does not split a grapheme cluster we know of."""
    while 0 < end < len(text) and (_joins_previous(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    if 0 < end < len(text) and _is_regional_indicator(text[end]):
        run = 0  # flags are pairs of regional indicators: never keep half of one
        while end - run - 1 >= 0 and _is_regional_indicator(text[end - run - 1]):
            run += 1
        if run % 2:
            end -= 1
    return end


def escape_cut(text: str, limit: int) -> tuple[str, bool]:
    """Escape raw `text` and cut it so the escaped result is at most `limit` UTF-16 units.

    Returns (escaped, was_cut). The cut falls on a character boundary of the raw text
    (never inside an `&amp;` entity, a surrogate pair, or an emoji sequence)."""
    used = 0
    end = len(text)
    for i, ch in enumerate(text):
        size = len(escape_mrkdwn(ch)) if ch in "&<>" else _unit_len(ch)
        if used + size > limit:
            end = i
            break
        used += size
    else:
        return escape_mrkdwn(text), False
    end = safe_cut(text, end)
    return escape_mrkdwn(text[:end].rstrip()), True


def truncate(mrkdwn: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Cut already-escaped mrkdwn to `limit` units, never inside an entity or emoji."""
    if slack_len(mrkdwn) <= limit:
        return mrkdwn
    budget = limit - slack_len(suffix)
    used, end = 0, 0
    for i, ch in enumerate(mrkdwn):
        used += _unit_len(ch)
        if used > budget:
            end = i
            break
    end = safe_cut(mrkdwn, end)
    amp = mrkdwn.rfind("&", 0, end)
    if amp != -1 and ";" not in mrkdwn[amp:end]:
        end = amp  # do not leave half an "&amp;"
    return mrkdwn[:end] + suffix


def clip(text: str, limit: int, *, at_word: bool = False) -> str:
    """Cut raw (unescaped) text to `limit` characters on a safe boundary, adding "…";
    with `at_word`, at the last space in the second half when there is one."""
    if len(text) <= limit:
        return text
    cut = text[:safe_cut(text, limit - 1)]
    if at_word and " " in cut[limit // 2:]:
        cut = cut[: cut.rindex(" ")].rstrip()
    return cut + ELLIPSIS


def fit_lines(mrkdwn: str, limit: int) -> str:
    """Cut already-escaped mrkdwn to `limit` units at a line end (or a space), so no
    entity (&amp;) or link (<url|label>) is split. For reports made of whole lines."""
    if slack_len(mrkdwn) <= limit:
        return mrkdwn
    out: list[str] = []
    used = 0
    for line in mrkdwn.split("\n"):
        need = slack_len(line) + (1 if out else 0)
        if used + need > limit - 2:
            break
        out.append(line)
        used += need
    if not out:  # one huge line: cut at a space before any markup could start
        head = mrkdwn[: limit - 2]
        head = head[: max(head.rfind(" "), 0)] or ""
        return head + " " + ELLIPSIS
    return "\n".join(out) + "\n" + ELLIPSIS


# --- references ---------------------------------------------------------------------------


def is_http_url(url: str) -> bool:
    """True for a plain http(s) URL that can sit inside <url|label> once escaped."""
    return bool(_HTTP_URL.fullmatch(url or ""))


def link(url: str, label: str) -> str:
    """A mrkdwn link `<url|label>` with the label escaped; a URL that is not plain
    http(s) is shown as escaped text instead (it could otherwise break out of <...>)."""
    return link_escaped(url, escape_mrkdwn(label))


def link_escaped(url: str, label: str) -> str:
    """link() with a label that is already escaped mrkdwn."""
    if not is_http_url(url):
        return f"{label} ({escape_mrkdwn(url)})" if url else label
    safe = escape_mrkdwn(url).replace("|", "%7C")
    return f"<{safe}|{label}>"


def user(user_id: str | None) -> str:
    """A user mention `<@U123>` for a real-looking user id, else the escaped text."""
    if user_id and _USER_ID.match(user_id):
        return f"<@{user_id}>"
    return escape_mrkdwn(user_id or "someone")


def channel_ref(channel_id: str) -> str:
    return f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id) else escape_mrkdwn(channel_id)


def group_ping(group_id: str | None) -> str:
    """`<!subteam^S123>` for a real-looking user-group id, else "" (a configured value
    that is not an id must never become markup)."""
    if group_id and _GROUP_ID.match(group_id):
        return f"<!subteam^{group_id}>"
    return ""


def slack_date(when: datetime) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"

"""The shapes of Slack ids and names in the config, and what a pasted secret looks like.

Checked when the config is loaded, so that `check-config` refuses what Slack would
refuse later (a channel named "support channel", a lead typed as "@leaders") and
never repeats a secret pasted where an environment variable's name belongs. Each
function returns why a value is wrong, in words, or None when it is fine.
"""

from __future__ import annotations

import re

# Conversation ids: C (public), G (private, older workspaces). Tests use short ones.
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
USERGROUP_ID = re.compile(r"S[A-Z0-9]+")
USER_ID = re.compile(r"[UW][A-Z0-9]+")
# Slack channel names: lower case letters, digits, '-', '_' (and letters of other
# scripts), at most 80 characters, no spaces or periods.
CHANNEL_NAME = re.compile(r"#[^\W_A-Z][\w-]{0,79}")
_ARCHIVES = re.compile(r"https?://[^/]*slack\.com/archives/([CG][A-Z0-9]+)")

# Prefixes of well-known tokens (Slack, GitHub, GitLab, OpenAI-style, AWS, X/Twitter).
SECRET_PREFIXES = ("xoxb-", "xoxp-", "xoxa-", "xoxe", "xoxs-", "xapp-", "ghp_", "gho_",
                   "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "sk-", "AKIA",
                   "AAAAAAAAAAAAAAAAAAAAA")


def channel_problem(value: str) -> str | None:
    """Why `value` is not a channel id (C0123ABCD) or #name, or None."""
    if CHANNEL_ID.fullmatch(value) or CHANNEL_NAME.fullmatch(value):
        return None
    found = _ARCHIVES.match(value)
    if found:
        return f"expected a channel id or #name, got a link; use its id \"{found[1]}\""
    hint = ""
    name = "#" + "-".join(value.lstrip("#").lower().split())
    if CHANNEL_NAME.fullmatch(name):
        hint = f" (did you mean \"{name}\"?)"
    return ("expected a channel id like \"C0123ABCD\" or a channel name like \"#support\" "
            f"(lower case, no spaces), got {_quote(value)}{hint}")


def usergroup_problem(value: str) -> str | None:
    """Why `value` is not a user group id (S0123ABCD), or None."""
    if USERGROUP_ID.fullmatch(value):
        return None
    hint = (" (a group's handle cannot be pinged by the API: open the group in Slack "
            "and copy its id from the profile link)" if value.startswith("@") else "")
    return f"expected a user group id like \"S0123ABCD\", got {_quote(value)}{hint}"


def user_problem(value: str) -> str | None:
    """Why `value` is not a user id (U0123ABCD), or None."""
    if USER_ID.fullmatch(value):
        return None
    return (f"expected a Slack user id like \"U0123ABCD\" (profile > \"Copy member ID\"), "
            f"got {_quote(value)}")


def looks_like_secret(value: str) -> bool:
    """True for a known token prefix, or a long string mixing upper case, lower case
    and digits (environment variable names are one case: GITHUB_TOKEN, github_token)."""
    if value.startswith(SECRET_PREFIXES):
        return True
    mixed = (any(c.isupper() for c in value) and any(c.islower() for c in value)
             and any(c.isdigit() for c in value))
    return len(value) >= 16 and mixed


def _quote(value: str) -> str:
    if looks_like_secret(value):
        return "a value that looks like a secret (not shown)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

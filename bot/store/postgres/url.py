"""DATABASE_URL: checked and normalised before anything connects, and shown without
its password in every message."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from bot.store.base import StoreOpenError

SCHEMES = ("postgresql", "postgres")
EXAMPLE = "postgresql://user:password@host:5432/dbname"


def looks_like_database_url(value: str) -> bool:
    """True for a postgres:// or postgresql:// URL (what `store copy` takes for a
    database rather than a TinyDB directory)."""
    return value.split("://", 1)[0].lower() in SCHEMES and "://" in value


def normalise(url: str) -> str:
    """The URL as libpq wants it: postgres:// (Heroku's spelling) becomes postgresql://.
    Raises StoreOpenError with one line naming the problem if it cannot be a URL."""
    from psycopg.conninfo import conninfo_to_dict

    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise StoreOpenError(
            f"DATABASE_URL must start with postgresql:// or postgres:// (got "
            f"{redact(url)!r}); expected {EXAMPLE}")
    url = f"postgresql://{rest}"
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError on a port that is not a number
        conninfo_to_dict(url)
    except Exception as exc:  # libpq's parser and urllib's: any failure is a bad URL
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreOpenError(
            f"DATABASE_URL is not a valid PostgreSQL URL ({reason}): {redact(url)!r}; "
            f"expected {EXAMPLE}") from None
    return url


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))
    except ValueError:
        return url.split("://", 1)[0] + "://(unreadable)"


def describe(url: str) -> str:
    """host:port/dbname, for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or 5432
    except ValueError:
        return redact(url)
    return f"{host}:{port}{parts.path or '/'}"

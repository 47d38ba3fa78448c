"""The command line: python -m bot <command> [--config PATH] ...

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad configuration.

Errors a user can cause (the config, the environment, a flag, a store held by another
process) are turned into one line and exit status 2 here, in one place, so that no
command shows a traceback for them; `| head` closing the output early is not an error
for any command.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import select
import sys

from bot.commands import COMMANDS
from bot.commands.common import UsageError
from bot.settings import ConfigError
from bot.store.base import StoreOpenError, StoreUnavailableError
from bot.store.lockfile import StoreLockedError
from bot.store.snapshot_file import StoreCorruptError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Earshot: brand mentions into Slack, routed to the team that owns them.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"bot.commands.{name}")
        cmd = module.add_parser(sub)
        cmd.add_argument(
            "--config", metavar="PATH",
            help="config file (default: $EARSHOT_CONFIG or config/earshot.toml)")
        cmd.set_defaults(run=module.run)
    return parser


def log_level(verbose: bool, env: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """The level from -v or EARSHOT_LOG_LEVEL (any case, or a number). Raises UsageError."""
    if verbose:
        return logging.DEBUG
    raw = (env.get("EARSHOT_LOG_LEVEL") or "INFO").strip()
    if raw.isdigit():
        return int(raw)
    name = "WARNING" if raw.upper() == "WARN" else raw.upper()
    if name not in LOG_LEVELS:
        raise UsageError(f"EARSHOT_LOG_LEVEL={raw!r} is not a log level; expected one of "
                         + ", ".join(LOG_LEVELS) + " (any case)")
    return logging.getLevelName(name)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        level = log_level(args.verbose)
    except UsageError as exc:
        print(f"earshot: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except ConfigError as exc:
        print(f"earshot: config error: {exc}", file=sys.stderr)
    except StoreCorruptError as exc:  # a damaged data file: one line naming it and what to do
        print(f"earshot: {exc}", file=sys.stderr)
        return 1
    except StoreOpenError as exc:  # DATABASE_URL, password, host, schema: fixable by the user
        print(f"earshot: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailableError as exc:  # the database went away mid-run
        print(f"earshot: {exc}; nothing acknowledged was lost, run it again once the "
              "database is back", file=sys.stderr)
        return 1
    except (UsageError, StoreLockedError) as exc:
        print(f"earshot: {exc}", file=sys.stderr)
    except BrokenPipeError:
        if not stdout_closed():
            raise  # a socket, not our reader: a real failure
        # `... | head` stopped reading: not an error. Point stdout at /dev/null so the
        # interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    return 2


def stdout_closed() -> bool:
    """True when stdout is a pipe whose reader has gone (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(mask & select.POLLERR for _, mask in poller.poll(0))
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())

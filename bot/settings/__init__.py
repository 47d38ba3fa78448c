"""Load and validate the TOML configuration and the environment, once, into dataclasses.

Every problem a user can cause is raised as ConfigError naming the file, the key and
what was expected; the command line prints it on one line and exits 2.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import time as dtime
from pathlib import Path
from typing import Any

from bot.habit_config import parse_habit
from bot.settings import shapes
from bot.settings.validate import ConfigError
from bot.settings.validate import Validator as _Validator
from bot.settings.validate import show as _show
from bot.settings.validate import type_name as _type_name
from bot.source_kinds import KINDS, SourceSpec

# Minutes a schedule may be set to: a year. Larger values overflow the scheduler's dates.
MAX_MINUTES = 366 * 24 * 60
# The escalation target that is not a department: its channel is [escalation].channel
# and its lead group [escalation].lead.
LEADERSHIP = "leadership"

DEFAULT_CONFIG = "config/earshot.toml"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


MIN_KEEP_DAYS = 8


# Each source kind's table shape lives with its label and class in bot.source_kinds.
SOURCE_SPECS: dict[str, SourceSpec] = {name: kind.spec for name, kind in KINDS.items()}


@dataclass(frozen=True)
class BrandSettings:
    name: str
    terms: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    own_accounts: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSettings:
    name: str  # the source kind: hackernews, reddit, ...
    enabled: bool
    base_url: str
    interval_minutes: int
    options: dict[str, Any]
    # Key (e.g. "client_id_env") -> the variable's value from the environment
    # (None when an optional variable is unset). Secrets live only here, never in files.
    credentials: dict[str, str | None]
    env_names: dict[str, str]  # key -> environment variable name, for messages
    stream: bool = False  # read live by `serve` (see SourceSpec.stream)


@dataclass(frozen=True)
class DepartmentSettings:
    name: str
    channel: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...] = ()
    lead: str | None = None  # a user group id (S0123...) to ping
    default: bool = False


@dataclass(frozen=True)
class EscalationSettings:
    channel: str
    lead: str | None = None  # leadership user group
    reminder_minutes: int = 60


@dataclass(frozen=True)
class SummarySettings:
    channel: str
    time: dtime
    timezone: str
    spike_multiple: float = 3.0
    spike_min_count: int = 5
    resolution_days: int = 7  # a customer back within this many days: not resolved


@dataclass(frozen=True)
class AnswerSettings:
    publish: bool = False
    publishers: tuple[str, ...] = ()  # Slack user ids
    publisher_groups: tuple[str, ...] = ()  # Slack user group ids


@dataclass(frozen=True)
class SlackSettings:
    api_url: str
    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    # chat.postMessage per channel per second, the outbox's pace across all replicas.
    # Slack allows about 1; only a Slack-compatible stand-in (tests, benches) takes more.
    post_rate: float = 1.0


@dataclass(frozen=True)
class StoreSettings:
    # Answered mentions older than this are deleted (with their events) by a daily job,
    # their counts kept; open and claimed ones never are. At least 8: the daily summary
    # compares with the week before.
    keep_days: int = 180


@dataclass(frozen=True)
class Settings:
    path: Path
    brand: BrandSettings
    sources: dict[str, SourceSettings]
    departments: dict[str, DepartmentSettings]
    escalation: EscalationSettings
    summary: SummarySettings
    answer: AnswerSettings
    slack: SlackSettings
    data_dir: Path
    habit: Any = None  # bot.habit_config.HabitSettings ([habit]; off when empty)
    store: StoreSettings = StoreSettings()

    @property
    def default_department(self) -> DepartmentSettings:
        return next(d for d in self.departments.values() if d.default)

    def enabled_sources(self) -> list[SourceSettings]:
        """The enabled polled sources (streams are `enabled_streams`)."""
        return [s for s in self.sources.values() if s.enabled and not s.stream]

    def enabled_streams(self) -> list[SourceSettings]:
        return [s for s in self.sources.values() if s.enabled and s.stream]

    def department_for_channel(self, channel: str) -> DepartmentSettings | None:
        return next((d for d in self.departments.values() if d.channel == channel), None)


# --- loading -------------------------------------------------------------------------


def config_path(explicit: str | None = None, env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(explicit or env.get("EARSHOT_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read and validate the config file and the environment. Raises ConfigError."""
    env = dict(os.environ if env is None else env)
    path = config_path(str(path) if path else None, env)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found (set EARSHOT_CONFIG or pass --config; "
                                    "config/earshot.example.toml is a template)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", f"cannot be read: {exc}") from None
    return parse_settings(raw, path, env)


def parse_settings(raw: dict[str, Any], path: Path, env: dict[str, str]) -> Settings:
    # Long because it reads the config's tables in order, one short block each; the
    # per-key checks live in validate.py.
    v = _Validator(path)
    v.only(raw, "", {"brand", "sources", "departments", "routing", "escalation", "summary",
                     "answer", "habit", "store"})

    brand_raw = v.table(raw, "brand", required=True)
    v.only(brand_raw, "brand", {"name", "terms", "exclude", "own_accounts", "languages"})
    terms = v.strings(brand_raw, "brand.terms", required=True)
    if not terms:
        raise ConfigError(path, "brand.terms", "expected at least one term")
    brand = BrandSettings(
        name=v.string(brand_raw, "brand.name", default=terms[0].strip('"')),
        terms=terms,
        exclude=v.strings(brand_raw, "brand.exclude"),
        own_accounts=v.strings(brand_raw, "brand.own_accounts"),
        languages=v.strings(brand_raw, "brand.languages"),
    )

    departments = _parse_departments(v, raw)
    sources = _parse_sources(v, raw, env)

    esc_raw = v.table(raw, "escalation", required=True)
    v.only(esc_raw, "escalation", {"channel", "lead", "reminder_minutes"})
    escalation = EscalationSettings(
        channel=v.shaped(esc_raw, "escalation.channel", shapes.channel_problem),
        lead=v.shaped(esc_raw, "escalation.lead", shapes.usergroup_problem, required=False),
        reminder_minutes=v.positive_int(esc_raw, "escalation.reminder_minutes", default=60,
                                        maximum=MAX_MINUTES),
    )

    sum_raw = v.table(raw, "summary", required=True)
    v.only(sum_raw, "summary", {"channel", "time", "timezone", "spike_multiple",
                                "spike_min_count", "resolution_days"})
    summary = SummarySettings(
        channel=v.shaped(sum_raw, "summary.channel", shapes.channel_problem),
        time=v.clock_time(sum_raw, "summary.time", default="09:00"),
        timezone=v.timezone(sum_raw, "summary.timezone", default="UTC"),
        spike_multiple=v.positive_float(sum_raw, "summary.spike_multiple", default=3.0),
        spike_min_count=v.positive_int(sum_raw, "summary.spike_min_count", default=5),
        resolution_days=v.positive_int(sum_raw, "summary.resolution_days", default=7,
                                       maximum=366),
    )

    ans_raw = v.table(raw, "answer")
    v.only(ans_raw, "answer", {"publish", "publishers", "publisher_groups"})
    answer = AnswerSettings(
        publish=v.boolean(ans_raw, "answer.publish", default=False),
        publishers=v.shaped_list(ans_raw, "answer.publishers", shapes.user_problem),
        publisher_groups=v.shaped_list(ans_raw, "answer.publisher_groups",
                                       shapes.usergroup_problem),
    )

    habit = parse_habit(v, raw, summary.timezone, ConfigError)
    store_raw = v.table(raw, "store")
    v.only(store_raw, "store", {"keep_days"})
    keep_days = v.positive_int(store_raw, "store.keep_days", default=180, maximum=36_500)
    if keep_days < MIN_KEEP_DAYS:
        raise ConfigError(path, "store.keep_days",
                          f"expected at least {MIN_KEEP_DAYS} (the daily summary compares "
                          f"with the week before), got {keep_days}")

    slack = SlackSettings(
        api_url=env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
        bot_token=env.get("SLACK_BOT_TOKEN") or None,
        signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        app_token=env.get("SLACK_APP_TOKEN") or None,
        post_rate=_post_rate(path, env.get("SLACK_POST_RATE")),
    )
    return Settings(
        path=path, brand=brand, sources=sources, departments=departments,
        escalation=escalation, summary=summary, answer=answer, slack=slack,
        data_dir=Path(env.get("EARSHOT_DATA") or "./data"), habit=habit,
        store=StoreSettings(keep_days=keep_days),
    )


def _post_rate(path: Path, value: str | None) -> float:
    if not value:
        return 1.0
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not 0 < rate <= 1000:  # also refuses nan and inf
        raise ConfigError(path, "", f"SLACK_POST_RATE: expected messages per second per "
                                    f"channel, a number above 0 up to 1000, got {value!r}")
    return rate


def _parse_departments(v: _Validator, raw: dict[str, Any]) -> dict[str, DepartmentSettings]:
    table = v.table(raw, "departments", required=True)
    if not table:
        raise ConfigError(v.path, "departments", "expected at least one [departments.<name>]")
    out: dict[str, DepartmentSettings] = {}
    for name, dep in table.items():
        key = f"departments.{name}"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
            # People type department names in `/escalate E-42 <department> reason`.
            raise ConfigError(v.path, key, "expected a department name of letters, digits, "
                                           "'-' and '_' (it is typed in /escalate)")
        if name.strip().lower() == LEADERSHIP:
            raise ConfigError(v.path, key, f"the name {_show(name)} is reserved for the "
                                           "[escalation] target; name the department otherwise")
        if not isinstance(dep, dict):
            raise ConfigError(v.path, key, "expected a table [departments.<name>]")
        v.only(dep, key, {"channel", "keywords", "examples", "lead"})
        out[name] = DepartmentSettings(
            name=name,
            channel=v.shaped(dep, f"{key}.channel", shapes.channel_problem),
            keywords=v.strings(dep, f"{key}.keywords"),
            examples=v.strings(dep, f"{key}.examples"),
            lead=v.shaped(dep, f"{key}.lead", shapes.usergroup_problem, required=False),
        )
    routing = v.table(raw, "routing", required=True)
    v.only(routing, "routing", {"default"})
    default = v.string(routing, "routing.default", required=True)
    if default not in out:
        raise ConfigError(v.path, "routing.default",
                          f"unknown department {_show(default)}; expected one of "
                          + ", ".join(sorted(out)))
    out[default] = dataclasses.replace(out[default], default=True)
    return out


def _parse_sources(v: _Validator, raw: dict[str, Any], env: dict[str, str]
                   ) -> dict[str, SourceSettings]:
    # Long because each source table is checked key by key against its kind's shape
    # (bot.source_kinds), and the checks share the table's path for error messages.
    table = v.table(raw, "sources")
    out: dict[str, SourceSettings] = {}
    for name, src in table.items():
        key = f"sources.{name}"
        spec = SOURCE_SPECS.get(name)
        if spec is None:
            raise ConfigError(v.path, key, "unknown source; expected one of "
                              + ", ".join(sorted(SOURCE_SPECS)))
        if not isinstance(src, dict):
            raise ConfigError(v.path, key, "expected a table [sources.<name>]")
        allowed = {"enabled", "base_url", "interval_minutes", "read_deadline_seconds",
                   *spec.options,
                   *spec.required_env, *spec.optional_env}
        v.only(src, key, allowed)
        enabled = v.boolean(src, f"{key}.enabled", default=True)
        options = dict(spec.option_defaults)
        for opt, typ in spec.options.items():
            if opt in src:
                value = src[opt]
                if not isinstance(value, typ):
                    raise ConfigError(v.path, f"{key}.{opt}",
                                      f"expected {_type_name(typ)}, got {_show(value)}")
                if isinstance(value, list) and not all(isinstance(x, str) for x in value):
                    raise ConfigError(v.path, f"{key}.{opt}", "expected a list of strings")
                options[opt] = value
        # Every request's total time, body included (bot.sources.base.send_bounded).
        options["read_deadline_seconds"] = v.positive_int(
            src, f"{key}.read_deadline_seconds", default=60, maximum=600)
        base_url = v.string(src, f"{key}.base_url", default=spec.base_url).rstrip("/")
        if name == "rss" and enabled and not options["feeds"]:
            raise ConfigError(v.path, f"{key}.feeds", "expected at least one feed URL")
        _check_urls(v, key, spec, base_url, options)
        credentials: dict[str, str | None] = {}
        env_names: dict[str, str] = {}
        for cred in (*spec.required_env, *spec.optional_env):
            var = v.env_name(src, f"{key}.{cred}")
            if var is None:
                if cred in spec.required_env and enabled:
                    raise ConfigError(v.path, f"{key}.{cred}",
                                      "expected the name of the environment variable that "
                                      "holds this credential")
                continue
            env_names[cred] = var
            value = env.get(var) or None
            if value is None and enabled and cred in spec.required_env:
                raise ConfigError(v.path, f"{key}.{cred}",
                                  f"environment variable {var} is not set "
                                  f"(needed by the enabled source '{name}')")
            credentials[cred] = value
        if options.get("public") and "access_token_env" not in env_names:
            raise ConfigError(v.path, f"{key}.public", "the public stream needs an access "
                                                       "token: set access_token_env too")
        out[name] = SourceSettings(
            name=name, enabled=enabled, base_url=base_url,
            interval_minutes=v.positive_int(src, f"{key}.interval_minutes",
                                            default=spec.interval_minutes,
                                            maximum=MAX_MINUTES),
            options=options, credentials=credentials, env_names=env_names,
            stream=spec.stream,
        )
    return out


def _check_urls(v: _Validator, key: str, spec: SourceSpec, base_url: str,
                options: dict[str, Any]) -> None:
    schemes = "|".join(spec.url_schemes)
    what = "http(s)" if spec.url_schemes == ("http", "https") else "/".join(spec.url_schemes)
    urls = [("base_url", base_url)] if base_url else []
    urls += [(opt, url) for opt in spec.url_lists for url in options[opt]]
    for opt, url in urls:
        if not re.match(rf"^(?:{schemes})://[^/\s]+", url):
            raise ConfigError(v.path, f"{key}.{opt}",
                              f"expected {'an' if what.startswith('h') else 'a'} {what} URL, "
                              f"got {_show(url)}")
    for opt in spec.url_lists:
        options[opt] = [url.rstrip("/") for url in options[opt]]
    if isinstance(options.get("rewind_seconds"), bool) or options.get("rewind_seconds", 0) < 0:
        raise ConfigError(v.path, f"{key}.rewind_seconds",
                          f"expected a whole number of seconds, got "
                          f"{_show(options['rewind_seconds'])}")

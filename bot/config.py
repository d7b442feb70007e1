"""Settings: `app.yaml` overlaid by the environment, validated once into a frozen object."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.domain.rewards import BadAmount, parse_default
from bot.scheduler import crontab_trigger

log = logging.getLogger(__name__)

DEFAULT_CONFIG_FILE = "app.yaml"

# Each setting's environment variable and default; `None` marks a required setting.
DEFAULTS: dict[str, str | None] = {
    "LARK_APP_ID": None,
    "LARK_APP_SECRET": None,
    "LARK_ENCRYPT_KEY": "",
    "LARK_VERIFICATION_TOKEN": "",  # required for webhook (checked with the transport)
    "LARK_DOMAIN": "https://open.feishu.cn",
    "REFERRAL_BOT_HOST": "127.0.0.1",
    "REFERRAL_BOT_PORT": "8000",
    "REFERRAL_BOT_DB": "referral-bot.db",
    "REFERRAL_BOT_ADMINS": "",
    "REFERRAL_BOT_DIGEST_CRON": "0 9 * * 1-5",
    "REFERRAL_BOT_DIGEST_TZ": "Asia/Shanghai",
    "REFERRAL_BOT_DIGEST_CHATS": "",
    "REFERRAL_BOT_ALLOW_UNSIGNED": "0",
    "REFERRAL_BOT_WITHDRAW_APPROVERS": "",
    "REFERRAL_BOT_WITHDRAW_SELF_APPROVE": "0",
    "REFERRAL_BOT_RECONCILE_CRON": "0 10 1 * *",
    "REFERRAL_BOT_NOTICE_CHATS": "",
    "REFERRAL_BOT_NOTIFY_REFERRERS": "0",
    "REFERRAL_BOT_OFFBOARDING": "ask",
    "REFERRAL_BOT_REFERRAL_UPDATES": "stages",
    "REFERRAL_BOT_DEFAULT_REWARD": "",
    "REFERRAL_BOT_TRANSPORT": "webhook",
    "REFERRAL_BOT_PUBLIC_URL": "",
    "REFERRAL_BOT_LOG_LEVEL": "INFO",
    # A second encrypt key and verification token also accepted, while one is being changed.
    "LARK_ENCRYPT_KEY_PREVIOUS": "",
    "LARK_VERIFICATION_TOKEN_PREVIOUS": "",
}
TRANSPORTS = ("webhook", "long_connection")
OFFBOARDING_MODES = ("ask", "disable", "off")
REFERRAL_UPDATES = ("stages", "outcomes", "off")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECRETS = (
    "LARK_APP_SECRET",
    "LARK_ENCRYPT_KEY",
    "LARK_VERIFICATION_TOKEN",
    "LARK_ENCRYPT_KEY_PREVIOUS",
    "LARK_VERIFICATION_TOKEN_PREVIOUS",
)


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line naming it."""


@dataclass(frozen=True)
class Settings:
    app_id: str
    app_secret: str
    encrypt_key: str
    verification_token: str
    domain: str
    host: str
    port: int
    db_path: str
    admins: frozenset[str]
    digest_cron: str
    digest_tz: str
    digest_chats: tuple[str, ...]
    # Take pushes without an encrypt key (unsigned): only where nobody else can reach the URL.
    allow_unsigned: bool = False
    # Who may approve withdrawals (none: any admin but the requester), and whether the
    # requester may approve their own (a one-person HR team).
    withdraw_approvers: frozenset[str] = frozenset()
    withdraw_self_approve: bool = False
    reconcile_cron: str = "0 10 1 * *"
    # Balance-change notices and leaver prompts go to these chats; referrers may be told too.
    notice_chats: tuple[str, ...] = ()
    notify_referrers: bool = False
    offboarding: str = "ask"  # ask | disable | off
    # What referrers are told of the people they referred: stages | outcomes | off.
    referral_updates: str = "stages"
    # What the Reward form of a hired card starts with ("2000 points", "CNY 3000"); "": empty.
    default_reward: str = ""
    # webhook: Feishu posts to our URL; long_connection: we dial Feishu (no public URL needed).
    transport: str = "webhook"
    public_url: str = ""  # where Feishu reaches the bot (doctor checks it)
    log_level: str = "INFO"  # of the `serve` process's log
    # While a secret is being changed in the console, pushes made with the other one pass too.
    encrypt_key_previous: str = ""
    verification_token_previous: str = ""

    def __repr__(self) -> str:  # never print secrets into logs
        return f"Settings(app_id={self.app_id!r}, domain={self.domain!r}, port={self.port})"

    def is_admin(self, open_id: str | None) -> bool:
        return bool(open_id) and open_id in self.admins


def load_settings(
    config_path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the settings; raise ConfigError with one line naming everything that is wrong."""
    environ = os.environ if environ is None else environ
    explicit = config_path or environ.get("REFERRAL_BOT_CONFIG")
    values = {**_read_file(Path(explicit or DEFAULT_CONFIG_FILE), required=bool(explicit))}
    for name in DEFAULTS:
        if environ.get(name, "") != "":
            values[name] = environ[name]
    for name, default in DEFAULTS.items():
        if values.get(name, "") == "" and default is not None:
            values[name] = default
    return _validate(values)


def _read_file(path: Path, *, required: bool) -> dict[str, str]:
    if not path.exists():
        if required:
            raise ConfigError(f"config file {path} does not exist")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"config file {path} is not valid YAML{line}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of setting names to values")
    values: dict[str, str] = {}
    for key, value in data.items():
        name = str(key).upper()
        if name not in DEFAULTS:
            raise ConfigError(f"config file {path} has an unknown setting {key!r}")
        if name in SECRETS and value:
            log.warning("%s is set in %s; keep secrets in the environment instead", name, path)
        values[name] = _as_text(value)
    return values


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _validate(values: dict[str, str]) -> Settings:
    """The settings, or one ConfigError naming every problem at once: a deployer fixes them
    all in one go rather than one per run."""
    problems: list[str] = []
    domain = values["LARK_DOMAIN"].rstrip("/")
    parts = urlsplit(domain)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"LARK_DOMAIN must be a URL like https://open.feishu.cn, got {domain!r}")
    try:
        port = int(values["REFERRAL_BOT_PORT"])
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        problems.append(
            f"REFERRAL_BOT_PORT must be a port number, got {values['REFERRAL_BOT_PORT']!r}"
        )
    tz = values["REFERRAL_BOT_DIGEST_TZ"]
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"REFERRAL_BOT_DIGEST_TZ is not a known time zone: {tz!r}")
        tz = "UTC"  # only to check the crontabs below
    for name in ("REFERRAL_BOT_DIGEST_CRON", "REFERRAL_BOT_RECONCILE_CRON"):
        try:
            crontab_trigger(values[name], tz)
        except ValueError:
            problems.append(f"{name} is not a 5-field crontab: {values[name]!r}")
    offboarding = values["REFERRAL_BOT_OFFBOARDING"].strip().lower()
    if offboarding not in OFFBOARDING_MODES:
        problems.append(
            f"REFERRAL_BOT_OFFBOARDING must be one of {', '.join(OFFBOARDING_MODES)},"
            f" got {values['REFERRAL_BOT_OFFBOARDING']!r}"
        )
    referral_updates = values["REFERRAL_BOT_REFERRAL_UPDATES"].strip().lower()
    if referral_updates not in REFERRAL_UPDATES:
        problems.append(
            f"REFERRAL_BOT_REFERRAL_UPDATES must be one of {', '.join(REFERRAL_UPDATES)},"
            f" got {values['REFERRAL_BOT_REFERRAL_UPDATES']!r}"
        )
    default_reward = values["REFERRAL_BOT_DEFAULT_REWARD"].strip()
    try:
        parse_default(default_reward)
    except BadAmount as exc:
        problems.append(
            "REFERRAL_BOT_DEFAULT_REWARD must be like '2000 points' or 'CNY 3000',"
            f" got {default_reward!r}: {exc.en}"
        )
    transport = values["REFERRAL_BOT_TRANSPORT"].strip().lower()
    if transport not in TRANSPORTS:
        problems.append(
            f"REFERRAL_BOT_TRANSPORT must be one of {', '.join(TRANSPORTS)},"
            f" got {values['REFERRAL_BOT_TRANSPORT']!r}"
        )
    public_url = values["REFERRAL_BOT_PUBLIC_URL"].rstrip("/")
    if public_url and urlsplit(public_url).scheme not in ("http", "https"):
        problems.append(
            "REFERRAL_BOT_PUBLIC_URL must be a URL like https://bot.example.com,"
            f" got {public_url!r}"
        )
    log_level = values["REFERRAL_BOT_LOG_LEVEL"].strip().upper()
    if log_level not in LOG_LEVELS:
        problems.append(
            f"REFERRAL_BOT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)},"
            f" got {values['REFERRAL_BOT_LOG_LEVEL']!r}"
        )
    flags = {}
    for name in (
        "REFERRAL_BOT_ALLOW_UNSIGNED",
        "REFERRAL_BOT_WITHDRAW_SELF_APPROVE",
        "REFERRAL_BOT_NOTIFY_REFERRERS",
    ):
        try:
            flags[name] = _flag(values, name)
        except ConfigError as exc:
            problems.append(str(exc))
            flags[name] = False
    allow_unsigned = flags["REFERRAL_BOT_ALLOW_UNSIGNED"]
    missing = [
        name for name, default in DEFAULTS.items() if default is None and not values.get(name)
    ]
    # Over the long connection the connection itself is authenticated: pushes carry no
    # signature and no token to check.
    if transport == "webhook" and not values["LARK_VERIFICATION_TOKEN"]:
        missing.append("LARK_VERIFICATION_TOKEN")
    # Without it pushes are not signed, and anyone who learns the verification token (it
    # travels in every body) could send commands as an admin.
    unsigned = transport == "webhook" and not values["LARK_ENCRYPT_KEY"] and not allow_unsigned
    if unsigned:
        missing.append("LARK_ENCRYPT_KEY")
    if missing:
        where = "environment or app.yaml"
        if unsigned:
            where = (
                "environment or app.yaml; LARK_ENCRYPT_KEY is the console's Encrypt Key, "
                "or REFERRAL_BOT_ALLOW_UNSIGNED=1 takes unsigned pushes instead"
            )
        plural = "s" if len(missing) > 1 else ""
        problems.insert(0, f"missing required setting{plural} {', '.join(missing)} ({where})")
    if problems:
        raise ConfigError("; ".join(problems))
    return Settings(
        app_id=values["LARK_APP_ID"],
        app_secret=values["LARK_APP_SECRET"],
        encrypt_key=values["LARK_ENCRYPT_KEY"],
        verification_token=values["LARK_VERIFICATION_TOKEN"],
        domain=domain,
        host=values["REFERRAL_BOT_HOST"],
        port=port,
        db_path=values["REFERRAL_BOT_DB"],
        admins=frozenset(_split(values["REFERRAL_BOT_ADMINS"])),
        digest_cron=values["REFERRAL_BOT_DIGEST_CRON"],
        digest_tz=tz,
        digest_chats=_split(values["REFERRAL_BOT_DIGEST_CHATS"]),
        allow_unsigned=allow_unsigned,
        withdraw_approvers=frozenset(_split(values["REFERRAL_BOT_WITHDRAW_APPROVERS"])),
        withdraw_self_approve=flags["REFERRAL_BOT_WITHDRAW_SELF_APPROVE"],
        reconcile_cron=values["REFERRAL_BOT_RECONCILE_CRON"],
        notice_chats=_split(values["REFERRAL_BOT_NOTICE_CHATS"]),
        notify_referrers=flags["REFERRAL_BOT_NOTIFY_REFERRERS"],
        offboarding=offboarding,
        referral_updates=referral_updates,
        default_reward=default_reward,
        transport=transport,
        public_url=public_url,
        log_level=log_level,
        encrypt_key_previous=values["LARK_ENCRYPT_KEY_PREVIOUS"],
        verification_token_previous=values["LARK_VERIFICATION_TOKEN_PREVIOUS"],
    )


def _flag(values: dict[str, str], name: str) -> bool:
    value = values[name].strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {values[name]!r}")

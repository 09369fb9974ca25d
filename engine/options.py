"""The engine's command-line options: a flag per Config knob (with aliases and --no- forms), and
the Config they make with the config file and the MAILPROBE_* variables.

Every command that runs the engine (`verify`, `doctor`, `config show`, the HTTP service) takes
them from here, so a setting means the same in each. Flags only record what was typed;
settings.resolve() reads and checks the values, so a bad value is reported the same way whether
it came from a flag, a variable or the file.
"""

from __future__ import annotations

import argparse
import enum
import os
import typing
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from engine import settings
from engine.config import Config
from engine.egressopts import EGRESS_ENV, add_egress_options, egress_changes
from engine.routing import Egress
from engine.settings import CONFIG_ENV, FlagValue, Knob, enum_values, knobs

__all__ = [
    "SETTINGS_EPILOG",
    "UsageError",
    "add_engine_options",
    "add_options",
    "add_spread_option",
    "config_from_args",
    "flag_values",
    "settings_from_args",
]

SETTINGS_EPILOG = """
settings: every flag under "settings" also comes from a TOML file (--config FILE, or the file
named by $MAILPROBE_CONFIG) and from a variable MAILPROBE_<KEY>, the key in capitals with its
section: --smtp-port is smtp_port in the file and MAILPROBE_SMTP_PORT; --timeouts-dns-s is
dns_s under [timeouts] and MAILPROBE_TIMEOUTS_DNS_S. Flags win over variables, variables over
the file, the file over the defaults. `mailprobe config show` prints what is in effect.
"""


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2 with a clear message."""


# Shorter or older spellings of some flags; every knob also has its generic flag.
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "helo_name": ("--helo",),
    "nameservers": ("--nameserver",),
    "allow_private_addresses": ("--allow-private",),
    "greylist_delay_s": ("--greylist-delay",),
    "cache_path": ("--cache",),
    "timeouts.budget_s": ("--timeout",),
    "politeness.sessions_per_host": ("--sessions-per-host",),
    "politeness.connections_per_minute_per_host": ("--connections-per-minute",),
}

# Options without a value that set knobs to fixed values.
_SHORTCUTS: Mapping[str, tuple[tuple[tuple[str, object], ...], str]] = {
    "--offline": (
        (("check_dns", False), ("check_smtp", False)),
        "syntax, typos and flags only: no DNS, no SMTP",
    ),
    "--no-smtp": ((("check_smtp", False),), "stop after the DNS stage"),
    "--no-cache": ((("cache_path", ""),), "neither read nor write the result cache"),
}

# What a flag's --help says; a knob without an entry gets its key and default.
_HELP: Mapping[str, str] = {
    "check_dns": "run the DNS stage",
    "check_smtp": "run the SMTP stage",
    "clean": "strip mailto:, <>, stray punctuation and spaces before parsing",
    "disposable_is_risky": "disposable domains are risky and not probed",
    "suggest_typos": "suggest a correction for a mistyped domain",
    "nameservers": "DNS server IPs, repeatable or comma-separated (default: the system's)",
    "dns_port": "DNS port",
    "dns_attempts": "tries per DNS query before the outcome is transient",
    "prefer_ipv6": "try a mail host's IPv6 addresses first",
    "max_mx_hosts": "MX hosts used per domain",
    "max_addresses": "addresses used per domain across its MX hosts",
    "dns_ttl_min_s": "cached DNS answers live at least this long",
    "dns_ttl_max_s": "cached DNS answers live at most this long",
    "dns_negative_ttl_s": "how long NXDOMAIN and no-MX answers are cached",
    "dns_transient_ttl_s": "how long SERVFAIL and timeouts are cached",
    "smtp_port": "SMTP port",
    "helo_name": "HELO/EHLO name (default: this machine's FQDN)",
    "mail_from": "MAIL FROM address; '' is the null sender (default: verify@HELO-NAME)",
    "starttls": "STARTTLS policy",
    "verify_certificates": "require valid TLS certificates",
    "detect_catch_all": "probe a random address to detect catch-all domains",
    "greylist_retry": "retry once after a greylisting reply",
    "greylist_delay_s": "seconds before the greylisting retry",
    "transient_retries": "retries on the next MX after a transient failure",
    "retry_backoff_s": "first back-off between those retries (doubles)",
    "allow_private_addresses": "allow private/loopback mail hosts (intranets, tests)",
    "timeouts.dns_s": "seconds for one DNS query",
    "timeouts.connect_s": "seconds for a TCP connect",
    "timeouts.greeting_s": "seconds to wait for the 220 greeting",
    "timeouts.command_s": "seconds for each SMTP command",
    "timeouts.budget_s": "seconds for the whole check of one address",
    "politeness.sessions_per_host": "concurrent SMTP sessions per MX host",
    "politeness.sessions_per_provider": "concurrent SMTP sessions per provider",
    "politeness.sessions_total": "concurrent SMTP sessions overall",
    "politeness.connections_per_minute_per_host": "new connections per MX host a minute; 0: no cap",
    "politeness.rcpts_per_transaction": "RCPT TO commands per MAIL FROM",
    "politeness.transactions_per_session": "MAIL FROM transactions per connection",
    "politeness.errors_per_session": "expected rejected RCPTs per session",
    "politeness.max_errors_per_session": "rejected RCPTs per session, at worst",
    "politeness.backoff_base_s": "first back-off after a 421 (doubles)",
    "politeness.backoff_max_s": "longest back-off",
    "cache_path": "result cache file; '' for none "
    "(default: $XDG_CACHE_HOME/mailprobe/results.sqlite3)",
    "cache_positive_ttl_s": "seconds a deliverable or risky result is reused",
    "cache_negative_ttl_s": "seconds an undeliverable result is reused",
    "data_dir": "directory with your own copies of the data lists",
}


_DEST = "setting:"  # namespace attributes "setting:KEY" hold a FlagValue


class _Value(argparse.Action):
    """A flag with a value; records what the user typed (appended for list knobs) for its own
    knob, or for each knob in `keys`, as if each knob's own flag had been given that value."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: typing.Any) -> None:
        self.is_list = bool(kwargs.pop("is_list", False))
        keys: Sequence[str] = kwargs.pop("keys", ())
        super().__init__(option_strings, dest, **kwargs)
        self.dests = tuple(_DEST + key for key in keys) or (dest,)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[typing.Any] | None,
        option_string: str | None = None,
    ) -> None:
        text = str(values)
        for dest in self.dests:
            value: object = text
            if self.is_list:
                previous = getattr(namespace, dest, None)
                before = previous.value if isinstance(previous, FlagValue) else []
                value = [*before, text] if isinstance(before, list) else [text]
            setattr(namespace, dest, FlagValue(option_string or self.dest, value))


class _Fixed(argparse.Action):
    """An option without a value that sets knobs to fixed values (--offline, --no-check-dns)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: typing.Any) -> None:
        self.sets: Mapping[str, tuple[tuple[str, object], ...]] = kwargs.pop("sets")
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[typing.Any] | None,
        option_string: str | None = None,
    ) -> None:
        option = option_string or self.option_strings[0]
        for key, value in self.sets[option]:
            setattr(namespace, _DEST + key, FlagValue(option, value))


def _metavar(knob: Knob) -> str:
    if issubclass(knob.base, enum.Enum):
        return "{" + ",".join(enum_values(knob.base)) + "}"
    if knob.is_tuple:
        return "A[,B...]"
    if knob.base is Path:
        return "PATH"
    if knob.base is int:
        return "N"
    if knob.base is float:
        return "SECONDS" if knob.path[-1].endswith("_s") else "NUMBER"
    return "TEXT"


def _shown(knob: Knob) -> str:
    default = knob.default
    if default is None:
        return "not set"
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, enum.Enum):
        return str(default.value)
    if isinstance(default, float):
        return f"{default:g}"
    if isinstance(default, tuple):
        return ",".join(map(str, default))
    return str(default)


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add --config and one flag per knob (with its aliases and --no- forms) to `parser`."""
    main = parser.add_argument_group(
        "settings",
        "each also comes from the --config file and a MAILPROBE_* variable;\n"
        "flags > variables > file > defaults (see `mailprobe config show`)",
    )
    main.add_argument(
        "--config",
        dest="config_file",
        metavar="FILE",
        help=f"TOML file of settings (default: ${CONFIG_ENV}, else none)",
    )
    for option, (fixed, text) in _SHORTCUTS.items():
        main.add_argument(
            option, action=_Fixed, sets={option: fixed}, default=argparse.SUPPRESS, help=text
        )
    groups: dict[tuple[str, ...], argparse._ArgumentGroup] = {(): main}
    for knob in knobs():
        section = knob.path[:-1]
        if section not in groups:
            groups[section] = parser.add_argument_group(f"settings: [{'.'.join(section)}]")
        group = groups[section]
        help_text = _HELP.get(knob.key, knob.key)
        if "default" not in help_text:
            help_text += f" (default: {_shown(knob)})"
        options = [*_ALIASES.get(knob.key, ()), knob.flag]
        if knob.base is bool and not knob.is_tuple:
            negatives = ["--no-" + knob.flag.removeprefix("--")]
            sets: dict[str, tuple[tuple[str, object], ...]] = {
                o: ((knob.key, True),) for o in options
            }
            sets.update({o: ((knob.key, False),) for o in negatives})
            group.add_argument(
                *options, *negatives, action=_Fixed, sets=sets, dest=_DEST + knob.key,
                default=argparse.SUPPRESS, help=help_text,
            )  # fmt: skip
        else:
            group.add_argument(
                *options, action=_Value, is_list=knob.is_tuple, dest=_DEST + knob.key,
                default=argparse.SUPPRESS, metavar=_metavar(knob), help=help_text,
            )  # fmt: skip


def flag_values(args: argparse.Namespace) -> dict[str, FlagValue]:
    """The knobs set by flags in `args` (parsed by a parser given add_options), by dotted key."""
    return {
        name.removeprefix(_DEST): value
        for name, value in vars(args).items()
        if name.startswith(_DEST) and isinstance(value, FlagValue)
    }


def add_spread_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    option: str,
    keys: Sequence[str],
    *,
    metavar: str,
    help: str,
) -> None:
    """Add `option`, whose value sets every knob in `keys` (dotted keys) as a flag would.

    Given with one of those knobs' own flags, the later one on the command line wins.
    """
    by_key = {k.key for k in knobs()}
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        raise ValueError(f"{option}: no such setting: {', '.join(unknown)}")
    parser.add_argument(
        option, action=_Value, keys=tuple(keys), dest=_DEST + option,
        default=argparse.SUPPRESS, metavar=metavar, help=help,
    )  # fmt: skip


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Add --config, a flag for every Config knob, and --proxy/--egress/--route to `parser`.

    Read the parsed options back with config_from_args(). Nothing here is specific to one
    command, so every command that runs the engine offers the same settings.
    """
    add_options(parser)
    add_egress_options(parser)


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Config:
    """The Config from defaults < config file < MAILPROBE_* variables < flags.

    `args` comes from a parser given add_engine_options(); `environ` defaults to os.environ.
    Raises UsageError (naming the file, variable or flag) for a setting that cannot be used.
    """
    return settings_from_args(args, environ).config


def settings_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> settings.Settings:
    """config_from_args(), with where each value came from."""
    env = os.environ if environ is None else environ
    file = args.config_file if args.config_file is not None else env.get(settings.CONFIG_ENV)
    from engine.cache import default_cache_path

    # The command keeps a result cache by default; the library's Config has none.
    defaults = replace(Config(), cache_path=default_cache_path())
    try:
        resolved = settings.resolve(
            defaults,
            file=Path(file).expanduser() if file else None,
            environ=env,
            flags=flag_values(args),
        )
        # Egresses and routes: --proxy/--egress/--route, else their variables, else the file's
        # [egresses.NAME] and [routes] sections (already in `resolved`).
        changes = egress_changes(args, env)
        if "egresses" in changes:
            # Routes name egresses: new egresses from a stronger source drop the weaker routes.
            changes.setdefault("routes", ())
        config = replace(resolved.config, **changes) if changes else resolved.config  # type: ignore[arg-type]
        _check_socks(config.egresses)
        sources = {**resolved.sources, **{k: _egress_source(args, env, k) for k in changes}}
        return settings.Settings(config, sources)
    except settings.SettingsError as exc:
        raise UsageError(str(exc)) from exc
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _egress_source(args: argparse.Namespace, env: Mapping[str, str], key: str) -> settings.Source:
    flags = ("route",) if key == "routes" else ("egress", "proxy")
    given = [f"--{name}" for name in flags if getattr(args, name, None)]
    if given:
        return settings.Source("flag", ", ".join(given))
    return settings.Source("env", ", ".join(n for n in EGRESS_ENV if env.get(n)))


def _check_socks(egresses: Sequence[Egress]) -> None:
    """A proxy without python-socks would make every result unknown: say so up front."""
    from engine.egress import SOCKS_EXTRA_HINT, socks_available

    if any(e.proxy is not None for e in egresses) and not socks_available():
        raise UsageError(f"a proxy is configured but {SOCKS_EXTRA_HINT}")

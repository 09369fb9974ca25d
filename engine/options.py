"""Command-line options for every setting: a flag per Config knob, with aliases and --no- forms.

Flags only record what was typed; settings.resolve() reads and checks the values, so a bad value
is reported the same way whether it came from a flag, a variable or the file.
"""

from __future__ import annotations

import argparse
import enum
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path

from engine.settings import CONFIG_ENV, FlagValue, Knob, enum_values, knobs

__all__ = ["add_options", "flag_values"]

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
    """A flag with a value; records what the user typed (appended for list knobs)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: typing.Any) -> None:
        self.is_list = bool(kwargs.pop("is_list"))
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[typing.Any] | None,
        option_string: str | None = None,
    ) -> None:
        text = str(values)
        value: object = text
        previous = getattr(namespace, self.dest, None)
        if self.is_list:
            before = previous.value if isinstance(previous, FlagValue) else []
            value = [*before, text] if isinstance(before, list) else [text]
        setattr(namespace, self.dest, FlagValue(option_string or self.dest, value))


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

"""Settings: every Config knob from a TOML file, MAILPROBE_* variables and command-line flags.

The knobs are derived from the Config dataclasses (Timeouts and Politeness included), so a knob
added to Config gets its file key, variable and flag without another table. Only the command
line and the service use this module; the library itself never reads files or the environment.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import math
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from engine.config import Config
from engine.egressopts import EGRESS_ENV
from engine.routing import egress_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with tomli, the library tomllib came from
    import tomli as tomllib

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    _D = TypeVar("_D", bound=DataclassInstance)

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "FlagValue",
    "Knob",
    "Settings",
    "SettingsError",
    "Source",
    "knobs",
    "resolve",
    "to_toml",
    "unknown_variables",
]

ENV_PREFIX = "MAILPROBE_"
CONFIG_ENV = "MAILPROBE_CONFIG"  # the config file, when --config is not given
# Config fields holding structured values, read from their own file sections ([egresses.NAME],
# [routes]) by engine.routing and from --proxy/--egress/--route by engine.egressopts.
ROUTING_FIELDS = ("egresses", "routes")
# Flags whose generic name is taken: `mailprobe serve --data-dir` is the service's database.
_FLAG_NAMES = {"data_dir": "--lists-dir"}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SCALARS = (bool, int, float, str, Path)


class SettingsError(Exception):
    """A setting that cannot be used; the message names the file, variable or flag."""


# -- the knobs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Knob:
    """One Config field: where it lives, what it takes, and its default."""

    path: tuple[str, ...]  # ("timeouts", "budget_s")
    base: type  # bool, int, float, str, Path or an Enum
    is_tuple: bool  # tuple[base, ...]
    optional: bool  # None allowed
    default: object

    @property
    def key(self) -> str:
        """The dotted name: `timeouts.budget_s`; in the file, `budget_s` under `[timeouts]`."""
        return ".".join(self.path)

    @property
    def env(self) -> str:
        return ENV_PREFIX + "_".join(self.path).upper()

    @property
    def flag(self) -> str:
        return _FLAG_NAMES.get(self.key) or "--" + "-".join(self.path).replace("_", "-")

    def expected(self) -> str:
        """What a value must look like, in words, for error messages."""
        base = self.base
        if base is bool:
            what = "true or false"
        elif base is int:
            what = "an integer"
        elif base is float:
            what = "a number"
        elif base is str:
            what = "text"
        elif base is Path:
            what = "a path"
        else:
            what = "one of " + ", ".join(enum_values(base))
        if self.is_tuple:
            what = f"a list of {what}" + (" (empty: not set)" if self.optional else "")
        elif self.optional and base is not str:
            what += ' (or "" for not set)'
        return what

    def is_unset(self, value: object) -> bool:
        """Whether a value from the file or a variable means None: "" (a text knob keeps it
        as text: mail_from = "" is the null sender) or an empty list."""
        if not self.optional:
            return False
        if self.is_tuple:
            return value == [] or (isinstance(value, str) and not value.strip())
        return self.base is not str and isinstance(value, str) and not value.strip()


def knobs(config_type: type[Config] = Config) -> tuple[Knob, ...]:
    """Every knob of `config_type`, in field order, nested dataclasses walked into.

    Raises TypeError for a field type the settings cannot read (tests catch that early).
    """
    return tuple(_walk(config_type, config_type(), ()))


def _walk(cls: type, defaults: object, prefix: tuple[str, ...]) -> list[Knob]:
    found: list[Knob] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = (*prefix, f.name)
        if path[0] in ROUTING_FIELDS:
            continue
        hint = hints[f.name]
        default = getattr(defaults, f.name)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            found.extend(_walk(hint, default, path))
        else:
            base, is_tuple, optional = _classify(hint, ".".join(path))
            found.append(Knob(path, base, is_tuple, optional, default))
    return found


def _classify(hint: object, key: str) -> tuple[type, bool, bool]:
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            raise TypeError(f"Config.{key}: settings cannot read {hint!r}")
        hint, optional = rest[0], True
    is_tuple = False
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"Config.{key}: settings read only tuple[X, ...], not {hint!r}")
        hint, is_tuple = args[0], True
    if isinstance(hint, type) and (hint in _SCALARS or issubclass(hint, enum.Enum)):
        return hint, is_tuple, optional
    raise TypeError(f"Config.{key}: settings cannot read {hint!r}")


def enum_values(base: type) -> list[str]:
    return [str(m.value) for m in typing.cast("type[enum.Enum]", base)]


# -- values from text (variables, flags) and from TOML ----------------------------------------


def _scalar_from_text(knob: Knob, text: str, base_dir: Path | None = None) -> object:
    """One value from text; a relative path is taken from `base_dir` (default: the working
    directory) and made absolute, so a shown setting means the same wherever it is read."""
    base, word = knob.base, text.strip()
    try:
        if base is bool:
            if word.lower() in _TRUE:
                return True
            if word.lower() in _FALSE:
                return False
            raise ValueError
        if base is int:
            return int(word)
        if base is float:
            return _finite(float(word))
        if base is str:
            return text
        if base is Path:
            path = Path(word).expanduser()
            return path if path.is_absolute() else (base_dir or Path.cwd()) / path
        for member in typing.cast("type[enum.Enum]", base):
            if str(member.value) == word.lower():
                return member
    except ValueError:
        pass
    raise ValueError


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError
    return value


def from_text(knob: Knob, text: str | Sequence[str], where: str) -> object:
    """The value of `knob` written as `text` (a variable or flag; a list for repeated flags).

    Raises SettingsError naming `where`.
    """
    texts = [text] if isinstance(text, str) else list(text)
    try:
        if knob.is_tuple:
            items = [i.strip() for t in texts for i in t.split(",") if i.strip()]
            if not items and knob.optional:
                return None
            return tuple(_scalar_from_text(knob, i) for i in items)
        last = texts[-1]
        return None if knob.is_unset(last) else _scalar_from_text(knob, last)
    except ValueError:
        shown = texts[0] if len(texts) == 1 else texts
        raise SettingsError(f"{where}: expected {knob.expected()}, got {shown!r}") from None


def _scalar_from_toml(knob: Knob, value: object, base_dir: Path) -> object:
    base = knob.base
    if base is bool and isinstance(value, bool):
        return value
    if base is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite(float(value))
    if isinstance(value, str) and base is not bool and base is not int and base is not float:
        return _scalar_from_text(knob, value, base_dir)
    raise ValueError


def from_toml(knob: Knob, value: object, where: str, base_dir: Path) -> object:
    """The value of `knob` as a TOML document holds it (relative paths start at `base_dir`,
    the file's directory); raises SettingsError naming `where`."""
    try:
        if knob.is_unset(value):
            return None
        if knob.is_tuple:
            if not isinstance(value, list):
                raise ValueError
            return tuple(_scalar_from_toml(knob, v, base_dir) for v in value)
        return _scalar_from_toml(knob, value, base_dir)
    except ValueError:
        raise SettingsError(f"{where}: expected {knob.expected()}, got {value!r}") from None


def _read_file(path: Path, all_knobs: Sequence[Knob]) -> dict[str, object]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    by_key = {k.key: k for k in all_knobs}
    sections = {k.path[:i] for k in all_knobs for i in range(1, len(k.path))}
    values: dict[str, object] = {}

    def walk(table: Mapping[str, object], prefix: tuple[str, ...]) -> None:
        for name, value in table.items():
            path = (*prefix, name)
            key = ".".join(path)
            if key in by_key:
                values[key] = from_toml(by_key[key], value, f"{path_name}: {key}", base_dir)
            elif path in sections:
                if not isinstance(value, dict):
                    raise SettingsError(
                        f"{path_name}: {key} must be a table ([{key}]), got {value!r}"
                    )
                walk(value, path)
            else:
                raise SettingsError(f"{path_name}: unknown key {key!r}{_hint(path, all_knobs)}")

    path_name = str(path)
    base_dir = path.absolute().parent
    routing = {name: document.pop(name) for name in ROUTING_FIELDS if name in document}
    walk(document, ())
    if routing:
        try:
            values["egresses"], values["routes"] = egress_settings(routing)
        except ValueError as exc:
            raise SettingsError(f"{path_name}: {exc}") from None
    return values


def _hint(path: tuple[str, ...], all_knobs: Sequence[Knob]) -> str:
    """A suggestion for an unknown key: the same name in its section, or a close spelling."""
    placed = [k for k in all_knobs if k.path[-1] == path[-1] and k.path != path]
    if placed:
        k = placed[0]
        return f" (did you mean {k.path[-1]} under [{'.'.join(k.path[:-1])}]?)"
    near = difflib.get_close_matches(".".join(path), [k.key for k in all_knobs], n=1)
    return f" (did you mean {near[0]}?)" if near else ""


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """MAILPROBE_* variables that name no setting (a typo is ignored otherwise)."""
    known = {k.env for k in knobs()} | {CONFIG_ENV, *EGRESS_ENV}
    return sorted(n for n in environ if n.startswith(ENV_PREFIX) and n not in known)


# -- resolving: defaults < file < environment < flags -------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """Where a setting's value came from."""

    kind: Literal["default", "file", "env", "flag"]
    name: str = ""  # the file, the variable or the flag

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


@dataclass(frozen=True, slots=True)
class FlagValue:
    """A flag as given: the option spelled by the user and its text (a list when repeated),
    or a ready value for options that take none."""

    option: str
    value: object


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective Config, and where each knob's value came from (by dotted key)."""

    config: Config
    sources: Mapping[str, Source]


def resolve(
    defaults: Config,
    *,
    file: Path | None,
    environ: Mapping[str, str],
    flags: Mapping[str, FlagValue],
) -> Settings:
    """The Config from `defaults`, then the file, then the variables, then the flags.

    Raises SettingsError for a missing or malformed file, an unknown key, a value of the wrong
    type or a combination Config refuses; the message says which file, variable or flag.
    """
    all_knobs = knobs()
    by_key = {k.key: k for k in all_knobs}
    sources = {k: Source("default") for k in (*(k.key for k in all_knobs), *ROUTING_FIELDS)}
    config = defaults
    if file is not None:
        values = _read_file(file, all_knobs)
        config = _apply(config, values, str(file))
        sources.update((key, Source("file", str(file))) for key in values)
    env_values: dict[str, object] = {}
    for knob in all_knobs:
        if knob.env in environ:
            env_values[knob.key] = from_text(knob, environ[knob.env], knob.env)
            sources[knob.key] = Source("env", knob.env)
    env_names = ", ".join(by_key[key].env for key in env_values)
    config = _apply(config, env_values, f"environment ({env_names})")
    flag_values_: dict[str, object] = {}
    for key, given in flags.items():
        knob = by_key[key]
        raw = given.value
        if isinstance(raw, (str, list, tuple)):
            value = from_text(knob, typing.cast("str | list[str]", raw), given.option)
        else:
            value = raw
        flag_values_[key] = value
        sources[key] = Source("flag", given.option)
    flag_names = ", ".join(sorted({f.option for f in flags.values()}))
    config = _apply(config, flag_values_, f"flags ({flag_names})")
    return Settings(config, sources)


def _apply(config: Config, values: Mapping[str, object], where: str) -> Config:
    if not values:
        return config
    try:
        return _replace(config, {tuple(k.split(".")): v for k, v in values.items()})
    except ValueError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def _replace(obj: _D, changes: Mapping[tuple[str, ...], object]) -> _D:
    top: dict[str, object] = {}
    nested: dict[str, dict[tuple[str, ...], object]] = {}
    for path, value in changes.items():
        if len(path) == 1:
            top[path[0]] = value
        else:
            nested.setdefault(path[0], {})[path[1:]] = value
    for name, sub in nested.items():
        top[name] = _replace(getattr(obj, name), sub)
    return dataclasses.replace(obj, **top)


def _value_at(config: Config, path: tuple[str, ...]) -> object:
    value: object = config
    for name in path:
        value = getattr(value, name)
    return value


# -- the file's format, for `mailprobe config show` ---------------------------------------------


def _toml_string(text: str) -> str:
    # JSON's string escapes are all valid in TOML basic strings; TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, enum.Enum):
        return _toml_string(str(value.value))
    return _toml_string(str(value))


def _toml_value(knob: Knob, value: object) -> str | None:
    """`value` as TOML; None for an unset text knob (TOML has no null; omitting it unsets it)."""
    if value is None:
        if knob.is_tuple:
            return "[]"
        return None if knob.base is str else '""'
    if knob.is_tuple:
        items = typing.cast("tuple[object, ...]", value)
        return "[" + ", ".join(_toml_scalar(v) for v in items) + "]"
    return _toml_scalar(value)


def to_toml(settings: Settings, header: Sequence[str] = ()) -> str:
    """The settings as a config file, each value followed by where it came from.

    Reading the text back with --config gives the same Config.
    """
    lines = [f"# {line}".rstrip() for line in header]
    sections: dict[tuple[str, ...], list[Knob]] = {}
    for knob in knobs():
        sections.setdefault(knob.path[:-1], []).append(knob)
    for section in sorted(sections, key=len):  # TOML: top-level keys before any [table]
        if section:
            lines += ["", f"[{'.'.join(section)}]"]
        for knob in sections[section]:
            name, source = knob.path[-1], settings.sources[knob.key]
            text = _toml_value(knob, _value_at(settings.config, knob.path))
            if text is None:
                lines.append(f"# {name} is not set  ({source})")
            else:
                lines.append(f"{name} = {text}  # {source}")
    lines += _routing_toml(settings)
    return "\n".join(lines) + "\n"


def _routing_toml(settings: Settings) -> list[str]:
    """[egresses.NAME] and [routes] sections; a proxy password is never printed."""
    config, lines = settings.config, []
    for egress in config.egresses:
        lines += ["", f"[egresses.{egress.name}]  # {settings.sources['egresses']}"]
        if egress.proxy is not None:
            hidden = "  # the password is not shown: put it back to reuse this file"
            note = hidden if egress.proxy.password is not None else ""
            lines.append(f"proxy = {_toml_string(str(egress.proxy))}{note}")
        for name in ("source_address", "helo_name", "mail_from"):
            value = getattr(egress, name)
            if value is not None:
                lines.append(f"{name} = {_toml_string(value)}")
    if config.routes:
        lines += ["", f"[routes]  # {settings.sources['routes']}"]
        for route in config.routes:
            names = ", ".join(_toml_string(n) for n in route.egresses)
            lines.append(f"{_toml_string(route.pattern)} = [{names}]")
    return lines

"""Settings: every Config knob from the file, MAILPROBE_* variables and flags, in that order of
strength; clear errors naming the file, key, variable or flag."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import sys
from pathlib import Path

import pytest

from engine import options, settings
from engine.cli import UsageError, add_engine_options, config_from_args, settings_from_args
from engine.config import Config, Politeness, Timeouts, TlsPolicy
from engine.settings import Knob, SettingsError, knobs

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomli is a dependency on Python 3.10
    import tomli as tomllib

ALL = knobs()
NO_ENV: dict[str, str] = {}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t")
    add_engine_options(parser)
    return parser


def _config(argv: list[str], environ: dict[str, str] | None = None) -> Config:
    return config_from_args(_parser().parse_args(argv), NO_ENV if environ is None else environ)


def _value_at(config: Config, knob: Knob) -> object:
    value: object = config
    for name in knob.path:
        value = getattr(value, name)
    return value


def _sample(knob: Knob) -> tuple[object, str, object]:
    """A valid value other than the default: (value, as text, as TOML would hold it)."""
    base, default = knob.base, knob.default
    if knob.is_tuple:
        return ("127.0.0.9", "127.0.0.10"), "127.0.0.9,127.0.0.10", ["127.0.0.9", "127.0.0.10"]
    if base is bool:
        return (not default), str(not default).lower(), not default
    if base is int:
        value = int(default) + 1 if isinstance(default, int) else 3
        return value, str(value), value
    if base is float:
        value = float(default) + 1.5 if isinstance(default, float) else 2.5
        return value, str(value), value
    if base is Path:
        return Path("/srv/mailprobe/x"), "/srv/mailprobe/x", "/srv/mailprobe/x"
    if issubclass(base, enum.Enum):
        other = next(m for m in base if m != default)
        return other, str(other.value), str(other.value)
    return "probe.example.com", "probe.example.com", "probe.example.com"


def _toml_for(knob: Knob, toml_value: object) -> str:
    rendered = settings._toml_scalar(toml_value) if not isinstance(toml_value, list) else (
        "[" + ", ".join(settings._toml_scalar(v) for v in toml_value) + "]"
    )  # fmt: skip
    section = knob.path[:-1]
    head = f"[{'.'.join(section)}]\n" if section else ""
    return f"{head}{knob.path[-1]} = {rendered}\n"


@dataclasses.dataclass(frozen=True)
class Inner:
    limit_s: float = 1.0


@dataclasses.dataclass(frozen=True)
class Custom:
    names: tuple[str, ...] | None = None
    level: TlsPolicy = TlsPolicy.NEVER
    where: Path | None = None
    inner: Inner = dataclasses.field(default_factory=Inner)


@dataclasses.dataclass(frozen=True)
class Odd:
    table: dict[str, int] = dataclasses.field(default_factory=dict)


# -- every knob, three ways ----------------------------------------------------------------------


def test_every_config_field_is_a_knob() -> None:
    def leaves(cls: type, prefix: tuple[str, ...]) -> set[str]:
        found: set[str] = set()
        for f in dataclasses.fields(cls):
            default = getattr(cls(), f.name)
            if dataclasses.is_dataclass(default):
                found |= leaves(type(default), (*prefix, f.name))
            else:
                found.add(".".join((*prefix, f.name)))
        return found

    # Egresses and routes are structured values with sections and flags of their own.
    assert {k.key for k in ALL} == leaves(Config, ()) - set(settings.ROUTING_FIELDS)
    assert {"timeouts.budget_s", "politeness.connections_per_minute_per_host"} <= {
        k.key for k in ALL
    }


@pytest.mark.parametrize("knob", ALL, ids=lambda k: k.key)
def test_every_knob_is_read_from_the_file(knob: Knob, tmp_path: Path) -> None:
    value, _, toml_value = _sample(knob)
    file = tmp_path / "mailprobe.toml"
    file.write_text(_toml_for(knob, toml_value), encoding="utf-8")
    resolved = settings_from_args(_parser().parse_args(["--config", str(file)]), NO_ENV)
    assert _value_at(resolved.config, knob) == value
    assert resolved.sources[knob.key] == settings.Source("file", str(file))


@pytest.mark.parametrize("knob", ALL, ids=lambda k: k.key)
def test_every_knob_is_read_from_its_variable(knob: Knob) -> None:
    value, text, _ = _sample(knob)
    resolved = settings_from_args(_parser().parse_args([]), {knob.env: text})
    assert _value_at(resolved.config, knob) == value
    assert resolved.sources[knob.key] == settings.Source("env", knob.env)


@pytest.mark.parametrize("knob", ALL, ids=lambda k: k.key)
def test_every_knob_has_a_flag(knob: Knob) -> None:
    value, text, _ = _sample(knob)
    if knob.base is bool and not knob.is_tuple:
        argv = [knob.flag if value else "--no-" + knob.flag.removeprefix("--")]
    else:
        argv = [knob.flag, text]
    resolved = settings_from_args(_parser().parse_args(argv), NO_ENV)
    assert _value_at(resolved.config, knob) == value
    assert resolved.sources[knob.key].kind == "flag"


def test_names_follow_the_documented_mapping() -> None:
    by_key = {k.key: k for k in ALL}
    assert by_key["smtp_port"].env == "MAILPROBE_SMTP_PORT"
    assert by_key["smtp_port"].flag == "--smtp-port"
    budget = by_key["timeouts.budget_s"]
    assert budget.env == "MAILPROBE_TIMEOUTS_BUDGET_S"
    assert budget.flag == "--timeouts-budget-s"
    rate = by_key["politeness.connections_per_minute_per_host"]
    assert rate.env == "MAILPROBE_POLITENESS_CONNECTIONS_PER_MINUTE_PER_HOST"
    # The variable naming the file is never a knob's.
    assert settings.CONFIG_ENV not in {k.env for k in ALL}


def test_knobs_walk_any_dataclass_and_refuse_types_they_cannot_read() -> None:
    found = {k.key: k for k in knobs(Custom)}  # type: ignore[arg-type]
    assert set(found) == {"names", "level", "where", "inner.limit_s"}
    assert found["names"].is_tuple and found["names"].optional
    assert found["inner.limit_s"].env == "MAILPROBE_INNER_LIMIT_S"

    with pytest.raises(TypeError, match="table"):
        knobs(Odd)  # type: ignore[arg-type]


# -- precedence ----------------------------------------------------------------------------------


def test_flags_beat_variables_beat_the_file_beat_defaults(tmp_path: Path) -> None:
    file = tmp_path / "m.toml"
    file.write_text(
        "smtp_port = 2525\ndns_port = 5353\nhelo_name = 'file.example.com'\n"
        "[timeouts]\nbudget_s = 30\n",
        encoding="utf-8",
    )
    env = {"MAILPROBE_DNS_PORT": "5454", "MAILPROBE_HELO_NAME": "env.example.com"}
    resolved = settings_from_args(
        _parser().parse_args(["--config", str(file), "--helo", "flag.example.com"]), env
    )
    config = resolved.config
    assert config.timeouts.budget_s == 30.0  # file only
    assert config.smtp_port == 2525  # file only
    assert config.dns_port == 5454  # env over file
    assert config.helo_name == "flag.example.com"  # flag over env and file
    assert config.dns_attempts == Config().dns_attempts  # default
    assert str(resolved.sources["timeouts.budget_s"]) == f"file {file}"
    assert str(resolved.sources["dns_port"]) == "env MAILPROBE_DNS_PORT"
    assert str(resolved.sources["helo_name"]) == "flag --helo"
    assert str(resolved.sources["dns_attempts"]) == "default"


def test_the_file_comes_from_mailprobe_config_unless_a_flag_names_one(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("smtp_port = 1001\n", encoding="utf-8")
    b.write_text("smtp_port = 1002\n", encoding="utf-8")
    env = {"MAILPROBE_CONFIG": str(a)}
    assert _config([], env).smtp_port == 1001
    assert _config(["--config", str(b)], env).smtp_port == 1002
    assert _config([], {"MAILPROBE_CONFIG": ""}).smtp_port == 25


def test_the_required_short_flags() -> None:
    config = _config(
        ["--sessions-per-host", "1", "--connections-per-minute", "0", "--timeout", "7"]
    )
    assert config.politeness == Politeness(sessions_per_host=1, connections_per_minute_per_host=0)
    assert config.timeouts == Timeouts(budget_s=7.0)


def test_shortcuts_and_the_last_flag_wins() -> None:
    config = _config(["--offline"])
    assert (config.check_dns, config.check_smtp) == (False, False)
    config = _config(["--offline", "--check-dns"])
    assert (config.check_dns, config.check_smtp) == (True, False)
    assert _config(["--no-smtp"]).check_smtp is False
    assert _config(["--timeout", "5", "--timeouts-budget-s", "9"]).timeouts.budget_s == 9.0
    assert _config(["--allow-private"]).allow_private_addresses is True
    assert _config(["--no-allow-private-addresses"]).allow_private_addresses is False


def test_repeated_and_comma_separated_lists_add_up() -> None:
    config = _config(["--nameserver", "127.0.0.1", "--nameservers", "127.0.0.2, 127.0.0.3"])
    assert config.nameservers == ("127.0.0.1", "127.0.0.2", "127.0.0.3")


def test_the_command_keeps_a_cache_unless_told_not_to(tmp_path: Path) -> None:
    default = _config([])
    assert default.cache_path is not None and default.cache_path.name == "results.sqlite3"
    assert _config(["--no-cache"]).cache_path is None
    assert _config([], {"MAILPROBE_CACHE_PATH": ""}).cache_path is None
    assert _config(["--cache", str(tmp_path / "c.db")]).cache_path == tmp_path / "c.db"
    file = tmp_path / "m.toml"
    file.write_text('cache_path = ""\n', encoding="utf-8")
    assert _config(["--config", str(file)]).cache_path is None


def test_empty_text_is_a_value_for_text_knobs_and_unset_for_the_others() -> None:
    env = {"MAILPROBE_MAIL_FROM": "", "MAILPROBE_NAMESERVERS": "", "MAILPROBE_DATA_DIR": " "}
    config = _config([], env)
    assert config.mail_from == ""  # the null sender <>
    assert config.nameservers is None
    assert config.data_dir is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("TRUE", True), ("yes", True), ("on", True), ("0", False), ("off", False)],
)
def test_boolean_variables(text: str, expected: bool) -> None:
    assert _config([], {"MAILPROBE_CLEAN": text}).clean is expected


def test_library_config_is_untouched_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILPROBE_SMTP_PORT", "2525")
    assert Config().smtp_port == 25
    # The command reads os.environ when no mapping is given.
    assert config_from_args(_parser().parse_args([])).smtp_port == 2525


def test_engine_options_leave_out_what_only_verify_takes() -> None:
    parser = _parser()
    flags = {o for a in parser._actions for o in a.option_strings}
    assert {"--config", "--timeout", "--sessions-per-host", "--connections-per-minute"} <= flags
    assert not flags & {"-i", "--input", "-o", "--output", "--format", "--column", "-q"}


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[timeouts]\nbudget = 3\n", "key 'timeouts.budget' (did you mean timeouts.budget_s?)"),
        ("budget_s = 3\n", "unknown key 'budget_s' (did you mean budget_s under [timeouts]?)"),
        ("[nonsense]\nx = 1\n", "unknown key 'nonsense'"),
        ("timeouts = 3\n", "timeouts must be a table ([timeouts])"),
        ("[politeness]\nsessions_per_host = '2'\n", "host: expected an integer, got '2'"),
        ("smtp_port = true\n", "smtp_port: expected an integer, got True"),
        ("clean = 1\n", "clean: expected true or false, got 1"),
        ("nameservers = '127.0.0.1'\n", "nameservers: expected a list of text (empty: not set)"),
        ("starttls = 'sometimes'\n", "starttls: expected one of never, opportunistic, required"),
        ("[timeouts]\ndns_s = nan\n", "timeouts.dns_s: expected a number, got nan"),
        ("smtp_port = \n", "not valid TOML"),
        ("[politeness]\nsessions_per_host = 0\n", "Politeness.sessions_per_host must be >= 1"),
    ],
)  # fmt: skip
def test_file_errors_name_the_file_the_key_and_what_was_expected(
    tmp_path: Path, text: str, message: str
) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        _config(["--config", str(file)])
    assert str(info.value).startswith(f"{file}: ")
    assert message in str(info.value)


def test_missing_and_unreadable_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read config file .*missing\.toml"):
        _config(["--config", str(tmp_path / "missing.toml")])
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"helo_name = '\xe9'\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        _config(["--config", str(latin1)])


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {"MAILPROBE_CLEAN": "maybe"}, "MAILPROBE_CLEAN: expected true or false, got 'maybe'"),
        ([], {"MAILPROBE_TIMEOUTS_DNS_S": "inf"}, "MAILPROBE_TIMEOUTS_DNS_S: expected a number"),
        ([], {"MAILPROBE_STARTTLS": "yes"}, "MAILPROBE_STARTTLS: expected one of never"),
        (["--timeout", "soon"], {}, "--timeout: expected a number, got 'soon'"),
        (["--sessions-per-host", "1.5"], {}, "--sessions-per-host: expected an integer"),
        (["--connections-per-minute", "-1"], {}, "flags (--connections-per-minute): Politeness."),
        ([], {"MAILPROBE_SMTP_PORT": "0"}, "environment (MAILPROBE_SMTP_PORT): ports must be"),
    ],
)  # fmt: skip
def test_variable_and_flag_errors_name_them(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError) as info:
        _config(argv, env)
    assert message in str(info.value)


def test_unknown_variables_are_listed() -> None:
    env = {"MAILPROBE_TIMEOUT": "3", "MAILPROBE_SMTP_PORT": "25", "MAILPROBE_CONFIG": "", "X": "1"}
    assert settings.unknown_variables(env) == ["MAILPROBE_TIMEOUT"]


# -- the file format -----------------------------------------------------------------------------


def test_shown_settings_read_back_to_the_same_config(tmp_path: Path) -> None:
    argv = [
        "--helo", 'odd"name\\with\x7fdel.example.com', "--mail-from", "",
        "--nameserver", "127.0.0.1", "--starttls", "required", "--timeout", "0.25",
        "--connections-per-minute", "0", "--cache", str(tmp_path / "café.db"), "--no-clean",
    ]  # fmt: skip
    environ = {"MAILPROBE_DATA_DIR": str(tmp_path), "MAILPROBE_POLITENESS_BACKOFF_MAX_S": "1e3"}
    resolved = settings_from_args(_parser().parse_args(argv), environ)
    text = settings.to_toml(resolved, ["a header"])
    assert text.startswith("# a header\n")
    tomllib.loads(text)  # valid TOML
    file = tmp_path / "saved.toml"
    file.write_text(text, encoding="utf-8")
    again = settings_from_args(_parser().parse_args(["--config", str(file)]), NO_ENV)
    assert again.config == resolved.config
    assert again.config.politeness.backoff_max_s == 1000.0
    assert "budget_s = 0.25  # flag --timeout" in text
    assert f"data_dir = {settings._toml_string(str(tmp_path))}  # env MAILPROBE_DATA_DIR" in text


def test_unset_values_are_written_so_they_read_back_unset(tmp_path: Path) -> None:
    resolved = settings_from_args(_parser().parse_args(["--no-cache"]), NO_ENV)
    text = settings.to_toml(resolved)
    assert "nameservers = []  # default" in text
    assert 'cache_path = ""  # flag --no-cache' in text
    assert "# helo_name is not set  (default)" in text
    file = tmp_path / "saved.toml"
    file.write_text(text, encoding="utf-8")
    assert _config(["--config", str(file)]) == resolved.config


def test_flags_record_only_what_was_typed() -> None:
    args = _parser().parse_args(["--timeout", "3"])
    assert options.flag_values(args) == {"timeouts.budget_s": settings.FlagValue("--timeout", "3")}


def test_settings_error_is_what_resolve_raises() -> None:
    with pytest.raises(SettingsError, match="MAILPROBE_DNS_PORT"):
        settings.resolve(Config(), file=None, environ={"MAILPROBE_DNS_PORT": "x"}, flags={})


def test_relative_paths_start_at_the_file_or_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "etc"
    conf.mkdir()
    file = conf / "m.toml"
    file.write_text('cache_path = "results.db"\ndata_dir = "lists"\n', encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    config = _config(["--config", str(file)])
    assert config.cache_path == conf / "results.db"
    assert config.data_dir == conf / "lists"
    config = _config(["--cache", "here.db"], {"MAILPROBE_DATA_DIR": "mine"})
    assert config.cache_path is not None and config.cache_path.is_absolute()
    assert config.cache_path.resolve() == (work / "here.db").resolve()
    assert config.data_dir is not None
    assert config.data_dir.resolve() == (work / "mine").resolve()


def test_help_and_alias_tables_name_only_real_knobs() -> None:
    keys = {k.key for k in ALL}
    assert set(options._HELP) <= keys
    assert set(options._ALIASES) <= keys
    for fixed, _ in options._SHORTCUTS.values():
        assert {key for key, _ in fixed} <= keys


# -- egresses and routes -------------------------------------------------------------------------

EGRESS_FILE = """
[egresses.a]
proxy = "socks5://user:secret@127.0.0.1:1080"
helo_name = "a.verifier.example.com"
[egresses.b]
source_address = "127.0.0.2"
[routes]
google = "a"
"*.protection.outlook.com" = ["b"]
"""


def test_egresses_and_routes_come_from_their_file_sections(tmp_path: Path) -> None:
    file = tmp_path / "egress.toml"
    file.write_text(EGRESS_FILE, encoding="utf-8")
    resolved = settings_from_args(_parser().parse_args(["--config", str(file)]), NO_ENV)
    config = resolved.config
    assert [e.name for e in config.egresses] == ["a", "b"]
    a, b = config.egresses
    assert a.proxy is not None and a.proxy.password == "secret"
    assert a.helo_name == "a.verifier.example.com" and b.source_address == "127.0.0.2"
    assert [(r.pattern, r.egresses) for r in config.routes] == [
        ("google", ("a",)),
        ("*.protection.outlook.com", ("b",)),
    ]
    assert resolved.sources["egresses"] == settings.Source("file", str(file))


def test_egress_flags_beat_variables_which_beat_the_file(tmp_path: Path) -> None:
    file = tmp_path / "egress.toml"
    file.write_text(EGRESS_FILE, encoding="utf-8")
    env = {"MAILPROBE_PROXY": "socks5://127.0.0.9:1080"}
    from_env = _config(["--config", str(file)], env)
    assert [e.name for e in from_env.egresses] == ["proxy"]
    assert from_env.egresses[0].proxy is not None
    assert from_env.egresses[0].proxy.host == "127.0.0.9"
    from_flag = _config(["--config", str(file), "--egress", "c,source=127.0.0.3"], env)
    assert [(e.name, e.source_address) for e in from_flag.egresses] == [("c", "127.0.0.3")]


def test_a_bad_egress_section_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    file = tmp_path / "bad.toml"
    file.write_text('[egresses.a]\nproxy = "http://127.0.0.1:3128"\n', encoding="utf-8")
    with pytest.raises(UsageError) as info:
        _config(["--config", str(file)])
    assert str(file) in str(info.value) and "http" in str(info.value)


def test_shown_egresses_read_back_without_showing_the_password(tmp_path: Path) -> None:
    file = tmp_path / "egress.toml"
    file.write_text(EGRESS_FILE.replace("user:secret@", ""), encoding="utf-8")
    resolved = settings_from_args(_parser().parse_args(["--config", str(file)]), NO_ENV)
    text = settings.to_toml(resolved)
    saved = tmp_path / "saved.toml"
    saved.write_text(text, encoding="utf-8")
    assert _config(["--config", str(saved)]) == resolved.config
    file.write_text(EGRESS_FILE, encoding="utf-8")
    with_password = settings_from_args(_parser().parse_args(["--config", str(file)]), NO_ENV)
    shown = settings.to_toml(with_password)
    assert "secret" not in shown
    assert "the password is not shown" in shown

"""`mailprobe doctor` takes the engine's settings as `verify` does: the same flags, config file and
MAILPROBE_* variables in the same order of strength; only --probe-domain and --step-timeout are
its own. No checks run here (an unusable setting stops the doctor before any network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import cli, doctor
from engine.config import Config, Timeouts
from engine.options import UsageError, settings_from_args
from engine.settings import Settings

COMMANDS = ("verify", "doctor")


def _settings(command: str, argv: list[str], environ: dict[str, str]) -> Settings:
    args = cli.build_parser().parse_args([command, *argv])
    return settings_from_args(args, environ)


def _config(command: str, argv: list[str], environ: dict[str, str] | None = None) -> Config:
    return _settings(command, argv, environ or {}).config


@pytest.mark.parametrize("command", COMMANDS)
def test_helo_name_comes_from_the_file_then_the_variable_then_the_flag(
    command: str, tmp_path: Path
) -> None:
    file = tmp_path / "m.toml"
    file.write_text("helo_name = 'file.example.com'\n", encoding="utf-8")
    env = {"MAILPROBE_HELO_NAME": "env.example.com"}

    assert _config(command, ["--config", str(file)]).helo_name == "file.example.com"
    assert _config(command, [], {"MAILPROBE_CONFIG": str(file)}).helo_name == "file.example.com"
    assert _config(command, ["--config", str(file)], env).helo_name == "env.example.com"
    flagged = _settings(command, ["--config", str(file), "--helo", "flag.example.com"], env)
    assert flagged.config.helo_name == "flag.example.com"
    assert str(flagged.sources["helo_name"]) == "flag --helo"


def test_doctor_and_verify_make_the_same_config_from_the_same_settings(tmp_path: Path) -> None:
    file = tmp_path / "m.toml"
    file.write_text(
        "smtp_port = 2525\nnameservers = ['127.0.0.53']\nmail_from = 'check@example.com'\n"
        "[timeouts]\nconnect_s = 4\n[egresses.a]\nsource_address = '127.0.0.35'\n",
        encoding="utf-8",
    )
    env = {"MAILPROBE_DNS_PORT": "5353", "MAILPROBE_ALLOW_PRIVATE_ADDRESSES": "true"}
    argv = ["--config", str(file), "--smtp-port", "2526", "--timeout", "9", "--no-cache"]

    verify, checked = _settings("verify", argv, env), _settings("doctor", argv, env)
    assert checked.config == verify.config
    assert checked.sources == verify.sources
    config = checked.config
    assert (config.smtp_port, config.dns_port, config.nameservers) == (2526, 5353, ("127.0.0.53",))
    assert config.allow_private_addresses is True
    assert config.timeouts == Timeouts(connect_s=4.0, budget_s=9.0)
    assert [e.name for e in config.egresses] == ["a"]


@pytest.mark.parametrize("command", COMMANDS)
def test_timeout_is_the_per_address_budget_in_both_commands(command: str) -> None:
    assert _config(command, ["--timeout", "7"]).timeouts == Timeouts(budget_s=7.0)


def test_step_timeout_sets_every_step_of_the_doctor_and_not_the_budget() -> None:
    settings = _settings("doctor", ["--step-timeout", "3"], {})
    assert settings.config.timeouts == Timeouts(
        dns_s=3.0, connect_s=3.0, greeting_s=3.0, command_s=3.0
    )
    assert str(settings.sources["timeouts.greeting_s"]) == "flag --step-timeout"
    assert str(settings.sources["timeouts.budget_s"]) == "default"


def test_step_timeout_beats_variables_and_the_later_flag_wins() -> None:
    env = {"MAILPROBE_TIMEOUTS_DNS_S": "8"}
    assert _config("doctor", ["--step-timeout", "3"], env).timeouts.dns_s == 3.0
    assert _config("doctor", [], env).timeouts.dns_s == 8.0
    after = _config("doctor", ["--step-timeout", "3", "--timeouts-connect-s", "6"])
    assert (after.timeouts.dns_s, after.timeouts.connect_s) == (3.0, 6.0)
    before = _config("doctor", ["--timeouts-connect-s", "6", "--step-timeout", "3"])
    assert before.timeouts.connect_s == 3.0


def test_step_timeout_is_the_doctors_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["verify", "--step-timeout", "3", "a@example.com"])
    assert "--step-timeout" in capsys.readouterr().err


def test_a_step_timeout_that_is_not_positive_is_refused_naming_the_flag() -> None:
    with pytest.raises(UsageError, match=r"--step-timeout.*must be > 0"):
        _config("doctor", ["--step-timeout", "0"])


@pytest.mark.parametrize(
    ("argv", "environ", "said"),
    [
        (["--step-timeout", "0"], {}, "--step-timeout"),
        ([], {"MAILPROBE_SMTP_PORT": "twenty-five"}, "MAILPROBE_SMTP_PORT"),
        (["--config", "/nonexistent/mailprobe.toml"], {}, "cannot read config file"),
    ],
)
def test_doctor_stops_with_exit_code_2_on_an_unusable_setting(
    capsys: pytest.CaptureFixture[str], argv: list[str], environ: dict[str, str], said: str
) -> None:
    assert cli.main(["doctor", *argv], environ) == 2
    err = capsys.readouterr().err
    assert err.startswith("mailprobe: error: ")
    assert said in err

    args = cli.build_parser().parse_args(["doctor", *argv])
    assert doctor.run(args, environ) == 2
    assert said in capsys.readouterr().err


def test_doctor_help_lists_the_engine_settings_and_its_own_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.build_parser().parse_args(["doctor", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for option in ("--probe-domain", "--step-timeout", "--config", "--timeout", "--helo"):
        assert option in text
    assert "MAILPROBE_<KEY>" in text

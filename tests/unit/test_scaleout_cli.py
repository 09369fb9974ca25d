"""`mailprobe verify --ray`: what is refused before any cluster is joined (no Ray needed)."""

from __future__ import annotations

import importlib.util

import pytest

from engine import cli, commands

ADDRESS = ["-q", "--no-cache", "jane@example.com"]


def test_the_ray_flag_runs_through_the_mailprobe_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["verify", "--ray", "auto", *ADDRESS]) == cli.ExitCode.USAGE
    assert "mailprobe command" in capsys.readouterr().err


def test_spread_without_ray_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert commands.main(["verify", "--ray-spread", "2", *ADDRESS]) == cli.ExitCode.USAGE
    assert "--ray-spread needs --ray" in capsys.readouterr().err


def test_a_spread_below_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = commands.main(["verify", "--ray", "local", "--ray-spread", "0", *ADDRESS])
    assert code == cli.ExitCode.USAGE
    assert "spread" in capsys.readouterr().err


def test_without_ray_installed_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    assert commands.main(["verify", "--ray", "auto", *ADDRESS]) == cli.ExitCode.USAGE
    assert "pip install 'mailprobe[ray]'" in capsys.readouterr().err

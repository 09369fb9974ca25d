"""The CLI: one output row per input row, in order; clear errors; never a traceback."""

from __future__ import annotations

import csv
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import ExitCode, OncePerRun, logging_to_stderr, main


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_arguments_give_jsonl_rows_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["verify", "--offline", "a@gmail.com", "nope", "b@mailinator.com"], capsys)
    assert code == ExitCode.OK
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["input"] for r in rows] == ["a@gmail.com", "nope", "b@mailinator.com"]
    assert [r["reason"] for r in rows] == ["NotChecked", "AtSignNotFound", "DomainIsWellKnownDea"]


def test_file_with_bad_utf8_empty_and_huge_lines_keeps_every_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [b"ok@gmail.com", b"", b"bad\xff\xfe@example.com", b"x" * 200_000, b"last@python.org"]
    src = tmp_path / "in.txt"
    src.write_bytes(b"\r\n".join(lines) + b"\n")
    code, out, _ = _run(["verify", "--offline", "--format", "jsonl", "-i", str(src)], capsys)
    assert code == ExitCode.OK
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(lines)
    assert rows[0]["email"] == "ok@gmail.com"
    assert rows[1]["reason"] == "AtSignNotFound"
    assert rows[2]["reason"] == "InvalidSyntax"
    assert "\\xff" in rows[2]["input"]
    assert rows[3]["reason"] == "InvalidSyntax"
    assert len(rows[3]["input"]) < 1000
    assert rows[4]["input"] == "last@python.org"


def test_csv_column_keeps_input_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "name,email\nJane,jane@gmail.com\nBob,bob@gmial.com\nNo mail,\n", encoding="utf-8"
    )
    code, out, _ = _run(
        ["verify", "--offline", "--format", "csv", "--column", "email", "-i", str(src)], capsys
    )
    assert code == ExitCode.OK
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["Jane", "Bob", "No mail"]
    # The input's "email" column is kept; the result's own column is renamed, not lost.
    assert rows[1]["email"] == "bob@gmial.com"
    assert rows[1]["mailprobe_email"] == "bob@gmial.com"
    assert rows[1]["did_you_mean"] == "bob@gmail.com"
    assert rows[1]["did_you_mean_domain"] == "gmail.com"
    assert rows[2]["reason"] == "AtSignNotFound"


def test_unknown_column_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    code, out, err = _run(["verify", "--offline", "--column", "email", "-i", str(src)], capsys)
    assert code == ExitCode.USAGE
    assert out == ""
    assert "--column 'email'" in err


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["verify", "--offline", "-i", "/nonexistent/file.txt"], capsys)
    assert code == ExitCode.USAGE
    assert "cannot read" in err


def test_no_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["verify", "--offline"], capsys)
    assert code == ExitCode.USAGE
    assert "give addresses" in err


def test_table_format_has_header_and_one_line_per_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["verify", "--offline", "--format", "table", "a@gmail.com", "b"], capsys)
    assert code == ExitCode.OK
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["INPUT", "STATE", "REASON"]
    assert len(lines) == 3


def test_help_lists_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = capsys.readouterr().out
    for code in ("0 ", "1 ", "2 ", "130"):
        assert code in out


def test_stdin_through_real_process_with_crlf_injection() -> None:
    data = b"ok@gmail.com\nevil@example.com\rDATA\n\x00@x.com\n"
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "verify", "--offline", "-i", "-"],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 3
    assert rows[1]["state"] == "undeliverable"
    assert rows[2]["state"] == "undeliverable"
    assert b"Traceback" not in proc.stderr


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("a@gmail.com\n" * 20000, encoding="utf-8")
    proc = subprocess.run(
        f"{sys.executable} -m engine verify --offline -i {src} | head -n 1",
        shell=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.stdout.count(b"\n") == 1
    assert b"Traceback" not in proc.stderr


def test_jsonl_rows_stay_one_line_whatever_line_breaks_the_input_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # U+0085, U+2028 and U+2029 are line breaks to str.splitlines() and to many JSONL readers.
    inputs = ["a\x85b@example.com", "c\u2028d@example.com", "e\u2029@example.com"]
    code, out, _ = _run(["verify", "--offline", "--format", "jsonl", *inputs], capsys)
    assert code == ExitCode.OK
    lines = out.splitlines()
    assert len(lines) == 3
    assert [json.loads(line)["input"] for line in lines] == inputs


def test_config_show_prints_the_settings_as_a_file_with_their_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "m.toml"
    file.write_text("[politeness]\nsessions_per_host = 1\n", encoding="utf-8")
    env = {"MAILPROBE_CONFIG": str(file), "MAILPROBE_SMTP_PORT": "2525", "MAILPROBE_TIMEOUT": "9"}
    code = main(["config", "show", "--timeout", "12", "--connections-per-minute", "0"], env)
    out, err = capsys.readouterr()
    assert code == ExitCode.OK
    assert err == ""
    lines = out.splitlines()
    assert f"# config file: {file} ($MAILPROBE_CONFIG)" in lines
    assert "# ignored: MAILPROBE_TIMEOUT is not a setting" in lines
    assert "smtp_port = 2525  # env MAILPROBE_SMTP_PORT" in lines
    assert "budget_s = 12.0  # flag --timeout" in lines
    assert f"sessions_per_host = 1  # file {file}" in lines
    assert "connections_per_minute_per_host = 0  # flag --connections-per-minute" in lines
    assert "dns_attempts = 2  # default" in lines
    # The output is a config file: read back, it gives the same settings.
    saved = tmp_path / "saved.toml"
    saved.write_text(out, encoding="utf-8")
    assert main(["config", "show", "--config", str(saved)], {}) == ExitCode.OK
    again = capsys.readouterr().out
    strip = [line.split("  #")[0] for line in lines if not line.startswith("#")]
    assert [
        line.split("  #")[0] for line in again.splitlines() if not line.startswith("#")
    ] == strip


def test_config_show_with_a_bad_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "m.toml"
    file.write_text("[timeouts]\nbudget = 3\n", encoding="utf-8")
    code = main(["config", "show", "--config", str(file)], {})
    out, err = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert out == ""
    assert f"mailprobe: error: {file}: unknown key 'timeouts.budget'" in err


def test_verify_reads_the_file_and_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "m.toml"
    file.write_text("check_dns = false\ncheck_smtp = false\nclean = true\n", encoding="utf-8")
    env = {"MAILPROBE_CONFIG": str(file), "MAILPROBE_SUGGEST_TYPOS": "false"}
    code = main(["verify", "--format", "jsonl", "<bob@gmial.com>.", "jane@python.org"], env)
    out, _ = capsys.readouterr()
    assert code == ExitCode.OK
    typo, plain = (json.loads(line) for line in out.splitlines())
    assert typo["email"] == "bob@gmial.com"  # cleaned: clean = true in the file
    assert typo["did_you_mean"] is None  # no typo suggestion: from the variable
    assert plain["reason"] == "NotChecked"  # offline: from the file


def test_verify_warns_once_about_an_unknown_variable_and_not_with_q(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"MAILPROBE_TIMEOUT": "3"}
    assert main(["verify", "--offline", "a@gmail.com", "b@gmail.com"], env) == ExitCode.OK
    err = capsys.readouterr().err
    assert err.count("MAILPROBE_TIMEOUT is not a setting") == 1
    assert main(["verify", "-q", "--offline", "a@gmail.com"], env) == ExitCode.OK
    assert capsys.readouterr().err == ""


def test_each_warning_shows_once_a_run_and_q_keeps_only_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = logging.getLogger("engine.somewhere")
    with logging_to_stderr():
        for _ in range(3):
            logging.getLogger("engine.smtp").warning("HELO name %r is odd", "localhost")
        other.warning("HELO name %r is odd", "localhost")  # another logger: its own line
        logging.getLogger("engine.smtp").warning("HELO name %r is odd", "other")
        other.error("broken")
        other.error("broken")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "mailprobe: WARNING: HELO name 'localhost' is odd",
        "mailprobe: WARNING: HELO name 'localhost' is odd",
        "mailprobe: WARNING: HELO name 'other' is odd",
        "mailprobe: ERROR: broken",
        "mailprobe: ERROR: broken",
    ]
    with logging_to_stderr(quiet=True):
        other.warning("hidden")
        other.error("still shown")
    assert capsys.readouterr().err == "mailprobe: ERROR: still shown\n"
    # Outside a run nothing is left behind on the root logger.
    assert not any(isinstance(h.filters[0] if h.filters else None, OncePerRun) for h in
                   logging.getLogger().handlers)  # fmt: skip


def test_the_demo_ignores_the_users_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine import demo

    file = tmp_path / "m.toml"
    file.write_text("clean = true\n", encoding="utf-8")
    monkeypatch.setenv("MAILPROBE_CONFIG", str(file))
    assert demo._run("verify", "--offline", "--format", "jsonl", "<a@example.com>") == 0
    row = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert row["reason"] == "InvalidSyntax"  # not cleaned: the file was not read
    # The same command outside the demo reads them.
    assert main(["verify", "--offline", "--format", "jsonl", "<a@example.com>"]) == 0
    assert json.loads(capsys.readouterr().out)["email"] == "a@example.com"

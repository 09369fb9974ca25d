"""The `mailprobe` command: argument parsing, runs and exit codes (the progress bar: progress.py).

Only this module prints, exits or configures logging. stdout carries data only; progress and
the summary go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TextIO

from engine import doctor, settings
from engine.options import (
    SETTINGS_EPILOG,
    UsageError,
    add_engine_options,
    config_from_args,
    settings_from_args,
)
from engine.ordered import check_many
from engine.progressbar import Progress
from engine.streams import InputError, Journal, Row, Writer, read_csv, read_lines
from engine.verifier import Verifier

__all__ = [
    "ExitCode",
    "UsageError",
    "add_engine_options",
    "build_parser",
    "config_from_args",
    "logging_to_stderr",
    "main",
    "settings_from_args",
]

log = logging.getLogger("mailprobe")


class ExitCode(IntEnum):
    """Process exit codes, listed in --help."""

    OK = 0  # every input got a result, whatever its state
    INTERNAL = 1  # an internal failure
    USAGE = 2  # bad arguments or unreadable input
    INTERRUPTED = 130  # Ctrl-C: what was settled has been written


EPILOG = """\
exit codes:
  0    every input got a result, whatever its state
  1    internal failure
  2    usage error or unreadable input (missing file, unknown --column)
  130  interrupted (Ctrl-C); the rows already settled were written

input: one address per line (UTF-8; a line that is not valid UTF-8 gets an InvalidSyntax
result), or a CSV column with --column. Every input line gets exactly one output row, in order;
an empty line is a row too (AtSignNotFound).

resume: with -o FILE, progress is kept in FILE.progress after every row; after a crash or
Ctrl-C, run the same command with --resume to finish. Settled results are also kept in the
cache (see --cache), so nothing already settled is asked again.
"""


def build_parser(
    extend: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] | None = None,
) -> argparse.ArgumentParser:
    """The command's parser; `extend` adds more subcommands (engine.commands adds the service's)."""
    parser = argparse.ArgumentParser(
        prog="mailprobe",
        description="Verify email addresses without sending mail.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more on stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    doctor.add_parser(sub)
    if extend is not None:
        extend(sub)
    v = sub.add_parser(
        "verify",
        help="verify addresses given as arguments or in a file",
        epilog=EPILOG + SETTINGS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_verify_options(v)
    add_engine_options(v)
    c = sub.add_parser("config", help="show the effective settings")
    config_sub = c.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser(
        "show",
        help="print the effective settings as a config file, with where each value came from",
        description="Print the settings a `verify` with the same options would use, as TOML "
        "that --config reads back; a comment after each value says where it came from "
        "(default, file, env, flag).",
        epilog=SETTINGS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_engine_options(show)
    return parser


def _add_verify_options(v: argparse.ArgumentParser) -> None:
    """What only `verify` takes: its input, output and run; the engine's settings are apart."""
    v.add_argument("addresses", nargs="*", help="addresses to verify")
    v.add_argument("-i", "--input", help="file of addresses, one per line ('-' for stdin)")
    v.add_argument("-o", "--output", help="write results to this file instead of stdout")
    v.add_argument("--column", help="CSV input: the column (name or 0-based index) to verify")
    v.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        help="output format (default: table on a terminal, jsonl otherwise)",
    )
    v.add_argument("--window", type=int, default=2000, help="addresses in flight (default 2000)")
    v.add_argument("--refresh", action="store_true", help="ignore cached results; store new ones")
    v.add_argument("--resume", action="store_true", help="finish an interrupted run (needs -o)")
    v.add_argument(
        "-q", "--quiet", action="store_true", help="no progress, summary or warnings on stderr"
    )
    v.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="ask the SMTP questions on a Ray cluster, one worker per egress: auto, local or "
        "HOST:PORT (pip install 'mailprobe[ray]'; see the README, Scale-out on Ray)",
    )
    v.add_argument(
        "--ray-spread",
        type=int,
        default=1,
        metavar="N",
        help="with --ray: egresses that share one mail host's addresses (default 1)",
    )


def _open_input(
    args: argparse.Namespace, stack: contextlib.ExitStack[bool | None]
) -> tuple[list[str] | None, Iterator[Row]]:
    """The input rows (and the CSV header); files opened here are closed by `stack`."""
    if args.input is None:
        if not args.addresses:
            raise UsageError("give addresses as arguments or a file with -i FILE ('-' for stdin)")
        return None, iter(Row(a) for a in args.addresses)
    if args.addresses:
        raise UsageError("give addresses as arguments or with -i, not both")
    stream: BinaryIO
    if args.input == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = stack.enter_context(open(args.input, "rb"))  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"cannot read {args.input}: {exc.strerror}") from exc
    if args.column is None:
        return None, read_lines(stream)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    # Detach rather than close, so the wrapper never closes stdin or a file twice.
    stack.callback(text.detach)
    try:
        return read_csv(text, args.column)
    except InputError as exc:
        raise UsageError(str(exc)) from exc


def _count_rows(args: argparse.Namespace) -> int | None:
    """Input rows, for the progress bar's ETA (files only, never stdin)."""
    if args.input is None:
        return len(args.addresses)
    if args.input == "-":
        return None
    try:
        with open(args.input, "rb") as fh:
            n = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except OSError:
        return None
    return n - 1 if args.column is not None else n


class OnlineRun(Protocol):
    """How `verify` checks rows online: its own bulk run, or another engine.commands hands in
    (the Ray run of `--ray`). Writes each result in input order; returns the summary line."""

    def __call__(
        self,
        verifier: Verifier,
        rows: Iterator[Row],
        writer: Writer,
        progress: Progress,
        *,
        window: int,
        refresh: bool,
    ) -> Coroutine[Any, Any, str]: ...


async def _run_online(
    verifier: Verifier,
    rows: Iterator[Row],
    writer: Writer,
    progress: Progress,
    *,
    window: int,
    refresh: bool,
) -> str:
    cache = None
    if verifier.config.cache_path is not None:
        from engine.cache import SqliteCache

        cache = SqliteCache(verifier.config.cache_path, verifier.config)
    async with verifier:
        checker = verifier.bulk(cache=cache, refresh=refresh)
        async for row, result in check_many(
            rows, lambda r: checker.check(r.raw), window=max(1, window)
        ):
            writer.write(row, result)
            progress.add(result)
        s = checker.stats
        return (
            f"SMTP: {s.sessions} sessions, {s.rcpts} RCPTs "
            f"({s.rcpts_per_session():.1f} per session), cache hits {s.cache_hits}"
        )


def _resume_point(args: argparse.Namespace, journal: Journal | None) -> tuple[int, int]:
    """(rows already written, byte offset to cut the output back to) for --resume."""
    if not args.resume:
        return 0, 0
    if journal is None:
        raise UsageError("--resume needs -o FILE (the output of the run to finish)")
    progress = journal.load()
    if progress is None or not Path(args.output).exists():
        print("mailprobe: nothing to resume; starting a new run", file=sys.stderr)
        return 0, 0
    return progress.rows, progress.offset


def _verify(
    args: argparse.Namespace, environ: Mapping[str, str], online: OnlineRun | None = None
) -> ExitCode:
    if args.ray is None and args.ray_spread != 1:
        raise UsageError("--ray-spread needs --ray")
    if args.ray is not None and online is None:
        raise UsageError("--ray runs through the mailprobe command (engine.commands)")
    config = config_from_args(args, environ)
    for name in settings.unknown_variables(environ):
        log.warning("%s is not a setting and is ignored (see mailprobe config show)", name)
    journal = Journal(Journal.path_for(Path(args.output))) if args.output else None
    rows_done, offset = _resume_point(args, journal)
    with contextlib.ExitStack() as stack:
        header, rows = _open_input(args, stack)
        fmt = args.format or ("table" if sys.stdout.isatty() and not args.output else "jsonl")
        out: TextIO = sys.stdout
        if args.output:
            try:
                if rows_done or offset:
                    os.truncate(args.output, offset)
                resuming = bool(rows_done or offset)
                out = stack.enter_context(
                    open(args.output, "a" if resuming else "w", encoding="utf-8", newline="")
                )
            except OSError as exc:
                raise UsageError(f"cannot write {args.output}: {exc.strerror}") from exc
        if journal is not None:
            stack.callback(journal.close)
            journal.record(rows_done, offset)
        rows = itertools.islice(rows, rows_done, None)  # already in the output
        writer = Writer(out, fmt, header, journal=journal, rows_done=rows_done, started=offset > 0)
        total = _count_rows(args)
        progress = Progress(
            None if total is None else max(0, total - rows_done),
            sys.stderr,
            enabled=sys.stderr.isatty() and not args.quiet,
        )
        verifier = Verifier(config)
        extra = ""
        try:
            if not config.check_dns:
                for row in rows:
                    result = verifier.check_offline(row.raw)
                    writer.write(row, result)
                    progress.add(result)
            else:
                run = online or _run_online
                extra = asyncio.run(
                    run(verifier, rows, writer, progress, window=args.window, refresh=args.refresh)
                )
            writer.finish()
        finally:
            if not args.quiet:
                print(progress.summary(extra), file=sys.stderr)
    return ExitCode.OK


def _config_show(args: argparse.Namespace, environ: Mapping[str, str]) -> ExitCode:
    resolved = settings_from_args(args, environ)
    file = args.config_file
    if file is not None:
        origin = f"config file: {file} (--config)"
    elif environ.get(settings.CONFIG_ENV):
        origin = f"config file: {environ[settings.CONFIG_ENV]} (${settings.CONFIG_ENV})"
    else:
        origin = "config file: none"
    header = [
        "mailprobe settings in effect: defaults < config file < MAILPROBE_* variables < flags.",
        "After each value, where it came from. Read back with: mailprobe verify --config FILE",
        origin,
        *(f"ignored: {name} is not a setting" for name in settings.unknown_variables(environ)),
        "",
    ]
    sys.stdout.write(settings.to_toml(resolved, header))
    sys.stdout.flush()
    return ExitCode.OK


class OncePerRun(logging.Filter):
    """Lets each distinct warning through once a run: every session's identical warning (a
    HELO name that will be distrusted, say) would otherwise repeat for every address."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        key = (record.name, record.getMessage())
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
        return True


@contextlib.contextmanager
def logging_to_stderr(*, verbose: int = 0, quiet: bool = False) -> Iterator[None]:
    """Log to stderr while the block runs: warnings once each; errors only with `quiet`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mailprobe: %(levelname)s: %(message)s"))
    handler.addFilter(OncePerRun())
    root = logging.getLogger()
    level_before = root.level
    root.setLevel(logging.ERROR if quiet else logging.WARNING - 10 * min(verbose, 2))
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level_before)


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    online: OnlineRun | None = None,
) -> int:
    """Entry point of the `mailprobe` command; returns the exit code.

    `environ` (default os.environ) holds the MAILPROBE_* settings; `online` replaces how
    `verify` checks rows online (engine.commands passes the Ray run for `--ray`).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    with logging_to_stderr(verbose=args.verbose, quiet=getattr(args, "quiet", False)):
        return _dispatch(parser, args, env, online)


def _dispatch(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    online: OnlineRun | None = None,
) -> int:
    try:
        if args.command == "doctor":
            return doctor.run(args, environ)
        if args.command == "verify":
            return int(_verify(args, environ, online))
        if args.command == "config":
            return int(_config_show(args, environ))
        parser.error(f"unknown command {args.command}")
    except UsageError as exc:
        print(f"mailprobe: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except BrokenPipeError:
        # `mailprobe ... | head`: the reader left; end quietly without a traceback.
        _silence_stdout()
        return int(ExitCode.OK)
    except KeyboardInterrupt:
        print("mailprobe: interrupted; rows written so far are complete", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception:
        log.exception("internal failure")
        return int(ExitCode.INTERNAL)
    return int(ExitCode.OK)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":  # pragma: no cover
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    raise SystemExit(main())

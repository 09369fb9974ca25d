"""The `mailprobe` command: argument parsing, input streaming, output and exit codes.

Only this module prints, exits or configures logging. stdout carries data only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import logging
import signal
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import BinaryIO, TextIO

from engine import doctor
from engine.bulk import check_many
from engine.config import Config, TlsPolicy
from engine.model import Result, State
from engine.output import CSV_FIELDS, csv_row, jsonl_line, printable, table_row
from engine.verifier import MAX_INPUT_CHARS, Verifier

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
"""


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2 with a clear message."""


@dataclass(frozen=True, slots=True)
class Row:
    """One input row: the text to verify and, for CSV input, all its columns."""

    raw: str
    columns: tuple[str, ...] | None = None


def _read_lines(stream: BinaryIO) -> Iterator[Row]:
    """Lines as text, one Row each, with bounded memory even for a huge line."""
    first = True
    while True:
        chunk = stream.readline(MAX_INPUT_CHARS * 4 + 1)
        if not chunk:
            return
        if not chunk.endswith(b"\n") and len(chunk) > MAX_INPUT_CHARS * 4:
            # A huge line: skip to its end so it stays one row, and keep only its head.
            while True:
                rest = stream.readline(1 << 16)
                if not rest or rest.endswith(b"\n"):
                    break
        if first and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        first = False
        text = chunk.rstrip(b"\n").removesuffix(b"\r")
        yield Row(text.decode("utf-8", errors="surrogateescape"))


def _read_csv(text: TextIO, column: str) -> tuple[list[str], Iterator[Row]]:
    csv.field_size_limit(MAX_INPUT_CHARS * 16)
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return [], iter(())
    except csv.Error as exc:
        raise UsageError(f"cannot read the CSV header: {exc}") from exc
    if column in header:
        index = header.index(column)
    elif column.isdigit() and int(column) < max(len(header), 1):
        index = int(column)
    else:
        raise UsageError(f"--column {column!r} is not a column of the input: {header}")

    def rows() -> Iterator[Row]:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # One malformed record still yields one row, so nothing is lost.
                yield Row(f"<unreadable CSV record: {exc}>", tuple())
                continue
            value = cells[index] if index < len(cells) else ""
            yield Row(value, tuple(cells))

    return header, rows()


class Writer:
    """Writes one output row per result in the chosen format, flushing as it goes."""

    def __init__(self, out: TextIO, fmt: str, header: Sequence[str] | None) -> None:
        self.out = out
        self.fmt = fmt
        self.header = list(header) if header is not None else None
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        self._started = False

    def _start(self) -> None:
        self._started = True
        if self._csv is not None:
            names = list(CSV_FIELDS)
            if self.header is not None:
                taken = set(self.header)
                names = [f"mailprobe_{n}" if n in taken else n for n in names]
                names = [printable(h) for h in self.header] + names
            self._csv.writerow(names)
        elif self.fmt == "table":
            self.out.write(_TABLE_FMT.format(*_TABLE_HEAD) + "\n")

    def write(self, row: Row, result: Result) -> None:
        if not self._started:
            self._start()
        if self._csv is not None:
            prefix = [printable(c) for c in row.columns] if row.columns is not None else []
            if self.header is not None:
                prefix += [""] * (len(self.header) - len(prefix))
                prefix = prefix[: len(self.header)]
            self._csv.writerow(prefix + csv_row(result))
        elif self.fmt == "jsonl":
            self.out.write(jsonl_line(result) + "\n")
        else:
            self.out.write(_TABLE_FMT.format(*table_row(result)) + "\n")
        self.out.flush()

    def finish(self) -> None:
        if not self._started:
            self._start()
        self.out.flush()


_TABLE_HEAD = ("INPUT", "STATE", "REASON", "DID YOU MEAN", "FLAGS", "SCORE")
_TABLE_FMT = "{:<40} {:<13} {:<27} {:<18} {:<22} {:>5}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailprobe",
        description="Verify email addresses without sending mail.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more on stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    doctor.add_parser(sub)
    v = sub.add_parser(
        "verify",
        help="verify addresses given as arguments or in a file",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("addresses", nargs="*", help="addresses to verify")
    v.add_argument("-i", "--input", help="file of addresses, one per line ('-' for stdin)")
    v.add_argument("-o", "--output", help="write results to this file instead of stdout")
    v.add_argument("--column", help="CSV input: the column (name or 0-based index) to verify")
    v.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        help="output format (default: table on a terminal, jsonl otherwise)",
    )
    v.add_argument("--offline", action="store_true", help="syntax, typos and flags only")
    v.add_argument("--no-smtp", action="store_true", help="stop after the DNS stage")
    v.add_argument("--clean", action="store_true", help="strip mailto:, <>, stray punctuation")
    v.add_argument("--helo", help="HELO/EHLO name (default: this machine's FQDN)")
    v.add_argument("--mail-from", help="MAIL FROM address (default: verify@HELO-NAME)")
    v.add_argument("--smtp-port", type=int, help="SMTP port (default 25)")
    v.add_argument(
        "--nameserver", action="append", help="DNS server IP (repeatable; default: system)"
    )
    v.add_argument("--dns-port", type=int, help="DNS port (default 53)")
    v.add_argument("--starttls", choices=[p.value for p in TlsPolicy], help="STARTTLS policy")
    v.add_argument(
        "--allow-private",
        action="store_true",
        help="allow connecting to private/loopback mail hosts (intranets, tests)",
    )
    v.add_argument("--concurrency", type=int, default=32, help="addresses in flight (default 32)")
    v.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    config = Config()
    changes: dict[str, object] = {
        "clean": args.clean,
        "allow_private_addresses": args.allow_private,
    }
    if args.offline:
        changes.update(check_dns=False, check_smtp=False)
    if args.no_smtp:
        changes["check_smtp"] = False
    if args.helo:
        changes["helo_name"] = args.helo
    if args.mail_from:
        changes["mail_from"] = args.mail_from
    if args.smtp_port:
        changes["smtp_port"] = args.smtp_port
    if args.nameserver:
        changes["nameservers"] = tuple(args.nameserver)
    if args.dns_port:
        changes["dns_port"] = args.dns_port
    if args.starttls:
        changes["starttls"] = TlsPolicy(args.starttls)
    try:
        return replace(config, **changes)  # type: ignore[arg-type]
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _open_input(
    args: argparse.Namespace, stack: contextlib.ExitStack
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
        return None, _read_lines(stream)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    # Detach rather than close, so the wrapper never closes stdin or a file twice.
    stack.callback(text.detach)
    return _read_csv(text, args.column)


def _summary(counts: Counter[str], total: int) -> str:
    parts = [f"{state.value}: {counts.get(state.value, 0)}" for state in State]
    return f"{total} checked; " + ", ".join(parts)


async def _run_online(
    verifier: Verifier, rows: Iterator[Row], writer: Writer, window: int, counts: Counter[str]
) -> None:
    async with verifier:
        async for row, result in check_many(
            rows, lambda r: verifier.averify(r.raw), window=max(1, window)
        ):
            writer.write(row, result)
            counts[result.state.value] += 1


def _verify(args: argparse.Namespace) -> ExitCode:
    config = config_from_args(args)
    counts: Counter[str] = Counter()
    with contextlib.ExitStack() as stack:
        header, rows = _open_input(args, stack)
        fmt = args.format or ("table" if sys.stdout.isatty() and not args.output else "jsonl")
        out: TextIO = sys.stdout
        if args.output:
            try:
                out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
            except OSError as exc:
                raise UsageError(f"cannot write {args.output}: {exc.strerror}") from exc
        writer = Writer(out, fmt, header)
        verifier = Verifier(config)
        try:
            if not config.check_dns:
                for row in rows:
                    result = verifier.check_offline(row.raw)
                    writer.write(row, result)
                    counts[result.state.value] += 1
            else:
                asyncio.run(_run_online(verifier, rows, writer, args.concurrency, counts))
            writer.finish()
        finally:
            if not args.quiet:
                print(_summary(counts, sum(counts.values())), file=sys.stderr)
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mailprobe` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="mailprobe: %(levelname)s: %(message)s")
    try:
        if args.command == "doctor":
            return doctor.run(args)
        if args.command == "verify":
            return int(_verify(args))
        parser.error(f"unknown command {args.command}")
    except UsageError as exc:
        print(f"mailprobe: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except BrokenPipeError:
        # `mailprobe ... | head`: the reader left; end quietly without a traceback.
        _silence_stdout()
        return int(ExitCode.OK)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except Exception:
        log.exception("internal failure")
        return int(ExitCode.INTERNAL)
    return int(ExitCode.OK)


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":  # pragma: no cover
    signal.signal(signal.SIGPIPE, signal.SIG_DFL) if hasattr(signal, "SIGPIPE") else None
    raise SystemExit(main())

"""Streaming rows in and out of the CLI: input lines or CSV records, output rows in order,
and the progress journal that lets an interrupted run resume (`--resume`).

Memory stays flat whatever the input's length: one row in, one row out, nothing kept.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from engine.model import Result
from engine.output import CSV_FIELDS, csv_row, jsonl_line, printable, table_row
from engine.verifier import MAX_INPUT_CHARS


class InputError(Exception):
    """Input that cannot be read as asked (an unknown CSV column, an unreadable header)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One input row: the text to verify and, for CSV input, all its columns."""

    raw: str
    columns: tuple[str, ...] | None = None


def read_lines(stream: BinaryIO) -> Iterator[Row]:
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


def read_csv(text: TextIO, column: str) -> tuple[list[str], Iterator[Row]]:
    csv.field_size_limit(MAX_INPUT_CHARS * 16)
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return [], iter(())
    except csv.Error as exc:
        raise InputError(f"cannot read the CSV header: {exc}") from exc
    if column in header:
        index = header.index(column)
    elif column.isdigit() and int(column) < max(len(header), 1):
        index = int(column)
    else:
        raise InputError(f"--column {column!r} is not a column of the input: {header}")

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
    """Writes one output row per result in the chosen format, flushing as it goes.

    With a Journal, records after each row how many rows are out and where the file ends.
    """

    def __init__(
        self,
        out: TextIO,
        fmt: str,
        header: Sequence[str] | None,
        *,
        journal: Journal | None = None,
        rows_done: int = 0,
        started: bool = False,
    ) -> None:
        self.out = out
        self.fmt = fmt
        self.header = list(header) if header is not None else None
        self.rows = rows_done
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        self._started = started
        self._journal = journal

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
        self.rows += 1
        if self._journal is not None:
            self._journal.record(self.rows, self.out.tell())

    def finish(self) -> None:
        if not self._started:
            self._start()
        self.out.flush()
        if self._journal is not None:
            self._journal.record(self.rows, self.out.tell(), done=True)


_TABLE_HEAD = ("INPUT", "STATE", "REASON", "DID YOU MEAN", "FLAGS", "SCORE")
_TABLE_FMT = "{:<40} {:<13} {:<42} {:<30} {:<22} {:>5}"


_JOURNAL_FORMAT = "{rows:>20} {offset:>20} {done}\n"
_JOURNAL_SIZE = len(_JOURNAL_FORMAT.format(rows=0, offset=0, done=0))


@dataclass(frozen=True, slots=True)
class Progress:
    """What the journal says: rows fully written, the byte offset after them, finished or not."""

    rows: int
    offset: int
    done: bool


class Journal:
    """`OUTPUT.progress`: rewritten in place after every output row.

    After a crash (even `kill -9`) the output is cut back to the journal's offset and the run
    goes on from its row count, so every input row ends up in the output exactly once.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @staticmethod
    def path_for(output: Path) -> Path:
        return output.with_name(output.name + ".progress")

    def load(self) -> Progress | None:
        try:
            text = self.path.read_text(encoding="ascii")
            rows, offset, done = text.split()
            return Progress(int(rows), int(offset), done == "1")
        except (OSError, ValueError):
            return None

    def record(self, rows: int, offset: int, *, done: bool = False) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        line = _JOURNAL_FORMAT.format(rows=rows, offset=offset, done=int(done))
        os.pwrite(self._fd, line.encode("ascii"), 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

"""Job input: a JSON list of addresses, or a CSV whose address column is named, numbered or found.

Pure parsing over file objects; the caller spools uploads to disk first, so a million-row CSV
is read one record at a time and memory stays flat.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from engine.output import printable
from engine.verifier import MAX_INPUT_CHARS

MAX_JSON_EMAILS = 1_000_000
_EMAIL_NAMES = ("email", "e-mail", "email_address", "emailaddress", "email address", "mail")

Rows = Iterator[tuple[str, list[str] | None]]


class UploadError(Exception):
    """Input that cannot become a job; the message says what to fix."""


def json_emails(value: Any) -> list[str]:
    """The `emails` field of a JSON job: a non-empty list of strings."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        raise UploadError('"emails" must be a non-empty list of addresses')
    if len(value) > MAX_JSON_EMAILS:
        raise UploadError(
            f'"emails" has {len(value)} entries; send at most {MAX_JSON_EMAILS}, or upload a CSV'
        )
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise UploadError(f'"emails"[{i}] is {type(item).__name__}, not a string')
    return [printable(x) for x in value]


def _has_at(cells: list[str]) -> bool:
    return any("@" in c for c in cells)


def _pick(header: list[str] | None, first: list[str] | None, column: str | None) -> int:
    if column is not None:
        if header is not None and column in header:
            return header.index(column)
        if column.isdigit():
            width = len(header) if header is not None else len(first or [""])
            if int(column) < max(width, 1):
                return int(column)
            raise UploadError(f"column {column} is out of range: the CSV has {width} columns")
        shown = header if header is not None else "no header row (no cell without '@')"
        raise UploadError(f"column {column!r} is not a column of the CSV; its header: {shown}")
    if header is not None:
        lowered = [h.strip().lower() for h in header]
        for name in _EMAIL_NAMES:
            if name in lowered:
                return lowered.index(name)
    if first is not None:
        for i, cell in enumerate(first):
            if "@" in cell:
                return i
    return 0


def csv_rows(stream: BinaryIO, column: str | None) -> tuple[list[str] | None, Rows]:
    """(header or None, rows) of a CSV upload; the header is the first record when it has no '@'
    or when `column` names one of its cells.

    `column` is a header name or a 0-based index; without it the column is the one named like
    "email", else the first holding an '@'. Raises UploadError when the column is not there.
    """
    csv.field_size_limit(MAX_INPUT_CHARS * 16)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        first = next(reader, None)
        second = next(reader, None) if first is not None else None
        if first is None:
            raise UploadError("the CSV is empty")
        header, index, pending = _start(first, second, column)
    except csv.Error as exc:
        _release(text)
        raise UploadError(f"cannot read the CSV: {exc}") from exc
    except UploadError:
        _release(text)
        raise

    def rows() -> Rows:
        try:
            for cells in pending:
                yield _cell(cells, index), cells
            while True:
                try:
                    record = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    # One malformed record still yields one row, so nothing is lost.
                    yield f"<unreadable CSV record: {exc}>", []
                    continue
                cells = [printable(c) for c in record]
                yield _cell(cells, index), cells
        finally:
            # The caller owns the stream and closes it; the wrapper must not outlive it open.
            _release(text)

    return header, rows()


def _start(
    first: list[str], second: list[str] | None, column: str | None
) -> tuple[list[str] | None, int, list[list[str]]]:
    """(header or None, the address column, the records read so far that are rows)."""
    first = [printable(c) for c in first]
    if second is not None:
        second = [printable(c) for c in second]
    named = column is not None and not column.isdigit() and column in first
    is_header = named or not _has_at(first)
    header = first if is_header else None
    index = _pick(header, second if is_header else first, column)
    pending = [] if is_header else [first]
    if second is not None:
        pending.append(second)
    return header, index, pending


def _release(text: io.TextIOWrapper) -> None:
    """Let go of the caller's stream without closing it (the caller closes it); a wrapper left
    to the garbage collector would close it, and warn."""
    with contextlib.suppress(ValueError):  # the caller closed it already
        text.detach()


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def plain_lines(stream: BinaryIO) -> Rows:
    """One address per line (a text/plain upload)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape")
    try:
        for line in text:
            yield printable(line.rstrip("\r\n")), None
    finally:
        _release(text)

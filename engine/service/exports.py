"""A job's settled rows, read a page at a time in input order, and written out as CSV.

Shared by the native results route and the faces' downloads; memory stays flat for any size.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Sequence

from engine.model import Result, result_from_dict
from engine.service.store import Store, StoredRow

PAGE = 1000


async def settled_pages(
    store: Store,
    job_id: str,
    states: frozenset[str] | None = None,
    *,
    after: int = -1,
    limit: int | None = None,
) -> AsyncIterator[list[StoredRow]]:
    """Settled rows with index > `after` (at most `limit` of them), a page at a time."""
    left = limit
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        page = await store.settled_rows(job_id, after, size, states)
        if not page:
            return
        after = page[-1].index
        if left is not None:
            left -= len(page)
        yield page
        if len(page) < size:
            return


def stored_result(row: StoredRow) -> Result:
    return result_from_dict(json.loads(row.result))


def with_input_columns(header: list[str] | None, fields: Sequence[str], prefix: str) -> list[str]:
    """The input's header, then `fields` (renamed `prefix` + name where the input has the name)."""
    if header is None:
        return list(fields)
    taken = set(header)
    return [*header, *(f"{prefix}{n}" if n in taken else n for n in fields)]


def input_cells(row: StoredRow, width: int) -> list[str]:
    """The row's input columns, padded or cut to the header's `width`."""
    cells = list(row.columns or [])[:width]
    return cells + [""] * (width - len(cells))


async def csv_stream(
    pages: AsyncIterator[list[StoredRow]],
    header: Sequence[str],
    cells: Callable[[StoredRow], Sequence[str]],
) -> AsyncIterator[bytes]:
    """UTF-8 CSV: the header, then one line a row, a chunk a page."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    async for page in pages:
        for row in page:
            writer.writerow(cells(row))
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")

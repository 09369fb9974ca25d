"""Rows for jsonl, csv and table output from Result.to_dict(); pure, no printing."""

from __future__ import annotations

import json
from typing import Any

from engine.model import RESULT_FIELDS, Result

# CSV keeps every flat field and puts the evidence in two readable columns.
CSV_FIELDS: tuple[str, ...] = (
    *(f for f in RESULT_FIELDS if f != "detail"),
    "smtp_reply",
    "notes",
)


def printable(text: str) -> str:
    """Text safe to write as UTF-8: bytes that were not UTF-8 are shown as \\xNN escapes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")


def _clean(value: Any) -> Any:
    return printable(value) if isinstance(value, str) else value


# Characters that many line readers (Python's str.splitlines among them) take for line breaks:
# escaped in JSONL so one result is always exactly one line, whatever the input held.
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def jsonl_line(result: Result) -> str:
    """One JSON object, one line; keys in the documented order."""
    data = result.to_dict()
    data["input"] = printable(result.input)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_LINE_BREAKS)


def csv_row(result: Result) -> list[str]:
    """Cells in CSV_FIELDS order; booleans as true/false, None as empty."""
    data = result.to_dict()
    detail = result.detail
    data["smtp_reply"] = str(detail.reply) if detail.reply else None
    data["notes"] = "; ".join(detail.notes) if detail.notes else None
    return [_cell(_clean(data[f])) for f in CSV_FIELDS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flag_words(result: Result) -> str:
    f = result.flags
    words = [
        name
        for name, on in (
            ("disposable", f.disposable),
            ("role", f.role),
            ("free", f.free),
            ("no_reply", f.no_reply),
            ("accept_all", f.accept_all),
            ("mailbox_full", f.mailbox_full),
        )
        if on
    ]
    return ",".join(words)


def table_row(result: Result) -> list[str]:
    """Cells for the terminal table: input, state, reason, did_you_mean, flags, score."""
    shown = printable(result.input)
    if len(shown) > 48:
        shown = shown[:45] + "..."
    # The whole corrected address, as long as it fits its column.
    suggestion = printable(result.did_you_mean or "")
    if len(suggestion) > 30:
        suggestion = suggestion[:27] + "..."
    return [
        shown,
        result.state.value,
        result.reason.value,
        suggestion,
        flag_words(result),
        f"{result.score:.2f}",
    ]

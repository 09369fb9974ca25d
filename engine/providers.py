"""Which company runs a mail host, from the suffix of its name: "aspmx.l.google.com" -> google.

Pure: the table comes from datasets.smtp_providers; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["smtp_provider"]


def smtp_provider(host: str, table: Sequence[tuple[str, str]]) -> str | None:
    """The provider whose suffix ends `host` on a label boundary; the longest suffix wins.

    `table` holds (suffix, provider) pairs, suffixes lower-case without dots at either end.
    "mx.google.com" and "google.com" match "google.com"; "notgoogle.com" does not. None when
    no suffix matches.
    """
    name = host.strip().rstrip(".").lower()
    best: tuple[str, str] | None = None
    for suffix, provider in table:
        if (name == suffix or name.endswith("." + suffix)) and (
            best is None or len(suffix) > len(best[0])
        ):
            best = (suffix, provider)
    return best[1] if best is not None else None

"""The lists in data/ (disposable, free, role, no-reply, mail domains, providers, names) and
the PSL.

Each file is read on first use and kept by the Datasets object that a Verifier owns; nothing is
read at import time and nothing here is module-global.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from publicsuffix2 import PublicSuffixList

PSL_FILE = "public_suffix_list.dat"


def default_data_dir() -> Path:
    """The data folder shipped with the package (the wheel maps data/ into engine/data)."""
    packaged = Path(__file__).resolve().parent / "data"
    if packaged.is_dir():
        return packaged
    # Running from a source checkout: data/ sits beside engine/.
    return Path(__file__).resolve().parent.parent / "data"


def read_lines(path: Path) -> Iterator[str]:
    """Non-empty, non-comment lines of a data file, stripped and lower-cased."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            text = line.split("#", 1)[0].strip().lower()
            if text:
                yield text


class Datasets:
    """Lazily loaded, read-only views of the data files in one folder."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir if data_dir is not None else default_data_dir()
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}
        self.registrable = lru_cache(maxsize=65536)(self._registrable)

    def _get(self, name: str, load: Any) -> Any:
        value = self._loaded.get(name)
        if value is None:
            with self._lock:
                value = self._loaded.get(name)
                if value is None:
                    value = load()
                    self._loaded[name] = value
        return value

    def _set(self, filename: str) -> frozenset[str]:
        return frozenset(read_lines(self.data_dir / filename))

    @property
    def disposable(self) -> frozenset[str]:
        """Registrable domains of disposable-address services."""
        result: frozenset[str] = self._get("disposable", lambda: self._set("disposable.txt"))
        return result

    @property
    def free(self) -> frozenset[str]:
        """Domains of free mailbox providers."""
        result: frozenset[str] = self._get("free", lambda: self._set("free.txt"))
        return result

    @property
    def roles(self) -> frozenset[str]:
        """Local parts that name a function rather than a person (info, admin, sales, ...)."""
        result: frozenset[str] = self._get("roles", lambda: self._set("roles.txt"))
        return result

    @property
    def no_reply(self) -> frozenset[str]:
        """Local parts of addresses that nobody reads (noreply, do-not-reply, ...)."""
        result: frozenset[str] = self._get("no_reply", lambda: self._set("noreply.txt"))
        return result

    @property
    def mail_domains(self) -> dict[str, float]:
        """Popular mail domains with a relative popularity weight (the typo targets)."""
        result: dict[str, float] = self._get(
            "mail_domains", lambda: self._load_weighted("mail_domains.txt")
        )
        return result

    @property
    def suffixes(self) -> dict[str, float]:
        """Common public suffixes with a weight: targets for a mistyped suffix of any domain."""
        result: dict[str, float] = self._get(
            "suffixes", lambda: self._load_weighted("suffixes.txt")
        )
        return result

    @property
    def lookalikes(self) -> frozenset[str]:
        """Real, distinct mail domains that look like typos of popular ones (never corrected)."""
        result: frozenset[str] = self._get("lookalikes", lambda: self._set("lookalikes.txt"))
        return result

    @property
    def given_names(self) -> dict[str, tuple[float, float]]:
        """Given names -> (percent of men, percent of women) who bear them."""
        result: dict[str, tuple[float, float]] = self._get("given_names", self._load_given)
        return result

    @property
    def family_names(self) -> dict[str, float]:
        """Family names -> percent of people who bear them."""
        result: dict[str, float] = self._get(
            "family_names", lambda: self._load_weighted("family_names.txt")
        )
        return result

    @property
    def smtp_providers(self) -> tuple[tuple[str, str], ...]:
        """(MX host suffix, provider name) pairs, longest suffix first."""
        result: tuple[tuple[str, str], ...] = self._get("smtp_providers", self._load_providers)
        return result

    @property
    def psl(self) -> PublicSuffixList:
        """The Public Suffix List shipped in data/ (newer than publicsuffix2's bundled copy)."""
        result: PublicSuffixList = self._get("psl", self._load_psl)
        return result

    def _registrable(self, domain: str) -> str:
        """The registrable domain ("eTLD+1") of an A-label domain; the domain itself if none."""
        sld = self.psl.get_sld(domain, wildcard=True, strict=False)
        return str(sld) if sld else domain

    def _load_weighted(self, filename: str) -> dict[str, float]:
        weights: dict[str, float] = {}
        for line in read_lines(self.data_dir / filename):
            parts = line.split()
            weights[parts[0]] = float(parts[1]) if len(parts) > 1 else 1.0
        return weights

    def _load_given(self) -> dict[str, tuple[float, float]]:
        names: dict[str, tuple[float, float]] = {}
        for line in read_lines(self.data_dir / "given_names.txt"):
            name, male, female = line.split()[:3]
            names[name] = (float(male), float(female))
        return names

    def _load_providers(self) -> tuple[tuple[str, str], ...]:
        pairs = []
        for line in read_lines(self.data_dir / "smtp_providers.txt"):
            suffix, name = line.split()[:2]
            pairs.append((suffix.strip("."), name))
        pairs.sort(key=lambda p: -len(p[0]))
        return tuple(pairs)

    def _load_psl(self) -> PublicSuffixList:
        from publicsuffix2 import PublicSuffixList

        with (self.data_dir / PSL_FILE).open(encoding="utf-8") as fh:
            return PublicSuffixList(psl_file=fh, idna=True)

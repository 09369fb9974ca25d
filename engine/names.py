"""A person's given and family name read from an address's local part, and the given name's
likely gender. Pure: the names lists come in (data/given_names.txt, data/family_names.txt).
Display case is str.title(): "o'brien" -> "O'Brien", "mcdonald" -> "Mcdonald".

Names are given only when the local part clearly splits into a given and a family name
("john.smith", "smith_john", "john.q.smith", "johnsmith" when one split stands out); the caller
asks for none for role and no-reply addresses. Gender only where the list is confident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from engine.datasets import Datasets

GENDER_CONFIDENCE = 0.95  # share of one sex among the bearers of a given name, at least
SMOOTHING = 0.001  # percent: the lists' resolution; a name missing for one sex counts as this rare
MAX_DIGITS = 4  # trailing digits allowed ("john.smith1984"); more, or digits inside: an identifier
MIN_LETTERS = 2  # per name in a separated local part ("j.smith" names nobody for sure)
# A local part without separators ("johnsmith") splits only between common names of three
# letters or more, and only when one split is far likelier than any other.
JOINED_MIN_LETTERS = 3
JOINED_GIVEN = 0.02  # percent of men or of women, at least (about a thousand names)
JOINED_FAMILY = 0.005  # percent of people, at least (about 2,700 names)
JOINED_RATIO = 20.0
# "smith.john" is read family name first only when that reading is this much likelier.
ORDER_RATIO = 4.0

_DIGITS = "0123456789"
_NAME = re.compile(r"[a-z]+'[a-z]+")  # O'Brien
_NONE = (0.0, 0.0)

Given = Mapping[str, tuple[float, float]]  # name -> (percent of men, percent of women)
Family = Mapping[str, float]  # name -> percent of people


class PersonName(NamedTuple):
    """Names read from a local part, in display case ("John", "Smith")."""

    first_name: str
    last_name: str
    gender: str | None = None  # "male" or "female"; None when the list is not confident

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def person_name(local: str, ds: Datasets) -> PersonName | None:
    """The given and family name in `local` (the +tag is ignored), or None; never raises."""
    tokens = _tokens(local)
    if tokens is None:
        return None
    if len(tokens) == 3 and len(tokens[1]) == 1:
        tokens = [tokens[0], tokens[2]]  # "john.q.smith": a middle initial
    given, family = ds.given_names, ds.family_names
    if len(tokens) == 2:
        pair = _pair(tokens[0], tokens[1], given, family)
    elif len(tokens) == 1:
        pair = _joined(tokens[0], given, family)
    else:
        return None
    if pair is None:
        return None
    first, last = pair
    return PersonName(first.title(), last.title(), _gender(given.get(_key(first))))


def gender(given: str, ds: Datasets) -> str | None:
    """ "male" or "female" when at least GENDER_CONFIDENCE of the name's bearers are of that
    sex (the lists count men and women alike), else None."""
    return _gender(ds.given_names.get(_key(given)))


def _gender(shares: tuple[float, float] | None) -> str | None:
    if shares is None:
        return None
    male, female = shares
    female_share = (female + SMOOTHING) / (male + female + 2 * SMOOTHING)
    if female_share >= GENDER_CONFIDENCE:
        return "female"
    if 1.0 - female_share >= GENDER_CONFIDENCE:
        return "male"
    return None


def _tokens(local: str) -> list[str] | None:
    """The lower-case name-like parts of a local part, or None when it is no name at all."""
    base = local.partition("+")[0]
    if not base.isascii():
        return None
    base = base.lower()
    letters = base.rstrip(_DIGITS)
    if len(base) - len(letters) > MAX_DIGITS:
        return None
    if "_" in letters or "-" in letters:
        letters = letters.replace("_", ".").replace("-", ".")
    tokens = letters.split(".")
    if "" in tokens:
        tokens = [t for t in tokens if t]
    for token in tokens:
        if not token.isalpha() and not _NAME.fullmatch(token):
            return None  # digits inside, quotes, other symbols: no name
    return tokens or None


def _key(name: str) -> str:
    """The lists' spelling: lower case, O'Brien as OBRIEN."""
    name = name.lower()
    return name.replace("'", "") if "'" in name else name


def _pair(a: str, b: str, given: Given, family: Family) -> tuple[str, str] | None:
    """(given, family) from two lower-case parts, in the order the lists find likelier."""
    ka = a.replace("'", "") if "'" in a else a
    kb = b.replace("'", "") if "'" in b else b
    if len(ka) < MIN_LETTERS or len(kb) < MIN_LETTERS:
        return None
    forward = max(given.get(ka, _NONE)) * family.get(kb, 0.0)
    backward = max(given.get(kb, _NONE)) * family.get(ka, 0.0)
    if backward > forward * ORDER_RATIO:
        return b, a
    if forward > 0:
        return a, b
    return None


def _joined(token: str, given: Given, family: Family) -> tuple[str, str] | None:
    """(given, family) from a local part without separators, when one split stands out."""
    if "'" in token or token in given or token in family:
        return None  # "johnson", "rosemary": one name, not two
    scored: list[tuple[float, str, str]] = []
    for i in range(JOINED_MIN_LETTERS, len(token) - JOINED_MIN_LETTERS + 1):
        head, tail = token[:i], token[i:]
        for first, last in ((head, tail), (tail, head)):
            shares = given.get(first)
            if shares is None or max(shares) < JOINED_GIVEN:
                continue
            share = family.get(last, 0.0)
            if share >= JOINED_FAMILY:
                scored.append((max(shares) * share, first, last))
    if not scored:
        return None
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] < scored[1][0] * JOINED_RATIO:
        return None  # "davidlee" could be David Lee or Lee David: no clear split
    return scored[0][1], scored[0][2]

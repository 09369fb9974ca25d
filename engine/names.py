"""A person's given and family name read from an address's local part, and the given name's
likely gender. Pure: the names lists come in (data/given_names.txt, data/family_names.txt).

Names are given only when the local part clearly splits into a given and a family name
("john.smith", "smith_john", "john.q.smith", "johnsmith" when one split stands out); the caller
asks for none for role and no-reply addresses. Gender only where the list is confident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

_SEPARATORS = re.compile(r"[._-]+")
_NAME = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True, slots=True)
class PersonName:
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
    if len(tokens) == 2:
        pair = _pair(tokens[0], tokens[1], ds)
    elif len(tokens) == 1:
        pair = _joined(tokens[0], ds)
    else:
        return None
    if pair is None:
        return None
    given, family = pair
    return PersonName(_display(given), _display(family), gender(given, ds))


def gender(given: str, ds: Datasets) -> str | None:
    """ "male" or "female" when at least GENDER_CONFIDENCE of the name's bearers are of that
    sex (the lists count men and women alike), else None."""
    shares = ds.given_names.get(_key(given))
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
    base = local.split("+", 1)[0].lower()
    if not base.isascii():
        return None
    letters = base.rstrip("0123456789")
    if len(base) - len(letters) > MAX_DIGITS:
        return None
    tokens = [t for t in _SEPARATORS.split(letters) if t]
    if not tokens or not all(_NAME.fullmatch(t) for t in tokens):
        return None
    return tokens


def _key(name: str) -> str:
    return name.lower().replace("'", "")  # the lists spell O'Brien as OBRIEN


def _display(name: str) -> str:
    return name.title()  # "o'brien" -> "O'Brien"


def _given_share(name: str, ds: Datasets) -> float:
    shares = ds.given_names.get(_key(name))
    return max(shares) if shares else 0.0


def _family_share(name: str, ds: Datasets) -> float:
    return ds.family_names.get(_key(name), 0.0)


def _pair(a: str, b: str, ds: Datasets) -> tuple[str, str] | None:
    """(given, family) from two separated parts, in the order the lists find likelier."""
    if len(_key(a)) < MIN_LETTERS or len(_key(b)) < MIN_LETTERS:
        return None
    forward = _given_share(a, ds) * _family_share(b, ds)
    backward = _given_share(b, ds) * _family_share(a, ds)
    if backward > forward * ORDER_RATIO:
        return b, a
    if forward > 0:
        return a, b
    return None


def _joined(token: str, ds: Datasets) -> tuple[str, str] | None:
    """(given, family) from a local part without separators, when one split stands out."""
    key = _key(token)
    if key != token or key in ds.given_names or key in ds.family_names:
        return None  # "johnson", "rosemary": one name, not two
    scored: list[tuple[float, str, str]] = []
    for i in range(JOINED_MIN_LETTERS, len(token) - JOINED_MIN_LETTERS + 1):
        head, tail = token[:i], token[i:]
        for given, family in ((head, tail), (tail, head)):
            g, f = _given_share(given, ds), _family_share(family, ds)
            if g >= JOINED_GIVEN and f >= JOINED_FAMILY:
                scored.append((g * f, given, family))
    if not scored:
        return None
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] < scored[1][0] * JOINED_RATIO:
        return None  # "davidlee" could be David Lee or Lee David: no clear split
    return scored[0][1], scored[0][2]

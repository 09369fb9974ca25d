"""did_you_mean: the popular mail domain a mistyped domain most likely meant, or the common
suffix a mistyped suffix of any domain meant ("acme.con" -> "acme.com").

Pure and offline: no DNS, no files (the lists come in as arguments). A suggestion is advice;
it never changes a verdict. When in doubt it suggests nothing: a wrong "did you mean" annoys a
real user more than a missed one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.datasets import Datasets

# --- Costs of single mistakes (a plain Levenshtein edit costs 1) ---------------------------
# The slips typists make most (letters swapped, a letter doubled or typed once, a neighbouring
# key) cost least, so that "gmial" is nearer to gmail than "grail" is.
SWAP = 0.45  # "gmial": two neighbouring letters swapped
DOUBLE = 0.45  # "gmaill" / "yaho": a letter doubled, or one of a double typed once
NEAR_KEY = 0.6  # "gnail": a key touching the intended one on a QWERTY keyboard
NEAR_EXTRA = 0.7  # "gmaoil": an extra key touching its neighbour, or echoing a letter near by
DROP = 0.9  # "gmai": a letter left out
OTHER = 1.0  # any other substitution or insertion
SEPARATOR = 0.5  # a dot or hyphen left out or added ("gmailcom", "tonline.de")
FIRST = 1.7  # factor for mistakes on a name's first letter, which people rarely get wrong

# --- How much difference a correction may bridge --------------------------------------------
# By the length of the provider's name: every short name sits among real domains one key away
# (aon.com, ao.com and aoc.com next to aol.com), so names of three characters or fewer are only
# corrected for a doubled letter ("aoll.com") and in their suffix, and four-letter names for a
# swap, a doubled letter, an extra key inside, or a changed or missing letter other than the
# first: a provider's users outnumber those of the three- and four-letter domains around it by
# far (the look-alikes love.com, life.com and mai.ru are the exceptions, and stay as they are).
# With DNS on, a typed domain that has mail servers of its own keeps its name (pipeline.py).
SHORT = 3  # names this short are corrected for a doubled letter and in their suffix only
_NAME_ALLOWANCE = (0.0, 0.0, 0.0, 0.0, 0.5, 0.9, 0.9, 0.95, 1.1)
EXTRA_INSIDE_SHORT = 0.9  # a four-letter name with a key added inside it ("liove")
SHORT_SLIP_ALLOWANCE = DROP  # a dropped (not first) or neighbouring letter of a four-letter name
# Names of five letters and more get more room the more popular they are (all their domains'
# weights together): a slip of gmail is more likely than a real domain next to it.
POPULARITY = 0.1  # extra allowance per factor of ten in weight above WEIGHT_REFERENCE
POPULARITY_CAP = 0.25
WEIGHT_REFERENCE = 10.0
SUFFIX_ALLOWANCE = 1.0  # for a suffix that is no public suffix at all (".con", ".co.ku")
TOTAL_ALLOWANCE = 0.6  # a name slip and a suffix slip together may exceed the name's share by this
RANKING = 0.15  # among candidates, cost is traded against popularity at this rate per decade
# A suffix that is no public suffix, on any domain ("acme.con", "uni.ac.ku"): one slip at most.
# Every such slip counts alike (".ed" is as likely a swapped .de as a cut-off .edu), so the
# candidates are ranked by popularity alone, and the best must beat the runner-up clearly.
ANY_SUFFIX_ALLOWANCE = DROP
ANY_SUFFIX_MARGIN = 0.2  # the best must be some twenty times as common as the runner-up

_QWERTY_ROWS = ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _adjacent_keys() -> frozenset[tuple[str, str]]:
    """Pairs of keys that touch on a QWERTY keyboard (rows staggered by half a key)."""
    where = {ch: (r, c) for r, row in enumerate(_QWERTY_ROWS) for c, ch in enumerate(row)}
    pairs: set[tuple[str, str]] = set()
    for a, (r, c) in where.items():
        for b, (r2, c2) in where.items():
            same_row = r2 == r and abs(c2 - c) == 1
            below = r2 == r + 1 and c2 in (c - 1, c)
            if same_row or below:
                pairs.add((a, b))
                pairs.add((b, a))
    return frozenset(pairs)


ADJACENT = _adjacent_keys()
_SEPARATORS = frozenset(".-")


def keyboard_distance(typed: str, meant: str, *, first_letter: bool = True) -> float:
    """Weighted Damerau-Levenshtein (optimal string alignment) cost of typing `meant` as `typed`.

    Swaps, doubled letters and neighbouring keys cost less than other edits; a missing or extra
    dot or hyphen costs SEPARATOR. With `first_letter`, changing or dropping the first letter
    costs FIRST times more.
    """
    n, m = len(typed), len(meant)
    prev2: list[float] = []
    prev = [0.0] * (m + 1)
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + _drop_cost(meant, j - 1, first_letter)
    for i in range(1, n + 1):
        cur = [0.0] * (m + 1)
        cur[0] = prev[0] + _extra_cost(typed[i - 1], meant, 0)
        t = typed[i - 1]
        for j in range(1, m + 1):
            s = meant[j - 1]
            if t == s:
                best = prev[j - 1]
            else:
                best = prev[j - 1] + _swap_key_cost(t, s, j - 1, first_letter)
            extra = prev[j] + _extra_cost(t, meant, j)
            if extra < best:
                best = extra
            drop = cur[j - 1] + _drop_cost(meant, j - 1, first_letter)
            if drop < best:
                best = drop
            if i > 1 and j > 1 and t == meant[j - 2] and typed[i - 2] == s and t != s:
                swap = prev2[j - 2] + SWAP
                if swap < best:
                    best = swap
            cur[j] = best
        prev2, prev = prev, cur
    return prev[m]


def _scale(pos: int, first_letter: bool) -> float:
    return FIRST if first_letter and pos == 0 else 1.0


def _swap_key_cost(t: str, s: str, pos: int, first_letter: bool) -> float:
    if t in _SEPARATORS or s in _SEPARATORS:
        return OTHER
    base = NEAR_KEY if (t, s) in ADJACENT else OTHER
    return base * _scale(pos, first_letter)


def _extra_cost(ch: str, meant: str, j: int) -> float:
    """Cost of an extra `ch` typed between meant[j - 1] and meant[j].

    A key struck before the first letter costs no more than elsewhere: FIRST is about getting
    the first letter itself wrong.
    """
    if ch in _SEPARATORS:
        return SEPARATOR
    before = meant[j - 1] if j > 0 else ""
    after = meant[j] if j < len(meant) else ""
    if ch in (before, after):
        return DOUBLE
    if (ch, before) in ADJACENT or (ch, after) in ADJACENT:
        return NEAR_EXTRA
    # A letter of the word typed once too often a little further on ("iclould").
    if ch in meant[max(0, j - 3) : j + 2]:
        return NEAR_EXTRA
    return OTHER


def _drop_cost(meant: str, j: int, first_letter: bool) -> float:
    """Cost of leaving out meant[j]."""
    ch = meant[j]
    if ch in _SEPARATORS:
        return SEPARATOR
    if (j > 0 and meant[j - 1] == ch) or (j + 1 < len(meant) and meant[j + 1] == ch):
        return DOUBLE
    return DROP * _scale(j, first_letter)


@dataclass(frozen=True, slots=True)
class _Target:
    domain: str
    name: str
    suffix: str
    weight: float
    decades: float  # log10 of the weight relative to WEIGHT_REFERENCE
    name_decades: float = 0.0  # the same for all domains with this name (yahoo.*) together


def _deletions(word: str, depth: int) -> set[str]:
    """`word` with up to `depth` characters removed (the symmetric-delete index keys)."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


class TypoCorrector:
    """Suggests the popular mail domain a domain was probably mistyped from, or nothing.

    Args:
        mail_domains: the correction targets with their popularity weights.
        lookalikes: real domains that only look like typos; never corrected.
        known_domains: every other domain known to receive mail (free and disposable
            services); never corrected, except the typo-squatted copies of a popular domain
            that those lists carry (gmial.com, hotmial.com), which are corrected all the same.
        registrable: the registrable part ("eTLD+1") of an A-label domain under the Public
            Suffix List, or a string without a dot when the domain's last label is no suffix.
        suffixes: common public suffixes with weights; a suffix of any domain that is no public
            suffix is corrected to one of these ("acme.con" -> "acme.com"). Empty: never.
    """

    def __init__(
        self,
        mail_domains: Mapping[str, float],
        lookalikes: frozenset[str],
        known_domains: frozenset[str],
        registrable: Callable[[str], str],
        *,
        suffixes: Mapping[str, float] | None = None,
        cache_size: int = 65536,
    ) -> None:
        self._registrable = registrable
        self._suffixes = {
            s: math.log10(max(float(w), 1e-3) / WEIGHT_REFERENCE)
            for s, w in (suffixes or {}).items()
        }
        self._second_levels = frozenset(s.split(".")[0] for s in self._suffixes if "." in s)
        self._protected = frozenset(mail_domains) | lookalikes
        self._known = known_domains - self._protected
        targets: dict[str, _Target] = {}
        for domain, weight in mail_domains.items():
            target = self._target(domain, max(float(weight), 1e-3))
            if target is not None:
                targets[domain] = target
        self._targets = targets
        by_name: dict[str, list[_Target]] = {}
        for target in targets.values():
            by_name.setdefault(target.name, []).append(target)
        # A slip in the name does not depend on the suffix: the allowance for the name grows
        # with the popularity of all its domains together (yahoo.com.au profits from yahoo.com).
        for name, group in by_name.items():
            decades = math.log10(sum(t.weight for t in group) / WEIGHT_REFERENCE)
            by_name[name] = [replace(t, name_decades=decades) for t in group]
            for t in by_name[name]:
                targets[t.domain] = t
        self._by_name = by_name
        self._longest_name = max((len(name) for name in by_name), default=0)
        # Symmetric-delete index: two names within two edits share a key with <= 2 deletions.
        self._name_keys: dict[str, set[str]] = {}
        for name in self._by_name:
            for key in _deletions(name, 2):
                self._name_keys.setdefault(key, set()).add(name)
        self._dotless: dict[str, set[str]] = {}
        for target in targets.values():
            flat = target.domain.replace(".", "")
            for key in _deletions(flat, 1):
                self._dotless.setdefault(key, set()).add(target.domain)
        self._cached = lru_cache(maxsize=cache_size)(self._suggest)

    @classmethod
    def from_datasets(cls, ds: Datasets) -> TypoCorrector:
        """A corrector over the lists in `ds` (free, disposable, mail domains, look-alikes,
        common suffixes)."""
        known: frozenset[str] = frozenset()
        for name in ("free", "disposable"):
            try:
                known |= getattr(ds, name)
            except FileNotFoundError:
                continue  # a checkout without that list still corrects typos
        try:
            suffixes = ds.suffixes
        except FileNotFoundError:
            suffixes = {}
        return cls(
            ds.mail_domains,
            ds.lookalikes,
            known | frozenset(ds.mail_domains) | ds.lookalikes,
            ds.registrable,
            suffixes=suffixes,
        )

    def suggest(self, domain: str) -> str | None:
        """The domain `domain` was probably mistyped from, or None; never raises.

        `domain` is a lower-case A-label domain, or what was typed for one: a comma typed for a
        dot ("gmail,com") is read as the dot. Known mail domains, look-alikes, subdomains,
        internationalized names and anything not close to a popular mail domain or a common
        suffix get None.
        """
        return self._cached(domain)

    # --- internals ---------------------------------------------------------------------------

    def _target(self, domain: str, weight: float) -> _Target | None:
        reg = self._safe_registrable(domain)
        if reg != domain or "." not in reg:
            return None  # a provider's subdomain (or a bad line) is no typo target
        name, suffix = domain.split(".", 1)
        return _Target(domain, name, suffix, weight, math.log10(weight / WEIGHT_REFERENCE))

    def _safe_registrable(self, domain: str) -> str:
        try:
            return self._registrable(domain)
        except Exception:  # a malformed name is nobody's typo; PSL libraries raise loosely
            return ""

    def _suggest(self, domain: str) -> str | None:
        domain = domain.strip().rstrip(".").lower()
        # No domain has a comma (RFC 1035 §2.3.1): it is the key beside the dot.
        comma = "," in domain
        domain = domain.replace(",", ".")
        if not domain or len(domain) > 253:
            return None
        if domain in self._protected:
            return domain if comma else None
        if not domain.isascii() or "xn--" in domain:
            return None  # internationalized names are not misspellings of ASCII providers
        labels = domain.split(".")
        if not all(labels):
            return None
        best = self._best(domain, labels)
        if best is not None and not (
            domain in self._known and best[0] > _listed_typo_limit(best[1])
        ):
            return best[1].domain
        if domain in self._known:
            return domain if comma else None  # a listed mail domain, not a typo-squat
        fixed = self._any_suffix(labels)
        if fixed is None and comma and "." in self._safe_registrable(domain):
            return domain  # "acme,com": the comma was the only slip
        return fixed

    def _best(self, domain: str, labels: list[str]) -> tuple[float, _Target] | None:
        """(cost, target) of the most likely intended domain, or None."""
        reg = self._safe_registrable(domain)
        found: list[tuple[float, _Target]] = []
        if "." in reg:
            # The suffix is a real public suffix.
            reg_labels = reg.count(".") + 1
            prefix = labels[: len(labels) - reg_labels]
            name, suffix = reg.split(".", 1)
            if len(prefix) == 1 and len(name) <= 4:
                # "bol.con.br", "yahoo.c0m.sg": the PSL takes a mangled suffix label ("con",
                # "c0m") for a name; read the first label as the name instead.
                found += self._structured(prefix[0], reg, suffix_is_real=False)
            if prefix:
                found += self._subdomain_slips(domain, labels)
            else:
                found += self._structured(name, suffix, suffix_is_real=True)
        elif len(labels) > 1:
            found += self._structured(labels[0], ".".join(labels[1:]), suffix_is_real=False)
        if not found:
            found += self._dot_slips(domain)
        if not found:
            return None
        return min(found, key=lambda ct: (ct[0] - RANKING * ct[1].decades, ct[1].domain))

    def _structured(
        self, name: str, suffix: str, *, suffix_is_real: bool
    ) -> list[tuple[float, _Target]]:
        """Candidates when the name and the suffix can each be corrected on their own."""
        found: list[tuple[float, _Target]] = []
        for cand in self._near_names(name):
            targets = self._by_name[cand]
            name_cost = 0.0 if cand == name else keyboard_distance(name, cand)
            for target in targets:
                allowance = _name_allowance(target, name)
                if name_cost > allowance:
                    continue
                suffix_cost = self._suffix_cost(suffix, target.suffix, suffix_is_real)
                if suffix_cost is None and not name_cost and len(name) > SHORT + 1:
                    suffix_cost = _neighbour_suffix_cost(suffix, target.suffix)
                if suffix_cost is None:
                    continue
                if (
                    name_cost
                    and suffix_cost
                    and name_cost + suffix_cost > allowance + TOTAL_ALLOWANCE
                ):
                    continue
                found.append((name_cost + suffix_cost, target))
        return found

    def _near_names(self, name: str) -> set[str]:
        if len(name) > self._longest_name + 2:
            return set()  # the common case of a long company name: nothing within two edits
        out: set[str] = set()
        for key in _deletions(name, 2):
            hit = self._name_keys.get(key)
            if hit:
                out |= hit
        return out

    @staticmethod
    def _suffix_cost(typed: str, meant: str, typed_is_real: bool) -> float | None:
        if typed == meant:
            return 0.0
        if typed_is_real:
            # A real suffix may well be meant (hotmail.be, yahoo.es): only a dropped letter
            # of the intended one counts as a slip (".co", ".cm", ".om" for ".com").
            if len(typed) + 1 != len(meant):
                return None
            cost = keyboard_distance(typed, meant, first_letter=False)
            return cost if cost <= DROP else None
        cost = keyboard_distance(typed, meant, first_letter=False)
        return cost if cost <= SUFFIX_ALLOWANCE else None

    def _any_suffix(self, labels: list[str]) -> str | None:
        """`labels` with a mistyped suffix corrected to a common one, on any domain, or None.

        Only a suffix that is no public suffix is corrected: a last label that is no top-level
        domain ("acme.con", "uni.ac.ku"), or a mangled label under a real one ("acme.con.br").
        A real suffix (".co", ".cm", ".om") may be meant and is left alone.
        """
        if not self._suffixes or len(labels) < 2:
            return None
        domain = ".".join(labels)
        reg = self._safe_registrable(domain)
        under_real_tld = "." in reg
        if under_real_tld:
            # "con.br" may stand where "com.br" was meant (the PSL takes the mangled label for
            # a name); never on a two-label domain, and only the label below the TLD changes.
            if len(labels) < 3 or reg != ".".join(labels[-2:]):
                return None
            spans: tuple[int, ...] = (2,)
        else:
            spans = (1, 2) if len(labels) > 2 else (1,)
        # "ox.ac.ku": when the label before the last is a second-level label (ac, co, com...),
        # the slip is in the two labels together, not "ac" under another top-level domain.
        if len(spans) == 2 and labels[-2] in self._second_levels:
            spans = (2, 1)
        for span in spans:
            scored: dict[str, float] = {}
            typed = ".".join(labels[-span:])
            head = ".".join(labels[:-span])
            for suffix, decades in self._suffixes.items():
                if under_real_tld and suffix.rsplit(".", 1)[-1] != labels[-1]:
                    continue
                if abs(len(suffix) - len(typed)) > 1:
                    continue
                if keyboard_distance(typed, suffix, first_letter=False) <= ANY_SUFFIX_ALLOWANCE:
                    fixed = f"{head}.{suffix}"
                    scored[fixed] = min(-RANKING * decades, scored.get(fixed, math.inf))
            if scored:
                return self._settle(scored)
        return None

    def _settle(self, scored: dict[str, float]) -> str | None:
        """The best of the corrected domains, unless the runner-up is near or a provider's
        name is mistyped too."""
        ranked = sorted(scored.items(), key=lambda kv: (kv[1], kv[0]))
        if len(ranked) > 1 and ranked[1][1] - ranked[0][1] < ANY_SUFFIX_MARGIN:
            return None  # ".c" is as likely .ca as .ch: no single answer
        fixed = ranked[0][0]
        again = self._best(fixed, fixed.split("."))
        if again is not None:
            return again[1].domain  # "yahioo.co.j": a provider's name was mistyped too
        name, suffix = self._safe_registrable(fixed).split(".", 1)
        for near in self._near_names(name):
            if len(near) <= SHORT or not 0 < keyboard_distance(name, near) <= DROP:
                continue
            if any(t.suffix == suffix for t in self._by_name[near]):
                return None  # "kmail.comm": perhaps mail.com with its name mistyped too
        return fixed

    def _subdomain_slips(self, domain: str, labels: list[str]) -> list[tuple[float, _Target]]:
        """A dot typed inside the name ("g.mail.com"), or the suffix twice ("gmail.com.com")."""
        found: list[tuple[float, _Target]] = []
        target = self._targets.get(".".join(labels[:-1]))
        if target is not None and labels[-1] == target.suffix.rsplit(".", 1)[-1]:
            found.append((SEPARATOR + DOUBLE, target))
        return found + self._dot_slips(domain)

    def _dot_slips(self, domain: str) -> list[tuple[float, _Target]]:
        """Targets that differ from `domain` in its dots, and by at most one other slip."""
        flat = domain.replace(".", "")
        domains: set[str] = set()
        for key in _deletions(flat, 1):
            hit = self._dotless.get(key)
            if hit:
                domains |= hit
        found: list[tuple[float, _Target]] = []
        for d in domains:
            target = self._targets[d]
            cost = keyboard_distance(domain, d)
            dots = abs(domain.count(".") - d.count("."))
            if dots and cost <= dots * SEPARATOR + _name_allowance(target, target.name):
                found.append((cost, target))
        return found


def _name_allowance(target: _Target, typed: str) -> float:
    """How far the typed name may be from the target's name (in keyboard_distance units)."""
    n = len(target.name)
    if n <= SHORT:
        # Only a doubled letter ("aoll", "gmxx"): any other slip makes another short name.
        if len(typed) == n + 1 and _is_doubling(typed, target.name):
            return DOUBLE
        return 0.0
    if n == SHORT + 1:
        if len(typed) > n and typed[0] == target.name[0] and typed[-1] == target.name[-1]:
            # A four-letter name with a key added inside ("liove") lands among far fewer real
            # names than one with a key changed or dropped; added at either end it often makes
            # a word (lives, olive).
            return EXTRA_INSIDE_SHORT
        if len(typed) <= n:
            return SHORT_SLIP_ALLOWANCE  # "mal.ru", "lve.dk", "sinq.com"
        return _NAME_ALLOWANCE[n] if len(typed) > SHORT else 0.0
    allowance = _NAME_ALLOWANCE[min(n, len(_NAME_ALLOWANCE) - 1)]
    allowance += min(POPULARITY_CAP, POPULARITY * max(0.0, target.name_decades))
    # Up to six letters, a key that is neither doubled nor a neighbour makes another word
    # too often (grail.com is no gmail.com typo): those names never bridge an OTHER edit.
    return min(allowance, OTHER - 0.05) if n <= 6 else allowance


def _neighbour_suffix_cost(typed: str, meant: str) -> float | None:
    """Cost of a real top-level domain typed for a provider's own by one neighbouring key or a
    swap ("outlook.cx", "alice.ir"), or None.

    Only for a provider's exact name of five letters or more: a domain like that under another
    country code is seldom anybody's, while short names (web.se, sky.de) often are.
    """
    if len(typed) != len(meant) or "." in typed or "." in meant:
        return None
    cost = keyboard_distance(typed, meant, first_letter=False)
    return cost if cost <= NEAR_KEY else None


def _is_doubling(typed: str, name: str) -> bool:
    """Whether `typed` is `name` with one of its letters typed twice."""
    return any(typed == name[: i + 1] + ch + name[i + 1 :] for i, ch in enumerate(name))


def _listed_typo_limit(target: _Target) -> float:
    """Cost under which a listed free or disposable domain is still a typo-squat of `target`."""
    # Lists of free and disposable domains carry the typo-squats of the biggest providers
    # (gmial.com, hotmai.com, hotmail.co): one slip from a domain of weight >= 100 is still
    # corrected. Smaller providers' neighbours on those lists are often real (y7mail.com).
    return DROP if target.decades >= 1.0 else -1.0

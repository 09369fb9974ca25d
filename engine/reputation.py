"""Reputation flags of an address: disposable, free, role and no-reply. Pure: lists come in.

Domains match on their registrable part (via the PSL), so `x.sub.mailinator.com` is disposable;
case and a trailing root dot never change a flag.
"""

from __future__ import annotations

from engine.datasets import Datasets
from engine.model import Address, Flags

_SEPARATORS = str.maketrans("", "", "._-")
_NO_REPLY_PREFIXES = ("noreply", "donotreply")


def _local_key(local: str) -> str:
    """The local part as the lists hold it: lower-case, no +tag, no separators."""
    base = local.split("+", 1)[0]
    return base.lower().translate(_SEPARATORS)


def domain_flags(ascii_domain: str, ds: Datasets) -> tuple[bool, bool]:
    """(disposable, free) for a domain; both False for domain literals."""
    if ascii_domain.startswith("["):
        return False, False
    # RFC 1034 §3.1: "Gmail.COM." names the same domain as "gmail.com".
    ascii_domain = ascii_domain.rstrip(".").lower()
    registrable = ds.registrable(ascii_domain)
    disposable = ascii_domain in ds.disposable or registrable in ds.disposable
    free = not disposable and (ascii_domain in ds.free or registrable in ds.free)
    return disposable, free


def reputation_flags(address: Address, ds: Datasets) -> Flags:
    """Flags from the lists alone; never raises for a parsed Address."""
    disposable, free = domain_flags(address.ascii_domain, ds)
    key = _local_key(address.local)
    no_reply = key in ds.no_reply or key.startswith(_NO_REPLY_PREFIXES)
    return Flags(
        disposable=disposable,
        free=free,
        # Kickbox counts no-reply, mailer-daemon and the like as role addresses too.
        role=no_reply or key in ds.roles,
        no_reply=no_reply,
    )

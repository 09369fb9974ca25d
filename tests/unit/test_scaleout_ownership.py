"""Who asks which mail hosts in a cluster run: sites, shards and their owners (no Ray)."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.model import MxHost
from engine.scaleout.ownership import Owners, Site, shard_of, site_of


def _hosts(*pairs: tuple[int, str]) -> tuple[MxHost, ...]:
    return tuple(MxHost(host, pref, ("192.0.2.1",)) for pref, host in pairs)


def test_a_known_provider_is_one_site_whatever_its_mx_names() -> None:
    a = site_of(_hosts((5, "aspmx.l.google.com"), (10, "alt1.aspmx.l.google.com")), "google")
    b = site_of(_hosts((1, "gmail-smtp-in.l.google.com")), "google")
    assert a.key == b.key == "provider:google"
    assert a.hosts == {"aspmx.l.google.com", "alt1.aspmx.l.google.com"}


def test_a_site_is_named_by_its_most_preferred_hosts_in_any_dns_order() -> None:
    one = site_of(_hosts((10, "MX2.example.com."), (10, "mx1.example.com"), (20, "b.x")), None)
    two = site_of(_hosts((20, "b.x"), (10, "mx1.example.com"), (10, "mx2.example.com")), None)
    assert one.key == two.key == "mx:mx1.example.com,mx2.example.com"
    other_backup = site_of(_hosts((10, "mx1.example.com"), (10, "mx2.example.com")), None)
    assert other_backup.key == one.key  # the same primaries: the same owner
    assert site_of(_hosts((10, "mx1.example.com")), None).key != one.key


def test_shards_are_stable_and_even() -> None:
    emails = [f"user{i}@example.com" for i in range(4000)]
    assert all(shard_of(e, 1) == 0 for e in emails[:50])
    shards = [shard_of(e, 4) for e in emails]
    assert shards == [shard_of(e, 4) for e in emails]  # the same address, the same shard
    counts = Counter(shards)
    assert set(counts) == {0, 1, 2, 3}
    assert all(800 < n < 1200 for n in counts.values()), counts


def _site(key: str, *hosts: str) -> Site:
    return Site(key, frozenset(hosts or (key,)))


def test_each_site_has_one_owner_and_new_sites_go_to_the_least_loaded() -> None:
    owners = Owners()
    first = owners.owner(_site("mx:a.example"), 0, ["a", "b"])
    for _ in range(5):
        assert owners.owner(_site("mx:a.example"), 0, ["a", "b"]) == first
    second = owners.owner(_site("mx:b.example"), 0, ["a", "b"])
    assert second != first  # the other egress had nothing yet
    assert owners.load() == {first: 6, second: 1}
    third = owners.owner(_site("mx:c.example"), 0, ["a", "b"])
    assert third == second
    assert owners.owners_per_host() == {"mx:a.example": 1, "mx:b.example": 1, "mx:c.example": 1}


def test_routes_limit_the_owners() -> None:
    owners = Owners(spread=3)
    picked = {owners.owner(_site("provider:google"), shard, ["b"]) for shard in range(3)}
    assert picked == {"b"}


def test_spread_puts_a_sites_shards_on_distinct_egresses() -> None:
    owners = Owners(spread=3)
    site = _site("provider:google", "aspmx.l.google.com", "alt1.aspmx.l.google.com")
    picked = [owners.owner(site, shard, ["a", "b", "c", "d"]) for shard in range(3)]
    assert len(set(picked)) == 3
    # The bound the run reports: each of the site's hosts may see three egresses.
    assert owners.owners_per_host() == {"aspmx.l.google.com": 3, "alt1.aspmx.l.google.com": 3}


def test_a_backup_host_shared_by_two_sites_counts_both_owners() -> None:
    owners = Owners()
    owners.owner(_site("mx:one.example", "one.example", "backup.example"), 0, ["a", "b"])
    owners.owner(_site("mx:two.example", "two.example", "backup.example"), 0, ["a", "b"])
    assert owners.owners_per_host()["backup.example"] == 2


def test_owners_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        Owners(spread=0)
    with pytest.raises(ValueError):
        Owners().owner(_site("mx:x"), 0, [])

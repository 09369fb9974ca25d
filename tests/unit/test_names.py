"""Names and gender from the local part: clear splits only, never for roles, gender only when
the list is confident."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import OFFLINE
from engine.datasets import Datasets, default_data_dir
from engine.names import PersonName, gender, person_name
from engine.verifier import Verifier


@pytest.fixture(scope="module")
def ds() -> Datasets:
    return Datasets()


@pytest.fixture()
def tiny(tmp_path: Path) -> Datasets:
    """A names list small enough to reason about."""
    (tmp_path / "given_names.txt").write_text(
        "# name male% female%\n"
        "david 3.000 0.010\nlee 0.200 0.050\nmary 0.009 2.600\nalex 0.100 0.002\n"
        "kim 0.030 0.180\nzelda 0.000 0.001\nanna 0.000 0.500\n",
        encoding="utf-8",
    )
    (tmp_path / "family_names.txt").write_text(
        "# name percent\nlee 0.200\ndavid 0.200\nsmith 1.000\nmary 0.001\nannan 0.010\n",
        encoding="utf-8",
    )
    return Datasets(tmp_path)


@pytest.mark.parametrize(
    ("local", "first", "last"),
    [
        ("john.smith", "John", "Smith"),
        ("John.Smith", "John", "Smith"),
        ("john_smith", "John", "Smith"),
        ("john-smith", "John", "Smith"),
        ("smith.john", "John", "Smith"),
        ("john.q.smith", "John", "Smith"),
        ("mary.jones+newsletter", "Mary", "Jones"),
        ("john.smith1984", "John", "Smith"),
        ("sarah.connor", "Sarah", "Connor"),
        ("sean.o'brien", "Sean", "O'Brien"),
        ("johnsmith", "John", "Smith"),
        ("emilyjohnson", "Emily", "Johnson"),
        ("smithjohn", "John", "Smith"),
    ],
)
def test_clear_splits_give_names(ds: Datasets, local: str, first: str, last: str) -> None:
    name = person_name(local, ds)
    assert name is not None
    assert (name.first_name, name.last_name) == (first, last)
    assert name.full_name == f"{first} {last}"


@pytest.mark.parametrize(
    "local",
    [
        "john",  # one name: no family name
        "j.smith",  # an initial names nobody for sure
        "jsmith",
        "john.smith123456",  # more digits than a year: an identifier
        "j0hn.smith",
        "12345",
        "hello.world",
        "the.king",
        "johnson",  # a family name of its own, not john + son
        "rosemary",  # a given name of its own, not rose + mary
        "anna.maria.rossi",  # three full names: which is the family name?
        "jackpot",
        "tomcat",
        "josé.garcía",  # not in the lists' spelling
        '"john smith"',
        "",
    ],
)
def test_no_names_without_a_clear_split(ds: Datasets, local: str) -> None:
    assert person_name(local, ds) is None


def test_order_is_decided_by_the_lists(tiny: Datasets) -> None:
    # "smith" is only a family name, "david" both; david.smith and smith.david read alike.
    assert person_name("smith.david", tiny) == person_name("david.smith", tiny)
    assert person_name("david.smith", tiny) == PersonName("David", "Smith", "male")


def test_joined_local_part_with_two_readings_gets_no_names(tiny: Datasets) -> None:
    # David Lee and Lee David are both in the lists, about equally likely.
    assert person_name("davidlee", tiny) is None
    assert person_name("david.lee", tiny) == PersonName("David", "Lee", "male")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("david", "male"),
        ("mary", "female"),
        ("alex", "male"),  # 0.100% of men, 0.002% of women: about 98% male
        ("kim", None),  # about 86% female: not confident
        ("lee", None),  # about 80% male
        ("zelda", None),  # 0.001% of women only: too rare to tell
        ("nobody", None),
        ("Mary", "female"),
    ],
)
def test_gender_only_where_the_list_is_confident(
    tiny: Datasets, given: str, expected: str | None
) -> None:
    assert gender(given, tiny) == expected


def test_shipped_lists_have_their_source_and_size(ds: Datasets) -> None:
    for filename in ("given_names.txt", "family_names.txt"):
        head = (default_data_dir() / filename).read_text(encoding="utf-8")[:400]
        assert "PyPI names 0.3.0" in head and "Census" in head
    assert len(ds.given_names) > 5000
    assert len(ds.family_names) > 18000
    assert ds.given_names["mary"][1] > 2.0 and ds.family_names["smith"] > 1.0


@pytest.mark.parametrize(
    "address",
    ["info@acme.com", "no-reply@acme.com", "mailer-daemon@acme.com", "noreply-john.smith@x.com"],
)
def test_role_and_no_reply_addresses_get_no_names(address: str) -> None:
    r = Verifier(OFFLINE).check_offline(address)
    assert r.flags.role
    assert (r.first_name, r.last_name, r.full_name, r.gender) == (None, None, None, None)


def test_result_carries_the_names() -> None:
    r = Verifier(OFFLINE).check_offline("Mary.Jones+news@gmail.com")
    row = r.to_dict()
    assert (row["first_name"], row["last_name"], row["full_name"], row["gender"]) == (
        "Mary",
        "Jones",
        "Mary Jones",
        "female",
    )


def test_names_lists_are_read_only_when_a_local_part_needs_them() -> None:
    v = Verifier(OFFLINE)
    v.check_offline("info@acme.com")
    assert "given_names" not in v.datasets._loaded
    v.check_offline("john.smith@acme.com")
    assert "given_names" in v.datasets._loaded

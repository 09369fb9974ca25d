"""did_you_mean: famous typos corrected, real look-alikes kept, accuracy on the labelled set."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import publicsuffix2
import pytest

from engine.config import OFFLINE
from engine.datasets import PSL_FILE, Datasets, default_data_dir
from engine.typos import TypoCorrector, keyboard_distance
from engine.verifier import Verifier

LABELLED = Path(__file__).resolve().parent.parent / "data" / "typos_labelled.tsv"


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Datasets:
    """The shipped lists; publicsuffix2's bundled PSL stands in if data/ has none yet."""
    data = default_data_dir()
    if (data / PSL_FILE).exists():
        return Datasets(data)
    tmp = tmp_path_factory.mktemp("data")
    for name in ("mail_domains.txt", "lookalikes.txt", "suffixes.txt"):
        shutil.copy(data / name, tmp / name)
    shutil.copy(publicsuffix2.PSL_FILE, tmp / PSL_FILE)
    return Datasets(tmp)


def _optional(ds: Datasets, name: str) -> frozenset[str]:
    try:
        result: frozenset[str] = getattr(ds, name)
    except FileNotFoundError:
        return frozenset()
    return result


@pytest.fixture(scope="module")
def tc(ds: Datasets) -> TypoCorrector:
    """Targets and look-alikes only: results do not depend on the free and disposable lists."""
    return TypoCorrector(
        ds.mail_domains, ds.lookalikes, frozenset(), ds.registrable, suffixes=ds.suffixes
    )


@pytest.fixture(scope="module")
def tc_full(ds: Datasets) -> TypoCorrector:
    """As the Verifier builds it, with the free and disposable lists when they are present."""
    known = _optional(ds, "free") | _optional(ds, "disposable")
    known |= frozenset(ds.mail_domains) | ds.lookalikes
    return TypoCorrector(
        ds.mail_domains, ds.lookalikes, known, ds.registrable, suffixes=ds.suffixes
    )


FAMOUS = [
    ("gmial.com", "gmail.com"),
    ("gamil.com", "gmail.com"),
    ("gmai.com", "gmail.com"),
    ("gnail.com", "gmail.com"),
    ("gmaill.com", "gmail.com"),
    ("gmailcom", "gmail.com"),
    ("gmail.co", "gmail.com"),
    ("gmail.con", "gmail.com"),
    ("gmail.cm", "gmail.com"),
    ("gmail.om", "gmail.com"),
    ("gmail.comm", "gmail.com"),
    ("gmail.cmo", "gmail.com"),
    ("gmail.com.com", "gmail.com"),
    ("g.mail.com", "gmail.com"),
    ("hotmial.com", "hotmail.com"),
    ("hotmai.com", "hotmail.com"),
    ("hotmial.co.uk", "hotmail.co.uk"),
    ("hotmail.co.ku", "hotmail.co.uk"),
    ("hotmail.couk", "hotmail.co.uk"),
    ("hotmailco.uk", "hotmail.co.uk"),
    ("hotmail.fe", "hotmail.fr"),
    ("yahoo.con", "yahoo.com"),
    ("yaho.com", "yahoo.com"),
    ("yahooo.com", "yahoo.com"),
    ("yahoo.co.uj", "yahoo.co.uk"),
    ("outlok.com", "outlook.com"),
    ("outlook.cmo", "outlook.com"),
    ("iclould.com", "icloud.com"),
    ("icloud.con", "icloud.com"),
    ("comcast.nte", "comcast.net"),
    ("sbcglobal.ent", "sbcglobal.net"),
    ("tonline.de", "t-online.de"),
    ("web.fe", "web.de"),
    ("gmx.dee", "gmx.de"),
    ("orange.ft", "orange.fr"),
    ("libero.ti", "libero.it"),
    ("yandex.ry", "yandex.ru"),
    ("qq.con", "qq.com"),
    ("naver.con", "naver.com"),
    ("uol.con.br", "uol.com.br"),
    ("yahoo.c0m.sg", "yahoo.com.sg"),
    # A comma for the dot, and the dot before the suffix left out.
    ("gmail,com", "gmail.com"),
    ("hotmail,co.uk", "hotmail.co.uk"),
    ("hotmail.co,uk", "hotmail.co.uk"),
    ("yahoo,fr", "yahoo.fr"),
    ("yahoocom", "yahoo.com"),
    ("outlookcom", "outlook.com"),
    ("webde", "web.de"),
    ("hotmailcouk", "hotmail.co.uk"),
    # Single slips in short provider names: doubled, dropped or neighbouring letters.
    ("aoll.com", "aol.com"),
    ("gmxx.de", "gmx.de"),
    ("qqq.com", "qq.com"),
    ("mal.ru", "mail.ru"),
    ("maik.ru", "mail.ru"),
    ("lve.dk", "live.dk"),
    ("lkve.fr", "live.fr"),
    ("sinq.com", "sina.com"),
    ("dau.net", "daum.net"),
    # A provider's exact name under another country code one key from its own.
    ("outlook.cx", "outlook.cz"),
    ("seznam.cx", "seznam.cz"),
]


@pytest.mark.parametrize(("typed", "meant"), FAMOUS)
def test_famous_typos_are_corrected(tc: TypoCorrector, typed: str, meant: str) -> None:
    assert tc.suggest(typed) == meant


@pytest.mark.parametrize(("typed", "meant"), FAMOUS)
def test_famous_typos_are_corrected_with_free_and_disposable_lists(
    tc_full: TypoCorrector, typed: str, meant: str
) -> None:
    # The disposable list carries typo-squats such as gmial.com and hotmial.com.
    assert tc_full.suggest(typed) == meant


DISTINCT = [
    # Real mail domains one or two keys from a bigger one.
    "gmx.com", "mail.com", "ymail.com", "live.com", "me.com", "mac.com", "hey.com",
    "email.com", "gmx.net", "aol.de", "aim.com", "q.com", "mail.de", "ya.ru",
    # Companies: staff domains of mail brands, and businesses that look like a typo.
    "gmailer-consulting.com", "hotmart.com", "yahooinc.com", "comcast.com", "verizon.com",
    "att.com", "orange.com", "cloud.com", "love.com", "life.com", "grail.com", "mailw.com",
    "mask.io", "hotwire.com", "aon.com", "mil.ru", "mai.ru", "web.com", "weg.de", "bol.com",
    "lives.com", "olive.com", "lookout.com", "outlookindia.com",
    # Other suffixes of a provider's name that are real domains of their own.
    "gmail.de", "yahoo.net", "hotmail.ca", "sky.de", "orange.pl", "yandex.net",
    # Subdomains are never corrected.
    "smtp.gmail.com", "mail.google.com", "mail.hotmial.com", "live.warwick.ac.uk",
    "student.gmial.edu", "e.mail.ru",
    # Short names one key from a short provider: only a doubled letter is corrected there.
    "aok.de", "al.com", "aok.com", "ao.com", "gmc.com", "weg.de", "wen.de", "bk.com",
    "ok.ru", "mts.ru", "mai.ru", "mil.ru", "love.com", "life.com",
    # A short provider's name under another country code stays: web.se, sky.de are real.
    "web.se", "sky.it", "gmx.es", "hotmail.se", "live.se",
]  # fmt: skip


@pytest.mark.parametrize("domain", DISTINCT)
def test_real_distinct_domains_are_not_corrected(tc: TypoCorrector, domain: str) -> None:
    assert tc.suggest(domain) is None


ANY_DOMAIN = [
    ("acme.con", "acme.com"),
    ("acme.cmo", "acme.com"),
    ("acme.comm", "acme.com"),
    ("acme.c0m", "acme.com"),
    ("acme.vom", "acme.com"),
    ("mail.acme.con", "mail.acme.com"),
    ("acme.nte", "acme.net"),
    ("acme.ogr", "acme.org"),
    ("python.orgg", "python.org"),
    ("mit.eud", "mit.edu"),
    ("acme.co.ku", "acme.co.uk"),
    ("acme.couk", "acme.co.uk"),
    ("ox.ac.ku", "ox.ac.uk"),
    ("acme.con.br", "acme.com.br"),
    ("acme.con.au", "acme.com.au"),
    ("uni.edu.auu", "uni.edu.au"),
    ("siemens.dee", "siemens.de"),
    ("acme,com", "acme.com"),
    ("acme,co.uk", "acme.co.uk"),
    ("acme,con", "acme.com"),
    # A provider's name mistyped as well: the provider is meant.
    ("yahioo.co.j", "yahoo.co.jp"),
]


@pytest.mark.parametrize(("typed", "meant"), ANY_DOMAIN)
def test_suffix_typos_of_any_domain_are_corrected(
    tc: TypoCorrector, tc_full: TypoCorrector, typed: str, meant: str
) -> None:
    assert tc.suggest(typed) == meant
    assert tc_full.suggest(typed) == meant


ANY_DOMAIN_KEPT = [
    # Real top-level domains one key from .com or .net: somebody's real domain.
    "t.co", "angel.co", "acme.co", "acme.cm", "acme.om", "omantel.om", "notion.so", "x.ai",
    "about.me", "github.io", "bit.ly", "acme.ne", "acme.bet", "acme.mom", "acme.cam",
    "acme.com.bt", "acme.com.ua", "gencat.cat",
    # Names that intranets use and special-use names (RFC 6761, RFC 6762).
    "corp.local", "mail.internal", "host.lan", "printer.home", "example.test", "mail.example",
    "user.invalid", "host.localhost", "nas.home.arpa", "intranet.corp",
    # No single answer: ".c" is .ca, .ch, .cn or .co; ".dr" is .de or .fr; ".ed" .de or .edu.
    "acme.c", "acme.dr", "acme.ed", "imperial.c.uk",
    # A name one slip from a provider with that suffix: perhaps mail.com mistyped twice.
    "kmail.comm",
]  # fmt: skip


@pytest.mark.parametrize("domain", ANY_DOMAIN_KEPT)
def test_real_or_ambiguous_suffixes_are_not_corrected(tc: TypoCorrector, domain: str) -> None:
    assert tc.suggest(domain) is None


def test_any_domain_suffixes_need_the_list(ds: Datasets) -> None:
    tc = TypoCorrector(ds.mail_domains, ds.lookalikes, frozenset(), ds.registrable)
    assert tc.suggest("acme.con") is None
    assert tc.suggest("gmail.con") == "gmail.com"


def test_comma_alone_is_read_as_the_dot(tc: TypoCorrector) -> None:
    assert tc.suggest("gmx,de") == "gmx.de"  # a look-alike itself, typed with a comma
    assert tc.suggest("python,org") == "python.org"
    assert tc.suggest("gmx.de") is None
    assert tc.suggest("a,,b") is None
    assert tc.suggest(",") is None


def test_no_lookalike_is_ever_corrected(
    ds: Datasets, tc: TypoCorrector, tc_full: TypoCorrector
) -> None:
    assert ds.lookalikes
    assert [d for d in ds.lookalikes if tc.suggest(d) or tc_full.suggest(d)] == []


def test_no_mail_domain_is_ever_corrected(
    ds: Datasets, tc: TypoCorrector, tc_full: TypoCorrector
) -> None:
    assert len(ds.mail_domains) > 300
    assert [d for d in ds.mail_domains if tc.suggest(d) or tc_full.suggest(d)] == []


def test_known_mail_domains_are_not_corrected(ds: Datasets) -> None:
    # Real providers on the free list, each a slip away from a target of ours.
    known = frozenset({"y7mail.com", "earthling.net", "33mail.com", "edmail.com", "inet.net.au"})
    tc = TypoCorrector(ds.mail_domains, ds.lookalikes, known, ds.registrable)
    assert [d for d in sorted(known) if tc.suggest(d)] == []


def test_listed_typo_squats_of_the_biggest_providers_are_still_corrected(ds: Datasets) -> None:
    known = frozenset({"gmial.com", "hotmai.com", "yahoo.co", "hotmail.co"})
    tc = TypoCorrector(ds.mail_domains, ds.lookalikes, known, ds.registrable)
    assert tc.suggest("gmial.com") == "gmail.com"
    assert tc.suggest("hotmai.com") == "hotmail.com"
    assert tc.suggest("yahoo.co") == "yahoo.com"
    assert tc.suggest("hotmail.co") == "hotmail.com"


def test_every_known_free_or_disposable_domain_kept_unless_a_typo_squat(
    ds: Datasets, tc_full: TypoCorrector
) -> None:
    listed = _optional(ds, "free") | _optional(ds, "disposable")
    if not listed:
        pytest.skip("data/free.txt and data/disposable.txt are not in this checkout")
    corrected = {d: tc_full.suggest(d) for d in listed}
    big = {d for d, w in ds.mail_domains.items() if w >= 100}
    assert {d: s for d, s in corrected.items() if s and s not in big} == {}


def _rows() -> list[tuple[str, str]]:
    rows = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        domain, expected = line.split("\t")[:2]
        rows.append((domain, expected))
    return rows


def _precision_recall(
    suggest: Callable[[str], str | None], rows: list[tuple[str, str]]
) -> tuple[float, float]:
    made = right = positives = 0
    for domain, expected in rows:
        got = suggest(domain)
        positives += bool(expected)
        made += got is not None
        right += got is not None and got == expected
    return right / made, right / positives


def test_labelled_set_is_large_and_balanced() -> None:
    rows = _rows()
    positives = sum(1 for _, e in rows if e)
    assert len(rows) >= 2700
    assert 0.4 <= positives / len(rows) <= 0.6


def test_labelled_set_has_the_later_classes_and_hard_negatives() -> None:
    kinds: dict[str, int] = {}
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") and line.strip():
            kind = line.split("\t")[2]
            kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds["comma"] >= 50 and kinds["short"] >= 100 and kinds["tld"] >= 200
    assert kinds["hard"] >= 40


def test_labelled_set_precision_and_recall(tc: TypoCorrector, tc_full: TypoCorrector) -> None:
    rows = _rows()
    held_out = [r for i, r in enumerate(rows) if i % 5 == 4]
    for corrector in (tc, tc_full):
        for part in (rows, held_out):
            precision, recall = _precision_recall(corrector.suggest, part)
            assert precision >= 0.98, (len(part), precision, recall)
            assert recall >= 0.90, (len(part), precision, recall)


def test_a_suggestion_is_never_corrected_again(tc: TypoCorrector) -> None:
    suggestions = {tc.suggest(d) for d, _ in _rows()} - {None}
    assert len(suggestions) > 100
    assert {s: tc.suggest(s) for s in suggestions if s and tc.suggest(s)} == {}


@pytest.mark.parametrize(
    "domain",
    [
        "gmäil.com", "xn--gmil-6na.com", "яндекс.рф", "xn--d1acpjx3f.xn--p1ai",
        "xn--80ak6aa92e.com", "", ".", "..", "a..b", "-", "-.-", "gmail.com.", "GMAIL.COM",
        " gmail.com ", "x" * 300 + ".com", ".".join(["a"] * 130), "[192.0.2.1]", "com",
        "xn--", "gmail..com", "*.gmail.com",
    ],
)  # fmt: skip
def test_odd_and_international_domains_do_not_raise(tc: TypoCorrector, domain: str) -> None:
    assert tc.suggest(domain) in (None, "gmail.com")


def test_international_names_are_not_corrected(tc: TypoCorrector) -> None:
    assert tc.suggest("gmäil.com") is None
    assert tc.suggest("xn--gmil-6na.com") is None


def test_upper_case_and_trailing_dot_are_tolerated(tc: TypoCorrector) -> None:
    assert tc.suggest("GMIAL.COM") == "gmail.com"
    assert tc.suggest("gmial.com.") == "gmail.com"
    assert tc.suggest("gmail.com.") is None


def test_registrable_that_raises_gives_no_suggestion(ds: Datasets) -> None:
    def broken(domain: str) -> str:
        raise ValueError(domain)

    tc = TypoCorrector(ds.mail_domains, ds.lookalikes, frozenset(), broken)
    assert tc.suggest("gmial.com") is None


def test_memo_is_bounded(ds: Datasets) -> None:
    tc = TypoCorrector(ds.mail_domains, ds.lookalikes, frozenset(), ds.registrable, cache_size=4)
    for i in range(20):
        tc.suggest(f"gmial{i}.com")
    assert tc.suggest("gmial.com") == "gmail.com"
    assert tc._cached.cache_info().currsize <= 4


def test_from_datasets_without_free_and_disposable_lists(ds: Datasets, tmp_path: Path) -> None:
    for name in ("mail_domains.txt", "lookalikes.txt", PSL_FILE):
        shutil.copy(ds.data_dir / name, tmp_path / name)
    tc = TypoCorrector.from_datasets(Datasets(tmp_path))
    assert tc.suggest("hotmial.co.uk") == "hotmail.co.uk"
    assert tc.suggest("gmx.com") is None


def test_keyboard_distance_prefers_the_slips_people_make() -> None:
    assert keyboard_distance("gmail", "gmail") == 0.0
    assert keyboard_distance("gmial", "gmail") < keyboard_distance("gmzil", "gmail")
    assert keyboard_distance("gnail", "gmail") < keyboard_distance("grail", "gmail")
    assert keyboard_distance("gmaill", "gmail") < keyboard_distance("gmailp", "gmail")
    assert keyboard_distance("gmailcom", "gmail.com") <= 0.5
    assert keyboard_distance("tonline", "t-online") <= 0.5
    # The first letter is rarely the one mistyped.
    assert keyboard_distance("fmail", "gmail") > keyboard_distance("gmaik", "gmail")
    # Two extra letters are two slips, even when they double each other.
    assert keyboard_distance("frecce", "free") >= 2 * 0.9


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("john@gmailcom", "john@gmail.com"),
        ("john@gmail,com", "john@gmail.com"),
        ("John.Smith@hotmail,co.uk", "John.Smith@hotmail.co.uk"),
        ("jane@acme,com", "jane@acme.com"),
        ("jane@gmail.con", "jane@gmail.com"),
        ("jane@acme.con", "jane@acme.com"),
    ],
)
def test_result_suggests_the_whole_address_even_for_invalid_input(typed: str, meant: str) -> None:
    r = Verifier(OFFLINE).check_offline(typed)
    assert (r.did_you_mean, r.did_you_mean_domain) == (meant, meant.split("@")[1])


@pytest.mark.parametrize("typed", ["john@@gmail,com", "jo hn@gmail,com", "john@", "@gmail,com"])
def test_invalid_input_with_a_broken_local_part_gets_no_suggestion(typed: str) -> None:
    r = Verifier(OFFLINE).check_offline(typed)
    assert r.email is None
    assert r.did_you_mean is None

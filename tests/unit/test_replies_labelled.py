"""engine.replies against replies from providers and MTAs it was not built against
(tests/data/rcpt_replies_labelled.tsv), provider-aware rows, and the verdict every reason leads to.

The first duty: a mailbox that may exist is never called undeliverable. The figures (recall of
user-unknown replies, precision) are printed by benchmarks/replies.py; here they are floors.
"""

from __future__ import annotations

import pytest

from engine.config import Config
from engine.model import MxHost, ProbeOutcome, Reason, Reply, Stage, State, Timings
from engine.replies import PROVIDERS, TABLE, catch_all_verdict, classify, is_greylisting
from engine.verdict import Findings, decide
from tests.data.rcpt_replies import ADDRESS, Labelled, figures, judge, load

ROWS = load()
UNDELIVERABLE_REASONS = {
    Reason.MAILBOX_DOES_NOT_EXIST,
    Reason.MAILBOX_DISABLED,
    Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL,
    Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES,
}


def _row_id(row: Labelled) -> str:
    return f"line{row.line}-{row.code}-{row.text[:30]}"


# The labelled set ---------------------------------------------------------------------------


def test_the_set_is_large_varied_and_sourced() -> None:
    assert len(ROWS) >= 500
    assert all(row.source.strip() for row in ROWS)
    held_out = [row for row in ROWS if row.held_out]
    assert len(ROWS) // 6 <= len(held_out) <= len(ROWS) // 4
    states = {row.state for row in ROWS}
    assert states == {State.DELIVERABLE, State.UNDELIVERABLE, State.RISKY, State.UNKNOWN}
    # Near misses keep precision honest: many refusals that are not about a missing mailbox.
    assert sum(row.state is State.UNKNOWN for row in ROWS) > len(ROWS) // 3


@pytest.mark.parametrize(
    "needle",
    [
        "google", "outlook", "yahoo", "aol", "icloud", "mimecast", "pphosted", "barracuda",
        "iphmx", "zimbra", "domino", "qmail", "courier", "sendmail", "exim", "postfix",
        "mail.ru", "yandex", "gmx", "web.de", "naver", "qq.com", "french", "german", "spanish",
        "portuguese", "italian", "japanese",
    ],
)  # fmt: skip
def test_the_set_covers_the_vendor_or_language(needle: str) -> None:
    assert any(needle in f"{row.source} {row.host or ''}".lower() for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_a_mailbox_that_may_exist_is_never_called_undeliverable(row: Labelled) -> None:
    got = judge(row)
    if row.state is not State.UNDELIVERABLE:
        assert got.state is not State.UNDELIVERABLE, f"{row.source}: decided by {got.rule}"
        assert got.reason not in UNDELIVERABLE_REASONS


def test_user_unknown_recall_and_precision_floors() -> None:
    # Measured and printed by benchmarks/replies.py; these are floors, not the figures.
    f = figures(judge(row) for row in ROWS)
    assert f.wrong_undeliverable == 0
    assert f.user_unknown_recall is not None and f.user_unknown_recall >= 0.95
    assert f.does_not_exist_precision is not None and f.does_not_exist_precision >= 0.95
    assert f.state_agreement is not None and f.state_agreement >= 0.95


# Provider rows --------------------------------------------------------------------------------


def test_provider_rows_have_unique_names_and_citations_apart_from_the_table() -> None:
    names = [row.name for row in PROVIDERS]
    assert len(names) == len(set(names))
    assert not set(names) & {row.name for row in TABLE}
    assert all(row.cite.strip() and row.host for row in PROVIDERS)


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda row: row.name)
def test_every_provider_row_decides_a_labelled_reply_and_only_at_its_hosts(
    provider: object,
) -> None:
    decided = [row for row in ROWS if judge(row).rule == getattr(provider, "name", None)]
    assert decided, "no labelled reply reaches this row"
    for row in decided:
        assert classify(row.reply).rule != judge(row).rule, "the row must need the host"


@pytest.mark.parametrize(
    ("reply", "host", "reason"),
    [
        # Outlook.com says 5.5.0 "mailbox unavailable" for a missing hotmail/outlook.com user.
        (Reply(550, "5.5.0 Requested action not taken: mailbox unavailable"),
         "hotmail-com.olc.protection.outlook.com", Reason.MAILBOX_DOES_NOT_EXIST),
        (Reply(550, "5.5.0 Requested action not taken: mailbox unavailable"),
         "example-com.mail.protection.outlook.com", Reason.UNKNOWN),
        (Reply(550, "5.5.0 Requested action not taken: mailbox unavailable"),
         "mx.example.com", Reason.UNKNOWN),
        (Reply(550, "5.5.0 Requested action not taken: mailbox unavailable, blocked by Spamhaus"),
         "outlook-com.olc.protection.outlook.com", Reason.SENDER_BLOCKED),
        # Yandex's "No such user!" is its unknown-user reply; elsewhere a 5.7.1 proves nothing.
        (Reply(550, "5.7.1 No such user!"), "mx.yandex.ru", Reason.MAILBOX_DOES_NOT_EXIST),
        (Reply(550, "5.7.1 No such user!"), "MX.YANDEX.NET.", Reason.MAILBOX_DOES_NOT_EXIST),
        (Reply(550, "5.7.1 No such user!"), "notyandex.ru", Reason.UNKNOWN),
        (Reply(550, "5.7.1 Policy rejection on the target address"), "mx.yandex.ru",
         Reason.SENDER_BLOCKED),
        (Reply(450, "4.7.1 No such user!"), "mx.yandex.ru", Reason.TRANSIENT_NETWORK_FAULT),
        # GMX / WEB.DE: one line means no such recipient; more lines give another reason.
        (Reply(550, "Requested action not taken: mailbox unavailable"), "mx00.emig.gmx.net",
         Reason.MAILBOX_DOES_NOT_EXIST),
        (Reply(550, "Requested action not taken: mailbox unavailable\nReject due to policy "
                    "restrictions."), "mx00.emig.gmx.net", Reason.SENDER_BLOCKED),
        (Reply(550, "Requested action not taken: mailbox unavailable\ninvalid DNS MX or A/AAAA "
                    "resource record"), "mx-ha03.web.de", Reason.UNKNOWN),
        (Reply(550, "Requested action not taken: mailbox unavailable"), "mx.example.net",
         Reason.UNKNOWN),
        # au (KDDI): without the address the same words are a reception filter.
        (Reply(550, ": User unknown"), "lsean.ezweb.ne.jp", Reason.UNKNOWN),
        (Reply(550, "<user@ezweb.ne.jp>: User unknown"), "lsean.ezweb.ne.jp",
         Reason.MAILBOX_DOES_NOT_EXIST),
        (Reply(550, "mailbox unavailable."), "163mx01.mxmail.netease.com",
         Reason.MAILBOX_DOES_NOT_EXIST),
        (Reply(553, "Recipient mailbox is not allowed"), "cluster1.eu.messagelabs.com",
         Reason.MAILBOX_DOES_NOT_EXIST),
    ],
)  # fmt: skip
def test_the_host_that_answered_settles_ambiguous_wording(
    reply: Reply, host: str, reason: Reason
) -> None:
    assert classify(reply, host=host).reason is reason


def test_provider_rows_never_judge_another_stage_or_class() -> None:
    host = "mx.yandex.ru"
    assert classify(Reply(550, "5.7.1 No such user!", stage=Stage.MAIL), host=host).reason is (
        Reason.SENDER_BLOCKED
    )
    assert classify(Reply(250, "2.1.5 Ok"), host=host).reason is Reason.SUCCESS
    assert not is_greylisting(Reply(550, "5.7.1 No such user!"), host=host)


def test_the_catch_all_probe_uses_the_host_too() -> None:
    reply = Reply(550, "Requested action not taken: mailbox unavailable")
    assert catch_all_verdict(reply, host="mx00.emig.gmx.net") is False
    assert catch_all_verdict(reply) is None


# What the issue names: generic prefixes, near misses, other words and unusual codes ------------


@pytest.mark.parametrize(
    "tail",
    [
        "Access denied",
        "Greylisted, see http://postgrey.schweikert.ch/help/example.com.html",
        "Domain not found",
        "need fully-qualified address",
        "Rejected by policy",
        "Mailbox on hold, please try again later",
        "Message rejected due to: SPF fail - not authorized",
        "Rate limit exceeded for this recipient",
        "Your IP has a poor reputation",
        "Quota exceeded (mailbox for user is full)",
        "Please see https://www.example.com/mail-policy.html",
        "Service is unavailable",
        "",
    ],
)
@pytest.mark.parametrize("code", [450, 550, 554])
@pytest.mark.parametrize("enhanced", [None, "5.7.1", "5.1.0", "5.5.0"])
def test_postfix_recipient_address_rejected_is_not_a_missing_mailbox_by_itself(
    tail: str, code: int, enhanced: str | None
) -> None:
    text = f"<user@example.com>: Recipient address rejected: {tail}".rstrip()
    got = classify(Reply(code, text, enhanced))
    assert got.reason not in UNDELIVERABLE_REASONS, got.rule


@pytest.mark.parametrize(
    "reply",
    [
        Reply(552, "5.2.3 Message size exceeds the limit for this user"),
        Reply(552, "5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient"),
        Reply(552, "5.3.4 Message size exceeds fixed maximum message size for recipient user"),
        Reply(552, "5.2.3 User unknown"),
        Reply(550, "5.7.1 Recipient address rejected: User unknown"),
        Reply(550, "5.7.0 <user@example.com>... this address does not exist"),
        Reply(550, "5.1.1 <user@example.com>: Recipient address rejected: Mailbox on hold"),
        Reply(550, "5.1.1 <user@example.com>: Recipient address rejected: Access denied"),
        Reply(550, "User unknown in quarantine, try later"),
        Reply(550, "5.2.1 The user you are trying to contact is receiving mail at a rate that "
                   "prevents additional messages from being delivered"),
        Reply(554, "This IP has been temporarily blocked for attempting to mail too many invalid "
                   "recipients. IB112"),
        Reply(550, "5.7.1 Unfortunately, messages to this recipient from [192.0.2.1] weren't "
                   "sent. Please contact your Internet service provider since part of their "
                   "network is on our block list (S3150)."),
        Reply(421, "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected "
                   "volume or user complaints"),
        Reply(550, "Verification failed for <sender@example.org>\nResponse: 550 5.1.1 User "
                   "unknown\nSender verify failed"),
        Reply(571, "sorry, you are violating our security policies (#5.1.1 - chkuser)"),
        Reply(511, "sorry, recipient address has invalid format (#5.1.1 - chkuser)"),
        Reply(503, "User unknown"),
        Reply(551, "<user@example.com>: user unknown or mailbox full"),
        Reply(550, "message sending for this account is disabled"),
        Reply(550, "The domain example.net is currently suspended. Try later."),
        Reply(521, "5.2.1 : AOL will not accept delivery of this message."),
        Reply(550, "5.7.510 Access denied, example.com does not accept email over IPv6"),
        Reply(550, "5.7.27 <s@example.org>: Sender address rejected: Domain example.org does "
                   "not accept mail (nullMX)"),
    ],
    ids=lambda r: f"{r.code}-{r.text[:40]}",
)  # fmt: skip
def test_near_misses_are_never_undeliverable(reply: Reply) -> None:
    got = classify(reply)
    assert got.reason not in UNDELIVERABLE_REASONS, got.rule


@pytest.mark.parametrize(
    "reply",
    [
        Reply(550, "Utilisateur inconnu"),
        Reply(550, "5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416"),
        Reply(550, "Utilisateur user@example.com non répertorié dans l'annuaire Domino"),
        Reply(550, "Benutzer nicht bekannt/User unknown"),
        Reply(550, "5.1.1 <user@example.de>: Empfänger unbekannt"),
        Reply(550, "Das Postfach user@example.de existiert nicht"),
        Reply(550, "No existe dicha persona"),
        Reply(550, "5.1.1 <user@example.es>: Usuario desconocido"),
        Reply(550, "5.1.1 <user@example.com.br>: Usuário inexistente"),
        Reply(550, "O endereço user@example.com.br não existe"),
        Reply(550, "Indirizzo inesistente"),
        Reply(550, "<user@example.it>, destin. Sconosciuto"),
        Reply(550, "5.1.1 a1b2c3 Siamo spiacenti, non esiste nessun utente con questo nome"),
        Reply(550, "指定されたユーザーは存在しません (user@example.jp)"),
        Reply(550, "ユーザー user@example.com は Domino ディレクトリには見つかりません"),
        Reply(550, "Podane konto nie istnieje / No mailbox here by that name"),
        Reply(550, "5.1.1 Нет такого пользователя"),
        # Unusual codes: 5.3.0, 5.5.0, 542, and a 5.1.1 that carries a URL or an IP address.
        Reply(553, "5.3.0 <user@example.com>... No such user"),
        Reply(550, "5.5.0 <user@example.com>: Recipient address rejected: User unknown"),
        Reply(542, "5.1.1 <user@example.com>: Recipient address rejected: User unknown"),
        Reply(511, "sorry, no mailbox here by that name (#5.1.1 - chkuser)"),
        Reply(550, "#5.1.0 Address rejected user@example.com"),
        Reply(550, "5.1.1 <user@example.it> : sorry, no mailbox here by that name (#5.1.1 - "
                   "chkuser) {192.0.2.1}"),
        Reply(550, "5.1.1 The email account that you tried to reach does not exist. "
                   "https://support.google.com/mail/?p=NoSuchUser&ip=192.0.2.1 6si1 - gsmtp"),
        Reply(550, "5.1.1 User unknown; see https://postmaster.example.com/policy/spam-faq.html"),
        Reply(550, "5.1.1 <user@example.com>: Recipient address rejected: undeliverable "
                   "address: host mx2.example.com[192.0.2.1] said: 550 5.1.1 User unknown"),
        Reply(550, "5.1.1 Mail Refused - Address <user@example.com> Recipient Unknown"),
        Reply(553, "Recipient user@example.com does not exist"),
    ],
    ids=lambda r: f"{r.code}-{r.text[:40]}",
)  # fmt: skip
def test_user_unknown_in_other_words_languages_and_codes(reply: Reply) -> None:
    assert classify(reply).reason is Reason.MAILBOX_DOES_NOT_EXIST


# The table and the verdict agree --------------------------------------------------------------

# The state each reason a reply can give must end in. Undeliverable only where the reply says the
# mailbox or the domain cannot take mail (RFC 7505 §4.2 for 556 5.1.10, RFC 6531 §3.4 SMTPUTF8).
EXPECTED_STATE = {
    Reason.SUCCESS: State.DELIVERABLE,
    Reason.MAILBOX_DOES_NOT_EXIST: State.UNDELIVERABLE,
    Reason.MAILBOX_DISABLED: State.UNDELIVERABLE,
    Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL: State.UNDELIVERABLE,
    Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES: State.UNDELIVERABLE,
    Reason.MAILBOX_FULL: State.RISKY,
    Reason.GREYLISTED: State.UNKNOWN,
    Reason.SENDER_BLOCKED: State.UNKNOWN,
    Reason.TRANSIENT_NETWORK_FAULT: State.UNKNOWN,
    Reason.UNKNOWN: State.UNKNOWN,
}


@pytest.mark.parametrize("reason", sorted({row.reason for row in (*TABLE, *PROVIDERS)}))
def test_every_reason_a_reply_can_give_reaches_its_state_through_the_verdict(
    reason: Reason,
) -> None:
    assert reason in EXPECTED_STATE, f"decide what {reason.value} at RCPT TO means"
    outcome = ProbeOutcome(reason=reason, reply=Reply(550, "x"), host="mx.example.com")
    findings = Findings(
        address=ADDRESS, hosts=(MxHost("mx.example.com", 10, ("192.0.2.1",)),), outcome=outcome
    )
    result = decide(findings, Config(), Timings())
    assert (result.state, result.reason) == (EXPECTED_STATE[reason], reason)


def test_a_null_mx_reply_at_rcpt_is_undeliverable_not_unknown() -> None:
    reply = Reply(556, "5.1.10 Recipient address has null MX")
    assert classify(reply).reason is Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL
    row = Labelled(0, 556, "5.1.10", reply.text, None, State.UNDELIVERABLE,
                   Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL, False, "RFC 7505")  # fmt: skip
    assert judge(row).state is State.UNDELIVERABLE


def test_the_stage_and_class_index_gives_the_first_match_of_the_whole_table() -> None:
    """classify() only tests the rows that can apply to a reply's stage and class: it must
    decide exactly as a walk over the whole table (providers first when the host is known)."""
    from engine.replies import _MAILBOX, _facts

    replies = [(row.reply, row.host) for row in ROWS]
    for stage in Stage:  # the same texts at every stage, with and without a host
        replies += [(Reply(r.code, r.text, r.enhanced, stage), h) for r, h in replies[:120]]
    replies += [(Reply(code, "odd"), None) for code in (0, 199, 250, 421, 452, 550, 600, 999)]
    for reply, host in replies:
        masked = Reply(reply.code, _MAILBOX.sub("<@>", reply.text), reply.enhanced, reply.stage)
        facts = _facts(masked, host)
        walk = (*PROVIDERS, *TABLE) if facts.host else TABLE
        first = next((row.name for row in walk if row.matches(facts)), "unmatched")
        assert classify(reply, host=host).rule == first, (reply, host)


@pytest.mark.parametrize(
    "quoted",
    ["<spam.blocked@example.com>", "policy-denied@example.com", "<user.unknown@example.com>"],
)
def test_the_address_a_reply_quotes_is_no_evidence(quoted: str) -> None:
    """A local part may say "spam", "blocked" or "unknown": only the server's own words count."""
    unknown = Reply(550, f"{quoted}: Recipient address rejected: User unknown", "5.1.1")
    assert classify(unknown).reason is Reason.MAILBOX_DOES_NOT_EXIST
    accepted = Reply(250, f"{quoted} OK", "2.1.5")
    assert classify(accepted).reason is Reason.SUCCESS
    vague = Reply(550, f"{quoted} rejected")  # no code, no words about the mailbox
    assert classify(vague).reason is Reason.UNKNOWN

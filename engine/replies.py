"""SMTP replies to Reasons, through a table a person can read, one row per rule, in order.

It decides by the stage of the dialogue, then the reply class, then the RFC 3463 enhanced code,
then, for a few providers whose wording is known, by the MX host that answered, and only then by
the text (its words live in replywords.py). It never calls a mailbox undeliverable on a 4yz or on a
reply about us, never decides the verdict (verdict.py does) and never raises.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import KW_ONLY, dataclass

import engine.replywords as words
from engine.model import Reason, Reply, Stage

__all__ = (
    "PROVIDERS",
    "TABLE",
    "Classification",
    "Row",
    "catch_all_verdict",
    "classify",
    "is_greylisting",
    "is_too_many_recipients",
    "parse_enhanced",
)


@dataclass(frozen=True, slots=True)
class Classification:
    """What one reply means, and the name of the table row that decided it."""

    reason: Reason
    rule: str

    @property
    def too_many_recipients(self) -> bool:
        """A 452 / X.5.3 "too many recipients": shrink the batch; not about the address."""
        return self.rule in _BATCH_RULES

    @property
    def greylisting(self) -> bool:
        """A deferral that asks for the same client again later (RFC 6647)."""
        return self.reason is GREYLISTED


Words = re.Pattern[str] | tuple[re.Pattern[str], ...]  # a tuple: any of these


@dataclass(frozen=True, slots=True)
class Row:
    """One rule: every condition given must hold (a tuple means "any of these").

    `enhanced` patterns are RFC 3463 codes with `*` for any part ("5.7.*", "*.5.3"); `bare` asks
    for a reply without one; `host` names the MX hosts a provider's row speaks for, by suffix on a
    label boundary ("yandex.ru" takes "mx.yandex.ru"); `text` must be found and `unless` must not
    be found (each a pattern, or a tuple of patterns of which any counts) in the reply text,
    lower-cased, on one line, with Latin accents and URL paths removed.
    """

    name: str
    _: KW_ONLY
    reason: Reason
    cite: str
    stage: Stage | tuple[Stage, ...] | None = None
    cls: int | tuple[int, ...] | None = None
    code: int | tuple[int, ...] | None = None
    enhanced: str | tuple[str, ...] | None = None
    bare: bool = False
    host: tuple[str, ...] | None = None
    text: Words | None = None
    unless: Words | None = None

    def matches(self, facts: _Facts) -> bool:
        """Whether this row applies to the reply `facts` describes."""
        if not (
            _is_one_of(facts.stage, self.stage)
            and _is_one_of(facts.cls, self.cls)
            and _is_one_of(facts.code, self.code)
        ):
            return False
        if self.bare and facts.enhanced is not None:
            return False
        if self.enhanced is not None and not _enhanced_matches(facts.enhanced, self.enhanced):
            return False
        if self.host is not None and not _host_matches(facts.host, self.host):
            return False
        if self.text is not None and not _found(self.text, facts.text):
            return False
        return self.unless is None or not _found(self.unless, facts.text)


@dataclass(frozen=True, slots=True)
class _Facts:
    stage: Stage
    code: int
    cls: int  # 2, 4 or 5; 0 for anything that does not complete a command
    enhanced: str | None  # a valid RFC 3463 code, or None
    text: str  # lower case, one line, without the enhanced codes that open its lines
    host: str  # the MX host that answered, lower case without the final dot; "" when not known


def _is_one_of(value: object, wanted: object) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, tuple):
        return value in wanted
    return value == wanted


def _found(words: Words, text: str) -> bool:
    if isinstance(words, tuple):
        return any(pattern.search(text) is not None for pattern in words)
    return words.search(text) is not None


def _host_matches(host: str, suffixes: tuple[str, ...]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def _enhanced_matches(code: str | None, patterns: str | tuple[str, ...]) -> bool:
    if code is None:
        return False
    parts = code.split(".")
    for pattern in (patterns,) if isinstance(patterns, str) else patterns:
        if all(want in ("*", part) for want, part in zip(pattern.split("."), parts, strict=True)):
            return True
    return False


# RFC 3463 §2: class "." subject "." detail, 1-3 digits each, no leading zeros.
_ENHANCED = re.compile(r"[ \t]*([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})(?=[\s,;:]|\Z)")


def parse_enhanced(text: str) -> tuple[str | None, str]:
    """Split "5.1.1 text" into ("5.1.1", "text"); (None, text) when no valid code opens it."""
    match = _ENHANCED.match(text)
    if match is None:
        return None, text
    return ".".join(match.groups()), text[match.end() :].lstrip(" \t\r\n,;:")


# Some replies reach RFC 3463 codes in a form of their own: qmail's "(#5.1.1)", Cisco's "#5.1.0".
_HASH_CODE = re.compile(
    r"(?:^|[\s(])#([245]\.(?:0|[1-9][0-9]{0,2})\.(?:0|[1-9][0-9]{0,2}))(?![\d.])"
)
# An address as replies quote it: "<jane@example.com>" or a bare "jane@example.com".
_MAILBOX = re.compile(r"<[^<>\s]*@[^<>\s]*>|[^\s<>\"'(),;:\[\]]+@[\w-]+(?:\.[\w-]+)*")
_URL = re.compile(r"\b(?:https?|ftp)://([^/\s?#]+)\S*", re.IGNORECASE)

# Providers whose own wording is known, by the suffix of the MX host that answered.
OUTLOOK_COM = ("olc.protection.outlook.com", "hotmail.com")  # consumer Outlook.com, Hotmail, Live
YANDEX = ("yandex.ru", "yandex.net", "yandex.com")
UNITED_INTERNET = (  # GMX, WEB.DE, IONOS (1&1), mail.com
    "gmx.net", "gmx.com", "gmx.de", "web.de", "kundenserver.de", "ionos.de", "ionos.com",
    "ionos.co.uk", "mail.com", "1and1.com", "1und1.de",
)  # fmt: skip
COREMAIL = ("coremail.cn", "netease.com", "163.com", "126.com", "yeah.net")  # NetEase and Coremail
KDDI = ("ezweb.ne.jp", "au.com")  # au by KDDI
MESSAGELABS = ("messagelabs.com",)  # Broadcom (Symantec) Email Security.cloud

_MAILBOX_UNAVAILABLE = words.any_of(r"\bmailbox\s+unavailable\b")
_UNITED_INTERNET_UNKNOWN = words.any_of(
    r"^(?:<[^>]*>:?\s*)?requested\s+action\s+not\s+taken:?\s*mailbox\s+unavailable\.?$"
)
_COREMAIL_UNKNOWN = words.any_of(r"^mailbox\s+unavailable\.?$")
_YANDEX_UNKNOWN = words.any_of(r"^no\s+such\s+user!?$")
_MESSAGELABS_UNKNOWN = words.any_of(r"^recipient\s+mailbox\s+is\s+not\s+allowed\b")
_KDDI_FILTER = words.any_of(r"^:\s*user\s+unknown\b")
# What keeps words about a missing mailbox from deciding: a sign about us, a full mailbox (it
# exists), or a mailbox on hold (it exists, held).
_NOT_GONE = (words.ABOUT_US, words.MAILBOX_FULL, words.ON_HOLD)
_NOT_GONE_STRONG = (words.ABOUT_US_STRONG, words.MAILBOX_FULL, words.ON_HOLD)
_ABOUT_US_OR_HELD = (words.ABOUT_US, words.ON_HOLD)
_NOT_DISABLED = (
    words.MAILBOX_GONE, words.ABOUT_US, words.MAILBOX_FULL, words.NOT_FOR_GOOD, words.ON_HOLD,
)  # fmt: skip
_ABOUT_US_OR_SENDER_QUOTA = (words.ABOUT_US, words.SENDER_QUOTA)
_GONE_OR_REJECTED = (words.MAILBOX_GONE, words.ADDRESS_REJECTED)

RCPT = Stage.RCPT
ENVELOPE = (Stage.MAIL, Stage.RCPT)
NOT_RCPT = tuple(stage for stage in Stage if stage is not Stage.RCPT)

SUCCESS = Reason.SUCCESS
MAILBOX_DOES_NOT_EXIST = Reason.MAILBOX_DOES_NOT_EXIST
MAILBOX_DISABLED = Reason.MAILBOX_DISABLED
MAILBOX_FULL = Reason.MAILBOX_FULL
GREYLISTED = Reason.GREYLISTED
SENDER_BLOCKED = Reason.SENDER_BLOCKED
TRANSIENT = Reason.TRANSIENT_NETWORK_FAULT
UNKNOWN = Reason.UNKNOWN
OTHER_DETAIL = ("5.0.0", "5.3.0", "5.5.0")  # RFC 3463 "other or undefined": the text decides

# The first row that matches decides. Read it top to bottom: stage, class, enhanced code, text.
# No generic prefix decides that a mailbox is missing: Postfix says "Recipient address rejected:"
# for every restriction, so only the words after it count.
TABLE: tuple[Row, ...] = (
    Row("not-a-final-reply", cls=0, reason=UNKNOWN,
        cite="RFC 5321 §4.2.1: only 2yz, 4yz and 5yz complete a command"),
    # SMTPUTF8 refusals are about the address's form: neither about us nor about the mailbox.
    Row("utf8-5.6.7", stage=ENVELOPE, cls=5, enhanced="5.6.7",
        reason=Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES,
        cite="RFC 6531, RFC 3463 registry X.6.7: non-ASCII addresses not permitted"),
    Row("utf8-text", stage=ENVELOPE, cls=5, text=words.SMTPUTF8,
        reason=Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES,
        cite="RFC 6531 §3.4; Postfix '555 5.5.4 Unsupported option: SMTPUTF8'"),
    # 1. Stage: a reply to anything but RCPT TO is about our session, never about the mailbox.
    Row("session-2xx", stage=NOT_RCPT, cls=2, reason=UNKNOWN,
        cite="RFC 5321 §3.3: only RCPT TO names the mailbox; an earlier 2yz says nothing of it"),
    Row("session-greylisted", stage=NOT_RCPT, cls=4, text=words.GREYLIST, reason=GREYLISTED,
        cite="RFC 6647 §2.1: greylisting may defer at MAIL FROM or DATA (milter-greylist)"),
    Row("session-4xx", stage=NOT_RCPT, cls=4, reason=TRANSIENT,
        cite="RFC 5321 §4.2.1: 4yz is transient; §3.8: 421 closes the channel"),
    Row("session-5xx-protocol", stage=NOT_RCPT, code=(500, 501, 502, 503, 504, 530, 555),
        reason=UNKNOWN,
        cite="RFC 5321 §4.2.2 500-504 and 555 syntax and sequence, RFC 3207 §4 530: our dialogue"),
    Row("session-5xx", stage=NOT_RCPT, cls=5, reason=SENDER_BLOCKED,
        cite="RFC 5321 §3.3: a 5yz before RCPT TO refuses our IP, name or sender, not a mailbox"),
    # 2. RCPT TO accepted. RFC 5321 §4.2.1: the first digit decides; any 2yz lets mail proceed.
    Row("rcpt-250", stage=RCPT, code=250, reason=SUCCESS,
        cite="RFC 5321 §4.2.2: 250 requested mail action okay, completed"),
    Row("rcpt-251", stage=RCPT, code=251, reason=SUCCESS,
        cite="RFC 5321 §3.4: 251 user not local; will forward"),
    Row("rcpt-252", stage=RCPT, code=252, reason=SUCCESS,
        cite="RFC 5321 §3.5.3: 252 cannot verify the user, but will accept the message"),
    # 3. RCPT TO 4yz: transient by definition, so never a verdict on the mailbox.
    Row("rcpt-x.5.3", stage=RCPT, cls=(4, 5), enhanced="*.5.3", reason=TRANSIENT,
        cite="RFC 3463 X.5.3 too many recipients; RFC 5321 §4.5.3.1.10: fewer per transaction"),
    Row("rcpt-too-many-recipients", stage=RCPT, cls=(4, 5), text=words.TOO_MANY_RECIPIENTS,
        reason=TRANSIENT, cite="RFC 5321 §4.5.3.1.10: 452 (or 552) too many recipients"),
    Row("rcpt-recipient-rate", stage=RCPT, cls=(4, 5), text=words.RECIPIENT_RATE, reason=TRANSIENT,
        cite="Gmail 4.2.1 and Yahoo 'receiving mail too quickly': the mailbox is busy; ask later"),
    Row("rcpt-greylisted", stage=RCPT, cls=4, text=words.GREYLIST, reason=GREYLISTED,
        cite="RFC 6647; postgrey '450 4.2.0 Greylisted', milter-greylist '451 4.7.1 Greylisting'"),
    Row("rcpt-4xx-with-5.x.x", stage=RCPT, cls=4, enhanced="5.*.*", reason=TRANSIENT,
        cite="RFC 3463 §2: the classes disagree; the basic 4yz wins, so it is not permanent"),
    Row("rcpt-4.2.2", stage=RCPT, cls=4, enhanced="4.2.2", unless=words.SENDER_QUOTA,
        reason=MAILBOX_FULL, cite="RFC 3463 X.2.2 mailbox full; Gmail '452 4.2.2 ... over quota'"),
    Row("rcpt-4xx-full-text", stage=RCPT, cls=4, text=words.MAILBOX_FULL,
        unless=_ABOUT_US_OR_SENDER_QUOTA, reason=MAILBOX_FULL,
        cite="a deferral that says the mailbox is full (Dovecot quota_full_tempfail, qmail 'over "
             "quota, try later'): it exists but cannot take mail now"),
    Row("rcpt-421", stage=RCPT, code=421, reason=TRANSIENT,
        cite="RFC 5321 §3.8: 421 service not available, closing the channel"),
    Row("rcpt-4.3.x-4.4.x", stage=RCPT, cls=4, enhanced=("4.3.*", "4.4.*"), reason=TRANSIENT,
        cite="RFC 3463 X.3.x mail system and X.4.x network and routing status"),
    Row("rcpt-mimecast-greylisting", stage=RCPT, cls=4, text=words.MIMECAST_GREYLIST,
        reason=GREYLISTED,
        cite="Mimecast SMTP error codes: '451 Internal resources are temporarily unavailable'"),
    Row("rcpt-4xx-about-us", stage=RCPT, cls=4, text=words.ABOUT_US, reason=TRANSIENT,
        cite="a temporary block of our IP, name or sender (Postfix 4.7.1, Microsoft 4.7.650)"),
    Row("rcpt-4xx-local-error", stage=RCPT, cls=4, text=words.LOCAL_TROUBLE, reason=TRANSIENT,
        cite="RFC 5321 §4.2.2: 451 local error in processing; Microsoft '4.7.500 Server busy'"),
    Row("rcpt-4xx-mailbox-text", stage=RCPT, cls=4, text=words.MAILBOX_GONE_OR_OFF,
        reason=TRANSIENT,
        cite="RFC 5321 §4.2.1: a 4yz 'user unknown' is a soft reject (Postfix soft_bounce)"),
    Row("rcpt-4.7.1-4.2.0", stage=RCPT, cls=4, enhanced=("4.7.1", "4.2.0"), reason=GREYLISTED,
        cite="RFC 3463 X.7.1, X.2.0: the codes greylisters defer with (postgrey, sqlgrey)"),
    Row("rcpt-retry-later", stage=RCPT, cls=4, text=words.RETRY_LATER, reason=GREYLISTED,
        cite="RFC 6647 §2.1: a deferral that asks us back later (OpenBSD spamd 451)"),
    Row("rcpt-4xx", stage=RCPT, cls=4, reason=TRANSIENT,
        cite="RFC 5321 §4.2.1: 4yz is a transient negative completion"),
    # 4. RCPT TO 5yz: the enhanced code first, then the text; a sign about us always wins.
    Row("rcpt-5xx-with-4.x.x", stage=RCPT, cls=5, enhanced="4.*.*", reason=UNKNOWN,
        cite="RFC 3463 §2: the classes disagree; a server that contradicts itself proves nothing"),
    Row("rcpt-null-mx", stage=RCPT, cls=5, text=words.NULL_MX, unless=words.ABOUT_US,
        reason=Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL,
        cite="RFC 7505 §4.2: 556 5.1.10 recipient address has null MX; RFC 7504 §3: 521/556 "
             "'does not accept mail'"),
    Row("rcpt-microsoft-dbeb", stage=RCPT, cls=5, enhanced="5.4.1", text=words.DBEB,
        unless=words.BLOCKLIST, reason=MAILBOX_DOES_NOT_EXIST,
        cite="Exchange Online Directory-Based Edge Blocking: not in the tenant's directory"),
    Row("rcpt-outlook-s2017062302", stage=RCPT, cls=5, enhanced="5.5.0", text=words.OUTLOOK_UNKNOWN,
        unless=words.BLOCKLIST, reason=MAILBOX_DOES_NOT_EXIST,
        cite="Outlook.com '550 5.5.0 ... mailbox unavailable (S2017062302)': user unknown"),
    Row("rcpt-5.7.x-mailbox-text", stage=RCPT, cls=5, enhanced="5.7.*",
        text=words.MAILBOX_GONE_OR_OFF, unless=words.ABOUT_US, reason=UNKNOWN,
        cite="RFC 3463 X.7.x is policy: words about the mailbox under it prove nothing alone"),
    Row("rcpt-5.7.x", stage=RCPT, cls=5, enhanced="5.7.*", reason=SENDER_BLOCKED,
        cite="RFC 3463 X.7.x security or policy status; RFC 7372 X.7.20-X.7.26 authentication"),
    Row("rcpt-5.1.7-5.1.8", stage=RCPT, cls=5, enhanced=("5.1.7", "5.1.8"),
        reason=SENDER_BLOCKED,
        cite="RFC 3463 X.1.7, X.1.8 bad sender address (Postfix checks MAIL FROM at RCPT TO)"),
    Row("rcpt-address-form", stage=RCPT, cls=5, text=words.ADDRESS_FORM, unless=words.ABOUT_US,
        reason=UNKNOWN,
        cite="RFC 3463 X.1.3 syntax: a complaint about the address's form (chkuser '511 ... "
             "invalid format (#5.1.1)'); the server's rule, not proof the mailbox is missing"),
    Row("rcpt-5.1.1", stage=RCPT, cls=5, enhanced="5.1.1", text=words.MAILBOX_GONE,
        unless=_NOT_GONE_STRONG, reason=MAILBOX_DOES_NOT_EXIST,
        cite="RFC 3463 X.1.1 bad destination mailbox address, and words that say so"),
    Row("rcpt-5.1.1-code-alone", stage=RCPT, cls=5, enhanced="5.1.1", unless=_NOT_GONE,
        reason=MAILBOX_DOES_NOT_EXIST,
        cite="RFC 3463 X.1.1 bad destination mailbox address (Comcast 'Not our Customer')"),
    Row("rcpt-5.1.0", stage=RCPT, cls=5, enhanced="5.1.0", text=_GONE_OR_REJECTED,
        unless=_ABOUT_US_OR_HELD, reason=MAILBOX_DOES_NOT_EXIST,
        cite="RFC 3463 X.1.0 other address status, with words about the recipient (Cisco "
             "'550 #5.1.0 Address rejected')"),
    Row("rcpt-5.1.10", stage=RCPT, cls=5, enhanced="5.1.10", unless=_ABOUT_US_OR_HELD,
        reason=MAILBOX_DOES_NOT_EXIST,
        cite="Exchange Online '550 5.1.10 RESOLVER.ADR.RecipientNotFound'"),
    Row("rcpt-5.1.2-5.1.3-5.1.6", stage=RCPT, cls=5, enhanced=("5.1.2", "5.1.3", "5.1.6"),
        reason=UNKNOWN,
        cite="RFC 3463 X.1.2 destination system (its DNS, not ours), X.1.3 syntax, X.1.6 moved"),
    Row("rcpt-5.2.1", stage=RCPT, cls=5, enhanced="5.2.1", text=words.MAILBOX_WORD,
        unless=_ABOUT_US_OR_HELD, reason=MAILBOX_DISABLED,
        cite="RFC 3463 X.2.1 mailbox disabled, when the text is about a mailbox (not AOL's "
             "'521 5.2.1 will not accept delivery of this message')"),
    Row("rcpt-5.2.2", stage=RCPT, cls=5, enhanced="5.2.2", unless=words.SENDER_QUOTA,
        reason=MAILBOX_FULL, cite="RFC 3463 X.2.2 mailbox full"),
    Row("rcpt-5.2.3-5.2.4", stage=RCPT, cls=5, enhanced=("5.2.3", "5.2.4"),
        unless=words.ABOUT_US, reason=UNKNOWN,
        cite="RFC 3463 X.2.3 message length exceeds the mailbox's limit, X.2.4 mailing list "
             "expansion problem: the mailbox exists"),
    Row("rcpt-x.x.0-disabled-text", stage=RCPT, cls=5, enhanced=OTHER_DETAIL,
        text=words.MAILBOX_OFF, unless=_NOT_DISABLED, reason=MAILBOX_DISABLED,
        cite="RFC 3463 X.0.0, X.3.0, X.5.0 'other or undefined': the text says disabled "
             "(La Poste '550 5.5.0 Boite du destinataire archivee')"),
    Row("rcpt-x.x.0-mailbox-text", stage=RCPT, cls=5, enhanced=OTHER_DETAIL,
        text=words.MAILBOX_GONE, unless=_NOT_GONE, reason=MAILBOX_DOES_NOT_EXIST,
        cite="RFC 3463 X.0.0, X.3.0, X.5.0 'other or undefined': the text says no such user"),
    Row("rcpt-5.3-5.6", stage=RCPT, cls=5, enhanced=("5.3.*", "5.4.*", "5.5.*", "5.6.*"),
        unless=words.ABOUT_US, reason=UNKNOWN,
        cite="RFC 3463 X.3 mail system (X.3.4 too big), X.4 routing, X.5 protocol, X.6 content"),
    Row("rcpt-5xx-about-us", stage=RCPT, cls=5, text=words.ABOUT_US, reason=SENDER_BLOCKED,
        cite="blocklists, reputation, policy, relaying (Spamhaus, Barracuda, Mimecast, Exim)"),
    Row("rcpt-5xx-protocol", stage=RCPT, code=(500, 501, 502, 503, 504, 555), reason=UNKNOWN,
        cite="RFC 5321 §4.2.2: 500-504, 555 syntax and sequence; Mimecast documents '503 User "
             "unknown' as a bad sequence or missing authentication"),
    Row("rcpt-two-readings", stage=RCPT, cls=5, text=words.TWO_READINGS, reason=UNKNOWN,
        cite="'user unknown or mailbox full': the reply itself does not know which"),
    Row("rcpt-full-text", stage=RCPT, cls=5, text=words.MAILBOX_FULL, unless=words.SENDER_QUOTA,
        reason=MAILBOX_FULL,
        cite="RFC 5321 §4.2.2: 552 exceeded storage allocation; 'over quota', 'mailbox full'"),
    Row("rcpt-disabled-text", stage=RCPT, cls=5, text=words.MAILBOX_OFF,
        unless=(words.NOT_FOR_GOOD, words.ON_HOLD), reason=MAILBOX_DISABLED,
        cite="'mailbox is disabled', 'is no longer valid' (Yahoo, AOL, 163.com)"),
    Row("rcpt-unknown-user-text", stage=RCPT, cls=5, text=words.MAILBOX_GONE,
        unless=words.ON_HOLD, reason=MAILBOX_DOES_NOT_EXIST,
        cite="'user unknown', 'no such user', 'unrouteable address' (Exim, Mimecast, Yahoo) and "
             "the same in French, German, Spanish, Portuguese, Italian, Polish, Russian, Japanese"),
    Row("rcpt-550-bare", stage=RCPT, code=550, bare=True, reason=UNKNOWN,
        cite="RFC 5321 §4.2.2: 550 also means 'no access' or 'rejected for policy reasons'"),
    Row("unmatched", reason=UNKNOWN, cite="no row recognises it: unknown, never undeliverable"),
)  # fmt: skip

# Providers whose wording alone is ambiguous but whose MX host settles it. classify() reads these
# rows first when it knows the host that answered; each speaks only for its provider's hosts and
# only for RCPT TO 5yz replies.
PROVIDERS: tuple[Row, ...] = (
    Row("rcpt-outlook-com-5.5.0", stage=RCPT, cls=5, enhanced="5.5.0", host=OUTLOOK_COM,
        text=_MAILBOX_UNAVAILABLE, unless=words.ABOUT_US, reason=MAILBOX_DOES_NOT_EXIST,
        cite="Microsoft Exchange Online NDR reference: 550 5.5.0 'mailbox unavailable' from "
             "Outlook.com hosts is a hotmail/outlook.com recipient not found (like 5.1.10)"),
    Row("rcpt-yandex-no-such-user", stage=RCPT, cls=5, enhanced="5.7.1", host=YANDEX,
        text=_YANDEX_UNKNOWN, reason=MAILBOX_DOES_NOT_EXIST,
        cite="Yandex NwSMTP bb_client_rcpt.cpp: '550 5.7.1 No such user!' when the account lookup "
             "finds no user; a blocked account gets 'Policy rejection on the target address'"),
    Row("rcpt-united-internet-unavailable", stage=RCPT, code=550, bare=True,
        host=UNITED_INTERNET, text=_UNITED_INTERNET_UNKNOWN, reason=MAILBOX_DOES_NOT_EXIST,
        cite="GMX, WEB.DE, IONOS postmaster pages: a one-line '550 Requested action not taken: "
             "mailbox unavailable' means the recipient does not exist; other refusals add lines"),
    Row("rcpt-coremail-unavailable", stage=RCPT, code=550, bare=True, host=COREMAIL,
        text=_COREMAIL_UNKNOWN, reason=MAILBOX_DOES_NOT_EXIST,
        cite="Coremail reply codes: '550 Mailbox unavailable.' means no such mailbox"),
    Row("rcpt-messagelabs-not-allowed", stage=RCPT, code=553, host=MESSAGELABS,
        text=_MESSAGELABS_UNKNOWN, reason=MAILBOX_DOES_NOT_EXIST,
        cite="Broadcom Email Security.cloud KB: '553 Recipient mailbox is not allowed' is an "
             "invalid address in the recipient's domain"),
    Row("rcpt-kddi-filter", stage=RCPT, cls=5, host=KDDI, text=_KDDI_FILTER, reason=UNKNOWN,
        cite="au (KDDI) answers '550 : User unknown' without the address for its reception "
             "filters; only '550 <address>: User unknown' is an unknown user (Sisimai for-kddi)"),
)  # fmt: skip

_BATCH_RULES = frozenset({"rcpt-x.5.3", "rcpt-too-many-recipients"})

_CLASSES = (0, 2, 4, 5)


def _rows_for(stage: Stage, cls: int, with_host: bool) -> tuple[Row, ...]:
    rows = (*PROVIDERS, *TABLE) if with_host else TABLE
    return tuple(r for r in rows if _is_one_of(stage, r.stage) and _is_one_of(cls, r.cls))


# The rows that can apply to a reply of each stage and class, in table order: the same first
# match as walking the whole table, without testing rows of other stages and classes (a bulk
# run classifies every RCPT reply). Derived from the tables above; never changed.
_CANDIDATES: dict[tuple[Stage, int, bool], tuple[Row, ...]] = {
    (stage, cls, with_host): _rows_for(stage, cls, with_host)
    for stage in Stage
    for cls in _CLASSES
    for with_host in (False, True)
}


def classify(reply: Reply, *, host: str | None = None) -> Classification:
    """The Reason a reply gives and the row that decided it. Never raises.

    Args:
        host: the MX host that answered; a few providers' rows speak only for their own hosts.
    """
    # The address a reply quotes is no evidence (a local part may well say "spam" or
    # "unknown"): it is masked, which also lets the replies of one server to a list of
    # addresses share one classification.
    text = reply.text if isinstance(reply.text, str) else ""
    if "@" in text:
        text = _MAILBOX.sub("<@>", text)
    code = reply.code if isinstance(reply.code, int) else 0
    enhanced = reply.enhanced if isinstance(reply.enhanced, str) else None
    name = host if isinstance(host, str) else None
    try:
        return _classify(reply.stage, code, enhanced, text, name)
    except TypeError:  # an unhashable stage: never from our transport
        return _walk(_facts(Reply(code, text, enhanced, reply.stage), name))


# A pure function of its arguments, so its answers are kept (bounded) rather than worked out
# again for each of a server's identical replies; nothing else is kept between calls.
@functools.lru_cache(maxsize=4096)
def _classify(
    stage: Stage, code: int, enhanced: str | None, text: str, host: str | None
) -> Classification:
    return _walk(_facts(Reply(code, text, enhanced, stage), host))


def _walk(facts: _Facts) -> Classification:
    rows = _CANDIDATES.get((facts.stage, facts.cls, bool(facts.host)))
    if rows is None:  # a stage that is not a Stage (never from our transport)
        rows = (*PROVIDERS, *TABLE) if facts.host else TABLE
    for row in rows:
        if row.matches(facts):
            return Classification(row.reason, row.name)
    return Classification(UNKNOWN, "unmatched")


def is_too_many_recipients(reply: Reply, *, host: str | None = None) -> bool:
    """A 452 / X.5.3 "too many recipients": the batch must shrink; not a verdict on the address."""
    return classify(reply, host=host).too_many_recipients


def catch_all_verdict(reply: Reply, *, host: str | None = None) -> bool | None:
    """What the reply to RCPT of an improbable random address says about the domain: True if
    accepted (a catch-all server), False if refused as an unknown mailbox, None otherwise
    (greylisting, "too many recipients", a policy refusal, a reply at another stage)."""
    if reply.stage is not Stage.RCPT:
        return None
    return {SUCCESS: True, MAILBOX_DOES_NOT_EXIST: False}.get(classify(reply, host=host).reason)


def is_greylisting(reply: Reply, *, host: str | None = None) -> bool:
    """A deferral that asks for the same client again later (RFC 6647)."""
    return classify(reply, host=host).greylisting


def _facts(reply: Reply, host: str | None) -> _Facts:
    code = reply.code if isinstance(reply.code, int) else 0
    text = reply.text if isinstance(reply.text, str) else ""
    enhanced = None
    if isinstance(reply.enhanced, str):
        enhanced, rest = parse_enhanced(reply.enhanced)
        enhanced = None if rest else enhanced
    if enhanced is None:
        enhanced, _ = parse_enhanced(text)
    if enhanced is None:
        hashed = _HASH_CODE.search(text)
        if hashed is not None:
            enhanced = hashed.group(1)
            if not text[: hashed.start()].strip():
                text = text[hashed.end() :]
    cls = code // 100 if code // 100 in (2, 4, 5) else 0
    name = host.strip().rstrip(".").lower() if isinstance(host, str) else ""
    return _Facts(reply.stage, code, cls, enhanced, _flatten(text), name)


def _flatten(text: str) -> str:
    # Multi-line replies repeat the enhanced code on every line (Gmail's "550-5.1.1 ...").
    lines = (parse_enhanced(line)[1] for line in text.replace("\u2019", "'").splitlines())
    flat = " ".join(" ".join(lines).split())
    # A URL's path and query say nothing the reply's words do not ("?p=NoSuchUser", "?ip=...",
    # "/policy.html"); its host may ("spamhaus.org"), so only the host stays.
    flat = _URL.sub(r"\1", flat)
    return _strip_latin_accents(flat).lower()


def _strip_latin_accents(text: str) -> str:
    """ "répertorié" -> "repertorie", "Empfänger" -> "Empfanger"; other scripts are kept whole."""
    if text.isascii():
        return text
    kept: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))

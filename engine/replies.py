"""SMTP replies to Reasons, through a table a person can read, one row per rule, in order.

It decides by the stage of the dialogue, then the reply class, then the RFC 3463 enhanced code,
and only then by the text. It never calls a mailbox undeliverable on a 4yz or on a reply about
us, never decides the verdict (verdict.py does) and never raises.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass

from engine.model import Reason, Reply, Stage

__all__ = (
    "TABLE",
    "Classification",
    "Row",
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


@dataclass(frozen=True, slots=True)
class Row:
    """One rule: every condition given must hold (a tuple means "any of these").

    `enhanced` patterns are RFC 3463 codes with `*` for any part ("5.7.*", "*.5.3");
    `bare` asks for a reply without one; `text` must be found and `unless` must not be found
    in the reply text, lower-cased and on one line.
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
    text: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None

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
        if self.text is not None and self.text.search(facts.text) is None:
            return False
        return self.unless is None or self.unless.search(facts.text) is None


@dataclass(frozen=True, slots=True)
class _Facts:
    stage: Stage
    code: int
    cls: int  # 2, 4 or 5; 0 for anything that does not complete a command
    enhanced: str | None  # a valid RFC 3463 code, or None
    text: str  # lower case, one line, without the enhanced codes that open its lines


def _is_one_of(value: object, wanted: object) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, tuple):
        return value in wanted
    return value == wanted


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


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Phrases, matched against lower-cased text. They are signs, never proof on their own: each row
# that uses one also says which reply class and stage it may judge.
_BLOCKLIST_SIGNS = (
    r"\b(?:spamhaus|spamcop|sorbs|abuseat|abusix|uceprotect|barracuda\w*|cloudmark|proofpoint)\b",
    r"\b(?:dnsbl|rbl|blocklist\w*|blacklist\w*|denylist\w*)\b",
    r"\b(?:block|black|deny)\s+list",
    r"\bblocked\b|\bbanned\b|\breputation\b|\bspam\w*|\bunsolicited\b|\bjunk\b|\bcomplaints?\b",
)
_BLOCKLIST = _any(*_BLOCKLIST_SIGNS)
_ABOUT_US = _any(
    *_BLOCKLIST_SIGNS,
    r"\bpolic(?:y|ies)\b|\bprohibit\w*|\b(?:not\s+|un)authori[sz]ed\b|\bdenied\b|\brefused\b",
    r"\brelay(?:ing)?\s+(?:access\s+)?(?:denied|not\s+(?:permitted|allowed))|\bopen\s+relay\b",
    r"\b(?:unable\s+to|do\s+not|does\s+not)\s+relay\b|\brcpthosts\b",
    r"\bclient\s+host\b|\bip\b|\bhostname\b",
    r"\byour\s+(?:host|server|network|domain|mail\s+server)\b",
    r"\bhelo\b|\behlo\b|\breverse\s+dns\b|\bptr\b|\brdns\b",
    r"\bspf\b|\bdkim\b|\bdmarc\b|\bauthenticat\w*|\b(?:start)?tls\b|\bencrypt\w*",
    r"\bgr[ae]y-?\s?list\w*",
    r"\brate\b|\btoo\s+(?:many|much|quickly|fast)\b|\bvolume\b|\bthrottl\w*",
    r"\bsender\b|\bmail\s+from\b|\benvelope\s+from\b",
)
_GREYLIST = _any(r"\bgr[ae]y-?\s?list\w*")
_RETRY_LATER = _any(
    r"\b(?:try|retry|come\s+back)\b(?:\s+\S+){0,3}?\s+later\b",
    r"\btry\s+again\s+in\s+\d",
    r"\btemporarily\s+deferred\b",
)
_TOO_MANY_RECIPIENTS = _any(
    r"\btoo\s+many\s+(?:recipients|rcpt)",
    r"\brecipients?\s+(?:limit|count)\s+(?:exceeded|reached)",
    r"\btry\s+this\s+recipient\s+in\s+a\s+separate\s+transaction\b",
)
_RECIPIENT_RATE = _any(r"\breceiving\s+mail\s+(?:too\s+quickly|at\s+a\s+rate)")
_MIMECAST_GREYLIST = _any(r"\binternal\s+resources?\s+(?:are\s+)?temporarily\s+unavailable")
_LOCAL_TROUBLE = _any(
    r"\blocal\s+(?:error|problem)",
    r"\bserver\s+(?:is\s+)?(?:too\s+)?busy\b",
    r"\btemporary\s+(?:server|system|local)\s+(?:error|problem|failure)",
    r"\btemporary\s+problem\b|\binsufficient\s+(?:system|disk)|\bsystem\s+resources\b",
    r"\btime\s?out\b|\btimed\s+out\b",
)
_SMTPUTF8 = _any(
    r"\bsmtputf-?8\b",
    r"\bnon-ascii\s+(?:address|characters?)",
    r"\butf-?8\s+(?:address(?:es)?\s+)?(?:is\s+|are\s+)?not\s+(?:supported|permitted|allowed)",
)
_NULL_MX = _any(r"\bnull\s*mx\b", r"\bdoes\s+not\s+accept\s+mail\b(?!\s+from)")
_DBEB = _any(r"\brecipient\s+address\s+rejected:\s+access\s+denied\b")
_OUTLOOK_UNKNOWN = _any(r"\bmailbox\s+unavailable\b.*\(s2017062302\)")
_MAILBOX_FULL = _any(
    r"\bover\s*quota\b|\bquota\s+(?:exceeded|full)\b|\bexceed(?:ed|s)?\s+(?:\w+\s+){0,2}quota\b",
    r"\b(?:mail\s*box|inbox)\s+(?:is\s+)?(?:full|over\s+quota)\b",
    r"\bout\s+of\s+storage\b|\bexceeded\s+storage\s+allocation\b|\bmailbox\s+size\s+limit\b",
)
_SENDER_QUOTA = _any(r"\bsubmission\s+quota\b|\bsending\s+(?:quota|limit)\b|\bdaily\b")
_MAILBOX_OFF_SIGNS = (
    r"\b(?:account|mailbox|user|address|recipient|inbox)\b[^.;:]{0,40}?"
    r"\b(?:disabled|deactivated|suspended|inactive|frozen|locked|terminated|discontinued)\b",
    r"\b(?:disabled|deactivated|suspended|inactive)\s+(?:e-?mail\s+)?"
    r"(?:account|mailbox|user|recipient|address)\b",
    r"\bno\s+longer\s+(?:valid|active|in\s+use|available)\b|\bis\s+(?:currently\s+)?suspended\b",
)
_MAILBOX_GONE_SIGNS = (
    r"\b(?:user|recipient|mailbox|addressee|address|account)\s+(?:is\s+)?unknown\b",
    r"\bunknown\s+(?:user|recipient|mailbox|addressee|local[\s-]?part|e-?mail\s+address|address)\b",
    r"\bunknown\s+or\s+illegal\s+alias\b",
    r"\bno\s+such\s+(?:user|recipient|mailbox|address|account|person|local\s+user)\b",
    r"\b(?:user|recipient|mailbox|account|address|addressee)\b[^.;:]{0,60}?"
    r"\b(?:does\s+not|doesn't|did\s+not)\s+exist\b",
    r"\b(?:user|recipient|mailbox|account)\s+not\s+(?:found|known)\b",
    r"\bnot\s+a\s+(?:valid|known)\s+(?:user|recipient|mailbox)\b",
    r"\binvalid\s+(?:recipient|mailbox|user|addressee)\b",
    r"\bmailbox\s+(?:not\s+found|not\s+present|invalid)\b",
    r"\b(?:recipient\s+)?address\s+rejected\b|\brecipient\s+rejected\b",
    r"\bunrout(?:e)?able\s+address\b",
    r"\buser\s+doesn't\s+have\s+an?\s+[\w.-]+\s+account\b",
    r"\bno\s+(?:mailbox|account)\s+(?:here\s+)?by\s+that\s+name\b",
    r"\bresolver\.adr\.(?:recipientnotfound|exrecipnotfound)\b",
    r"\butilisateur\s+inconnu\b",
)
_MAILBOX_OFF = _any(*_MAILBOX_OFF_SIGNS)
_MAILBOX_GONE = _any(*_MAILBOX_GONE_SIGNS)
_MAILBOX_GONE_OR_OFF = _any(*_MAILBOX_GONE_SIGNS, *_MAILBOX_OFF_SIGNS)

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

# The first row that matches decides. Read it top to bottom: stage, class, enhanced code, text.
TABLE: tuple[Row, ...] = (
    Row("not-a-final-reply", cls=0, reason=UNKNOWN,
        cite="RFC 5321 §4.2.1: only 2yz, 4yz and 5yz complete a command"),
    # SMTPUTF8 refusals are about the address's form: neither about us nor about the mailbox.
    Row("utf8-5.6.7", stage=ENVELOPE, cls=5, enhanced="5.6.7",
        reason=Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES,
        cite="RFC 6531, RFC 3463 registry X.6.7: non-ASCII addresses not permitted"),
    Row("utf8-text", stage=ENVELOPE, cls=5, text=_SMTPUTF8,
        reason=Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES,
        cite="RFC 6531 §3.4; Postfix '555 5.5.4 Unsupported option: SMTPUTF8'"),
    # 1. Stage: a reply to anything but RCPT TO is about our session, never about the mailbox.
    Row("session-2xx", stage=NOT_RCPT, cls=2, reason=UNKNOWN,
        cite="RFC 5321 §3.3: only RCPT TO names the mailbox; an earlier 2yz says nothing of it"),
    Row("session-greylisted", stage=NOT_RCPT, cls=4, text=_GREYLIST, reason=GREYLISTED,
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
    Row("rcpt-too-many-recipients", stage=RCPT, cls=(4, 5), text=_TOO_MANY_RECIPIENTS,
        reason=TRANSIENT, cite="RFC 5321 §4.5.3.1.10: 452 (or 552) too many recipients"),
    Row("rcpt-recipient-rate", stage=RCPT, cls=(4, 5), text=_RECIPIENT_RATE, reason=TRANSIENT,
        cite="Gmail 4.2.1 and Yahoo 'receiving mail too quickly': the mailbox is busy; ask later"),
    Row("rcpt-greylisted", stage=RCPT, cls=4, text=_GREYLIST, reason=GREYLISTED,
        cite="RFC 6647; postgrey '450 4.2.0 Greylisted', milter-greylist '451 4.7.1 Greylisting'"),
    Row("rcpt-4xx-with-5.x.x", stage=RCPT, cls=4, enhanced="5.*.*", reason=TRANSIENT,
        cite="RFC 3463 §2: the classes disagree; the basic 4yz wins, so it is not permanent"),
    Row("rcpt-4.2.2", stage=RCPT, cls=4, enhanced="4.2.2", unless=_SENDER_QUOTA,
        reason=MAILBOX_FULL, cite="RFC 3463 X.2.2 mailbox full; Gmail '452 4.2.2 ... over quota'"),
    Row("rcpt-421", stage=RCPT, code=421, reason=TRANSIENT,
        cite="RFC 5321 §3.8: 421 service not available, closing the channel"),
    Row("rcpt-4.3.x-4.4.x", stage=RCPT, cls=4, enhanced=("4.3.*", "4.4.*"), reason=TRANSIENT,
        cite="RFC 3463 X.3.x mail system and X.4.x network and routing status"),
    Row("rcpt-mimecast-greylisting", stage=RCPT, cls=4, text=_MIMECAST_GREYLIST,
        reason=GREYLISTED,
        cite="Mimecast SMTP error codes: '451 Internal resources are temporarily unavailable'"),
    Row("rcpt-4xx-about-us", stage=RCPT, cls=4, text=_ABOUT_US, reason=TRANSIENT,
        cite="a temporary block of our IP, name or sender (Postfix 4.7.1, Microsoft 4.7.650)"),
    Row("rcpt-4xx-local-error", stage=RCPT, cls=4, text=_LOCAL_TROUBLE, reason=TRANSIENT,
        cite="RFC 5321 §4.2.2: 451 local error in processing; Microsoft '4.7.500 Server busy'"),
    Row("rcpt-4xx-mailbox-text", stage=RCPT, cls=4, text=_MAILBOX_GONE_OR_OFF, reason=TRANSIENT,
        cite="RFC 5321 §4.2.1: a 4yz 'user unknown' is a soft reject (Postfix soft_bounce)"),
    Row("rcpt-4.7.1-4.2.0", stage=RCPT, cls=4, enhanced=("4.7.1", "4.2.0"), reason=GREYLISTED,
        cite="RFC 3463 X.7.1, X.2.0: the codes greylisters defer with (postgrey, sqlgrey)"),
    Row("rcpt-retry-later", stage=RCPT, cls=4, text=_RETRY_LATER, reason=GREYLISTED,
        cite="RFC 6647 §2.1: a deferral that asks us back later (OpenBSD spamd 451)"),
    Row("rcpt-4xx", stage=RCPT, cls=4, reason=TRANSIENT,
        cite="RFC 5321 §4.2.1: 4yz is a transient negative completion"),
    # 4. RCPT TO 5yz: the enhanced code first, then the text; a sign about us always wins.
    Row("rcpt-5xx-with-4.x.x", stage=RCPT, cls=5, enhanced="4.*.*", reason=UNKNOWN,
        cite="RFC 3463 §2: the classes disagree; a server that contradicts itself proves nothing"),
    Row("rcpt-null-mx", stage=RCPT, cls=5, text=_NULL_MX, unless=_ABOUT_US,
        reason=Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL,
        cite="RFC 7505 §4.2: 556 5.1.10 recipient address has null MX"),
    Row("rcpt-microsoft-dbeb", stage=RCPT, cls=5, enhanced="5.4.1", text=_DBEB,
        unless=_BLOCKLIST, reason=MAILBOX_DOES_NOT_EXIST,
        cite="Exchange Online Directory-Based Edge Blocking: not in the tenant's directory"),
    Row("rcpt-outlook-s2017062302", stage=RCPT, cls=5, enhanced="5.5.0", text=_OUTLOOK_UNKNOWN,
        unless=_BLOCKLIST, reason=MAILBOX_DOES_NOT_EXIST,
        cite="Outlook.com '550 5.5.0 ... mailbox unavailable (S2017062302)': user unknown"),
    Row("rcpt-5.7.x-mailbox-text", stage=RCPT, cls=5, enhanced="5.7.*", text=_MAILBOX_GONE_OR_OFF,
        unless=_ABOUT_US, reason=UNKNOWN,
        cite="RFC 3463 X.7.x is policy; Yandex says '5.7.1 No such user!' to every refusal"),
    Row("rcpt-5.7.x", stage=RCPT, cls=5, enhanced="5.7.*", reason=SENDER_BLOCKED,
        cite="RFC 3463 X.7.x security or policy status; RFC 7372 X.7.20-X.7.26 authentication"),
    Row("rcpt-5.1.7-5.1.8", stage=RCPT, cls=5, enhanced=("5.1.7", "5.1.8"),
        reason=SENDER_BLOCKED,
        cite="RFC 3463 X.1.7, X.1.8 bad sender address (Postfix checks MAIL FROM at RCPT TO)"),
    Row("rcpt-5.1.1", stage=RCPT, cls=5, enhanced="5.1.1", unless=_ABOUT_US,
        reason=MAILBOX_DOES_NOT_EXIST, cite="RFC 3463 X.1.1 bad destination mailbox address"),
    Row("rcpt-5.1.0", stage=RCPT, cls=5, enhanced="5.1.0", text=_MAILBOX_GONE, unless=_ABOUT_US,
        reason=MAILBOX_DOES_NOT_EXIST,
        cite="RFC 3463 X.1.0 other address status, with words about the recipient"),
    Row("rcpt-5.1.10", stage=RCPT, cls=5, enhanced="5.1.10", unless=_ABOUT_US,
        reason=MAILBOX_DOES_NOT_EXIST,
        cite="Exchange Online '550 5.1.10 RESOLVER.ADR.RecipientNotFound'"),
    Row("rcpt-5.1.2-5.1.3-5.1.6", stage=RCPT, cls=5, enhanced=("5.1.2", "5.1.3", "5.1.6"),
        reason=UNKNOWN,
        cite="RFC 3463 X.1.2 destination system (its DNS, not ours), X.1.3 syntax, X.1.6 moved"),
    Row("rcpt-5.2.1", stage=RCPT, cls=5, enhanced="5.2.1", unless=_ABOUT_US,
        reason=MAILBOX_DISABLED, cite="RFC 3463 X.2.1 mailbox disabled, not accepting messages"),
    Row("rcpt-5.2.2", stage=RCPT, cls=5, enhanced="5.2.2", unless=_SENDER_QUOTA,
        reason=MAILBOX_FULL, cite="RFC 3463 X.2.2 mailbox full"),
    Row("rcpt-5.3-5.6", stage=RCPT, cls=5, enhanced=("5.3.*", "5.4.*", "5.5.*", "5.6.*"),
        unless=_ABOUT_US, reason=UNKNOWN,
        cite="RFC 3463 X.3 mail system, X.4 routing, X.5 protocol, X.6 content: not the mailbox"),
    Row("rcpt-5xx-about-us", stage=RCPT, cls=5, text=_ABOUT_US, reason=SENDER_BLOCKED,
        cite="blocklists, reputation, policy, relaying (Spamhaus, Barracuda, Mimecast, Exim)"),
    Row("rcpt-full-text", stage=RCPT, cls=5, text=_MAILBOX_FULL, unless=_SENDER_QUOTA,
        reason=MAILBOX_FULL,
        cite="RFC 5321 §4.2.2: 552 exceeded storage allocation; 'over quota', 'mailbox full'"),
    Row("rcpt-disabled-text", stage=RCPT, cls=5, text=_MAILBOX_OFF, reason=MAILBOX_DISABLED,
        cite="'mailbox is disabled', 'is no longer valid' (Yahoo, AOL, 163.com)"),
    Row("rcpt-unknown-user-text", stage=RCPT, cls=5, text=_MAILBOX_GONE,
        reason=MAILBOX_DOES_NOT_EXIST,
        cite="'user unknown', 'no such user', 'unrouteable address' (Exim, Mimecast, Yahoo)"),
    Row("rcpt-550-bare", stage=RCPT, code=550, bare=True, reason=UNKNOWN,
        cite="RFC 5321 §4.2.2: 550 also means 'no access' or 'rejected for policy reasons'"),
    Row("unmatched", reason=UNKNOWN, cite="no row recognises it: unknown, never undeliverable"),
)  # fmt: skip

_BATCH_RULES = frozenset({"rcpt-x.5.3", "rcpt-too-many-recipients"})


def classify(reply: Reply) -> Classification:
    """The Reason a reply gives and the row that decided it. Never raises."""
    facts = _facts(reply)
    for row in TABLE:
        if row.matches(facts):
            return Classification(row.reason, row.name)
    return Classification(UNKNOWN, "unmatched")


def is_too_many_recipients(reply: Reply) -> bool:
    """A 452 / X.5.3 "too many recipients": the batch must shrink; not a verdict on the address."""
    return classify(reply).too_many_recipients


def catch_all_verdict(reply: Reply) -> bool | None:
    """What the reply to RCPT of an improbable random address says about the domain: True if
    accepted (a catch-all server), False if refused as an unknown mailbox, None otherwise
    (greylisting, "too many recipients", a policy refusal, a reply at another stage)."""
    if reply.stage is not Stage.RCPT:
        return None
    return {SUCCESS: True, MAILBOX_DOES_NOT_EXIST: False}.get(classify(reply).reason)


def is_greylisting(reply: Reply) -> bool:
    """A deferral that asks for the same client again later (RFC 6647)."""
    return classify(reply).greylisting


def _facts(reply: Reply) -> _Facts:
    code = reply.code if isinstance(reply.code, int) else 0
    text = reply.text if isinstance(reply.text, str) else ""
    enhanced = None
    if isinstance(reply.enhanced, str):
        enhanced, rest = parse_enhanced(reply.enhanced)
        enhanced = None if rest else enhanced
    if enhanced is None:
        enhanced, _ = parse_enhanced(text)
    cls = code // 100 if code // 100 in (2, 4, 5) else 0
    return _Facts(reply.stage, code, cls, enhanced, _flatten(text))


def _flatten(text: str) -> str:
    # Multi-line replies repeat the enhanced code on every line (Gmail's "550-5.1.1 ...").
    lines = (parse_enhanced(line)[1] for line in text.replace("\u2019", "'").splitlines())
    return " ".join(" ".join(lines).split()).lower()

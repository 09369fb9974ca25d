"""The words SMTP replies use, in the languages servers answer in, as compiled patterns.

Signs, never proof: replies.py says which stage, class and code each one may judge. Patterns match
the text replies.py prepares (lower-case, one line, Latin accents removed, URLs cut to their host),
so they are written without accents ("empfanger", "usuario", "boite"). Nothing here reads a reply.
"""

from __future__ import annotations

import re

__all__ = (
    "ABOUT_US",
    "ABOUT_US_STRONG",
    "ADDRESS_FORM",
    "ADDRESS_REJECTED",
    "BLOCKLIST",
    "DBEB",
    "GREYLIST",
    "LOCAL_TROUBLE",
    "MAILBOX_FULL",
    "MAILBOX_GONE",
    "MAILBOX_GONE_OR_OFF",
    "MAILBOX_OFF",
    "MAILBOX_WORD",
    "MIMECAST_GREYLIST",
    "NOT_FOR_GOOD",
    "NULL_MX",
    "ON_HOLD",
    "OUTLOOK_UNKNOWN",
    "RECIPIENT_RATE",
    "RETRY_LATER",
    "SENDER_QUOTA",
    "SMTPUTF8",
    "TOO_MANY_RECIPIENTS",
    "TWO_READINGS",
    "any_of",
)


# A short stretch inside one clause. A dot ends the clause only when a space or the end follows it,
# so addresses and host names ("user@example.com") stay inside.
_NEAR = r"(?:[^.;:]|\.(?!\s|$))"


def any_of(*patterns: str) -> re.Pattern[str]:
    """One pattern that matches where any of `patterns` does."""
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Block lists, reputation and spam: a refusal of us, whatever else the text says.
_BLOCKLIST_SIGNS = (
    r"\b(?:spamhaus|spamcop|sorbs|abuseat|abusix|uceprotect|barracuda\w*|cloudmark|proofpoint)\b",
    r"\b(?:dnsbl|rbl|blocklist\w*|blacklist\w*|denylist\w*)\b",
    r"\b(?:block|black|deny)\s+list",
    r"\bblocked\b(?!\s+due\s+to\s+(?:long-time\s+)?inactivity)|\bbanned\b|\breputation\b|\bspam\w*|\bunsolicited\b|\bjunk\b|\bcomplaints?\b",
    r"\bantyspam\w*|\bliste\s+noire\b|\blista\s+negra\b|\bbloque(?:e|es|ees)?\b|\bgesperrt\b",
    r"\bbloquead[ao]s?\b|\bbloccat[aoie]\b(?!\s+per\s+inutilizzo)|спам|заблокирован",
)
# Words about our IP, name, sender, authentication, rate or the relay, not about the mailbox.
# "Strong" signs veto even a reply whose code and words both say the mailbox is unknown; the weak
# ones (a bare "denied", "refused", "IP") only veto replies that name no missing mailbox.
_ABOUT_US_STRONG_SIGNS = (
    *_BLOCKLIST_SIGNS,
    r"\bpolic(?:y|ies)\b|\bpoliti(?:que|ca)\b|\brichtlinie\w*",
    r"\brelay(?:ing)?\s+(?:access\s+)?(?:denied|not\s+(?:permitted|allowed))|\bopen\s+relay\b",
    r"\b(?:unable\s+to|do\s+not|does\s+not)\s+relay\b|\brcpthosts\b|\bretransmissao\s+negada\b",
    r"\breencaminhamento\s+negado\b",
    r"\bclient\s+host\b|\bhostname\b|\byour\s+ip\b",
    r"\byour\s+(?:host|server|network|domain|mail\s+server)\b",
    r"\bhelo\b|\behlo\b|\breverse\s+dns\b|\bptr\b|\brdns\b",
    r"\bspf\b|\bdkim\b|\bdmarc\b|\bauthenticat\w*|\b(?:start)?tls\b|\bencrypt\w*",
    r"\bgr[ae]y-?\s?list\w*",
    r"\brate\b|\bvolume\b|\bthrottl\w*|\bfrequency\b",
    r"\btoo\s+(?:many|quickly|fast)\b(?!\s+messages\s+(?:on|in)\s+(?:the|this)\s+(?:server|mailbox))",
    r"\btoo\s+much\b(?!\s+mail\s+data)|\bzu\s*viele?\b(?!\s+mails)|\bdemasiad[ao]s?\b",
    r"\bsender\b|\bmail\s+from\b|\benvelope\s+from\b|\bemetteur\b|\babsender\b",
    r"\bmessage\s+sending\b|\bsending\s+(?:for|from|limit|quota|ip|rate)\b",
    r"\bremitente\b|\bremetente\b|\bmittente\b|\bnon\s+certificata\b",
    r"\bipv6\b|(?:ip|接続|送信元)[^。]{0,20}?拒否",
)
_ABOUT_US_WEAK_SIGNS = (
    r"\bprohibit\w*|\b(?:not\s+|un)authori[sz]ed\b|\bdenied\b|\brefused\b|\brefuse\b",
    r"\bip\b",
)
BLOCKLIST = any_of(*_BLOCKLIST_SIGNS)
ABOUT_US_STRONG = any_of(*_ABOUT_US_STRONG_SIGNS)
ABOUT_US = any_of(*_ABOUT_US_STRONG_SIGNS, *_ABOUT_US_WEAK_SIGNS)

GREYLIST = any_of(r"\bgr[ae]y-?\s?list\w*")
RETRY_LATER = any_of(
    r"\b(?:try|retry|come\s+back)\b(?:\s+\S+){0,3}?\s+later\b",
    r"\btry\s+again\s+in\s+\d",
    r"\btemporarily\s+deferred\b",
    r"\b(?:re)?essayer\s+plus\s+tard\b|\bspater\s+(?:noch\s+einmal|erneut)\b|\bmas\s+tarde\b",
    r"\bmais\s+tarde\b|\bpiu\s+tardi\b|しばらくしてから|後ほど",
)
TOO_MANY_RECIPIENTS = any_of(
    r"\btoo\s+many\s+(?:recipients|rcpt)",
    r"\brecipients?\s+(?:limit|count)\s+(?:exceeded|reached)",
    r"\btry\s+this\s+recipient\s+in\s+a\s+separate\s+transaction\b",
)
LOCAL_TROUBLE = any_of(
    r"\blocal\s+(?:error|problem)",
    r"\bserver\s+(?:is\s+)?(?:too\s+)?busy\b",
    r"\btemporary\s+(?:server|system|local)\s+(?:error|problem|failure)",
    r"\btemporary\s+problem\b|\binsufficient\s+(?:system|disk)|\bsystem\s+resources\b",
    r"\btime\s?out\b|\btimed\s+out\b",
)
RECIPIENT_RATE = any_of(r"\breceiving\s+mail\s+(?:too\s+quickly|at\s+a\s+rate)")
MIMECAST_GREYLIST = any_of(r"\binternal\s+resources?\s+(?:are\s+)?temporarily\s+unavailable")
SMTPUTF8 = any_of(
    r"\bsmtputf-?8\b",
    r"\bnon-ascii\s+(?:address|characters?)",
    r"\butf-?8\s+(?:address(?:es)?\s+)?(?:is\s+|are\s+)?not\s+(?:supported|permitted|allowed)",
)
# RFC 7505 §4.2 and RFC 7504 §3: the domain (or host) takes no mail at all. Not "from you", not
# "over IPv6", not "at this time": those refuse us or a moment, not the domain.
NULL_MX = any_of(
    r"\bnull\s*mx\b",
    r"\bdoes\s+not\s+accept\s+mail\b(?!\s+(?:from|over|via|through|with|at\s+this|for\s+now))",
)
DBEB = any_of(r"\brecipient\s+address\s+rejected:\s+access\s+denied\b")
OUTLOOK_UNKNOWN = any_of(r"\bmailbox\s+unavailable\b.*\(s2017062302\)")
# The address as written, not the mailbox: a syntax or routing complaint (chkuser says these with
# "#5.1.1"). The server may be stricter than RFC 5321; the mailbox may still exist.
ADDRESS_FORM = any_of(
    r"\b(?:invalid|bad|wrong|illegal)\s+(?:\w+\s+){0,3}?(?:format|syntax)\b",
    r"\bhas\s+invalid\s+format\b|\bsyntax\s+error\b|\bmust\s+specify\s+a\s+domain\b",
    r"\bvalid\s+mx\b|\bfully[\s-]qualified\b",
)
ADDRESS_REJECTED = any_of(r"^(?:<[^>]*>:?\s*)?address\s+rejected\b")

MAILBOX_FULL = any_of(
    r"\bover\s*(?:\w+\s+)?quot[ae]\b|\bquota\s+(?:exceeded|full|is\s+over)\b|\bout\s+of\s+quota\b",
    r"\bexceed(?:ed|s)?\s+(?:\w+\s+){0,2}quota\b|\bquota\s+violation\b",
    r"\b(?:mail\s*box|inbox)\s+(?:is\s+)?(?:full|over\s+quota)\b",
    r"\b(?:mail\s*box|inbox)\b" + _NEAR + r"{0,40}?\bis\s+full\b|\bmailbox\s+limit\s+exc?eeded\b",
    r"\bout\s+of\s+storage\b|\bexceeded\s+storage\s+allocation\b|\bmailbox\s+size\s+limit\b",
    r"\baccount\s+storage\s+limit\b|\bexhausted\s+allowed\s+storage\b",
    r"\btoo\s+many\s+messages\s+(?:on|in)\s+(?:the|this)\s+(?:server|mailbox)\b",
    r"\btoo\s+much\s+mail\s+data\b",
    r"\bboite\s+(?:du\s+destinataire\s+|aux\s+lettres\s+)?pleine\b",
    r"\bpostfach\s+(?:ist\s+)?voll\b|\bspeicher\w*\s+(?:\w+\s+)?u(?:e)?berschritten\b",
    r"\bzu\s*viele\s+mails\b",
    r"\bbuzon\s+(?:de\s+correo\s+)?(?:lleno|completo)\b|\bcuota\s+excedida\b",
    r"\bcaixa\s+(?:postal\s+|de\s+entrada\s+)?(?:cheia|lotada)\b|\bcota\s+excedida\b",
    r"\bcasella\s+(?:postale\s+)?piena\b|\bquota\s+superata\b",
    r"容量(?:を|が)?超過|容量オーバー|ящик\s+переполнен|превышен\w*\s+квот",
)
# The sender's own quota, not the recipient's mailbox (Exchange "Submission quota exceeded").
SENDER_QUOTA = any_of(r"\bsubmission\s+quota\b|\bsending\s+(?:quota|limit)\b|\bdaily\b")

_MAILBOX_OFF_SIGNS = (
    r"\b(?:account|mailbox|mbox|user|address|recipient|inbox|mail\s*address)\b" + _NEAR + r"{0,40}?"
    r"\b(?:disabled|deactivated|suspended|inactive|frozen|locked|terminated|discontinued|closed)\b",
    r"\b(?:disabled|deactivated|suspended|inactive)\s+(?:e-?mail\s+)?"
    r"(?:account|mailbox|mbox|user|recipient|address)\b",
    r"\bno\s+longer\s+(?:valid|active|in\s+use|available|accepts\s+mail)\b",
    r"\barchived\s+recipient\b|\bmail\s+receiving\s+disabled\b",
    r"\b(?:account|mailbox|user)\s+(?:is\s+)?not\s+active\b",
    r"\b(?:locked|blocked)\s+due\s+to\s+(?:long-time\s+)?inactivity\b",
    r"\bno\s+recipient\s+activity\b|\bnot\s+used\s+for\s+more\s+than\b",
    r"\b(?:compte|boite)\b" + _NEAR + r"{0,40}?\b(?:desactivee?|suspendue?|archivee?)\b",
    r"\bboite\s+aux\s+lettres\s+desactivee\b",
    r"\b(?:postfach|konto|mailbox)\b" + _NEAR + r"{0,40}?\b(?:deaktiviert|stillgelegt)\b",
    r"\b(?:cuenta|buzon|usuario|casilla)\b" + _NEAR + r"{0,40}?"
    r"\b(?:desactivad[ao]|inactiv[ao]|suspendid[ao]|expirad[ao])\b|\bestado:?\s+inactivo\b",
    r"\b(?:conta|caixa\s+postal|usuario)\b"
    + _NEAR
    + r"{0,40}?\b(?:desativad[ao]|inativ[ao]|suspens[ao])\b",
    r"\b(?:casella|account|utente|indirizzo)\b" + _NEAR + r"{0,40}?"
    r"\b(?:disattivat[ao]|sospes[ao]|bloccato\s+per\s+inutilizzo)\b",
    r"\bzablokowane\s+administracyjnie\b|\bnieaktywne\b",
    r"(?:アカウント|ユーザー?|メールボックス)[^。、]{0,10}?(?:停止|無効)",
)
_MAILBOX_GONE_SIGNS = (
    r"\b(?:user|recipient|mailbox|addressee|address|account)\s+(?:is\s+)?unknown\b",
    r"\bunknown\s+(?:user|recipient|mailbox|addressee|local[\s-]?part|e-?mail\s+address|address"
    r"|destination\s+address)\b",
    r"\bunknown\s+or\s+illegal\s+alias\b|\binvalid/inactive\s+user\b|\brecipient\s+unrecognized\b",
    r"\bno\s+such\s+(?:user|recipient|mailbox|address|account|person|local\s+user"
    r"|e-?mail\s+address|id)\b",
    r"\b(?:user|recipient|mailbox|account|address|addressee)\b" + _NEAR + r"{0,60}?"
    r"\b(?:does\s+not|doesn't|did\s+not|do\s+not|not)\s+exists?\b",
    r"\b(?:user|recipient|mailbox|account)\s+(?:is\s+)?not\s+(?:found|known)\b",
    r"\brcpt\s+user\s+\S+\s+not\s+ok\b|\bno\s+mail\s*box\b(?!\s+(?:storage|space|quota|size))",
    r"\bnot\s+a\s+(?:valid|known)\s+(?:user|recipient|mailbox)\b",
    r"\binvalid\s+(?:recipient|mailbox|user|addressee)\b",
    r"\binvalid\s+address\b(?!\s+(?:format|syntax))|\baddress\s+invalid\b",
    r"\b(?:e-?mail\s+)?address\s+could\s+not\s+be\s+found\b",
    r"\bmailbox\s+(?:not\s+found|not\s+present|invalid)\b",
    r"\bunrout(?:e)?able\s+address\b",
    r"\buser\s+doesn't\s+have\s+an?\s+[\w.-]+\s+account\b",
    r"\bno\s+(?:mailbox|mail-box|account|user)\s+(?:here\s+)?by\s+that\s+name\b",
    r"\bresolver\.adr\.(?:recipientnotfound|exrecipnotfound)\b",
    r"\bnot\s+listed\s+in\s+(?:the\s+)?(?:domino\s+directory|public\s+name\s+&\s+address\s+book)\b",
    # French, German, Spanish, Portuguese, Italian, Polish, Russian, Japanese.
    r"\butilisateur\s+inconnu\b|\bdestinataire\s+inconnu\b|\badresse\s+(?:e-?mail\s+)?inconnue\b",
    r"\badresse\s+d\W?\s*au\s+moins\s+un\s+destinataire\s+invalide\b",
    r"\b(?:adresse|compte|utilisateur|destinataire)\b" + _NEAR + r"{0,40}?\bn'?\s?existe\s+pas\b",
    r"\bnon\s+repertorie\s+dans\s+l'?annuaire\b",
    r"\bbenutzer\s+(?:ist\s+)?(?:unbekannt|nicht\s+bekannt)\b|\bbenutzer\s+existiert\s+nicht\b",
    r"\b(?:empfae?nger|adressat)\s+(?:ist\s+)?unbekannt\b",
    r"\bunbekannte[rn]?\s+(?:benutzer|empfae?nger|adressat)\b",
    r"\bpostfach\b" + _NEAR + r"{0,40}?\b(?:existiert\s+nicht|nicht\s+vorhanden|unbekannt)\b",
    r"\busuario\s+(?:desconocido|inexistente|desconhecido|nao\s+existe|nao\s+encontrado)\b",
    r"\bno\s+existe\s+(?:dicha\s+persona|ese\s+usuario|el\s+usuario|la\s+cuenta|el\s+buzon)\b",
    r"\b(?:cuenta|buzon|direccion|conta|caixa\s+postal|endereco)\b" + _NEAR + r"{0,40}?"
    r"\b(?:no\s+existe|nao\s+existe|inexistente)\b",
    r"\bdestinatario\s+(?:desconocido|desconhecido|inexistente|sconosciuto|errato)\b",
    r"\bno\s+se\s+encuentra\s+en\s+el\s+directorio\b",
    r"\butente\s+(?:inesistente|sconosciuto|non\s+esiste)\b|\bnessun\s+utente\s+simile\b",
    r"\bindirizzo\s+(?:inesistente|sconosciuto|non\s+esiste)\b|\bdestin\.\s+sconosciuto\b",
    r"\bnon\s+esiste\s+nessun\s+utente\b",
    r"\bnie\s+ma\s+takiego\s+konta\b|\b(?:konto|uzytkownik|adres)\b"
    + _NEAR
    + r"{0,30}?\bnie\s+istnieje\b",
    r"нет\s+такого\s+(?:пользователя|ящика|адреса)",
    r"(?:пользовател\w*|ящик\w*|адрес\w*)" + _NEAR + r"{0,40}?не\s+(?:существует|найден)",
    r"(?:ユーザー?|アドレス|宛先|アカウント|メールボックス)[^。、]{0,20}?"
    r"(?:存在しません|存在しない|見つかりません|不明)",
    r"存在しない(?:ユーザー?|アドレス|宛先)|ディレクトリには見つかりません",
)
MAILBOX_OFF = any_of(*_MAILBOX_OFF_SIGNS)
MAILBOX_GONE = any_of(*_MAILBOX_GONE_SIGNS)
MAILBOX_GONE_OR_OFF = (MAILBOX_GONE, MAILBOX_OFF)
# What a reply must be about before its X.2.1 "mailbox disabled" code is believed.
MAILBOX_WORD = (
    MAILBOX_GONE,
    MAILBOX_OFF,
    any_of(r"\b(?:mail\s*box|mbox|account|user|recipient|inbox|address)\b"),
)
# A mailbox on hold or in quarantine exists; it is held, not missing.
ON_HOLD = any_of(r"\bon\s+hold\b|\bquarantin\w*|\bheld\s+(?:for|by|until)\b")
# A state that may pass: a disabled or suspended mailbox "temporarily", or "try again later".
NOT_FOR_GOOD = any_of(r"\btemporar(?:y|ily)\b|\btry\s+(?:again|later)\b|\bretry\b|\bdomain\b")
# Words that say the mailbox is missing and that it is full: one of them is wrong.
TWO_READINGS = any_of(rf"^(?=.*(?:{MAILBOX_GONE.pattern}))(?=.*(?:{MAILBOX_FULL.pattern}))")

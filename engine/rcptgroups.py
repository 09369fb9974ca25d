"""A bulk session's RCPT groups: one group's transaction (MAIL, its RCPTs, RSET) and its
replies, in one round trip when the server pipelines.

Talks only through an SmtpSession; never sends DATA, never decides what a reply means.
"""

from __future__ import annotations

import contextlib

from engine.errors import SmtpError
from engine.model import Reply
from engine.smtp import SmtpSession, answer_or_closing

__all__ = ["transaction_replies"]


async def transaction_replies(
    session: SmtpSession, sender: str, recipients: list[str], *, smtputf8: bool, last: bool
) -> list[Reply]:
    """MAIL, RCPTs and RSET; one round trip when the session can pipeline (RFC 2920).

    Returns [MAIL reply, RCPT replies..., RSET reply]; only the MAIL reply if it was refused,
    fewer RCPT replies if the server ended the session.
    """
    group = getattr(session, "transaction", None)
    if group is not None:
        replies: list[Reply] = await group(sender, recipients, smtputf8=smtputf8, last=last)
        return replies
    mail = await session.mail(sender, smtputf8=smtputf8)
    if mail.code // 100 != 2:
        return [mail]
    out = [mail]
    for recipient in recipients:
        reply = await answer_or_closing(session.rcpt(recipient))
        out.append(reply)
        if reply.code == 421:
            return out  # the server is closing the session
    with contextlib.suppress(SmtpError):
        out.append(await session.rset())
    return out

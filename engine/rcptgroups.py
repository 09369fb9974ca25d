"""A bulk session's RCPT groups: how many addresses the next transaction asks, sized on the
host's rejection rate within the session's error budgets, and one group's transaction (MAIL,
its RCPTs, RSET), in one round trip when the server pipelines.

Talks only through an SmtpSession; never sends DATA, never decides what a reply means.
"""

from __future__ import annotations

import contextlib
import math

from engine.config import Politeness
from engine.errors import SmtpError
from engine.hostqueue import HostQueue
from engine.model import Reply
from engine.smtp import SmtpSession, answer_or_closing

__all__ = ["group_size", "is_last_group", "transaction_replies"]

MIN_NEXT_GROUP = 3  # a smaller group is not worth a round trip: end the session instead


def group_size(limits: Politeness, queue: HostQueue, errors: int) -> int:
    """RCPTs for the next transaction, within the session's error budgets (0: end it).

    Servers delay or disconnect after a number of rejected recipients (Postfix: every reply
    after the 10th is delayed a second; at 20 it hangs up). A group is sized on the host's
    rejection rate p seen so far (assumed 1/2 until measured): its rejections' mean plus
    two standard deviations, n*p + 2*sqrt(n*p*(1-p)), must fit what is left of
    `errors_per_session`, and even a group refused whole must fit
    `max_errors_per_session`.
    """
    soft_room = limits.errors_per_session - errors
    hard_room = limits.max_errors_per_session - errors
    rate = rejection_rate(queue)
    size = 0
    for n in range(1, max(0, min(queue.batch, hard_room)) + 1):
        if n * rate + 2.0 * math.sqrt(n * rate * (1.0 - rate)) > soft_room:
            break
        size = n
    if size == 0 and errors == 0 and hard_room > 0:
        size = 1  # a fresh session always asks at least one address
    return size


def is_last_group(limits: Politeness, queue: HostQueue, errors: int, size: int, index: int) -> bool:
    """Whether the session should end after this group: the transaction cap is reached,
    or after its expected rejections the next group would be too small to be worth a
    round trip of its own (a new session serves those addresses better)."""
    if index + 1 >= limits.transactions_per_session:
        return True
    expected = errors + math.ceil(size * rejection_rate(queue))
    return group_size(limits, queue, expected) < MIN_NEXT_GROUP


def rejection_rate(queue: HostQueue) -> float:
    """The host's share of refused RCPTs so far, by Laplace's rule (1/2 before any answer)."""
    return (queue.rejected + 1) / (queue.asked + 2)


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

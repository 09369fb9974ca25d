"""Which Results a form accepts, and the words a rejection is shown with: shared by every framework.

A policy only reads a Result; the verdict itself is the engine's. Undeliverable is always
refused; unknown is accepted unless asked (Byteplant's advice: an unknown address is usually a
real one behind a cautious server, and refusing it loses real sign-ups).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Result, State

# Error codes, stable: forms and APIs may key translations or analytics on them.
UNDELIVERABLE = "email_undeliverable"
DISPOSABLE = "email_disposable"
ROLE = "email_role"
RISKY = "email_risky"
UNKNOWN = "email_unknown"

_TEMPLATES = {
    UNDELIVERABLE: "This email address cannot receive mail ({reason}).",
    DISPOSABLE: "Disposable email addresses are not accepted ({reason}).",
    ROLE: "Please use a personal address, not a shared one such as info@ ({reason}).",
    RISKY: "This email address may not receive mail ({reason}).",
    UNKNOWN: "This email address could not be verified ({reason}).",
}
_SUGGESTION = " Did you mean {suggestion}?"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a policy refused a Result, in a form each framework turns into its own error."""

    code: str  # one of the module's codes, e.g. "email_undeliverable"
    result: Result

    @property
    def template(self) -> str:
        """The message with `{reason}` (and `{suggestion}`) placeholders, as pydantic takes it."""
        text = _TEMPLATES[self.code]
        return text + _SUGGESTION if self.result.did_you_mean else text

    @property
    def context(self) -> dict[str, str]:
        """The values the template names, plus the state and the normalized address."""
        r = self.result
        values = {"reason": r.reason.value, "state": r.state.value, "email": r.email or r.input}
        if r.did_you_mean:
            values["suggestion"] = r.did_you_mean
        return values

    @property
    def message(self) -> str:
        """The message for people, placeholders filled in."""
        return self.template.format(**self.context)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A Result and what the policy made of it."""

    result: Result
    rejection: Rejection | None = None

    @property
    def accepted(self) -> bool:
        return self.rejection is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """What a form refuses besides undeliverable addresses (all off by default)."""

    reject_risky: bool = False  # catch-all servers, full mailboxes, disposable domains
    reject_disposable: bool = False  # even when Config.disposable_is_risky is False
    reject_role: bool = False  # info@, sales@, admin@ ... (the role list in data/)
    reject_unknown: bool = False  # greylisting, blocks, timeouts: usually real addresses

    def judge(self, result: Result) -> Rejection | None:
        """The reason to refuse `result`, or None to accept it."""
        code = self._code(result)
        return Rejection(code, result) if code is not None else None

    def apply(self, result: Result) -> Verdict:
        return Verdict(result, self.judge(result))

    def _code(self, result: Result) -> str | None:
        if result.state is State.UNDELIVERABLE:
            return UNDELIVERABLE
        if self.reject_disposable and result.flags.disposable:
            return DISPOSABLE
        if self.reject_role and result.flags.role:
            return ROLE
        if self.reject_risky and result.state is State.RISKY:
            return RISKY
        if self.reject_unknown and result.state is State.UNKNOWN:
            return UNKNOWN
        return None

"""pydantic: `VerifiedEmail`, a str field that mailprobe checks, and `email_check()` for a policy.

    class Signup(BaseModel):
        email: VerifiedEmail                                            # default policy
        work_email: Annotated[str, email_check(Policy(reject_role=True))]

A refused address raises pydantic's own ValidationError; its error type is the rejection code
("email_undeliverable", ...) and its context holds the reason, the state and the suggestion.
An accepted address comes out normalized (domain lower-case, in Unicode form).

pydantic validators are sync. In a thread that runs no event loop (Django and Flask views,
FastAPI `def` endpoints, scripts) the check waits up to the time limit. In a thread that runs
an event loop (inside `async def`) it never blocks that loop: it uses a fresh cached Result, or
else the offline verdict (syntax, typos, flags) while the full check goes on in the background;
`await verifier.acheck(email)` before validating gets the full verdict into the cache.

The verifier is the process's shared one (Settings() defaults) unless given to `email_check()`
or, for one validation, as `Model.model_validate(data, context={"mailprobe": verifier})`.
Needs the `pydantic` extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from engine.integrations._policy import Policy
from engine.integrations._shared import Settings, SharedVerifier, shared_verifier

__all__ = ["CONTEXT_KEY", "Policy", "Settings", "SharedVerifier", "VerifiedEmail", "email_check"]

CONTEXT_KEY = "mailprobe"  # validation context key naming the SharedVerifier to use


def email_check(
    policy: Policy | None = None, *, verifier: SharedVerifier | None = None
) -> AfterValidator:
    """A validator for `Annotated[str, email_check(...)]` that refuses what `policy` refuses."""
    rules = policy if policy is not None else Policy()

    def check_email(value: str, info: ValidationInfo) -> str:
        chosen = _from_context(info.context) or verifier or shared_verifier()
        verdict = rules.apply(chosen.check(value))
        if verdict.rejection is not None:
            rejection = verdict.rejection
            raise PydanticCustomError(rejection.code, rejection.template, rejection.context)
        return verdict.result.email or value

    return AfterValidator(check_email)


def _from_context(context: Any) -> SharedVerifier | None:
    if isinstance(context, Mapping):
        found = context.get(CONTEXT_KEY)
        if isinstance(found, SharedVerifier):
            return found
    return None


VerifiedEmail = Annotated[str, email_check(), WithJsonSchema({"type": "string", "format": "email"})]
"""An email address that mailprobe does not find undeliverable (the default Policy)."""

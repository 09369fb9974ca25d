"""FastAPI: the app's shared verifier as a dependency, and ready `Depends` checks of an address.

    app = FastAPI(lifespan=lifespan(Settings(config=Config(helo_name="mx.example.com"))))

    @app.get("/email-check")
    async def email_check(result: VerifiedEmail) -> dict[str, str]:   # ?email=...
        return {"state": result.state.value}

`VerifierDep` is the SharedVerifier that `lifespan()` keeps in `app.state.mailprobe` (the
process's default one without it); `verified_email(policy, name=..., source="query"|"body")`
builds a check that answers 422, in FastAPI's validation-error shape, when the policy refuses
the address. The checks are `async` and never block the event loop; in a `def` endpoint
(FastAPI's thread pool) `verifier.check()` waits in that thread. Needs the `fastapi` extra.
"""

# No `from __future__ import annotations`: FastAPI reads these signatures at run time, and the
# dependency built in verified_email() names objects of its closure.

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request

from engine.integrations._policy import Policy
from engine.integrations._shared import Settings, SharedVerifier, shared_verifier
from engine.model import Result

__all__ = [
    "Policy",
    "Settings",
    "SharedVerifier",
    "VerifiedEmail",
    "VerifierDep",
    "get_verifier",
    "lifespan",
    "verified_email",
]

STATE_KEY = "mailprobe"  # app.state attribute holding the app's SharedVerifier


def lifespan(
    settings: Settings | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that starts a SharedVerifier for the app and closes it at shutdown."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        verifier = SharedVerifier(settings)
        setattr(app.state, STATE_KEY, verifier)
        await asyncio.to_thread(verifier.start)  # the data lists load before the first request
        try:
            yield
        finally:
            await verifier.aclose()

    return run


def get_verifier(request: Request) -> SharedVerifier:
    """The app's SharedVerifier (see lifespan()), else the process's default one."""
    found = getattr(request.app.state, STATE_KEY, None)
    return found if isinstance(found, SharedVerifier) else shared_verifier()


VerifierDep = Annotated[SharedVerifier, Depends(get_verifier)]


def verified_email(
    policy: Policy | None = None,
    *,
    name: str = "email",
    source: Literal["query", "body"] = "query",
) -> Callable[..., Awaitable[Result]]:
    """A dependency that checks the address in query parameter (or JSON body field) `name`.

    It returns the accepted Result, or raises HTTPException 422 with a detail shaped like
    FastAPI's own validation errors: type (the rejection code), loc, msg, input and ctx (the
    reason, the state and the suggestion).
    """
    rules = policy if policy is not None else Policy()
    where = Query(alias=name) if source == "query" else Body(embed=True, alias=name)

    async def check(verifier: VerifierDep, email: Annotated[str, where]) -> Result:
        verdict = rules.apply(await verifier.acheck(email))
        rejection = verdict.rejection
        if rejection is not None:
            detail: list[dict[str, Any]] = [
                {
                    "type": rejection.code,
                    "loc": [source, name],
                    "msg": rejection.message,
                    "input": email,
                    "ctx": rejection.context,
                }
            ]
            raise HTTPException(status_code=422, detail=detail)
        return verdict.result

    return check


VerifiedEmail = Annotated[Result, Depends(verified_email())]
"""A Result for the `email` query parameter that the default Policy accepts (else 422)."""

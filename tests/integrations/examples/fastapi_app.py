from typing import Annotated

from fastapi import Body, Depends, FastAPI

from engine import Result
from engine.integrations.fastapi import (
    Policy,
    Settings,
    VerifiedEmail,
    VerifierDep,
    lifespan,
    verified_email,
)

# No disposable domains and no shared addresses such as info@ for accounts.
AccountEmail = Annotated[
    Result, Depends(verified_email(Policy(reject_disposable=True, reject_role=True), source="body"))
]


def create_app(settings: Settings) -> FastAPI:
    # The lifespan starts one shared verifier for the app and closes it at shutdown.
    app = FastAPI(lifespan=lifespan(settings))

    @app.get("/email-check")  # a form asks while the user types: GET /email-check?email=...
    async def email_check(result: VerifiedEmail) -> dict[str, str | None]:
        # Refused addresses never get here: the dependency answers 422 with the reason.
        return {"state": result.state.value, "did_you_mean": result.did_you_mean}

    @app.post("/accounts", status_code=201)  # JSON body: {"name": ..., "email": ...}
    async def create_account(
        email: AccountEmail, name: Annotated[str, Body(embed=True)]
    ) -> dict[str, str | None]:
        return {"name": name, "email": email.email}

    @app.get("/verify")  # the shared verifier itself, for a full Result
    async def verify(email: str, verifier: VerifierDep) -> dict[str, object]:
        return (await verifier.acheck(email)).to_dict()

    return app

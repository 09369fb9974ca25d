from typing import Annotated

from pydantic import BaseModel

from engine.integrations.pydantic import Policy, SharedVerifier, VerifiedEmail, email_check


class Signup(BaseModel):
    name: str
    email: VerifiedEmail  # refuses undeliverable addresses; accepts unknown ones


class Invitation(BaseModel):
    # A stricter policy: no disposable domains, no shared addresses such as info@.
    email: Annotated[str, email_check(Policy(reject_disposable=True, reject_role=True))]


async def signup_async(data: dict[str, str], verifier: SharedVerifier) -> Signup:
    # pydantic validators are sync: inside a running event loop they never wait for the
    # probe. Await the check first; the validator then finds its result in the cache.
    await verifier.acheck(data["email"])
    return Signup.model_validate(data, context={"mailprobe": verifier})

"""Flask: the `Mailprobe` extension, configured by `app.config["MAILPROBE"]`.

    mailprobe = Mailprobe()              # in extensions.py
    mailprobe.init_app(app)              # in the app factory

    verdict = mailprobe.check(request.form["email"])        # in a view
    if verdict.rejection is not None:
        return {"error": verdict.rejection.message}, 422

MAILPROBE takes the same keys as Django's setting (Config fields, TIMEOUT, OFFLINE, CACHE_SIZE,
CACHE_TTL, REJECT_*). Apps with the same settings share one verifier per process. `check()`
waits up to TIMEOUT in the request's thread; in an `async def` view (`flask[async]`), await
`acheck()`, which never blocks the view's event loop. Needs the `flask` extra.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from engine.integrations._policy import Policy, Verdict
from engine.integrations._shared import Settings, SharedVerifier, read_settings, shared_verifier

__all__ = ["EXTENSION_KEY", "Mailprobe", "Policy", "Settings", "Verdict"]

EXTENSION_KEY = "mailprobe"  # in app.extensions


@dataclass(frozen=True, slots=True)
class _AppState:
    verifier: SharedVerifier
    policy: Policy


class Mailprobe:
    """The extension object: `Mailprobe(app)`, or `Mailprobe()` then `init_app(app)`.

    `settings` and `policy` given here win over `app.config["MAILPROBE"]`.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        settings: Settings | None = None,
        policy: Policy | None = None,
    ) -> None:
        self._settings = settings
        self._policy = policy
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read `app.config["MAILPROBE"]` (raises ValueError on an unknown key or value)."""
        settings, policy = read_settings(app.config.get("MAILPROBE") or {})
        if self._settings is not None:
            settings = self._settings
        if self._policy is not None:
            policy = self._policy
        app.extensions[EXTENSION_KEY] = _AppState(shared_verifier(settings), policy)

    @property
    def verifier(self) -> SharedVerifier:
        """The current app's shared verifier (needs an app context)."""
        return self._state().verifier

    @property
    def policy(self) -> Policy:
        """The current app's default policy (needs an app context)."""
        return self._state().policy

    def check(self, raw: object, policy: Policy | None = None) -> Verdict:
        """Check `raw`, waiting in this thread up to the time limit (RuntimeError: no init_app)."""
        state = self._state()
        return (policy or state.policy).apply(state.verifier.check(raw))

    async def acheck(self, raw: object, policy: Policy | None = None) -> Verdict:
        """Check `raw` from an `async def` view without blocking its loop (see check())."""
        state = self._state()
        return (policy or state.policy).apply(await state.verifier.acheck(raw))

    @staticmethod
    def _state() -> _AppState:
        state = current_app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, _AppState):
            raise RuntimeError("Mailprobe.init_app(app) was not called for this app")
        return state

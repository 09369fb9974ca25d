"""Django: a validator and a form field that mailprobe checks, configured by `settings.MAILPROBE`.

    MAILPROBE = {"HELO_NAME": "mx.example.com", "MAIL_FROM": "verify@example.com", "TIMEOUT": 5}

    class SignupForm(forms.Form):
        email = VerifiedEmailField()                        # the policy in MAILPROBE
        work_email = VerifiedEmailField(reject_role=True)   # stricter, for this field

Keys of MAILPROBE: any Config field in upper case, CONFIG (a whole Config), TIMEOUT (seconds a
form waits for the probe before it takes the offline verdict), OFFLINE (no DNS, no SMTP: for
tests), CACHE_SIZE, CACHE_TTL, and the default policy: REJECT_RISKY, REJECT_DISPOSABLE,
REJECT_ROLE, REJECT_UNKNOWN. Every form of the process shares one Verifier per settings.

Validators are sync. In a sync view the check waits up to TIMEOUT. In an `async def` view, run
`form.is_valid()` through `sync_to_async` (Django's way): the check then waits in a worker
thread, not in the event loop; called in the loop directly it answers offline without blocking.
Needs the `django` extra.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.deconstruct import deconstructible

from engine.integrations._policy import Policy
from engine.integrations._shared import Settings, SharedVerifier, read_settings, shared_verifier
from engine.model import Result

__all__ = ["EmailVerificationValidator", "VerifiedEmailField", "mailprobe_settings", "verifier"]


def mailprobe_settings() -> tuple[Settings, Policy]:
    """Settings and the default Policy read from `settings.MAILPROBE` (empty if absent)."""
    try:
        return read_settings(getattr(settings, "MAILPROBE", {}))
    except ValueError as exc:
        raise ImproperlyConfigured(f"MAILPROBE: {exc}") from exc


def verifier() -> SharedVerifier:
    """The process's shared verifier for the current `settings.MAILPROBE`."""
    return shared_verifier(mailprobe_settings()[0])


def _policy(overrides: dict[str, bool | None]) -> Policy:
    base = mailprobe_settings()[1]
    chosen = {name: value for name, value in overrides.items() if value is not None}
    return Policy(**{**_fields(base), **chosen})


def _fields(policy: Policy) -> dict[str, bool]:
    return {
        "reject_risky": policy.reject_risky,
        "reject_disposable": policy.reject_disposable,
        "reject_role": policy.reject_role,
        "reject_unknown": policy.reject_unknown,
    }


@deconstructible(path="engine.integrations.django.EmailVerificationValidator")
class EmailVerificationValidator:
    """Refuses what the policy refuses: MAILPROBE's, with the options given here on top.

    Usable on a model field (`validators=[EmailVerificationValidator()]`): it deconstructs
    for migrations. An option left at None follows MAILPROBE.
    """

    def __init__(
        self,
        *,
        reject_risky: bool | None = None,
        reject_disposable: bool | None = None,
        reject_role: bool | None = None,
        reject_unknown: bool | None = None,
    ) -> None:
        self.options = {
            "reject_risky": reject_risky,
            "reject_disposable": reject_disposable,
            "reject_role": reject_role,
            "reject_unknown": reject_unknown,
        }

    def __call__(self, value: str) -> None:
        self.check(value)

    def check(self, value: str) -> Result:
        """The Result for `value`; raises ValidationError when the policy refuses it."""
        verdict = _policy(self.options).apply(verifier().check(value))
        rejection = verdict.rejection
        if rejection is not None:
            raise ValidationError(rejection.message, code=rejection.code, params=rejection.context)
        return verdict.result

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EmailVerificationValidator) and self.options == other.options

    def __hash__(self) -> int:
        return hash(tuple(self.options.items()))


class VerifiedEmailField(forms.EmailField):  # type: ignore[misc]
    """Django's EmailField, then mailprobe's check; cleans to the normalized address.

    After a successful clean, `field.result` holds the Result (its flags, score, suggestion).
    """

    def __init__(
        self,
        *,
        reject_risky: bool | None = None,
        reject_disposable: bool | None = None,
        reject_role: bool | None = None,
        reject_unknown: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.verification = EmailVerificationValidator(
            reject_risky=reject_risky,
            reject_disposable=reject_disposable,
            reject_role=reject_role,
            reject_unknown=reject_unknown,
        )
        self.result: Result | None = None

    def clean(self, value: Any) -> Any:
        # Django's own checks first: an address it refuses is not worth a probe.
        cleaned = super().clean(value)
        if cleaned in self.empty_values:
            return cleaned
        self.result = self.verification.check(cleaned)
        return self.result.email or cleaned

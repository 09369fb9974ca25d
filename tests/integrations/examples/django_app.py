from asgiref.sync import sync_to_async
from django import forms
from django.http import HttpRequest, JsonResponse
from django.urls import path

from engine.integrations.django import VerifiedEmailField


class SignupForm(forms.Form):
    name = forms.CharField(max_length=100)
    email = VerifiedEmailField()  # refuses what MAILPROBE's policy refuses


def signup(request: HttpRequest) -> JsonResponse:
    form = SignupForm(request.POST)
    if not form.is_valid():  # waits up to MAILPROBE["TIMEOUT"] in this worker thread
        return JsonResponse({"errors": form.errors.get_json_data()}, status=422)
    return _created(form)


async def signup_async(request: HttpRequest) -> JsonResponse:
    form = SignupForm(request.POST)
    # Validators are sync: run them in a worker thread so the event loop never waits.
    if not await sync_to_async(form.is_valid)():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=422)
    return _created(form)


def _created(form: SignupForm) -> JsonResponse:
    result = form.fields["email"].result  # the full Result: state, reason, flags, score
    return JsonResponse(
        {
            "email": form.cleaned_data["email"],
            "state": result.state.value,
            "reason": result.reason.value,
        },
        status=201,
    )


urlpatterns = [path("signup", signup), path("signup-async", signup_async)]

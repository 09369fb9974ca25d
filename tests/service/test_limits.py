"""Bad input, limits and faults, in process: every refusal is a 4xx JSON error that says what to
fix, never a 500 (a fuzz test posts random bodies to every route)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.inprocess import Running, running


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Running]:
    async with running(None, tmp_path, max_body_bytes=4096, max_upload_bytes=1 << 20) as r:
        yield r


def _h(svc: Running, **extra: str) -> dict[str, str]:
    return {"X-API-Key": svc.key, **extra}


async def test_bad_bodies_get_a_4xx_that_says_what_to_fix(svc: Running) -> None:
    c = svc.client
    cases = [
        ("/v1/verify", b"{not json", "application/json", 400, "malformed_json"),
        ("/v1/verify", b"[1, 2]", "application/json", 400, "not_an_object"),
        ("/v1/verify", b"<email/>", "application/xml", 415, "unsupported_media_type"),
        ("/v1/verify", b"{}", "application/json", 400, "missing_email"),
        ("/v1/verify", b'{"email": 5}', "application/json", 400, "bad_field"),
        ("/v1/verify", b'{"email": "a@b.c", "timeout": -1}', "application/json", 400,
         "bad_timeout"),
        ("/v1/verify", b"x" * 5000, "application/json", 413, "body_too_large"),
        ("/v1/jobs", b'{"emails": []}', "application/json", 400, "bad_emails"),
        ("/v1/jobs", b'{"emails": ["a@b.c", 3]}', "application/json", 400, "bad_emails"),
        ("/v1/jobs", b"", "text/csv", 400, "bad_csv"),
        ("/v1/jobs", b"a,b\n1,2\n", "multipart/form-data; boundary=zz", 400, "bad_multipart"),
    ]  # fmt: skip
    for path, body, kind, status, code in cases:
        reply = await c.post(path, content=body, headers=_h(svc, **{"Content-Type": kind}))
        assert reply.status_code == status, (path, body[:40], reply.text)
        error = reply.json()["error"]
        assert error["code"] == code and len(error["message"]) > 10, error
    big = await c.post(
        "/v1/jobs",
        content=b"e\n" + b"a@b.test\n" * 200_000,
        headers=_h(svc, **{"Content-Type": "text/csv"}),
    )
    assert big.status_code == 413 and "larger than" in big.json()["error"]["message"]
    missing = await c.get("/v1/nothing", headers=_h(svc))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = await c.put("/v1/verify", headers=_h(svc))
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


async def test_rate_limit_answers_429_with_the_headers_a_client_can_follow(tmp_path: Path) -> None:
    async with running(None, tmp_path, rate_per_s=0.01, burst=3) as svc:
        other = svc.new_key("other")
        seen = []
        for _ in range(3):
            reply = await svc.client.get("/version", headers=_h(svc))
            assert reply.status_code == 200
            seen.append(int(reply.headers["RateLimit-Remaining"]))
            assert reply.headers["RateLimit-Limit"] == "3"
        assert seen == [2, 1, 0]
        refused = await svc.client.get("/v1/verify?email=a@b.test", headers=_h(svc))
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert int(refused.headers["RateLimit-Reset"]) >= int(refused.headers["Retry-After"])
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert "retry in" in refused.json()["error"]["message"]
        # Another key has its own bucket.
        assert (await svc.client.get("/version", headers={"X-API-Key": other})).status_code == 200
        # /healthz needs no key and is never limited.
        assert (await svc.client.get("/healthz")).status_code == 200


async def test_metrics_count_requests_checks_and_rows(svc: Running) -> None:
    c = svc.client
    await c.get("/v1/verify?email=john@gmail.com", headers=_h(svc))
    await c.get("/v1/verify", headers=_h(svc))
    text = (await c.get("/metrics", headers=_h(svc))).text
    assert 'mailprobe_http_requests_total{route="/v1/verify",status="200"} 1' in text
    assert 'mailprobe_http_requests_total{route="/v1/verify",status="400"} 1' in text
    assert "# TYPE mailprobe_checks_total counter" in text
    assert "mailprobe_uptime_seconds" in text


_PATHS = st.sampled_from(
    [
        "/v1/verify", "/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/results", "/v1/jobs/{id}/cancel",
        "/v1/jobs/{id}/deliveries", "/version", "/metrics", "/healthz", "/v1/webhooks/secret",
        "/kickbox/v2/verify", "/emailable/v1/verify", "/emailable/v1/batch",
        "/byteplant/api/verify", "/mailvalid/api/v1/verify", "/mailvalid/api/v1/bulk/verify",
        "/mailvalid/api/v1/bulk/{id}", "/reacher/v0/check_email", "/reacher/v1/check_email",
        "/docs", "/openapi.json", "/kickbox/v2/verify-batch", "/kickbox/v2/verify-batch/{n}",
        "/kickbox/v2/verify-batch/{n}/download", "/reacher/v1/bulk", "/reacher/v0/bulk",
        "/reacher/v1/bulk/{n}", "/reacher/v1/bulk/{n}/results",
    ]
)  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "email": _JSON | st.just("user@example.com"),
        "emails": _JSON | st.lists(st.text(max_size=20), max_size=5),
        "to_email": _JSON,
        "timeout": _JSON,
        "callback_url": _JSON,
        "url": _JSON,
        "webhook_url": _JSON,
        "metadata": _JSON,
        "webhook_secret": _JSON,
        "smtp_timeout": _JSON,
        "input": _JSON | st.lists(st.text(max_size=20), max_size=5),
        "webhook": _JSON,
    },
)
_BODIES = (
    st.binary(max_size=300)
    | _JSON.map(lambda v: __import__("json").dumps(v).encode())
    | _FIELDS.map(lambda v: __import__("json").dumps(v).encode())
)
_TYPES = st.sampled_from(
    ["application/json", "text/csv", "text/plain", "multipart/form-data; boundary=b",
     "multipart/form-data", "application/x-www-form-urlencoded", "application/xml", ""]
)  # fmt: skip


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
    path=_PATHS,
    body=_BODIES,
    kind=_TYPES,
    query=st.dictionaries(
        st.sampled_from(
            [
                "email",
                "timeout",
                "column",
                "format",
                "state",
                "id",
                "correct",
                "partial",
                "metadata",
                "callback_url",
                "limit",
                "offset",
                "expires",
                "signature",
            ]
        ),
        st.text(max_size=12),
        max_size=3,
    ),
)
async def test_random_requests_never_get_a_500(
    svc: Running, method: str, path: str, body: bytes, kind: str, query: dict[str, str]
) -> None:
    c = svc.client
    path = path.replace("{id}", str(uuid.uuid4())).replace("{n}", str(uuid.uuid4().int >> 80))
    headers = {
        "X-API-Key": svc.key,
        "Authorization": f"Bearer {svc.key}",
        "x-reacher-secret": svc.key,
    }
    if kind:
        headers["Content-Type"] = kind
    params = {**query, "api_key": svc.key, "apikey": svc.key, "key": svc.key}
    reply = await c.request(method, path, content=body, headers=headers, params=params)
    assert reply.status_code < 500, (method, path, body[:80], kind, reply.text[:300])
    if reply.status_code >= 400 and not path.startswith("/reacher"):
        assert reply.headers["content-type"].startswith("application/json"), reply.text[:200]

"""The console's server side, in process: its files and security headers, sign-in sessions and
their CSRF tokens on the native API, and keys over HTTP."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from engine.service.app import create_app
from engine.service.keys import create_key, revoke_key
from engine.service.routes.console import CSP, load_assets
from engine.service.sessions import COOKIE, open_session
from engine.service.store import connect
from tests.service.inprocess import Running, running

CONSOLE = Path(__file__).resolve().parents[2] / "engine" / "console"


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Running]:
    async with running(None, tmp_path) as r:
        yield r


async def sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Sign in; returns the CSRF token (the client keeps the cookie)."""
    reply = await client.post("/console/session", json={"key": key})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["csrf_token"])


def fresh_client(svc: Running, base_url: str = "http://service.test") -> httpx.AsyncClient:
    # Another client of the same service: a browser of its own, with its own cookies.
    transport = httpx.ASGITransport(app=create_app(svc.service, manage_service=False))
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30)


# -- files and headers -----------------------------------------------------------------------


async def test_pages_and_assets_are_served_with_a_strict_policy(svc: Running) -> None:
    page = await svc.client.get("/console/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'",
                      "frame-ancestors 'none'", "base-uri 'none'"):  # fmt: skip
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    # Every module the page loads, and every module those import, is served as JavaScript.
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        reply = await svc.client.get(f"/console/{name}")
        assert reply.status_code == 200, name
        assert reply.headers["content-type"].startswith("text/javascript")
        assert reply.headers["content-security-policy"] == CSP
        pending += re.findall(r'from "\./([\w.-]+\.js)"', reply.text)
    assert len(seen) >= 8
    css = await svc.client.get("/console/console.css")
    assert css.headers["content-type"].startswith("text/css")
    # Revalidation: the same file again is a 304 without a body.
    again = await svc.client.get(
        "/console/console.css", headers={"If-None-Match": css.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert (await svc.client.get("/console")).headers["location"] == "/console/"
    assert (await svc.client.get("/")).headers["location"] == "/console/"


async def test_only_the_packaged_files_are_served(svc: Running) -> None:
    for path in ("/console/__init__.py", "/console/../service.sqlite3", "/console/%2e%2e/app.py",
                 "/console/nothing.js", "/console/.hidden"):  # fmt: skip
        reply = await svc.client.get(path)
        assert reply.status_code == 404, path
    names = set(load_assets())
    on_disk = {p.name for p in CONSOLE.iterdir() if p.suffix in (".html", ".css", ".js", ".svg")}
    assert names == on_disk


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.ids: set[str] = set()
        self.labels: set[str] = set()
        self.fields: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "style":
            self.problems.append("a <style> element")
        if tag == "script" and not a.get("src"):
            self.problems.append("an inline <script>")
        self.problems += [f"{tag} has {k}" for k in a if k == "style" or k.startswith("on")]
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") != "checkbox":
            self.fields.append(str(a.get("id")))


def test_the_markup_has_no_inline_code_and_every_field_a_label() -> None:
    markup = _Markup()
    markup.feed((CONSOLE / "index.html").read_text(encoding="utf-8"))
    assert markup.problems == []
    assert markup.fields and all(f in markup.labels for f in markup.fields), markup.fields


def test_the_scripts_never_write_markup() -> None:
    # Values reach the page through textContent and DOM nodes only.
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
        r"setAttribute\(\"style\"|https?://(?!www\.w3\.org)"
    )
    for path in sorted(CONSOLE.glob("*.js")):
        found = forbidden.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.name}: {found}"
    html = (CONSOLE / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "no external resource"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_colours_meet_wcag_aa_contrast() -> None:
    css = (CONSOLE / "console.css").read_text(encoding="utf-8")
    var = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6});", css))
    white = "#ffffff"
    pairs = [("ink", "card"), ("muted", "card"), ("muted", "bg"), ("ink", "bg"),
             ("accent", "card"), ("accent-ink", "accent"), ("undeliverable", "card")]  # fmt: skip
    pairs += [(state, "white") for state in ("deliverable", "undeliverable", "risky", "unknown")]
    for fg, bg in pairs:
        a = var.get(fg, white if fg == "white" else None)
        b = var.get(bg, white if bg == "white" else None)
        assert a and b, (fg, bg)
        assert _contrast(a, b) >= 4.5, f"{fg} on {bg}: {_contrast(a, b):.2f}"


# -- sessions --------------------------------------------------------------------------------


async def test_sign_in_sets_a_strict_cookie_stored_only_as_a_hash(svc: Running) -> None:
    c = svc.client
    assert (await c.get("/console/session")).json() == {"key": None}
    bad = await c.post("/console/session", json={"key": "mp_wrong"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_key"
    form = await c.post("/console/session", data={"key": svc.key})
    assert form.status_code == 415, "a cross-site form must not sign anyone in"
    reply = await c.post("/console/session", json={"key": svc.key})
    assert reply.status_code == 200
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(COOKIE + "=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "samesite=strict" in cookie.lower() and "secure" not in attributes
    assert reply.headers["cache-control"] == "no-store"
    body = reply.json()
    assert body["key"]["name"] == "k" and body["key"]["admin"] is False
    assert len(body["csrf_token"]) >= 40 and body["csrf_header"] == "X-CSRF-Token"
    value = cookie.split(";")[0].split("=", 1)[1]
    db = sqlite3.connect(svc.service.store.path)
    try:
        stored = [r[0] for r in db.execute("SELECT hash FROM sessions")]
    finally:
        db.close()
    assert stored == [hashlib.sha256(value.encode()).hexdigest()]
    assert value.encode() not in svc.service.store.path.read_bytes()
    mine = await c.get("/console/session")
    assert mine.json()["csrf_token"] == body["csrf_token"]
    # Signing in again replaces the session: the old id ends.
    again = await c.post("/console/session", json={"key": svc.key})
    assert again.json()["csrf_token"] != body["csrf_token"]
    old = await c.get("/v1/jobs", headers={"Cookie": f"{COOKIE}={value}"})
    assert old.status_code == 401
    async with fresh_client(svc, "https://service.test") as tls:
        secure = await tls.post("/console/session", json={"key": svc.key})
        assert "secure" in secure.headers["set-cookie"].lower()


async def test_a_session_stands_in_for_its_key_only_with_the_csrf_token(svc: Running) -> None:
    c = svc.client
    csrf = await sign_in(c, svc.key)
    assert (await c.get("/v1/jobs")).json()["jobs"] == []
    body = {"emails": ["a@example.com"]}
    refused = await c.post("/v1/jobs", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_token_invalid"
    wrong = await c.post("/v1/jobs", json=body, headers={"X-CSRF-Token": csrf[:-1] + "x"})
    assert wrong.status_code == 403
    made = await c.post("/v1/jobs", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    job_id = made.json()["id"]
    # A text/plain body is what a cross-site form can send: still refused without the token.
    plain = await c.post(
        "/v1/jobs", content=b"a@example.com\n", headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 403
    assert (await c.delete(f"/v1/jobs/{job_id}")).status_code == 403
    assert (await c.post(f"/v1/jobs/{job_id}/cancel")).status_code == 403
    assert (await c.get(f"/v1/jobs/{job_id}")).status_code == 200
    assert (await c.get("/v1/verify?email=a@example.com")).json()["input"] == "a@example.com"
    # Faces and operations keep their own keys: a console session is not one.
    assert (await c.get("/kickbox/v2/verify?email=a@example.com")).status_code != 200
    assert (await c.get("/metrics")).status_code == 401
    # The native API's keys work as before, cookie or not.
    keyed = await c.post("/v1/jobs", json=body, headers={"X-API-Key": svc.key})
    assert keyed.status_code == 201
    deleted = await c.delete(f"/v1/jobs/{job_id}", headers={"X-CSRF-Token": csrf})
    assert deleted.json() == {"id": job_id, "deleted": True}


async def test_a_session_sees_only_its_own_keys_jobs(svc: Running) -> None:
    other = svc.new_key("other")
    theirs = await svc.client.post(
        "/v1/jobs", json={"emails": ["a@example.com"]}, headers={"X-API-Key": svc.key}
    )
    job_id = theirs.json()["id"]
    async with fresh_client(svc) as c:
        csrf = await sign_in(c, other)
        assert (await c.get("/v1/jobs")).json()["jobs"] == []
        for method, path in (("GET", f"/v1/jobs/{job_id}"), ("GET", f"/v1/jobs/{job_id}/results"),
                             ("GET", f"/v1/jobs/{job_id}/events"),
                             ("GET", f"/v1/jobs/{job_id}/deliveries"),
                             ("POST", f"/v1/jobs/{job_id}/cancel"),
                             ("DELETE", f"/v1/jobs/{job_id}")):  # fmt: skip
            reply = await c.request(method, path, headers={"X-CSRF-Token": csrf})
            assert reply.status_code == 404, (method, path)


async def test_sign_out_revoke_and_expiry_end_a_session(svc: Running) -> None:
    c = svc.client
    csrf = await sign_in(c, svc.key)
    refused = await c.delete("/console/session")
    assert refused.status_code == 403, "no other site may sign a visitor out"
    out = await c.delete("/console/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200 and "max-age=0" in out.headers["set-cookie"].lower()
    assert (await c.get("/console/session")).json() == {"key": None}
    # An ended session's cookie, sent again, is refused with a word to sign in again.
    csrf = await sign_in(c, svc.key)
    cookie = c.cookies[COOKIE]
    await c.delete("/console/session", headers={"X-CSRF-Token": csrf})
    ended = await c.get("/v1/jobs", headers={"Cookie": f"{COOKIE}={cookie}"})
    assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_ended"

    # Revoking the key ends its sessions at once.
    other = svc.new_key("short-lived")
    async with fresh_client(svc) as d:
        await sign_in(d, other)
        assert (await d.get("/v1/jobs")).status_code == 200
        revoke_key(svc.service.store, "short-lived")
        assert (await d.get("/v1/jobs")).status_code == 401
        assert (await d.get("/console/session")).json() == {"key": None}

    # A session past its end is gone.
    key = await svc.service.keys.resolve(svc.key)
    assert key is not None
    old = await open_session(svc.service.store, key, ttl_s=-1.0)
    expired = await c.get("/v1/jobs", headers={"Cookie": f"{COOKIE}={old.cookie}"})
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "session_ended"


# -- keys over HTTP --------------------------------------------------------------------------


async def test_keys_are_managed_over_http_by_admin_keys_only(svc: Running) -> None:
    c = svc.client
    plain = {"X-API-Key": svc.key}
    mine = (await c.get("/v1/keys", headers=plain)).json()
    assert mine["admin"] is False and [k["name"] for k in mine["keys"]] == ["k"]
    assert mine["keys"][0]["current"] is True
    denied = await c.post("/v1/keys", json={"name": "x"}, headers=plain)
    assert denied.status_code == 403 and "--admin" in denied.json()["error"]["message"]
    assert (await c.delete(f"/v1/keys/{mine['keys'][0]['id']}", headers=plain)).status_code == 403

    boss = {"X-API-Key": create_key(svc.service.store, "boss", admin=True)}
    made = await c.post("/v1/keys", json={"name": "crm"}, headers=boss)
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    new = made.json()
    assert new["key"].startswith("mp_") and new["name"] == "crm" and new["admin"] is False
    assert (await c.get("/v1/jobs", headers={"X-API-Key": new["key"]})).status_code == 200
    listed = (await c.get("/v1/keys", headers=boss)).json()["keys"]
    assert [k["name"] for k in listed] == ["k", "boss", "crm"]
    assert all("key" not in k and "hash" not in k for k in listed)
    assert (await c.post("/v1/keys", json={"name": "crm"}, headers=boss)).status_code == 409
    assert (await c.post("/v1/keys", json={"name": "two words"}, headers=boss)).status_code == 400
    assert (
        await c.post("/v1/keys", json={"name": "a", "admin": "maybe"}, headers=boss)
    ).status_code == 400
    gone = await c.delete(f"/v1/keys/{new['id']}", headers=boss)
    assert gone.json() == {"id": new["id"], "revoked": True}
    assert (await c.delete(f"/v1/keys/{new['id']}", headers=boss)).status_code == 404
    after = {k["name"]: k for k in (await c.get("/v1/keys", headers=boss)).json()["keys"]}
    assert after["crm"]["revoked_at"] is not None and after["k"]["revoked_at"] is None
    assert await svc.service.store.key_by_hash(hashlib.sha256(new["key"].encode()).hexdigest())

    # Through a console session, making a key needs the CSRF token like every change.
    async with fresh_client(svc) as d:
        csrf = await sign_in(d, boss["X-API-Key"])
        assert (await d.post("/v1/keys", json={"name": "web"})).status_code == 403
        ok = await d.post(
            "/v1/keys", json={"name": "web", "admin": True}, headers={"X-CSRF-Token": csrf}
        )
        assert ok.status_code == 201 and ok.json()["admin"] is True


def test_keys_create_admin_on_the_command_line(tmp_path: Path) -> None:
    def run(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "engine", "keys", *args, "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert run("create", "--name", "ops", "--admin").startswith("mp_")
    run("create", "--name", "app")
    lines = run("list").splitlines()
    assert lines[0].startswith("ops\tactive") and lines[0].endswith("\tadmin")
    assert lines[1].startswith("app\tactive") and not lines[1].endswith("admin")


def test_an_older_database_gains_the_admin_column(tmp_path: Path) -> None:
    path = tmp_path / "service.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE keys (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, hash TEXT NOT NULL "
        "UNIQUE, webhook_secret TEXT NOT NULL, created REAL NOT NULL, revoked REAL)"
    )
    old.execute("INSERT INTO keys VALUES ('1', 'legacy', 'h', 'whsec_x', 1.0, NULL)")
    old.commit()
    old.close()
    for _ in range(2):  # a second connection finds the column there
        db = connect(path)
        rows = db.execute("SELECT name, admin FROM keys").fetchall()
        db.close()
    assert rows == [("legacy", 0)]

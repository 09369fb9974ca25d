"""The console in a real browser: headless Chromium from Debian's packages, driven by Playwright,
against a `mailprobe serve` process and the loopback mail world of the service's tests.

One test walks the whole flow (sign in, check one address, drop a CSV of a few hundred rows,
watch the job over server-sent events, download the results and compare them with the CLI's
output for the same file); another checks that a second key sees nothing of the first key's
jobs, and makes and revokes keys. Both fail if a dialog ever opens or a script error happens.
Screenshots of each page land in tests/console/screenshots/ (git-ignored).
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.service.receiver import receiving
from tests.service.world import USERS, Server, World, mail_world, make_key, serving

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
# No first-run work, no update or sync traffic: the machine running the tests may have no way
# out, and the tests must not try. Playwright gives every launch a fresh profile directory.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SHOTS = Path(__file__).resolve().parent / "screenshots"
XSS = '"<img src=x onerror=alert(1)>"@example.com'
WAIT_MS = 30_000  # the longest any one step may take before the test fails


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: run tests/console/install.sh")
    if importlib.util.find_spec("playwright") is None:
        _unavailable("playwright is missing: pip install -e '.[browser]'")
    from playwright.async_api import async_playwright

    SHOTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    # shop.com has a mail host here, so a typed shop.con gets it as a suggestion.
    async with mail_world({"shop.com": {"MX": [(10, "mx.shop.test")]}}) as w:
        yield w


@pytest.fixture
async def server(world: World, tmp_path: Path) -> AsyncIterator[Server]:
    flags = [*world.engine_flags(), "--cache", str(tmp_path / "cache.sqlite3"),
             "--allow-private-callbacks", "--slow-after", "0.5"]  # fmt: skip
    async with serving(tmp_path / "data", flags) as s:
        yield s


@dataclass
class Watch:
    """What a page did that a test must see: dialogs, script errors, requests."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # 4xx answers Chromium logs as errors
    requests: list[tuple[str, str]] = field(default_factory=list)

    def on_console(self, kind: str, text: str) -> None:
        if kind == "error":
            (self.refused if text.startswith("Failed to load resource") else self.errors).append(
                text
            )

    def clean(self) -> None:
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.errors == [], f"script errors: {self.errors}"


def job_lists(watch: Watch) -> int:
    """How many times the page asked for the jobs list (any page of it)."""
    return sum(1 for m, u in watch.requests if m == "GET" and urlsplit(u).path == "/v1/jobs")


async def open_page(
    context: BrowserContext, url: str, watch: Watch, *, wait_ready: bool = True
) -> Page:
    page = await context.new_page()

    async def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    page.on("console", lambda msg: watch.on_console(msg.type, msg.text))
    page.on("request", lambda req: watch.requests.append((req.method, req.url)))
    page.set_default_timeout(WAIT_MS)
    await page.goto(url)
    if wait_ready:
        await page.wait_for_selector("body[data-ready=true]")
    return page


async def sign_in(page: Page, key: str) -> None:
    await page.wait_for_selector("#page-signin:not([hidden])")
    await page.fill("#signin-key", key)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("#nav:not([hidden])")


async def shot(page: Page, name: str, *, full: bool = True) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def contacts(n_users: int) -> tuple[str, list[list[str]]]:
    """A CSV of about `n_users` rows: mailboxes, missing ones, an empty cell, duplicates, the
    script-in-an-address row, and three held addresses last (they settle only when released)."""
    rows = [["name", "email", "city"]]
    for i in range(n_users):
        rows.append([f"Person {i}", USERS[i], "Oslo" if i % 2 else "Rome"])
        if i % 25 == 3:
            rows.append([f"Ghost {i}", f"ghost{i}@shop.test", "Lima"])
        if i == 1:
            rows.append(["Mallory", XSS, "<b>Paris</b>"])
            rows.append(["Nobody", "", "Kyiv"])
            rows.append(["Bad", "not-an-address", "Quito"])
        if i % 100 == 50:
            rows.append([f"Again {i}", USERS[i].upper(), "Oslo"])
    rows += [[f"Held {i}", f"held{i}@slow.test", "Bern"] for i in range(3)]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue(), rows


def _comparable(row: dict[str, str]) -> dict[str, str]:
    """A result row without its position and its timings, which differ run to run."""
    return {k: v for k, v in row.items() if k != "index" and not k.endswith("_ms")}


async def cli_csv(world: World, source: Path, tmp_path: Path) -> list[dict[str, str]]:
    out = tmp_path / "cli.csv"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", "verify", "-i", str(source), "--column", "email",
        "--format", "csv", "-q", "--no-cache", "-o", str(out), *world.engine_flags(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode in (0, 1), err.decode()
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))


async def test_sign_in_check_upload_watch_and_download(
    browser: Browser, server: Server, world: World, tmp_path: Path
) -> None:
    key = await make_key(tmp_path / "data", "alice")
    watch = Watch()
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await open_page(context, server.url + "/", watch)
    assert page.url.endswith("/console/")
    await shot(page, "01-sign-in")
    await page.fill("#signin-key", "mp_not-a-key")
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("#signin-error:has-text('unknown or revoked')")
    await sign_in(page, key)
    await page.wait_for_selector("#page-check:not([hidden])")
    assert await page.text_content("#who-name") == "alice"

    # One address: the verdict and its evidence.
    await page.fill("#check-email", "user7@shop.test")
    await page.press("#check-email", "Enter")
    result = page.locator("#check-result .result")
    await result.wait_for()
    assert await result.get_attribute("data-state") == "deliverable"
    facts = await page.text_content("#check-result dl.facts")
    assert facts is not None
    assert "Success" in facts and "mx.shop.test" in facts and "250" in facts
    await page.click("#check-result details summary")
    raw = json.loads(await page.text_content("#check-result pre.raw") or "{}")
    assert raw["email"] == "user7@shop.test" and raw["state"] == "deliverable"
    await shot(page, "02-check")
    # A typo: the suggestion is a button that checks the corrected address.
    await page.fill("#check-email", "user8@shop.con")
    await page.click("#check-form button[type=submit]")
    suggestion = page.locator("#check-result button.suggestion")
    await suggestion.wait_for()
    assert await suggestion.text_content() == "user8@shop.com"
    await suggestion.click()
    await page.wait_for_function(
        "() => JSON.parse(document.querySelector('#check-result pre.raw')?.textContent || '{}')"
        ".input === 'user8@shop.com'"
    )
    assert await page.input_value("#check-email") == "user8@shop.com"
    # An address carrying markup is shown as the text it is.
    await page.fill("#check-email", XSS)
    await page.click("#check-form button[type=submit]")
    await page.wait_for_selector("#check-result .result")
    await page.wait_for_function(
        "t => document.querySelector('#check-result .address').textContent === t", arg=XSS
    )
    assert await page.locator("#check-result img").count() == 0

    # A list, dropped on the page.
    text, rows = contacts(300)
    source = tmp_path / "contacts.csv"
    source.write_text(text, encoding="utf-8")
    await page.click("nav a[href='#/upload']")
    await page.wait_for_selector("#page-upload:not([hidden])")
    dropped = await page.evaluate_handle(
        """([text, name]) => {
            const data = new DataTransfer();
            data.items.add(new File([text], name, {type: "text/csv"}));
            return data;
        }""",
        [text, "contacts.csv"],
    )
    await page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    await page.wait_for_selector("#upload-form:not([hidden])")
    body = rows[1:]
    emails = [r[1].strip().lower() for r in body]
    filled = [e for e in emails if e]
    expected = (
        f"{len(body)} addresses, {len(filled) - len(set(filled))} duplicates, "
        f"{len(emails) - len(filled)} empty"
    )
    assert await page.text_content("#upload-summary") == expected
    assert await page.input_value("#upload-column") == "1"
    await page.select_option("#upload-column", "2")  # the city: the counts follow the column
    assert await page.text_content("#upload-summary") != expected
    await page.select_option("#upload-column", "1")
    assert await page.text_content("#upload-summary") == expected
    xss_cell = page.locator("#upload-preview td", has_text=XSS)
    assert await xss_cell.count() == 1 and await xss_cell.text_content() == XSS
    assert await page.locator("#upload-preview td", has_text="<b>Paris</b>").count() == 1
    assert await page.locator("#upload-preview img, #upload-preview b").count() == 0
    await shot(page, "03-upload")

    # The job: live progress over server-sent events until the held addresses are released.
    lists_before = job_lists(watch)
    await page.click("#upload-start")
    row = page.locator("#jobs-body tr[data-job-id]").first
    await row.wait_for()
    job_id = await row.get_attribute("data-job-id")
    assert job_id
    total = len(body)
    # The held addresses come last: once the held server is asked, the job cannot finish
    # until the test says so, and the page shows it running.
    for _ in range(WAIT_MS // 20):
        if world.slow.stats.count("RCPT"):
            break
        await asyncio.sleep(0.02)
    assert world.slow.stats.count("RCPT"), "the held server was never asked"
    await page.wait_for_selector(f"tr[data-job-id='{job_id}'][data-status=running]")
    await page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel)?.textContent || '').startsWith(text)",
        arg=[f"tr[data-job-id='{job_id}'] .progress-text", f"{total - 3} of {total} ("],
    )
    # Held rows are no "0 s" to go: the page says what the job waits on.
    await page.wait_for_function(
        "([sel, text]) => document.querySelector(sel)?.textContent === text",
        arg=[f"tr[data-job-id='{job_id}'] .eta", "waiting on 3 slow addresses"],
    )
    hint = await page.get_attribute(f"tr[data-job-id='{job_id}'] .eta", "title")
    assert hint is not None and hint.startswith("at most ")
    # The first results fill in while the job runs, the markup in an address as plain text.
    first = page.locator(f"#details-{job_id} .first-results td.input", has_text=XSS)
    await first.wait_for()
    assert await first.text_content() == XSS
    assert world.slow.release.is_set() is False
    await shot(page, "04-jobs-running", full=False)
    world.slow.release.set()
    done = page.locator(f"tr[data-job-id='{job_id}'][data-status=completed]")
    await done.wait_for()
    lists_after = job_lists(watch)
    assert lists_after - lists_before == 1, "the jobs page polled instead of listening"
    assert ("GET", f"{server.url}/v1/jobs/{job_id}/events") in watch.requests
    assert await done.locator(".eta").text_content() == "done"
    chart = page.locator(f"#details-{job_id} svg.chart").first
    await chart.wait_for()
    assert await chart.get_attribute("role") == "img"
    assert await page.locator(f"#details-{job_id} img").count() == 0
    await shot(page, "05-jobs-done")

    # Downloads: all rows as CSV (the input columns kept), one state as JSONL.
    async with page.expect_download() as caught:
        await page.click(f"#details-{job_id} a:has-text('CSV')")
    download = await caught.value
    assert download.suggested_filename.endswith(".csv")
    served = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text("utf-8"))))
    await page.select_option(f"#dl-state-{job_id}", "undeliverable")
    async with page.expect_download() as caught:
        await page.click(f"#details-{job_id} a:has-text('JSONL')")
    lines = Path(await (await caught.value).path()).read_text("utf-8").splitlines()
    undeliverable = [json.loads(line) for line in lines]
    assert undeliverable and {r["state"] for r in undeliverable} == {"undeliverable"}
    assert len(undeliverable) == sum(1 for r in served if r["state"] == "undeliverable")

    # The same file through the CLI: same rows, columns, states and reasons.
    cli = await cli_csv(world, source, tmp_path)
    assert [r["index"] for r in served] == [str(i) for i in range(total)]
    assert [k for k in served[0] if k != "index"] == list(cli[0])
    assert [(r["name"], r["email"], r["city"]) for r in served] == [tuple(r) for r in body]
    assert [_comparable(r) for r in served] == [_comparable(r) for r in cli]
    states = {r["state"] for r in served}
    assert {"deliverable", "undeliverable"} <= states

    # Page weight: the jobs page loaded cold in a new browser of the same session.
    cold = await browser.new_context(viewport={"width": 1280, "height": 860})
    await cold.add_cookies(await context.cookies())
    sizes: list[Any] = []
    weight_page = await cold.new_page()
    weight_page.on("requestfinished", lambda req: sizes.append(req))
    await weight_page.goto(server.url + "/console/#/jobs")
    await weight_page.wait_for_selector(f"tr[data-job-id='{job_id}']")
    await weight_page.wait_for_load_state("networkidle")
    measured = {}
    for req in sizes:
        got = await req.sizes()
        measured[req.url.removeprefix(server.url)] = (
            got["responseBodySize"] + got["responseHeadersSize"]
        )
    weight = sum(measured.values())
    (SHOTS / "page-weight.json").write_text(
        json.dumps({"jobs_page_bytes": weight, "responses": measured}, indent=1)
    )
    print(f"\njobs page: {weight} bytes in {len(measured)} responses")
    assert "/console/app.js" in measured
    assert any(urlsplit(url).path == "/v1/jobs" for url in measured)
    assert weight < 150_000, measured
    await cold.close()

    watch.clean()
    assert len(watch.refused) == 1 and "401" in watch.refused[0]  # the wrong key, at sign-in
    await context.close()


async def test_a_second_key_sees_nothing_and_keys_are_made_and_revoked(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    admin = await make_key(tmp_path / "data", "owner", admin=True)
    async with server.client(admin) as api:
        job_id = (await api.post("/v1/jobs", json={"emails": USERS[:5]})).json()["id"]
    watch_a, watch_b = Watch(), Watch()
    ctx_a = await browser.new_context(viewport={"width": 1280, "height": 860})
    page_a = await open_page(ctx_a, server.url + "/console/#/keys", watch_a)
    await sign_in(page_a, admin)  # and on to the page asked for
    await page_a.wait_for_selector("#keys-form:not([hidden])")
    await page_a.fill("#keys-name", "second")
    await page_a.click("#keys-form button[type=submit]")
    await page_a.wait_for_selector("#keys-new:not([hidden])")
    second = await page_a.input_value("#keys-new-value")
    assert second.startswith("mp_")
    await page_a.wait_for_selector("#keys-body tr:has-text('second')")
    await shot(page_a, "06-keys")
    await page_a.click("#keys-done")
    assert await page_a.input_value("#keys-new-value") == ""

    # The second key, in a browser of its own: none of the first key's jobs, by any route.
    ctx_b = await browser.new_context(viewport={"width": 390, "height": 844})
    page_b = await open_page(ctx_b, server.url + "/console/", watch_b)
    # By keyboard alone: the key field has the focus, Enter signs in, the page's heading gets
    # the focus, and Tab reaches the address field.
    await page_b.wait_for_selector("#page-signin:not([hidden])")
    active = "() => document.activeElement && document.activeElement.id"
    assert await page_b.evaluate(active) == "signin-key"
    await page_b.keyboard.type(second)
    await page_b.keyboard.press("Enter")
    await page_b.wait_for_selector("#page-check:not([hidden])")
    assert await page_b.evaluate(active) == "check-title"
    await page_b.keyboard.press("Tab")
    assert await page_b.evaluate(active) == "check-email"
    await page_b.keyboard.type("user3@shop.test")
    await page_b.keyboard.press("Enter")
    await page_b.wait_for_selector("#check-result .result[data-state=deliverable]")
    await page_b.click("nav a[href='#/jobs']")
    await page_b.wait_for_selector("#jobs-empty:not([hidden])")
    assert await page_b.locator("#jobs-body tr").count() == 0
    for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/results", f"/v1/jobs/{job_id}/events"):
        status = await page_b.evaluate("p => fetch(p).then(r => r.status)", path)
        assert status == 404, path
    # Its own list, a text file with a webhook: its job, and the delivery log.
    listing = tmp_path / "list.txt"
    listing.write_text("user1@shop.test\nUSER1@shop.test\nghost@shop.test\n", encoding="utf-8")
    async with receiving() as hook:
        await page_b.click("nav a[href='#/upload']")
        await page_b.set_input_files("#upload-file", str(listing))
        await page_b.wait_for_selector("#upload-form:not([hidden])")
        summary = await page_b.text_content("#upload-summary")
        assert summary == "3 addresses, 1 duplicate, 0 empty"
        assert await page_b.is_hidden("#upload-column-field")
        await page_b.click("#upload-form summary")
        await page_b.fill("#upload-callback", hook.url)
        await page_b.click("#upload-start")
        mine = page_b.locator("#jobs-body tr[data-job-id][data-status=completed]")
        await mine.wait_for()
        assert await page_b.locator("#jobs-body tr[data-job-id]").count() == 1
        assert await mine.get_attribute("data-job-id") != job_id
        await hook.wait_for(lambda got: any(b'"job.completed"' in r.body for r in got))
        own_id = await mine.get_attribute("data-job-id")
        # The log is read when the details open: open them again until the attempt is stored.
        log = page_b.locator(f"#details-{own_id} .deliveries tr:has-text('job.completed')")
        for _ in range(100):
            await page_b.click(f"tr[data-job-id='{own_id}'] button[aria-expanded=true]")
            await page_b.click(f"tr[data-job-id='{own_id}'] button[aria-expanded=false]")
            await page_b.wait_for_selector(f"#details-{own_id} .deliveries > *")
            if await log.count() and "delivered" in (await log.text_content() or ""):
                break
            await asyncio.sleep(0.05)
        assert "delivered" in (await log.text_content() or "")
        await shot(page_b, "07-jobs-phone-webhook")
    await page_b.click("nav a[href='#/keys']")
    await page_b.wait_for_selector("#keys-body tr")
    assert await page_b.locator("#keys-body tr").count() == 1
    assert await page_b.is_hidden("#keys-form")
    await shot(page_b, "07-keys-phone")

    # The first key's jobs at a phone's width.
    await page_a.set_viewport_size({"width": 390, "height": 844})
    await page_a.click("nav a[href='#/jobs']")
    await page_a.wait_for_selector(f"tr[data-job-id='{job_id}'][data-status=completed]")
    await shot(page_a, "08-jobs-phone")
    await page_a.set_viewport_size({"width": 1280, "height": 860})

    # Revoking the second key (two presses, no dialog) signs its browser out.
    await page_a.click("nav a[href='#/keys']")
    # The list is read again on the way in: press the button of the list as read, not the one
    # it replaces (which would take the first press and leave the second to a fresh button).
    await page_a.wait_for_load_state("networkidle")
    revoke = page_a.locator("#keys-body tr:has-text('second') button")
    await revoke.click()
    await page_a.locator("#keys-body tr:has-text('second') button:has-text('Confirm')").click()
    await page_a.wait_for_selector("#keys-body tr:has-text('second'):has-text('revoked')")
    await page_b.click("nav a[href='#/jobs']")
    await page_b.wait_for_selector("#page-signin:not([hidden])")
    assert "sign in again" in (await page_b.text_content("#signin-error") or "")

    # Deleting a job takes two presses too; signing out ends the session.
    await page_a.click("nav a[href='#/jobs']")
    delete = page_a.locator(f"tr[data-job-id='{job_id}'] button:has-text('Delete')")
    await delete.click()
    await page_a.locator(f"tr[data-job-id='{job_id}'] button:has-text('Confirm delete')").click()
    await page_a.wait_for_selector("#jobs-empty:not([hidden])")
    await page_a.click("#sign-out")
    await page_a.wait_for_selector("#page-signin:not([hidden])")
    assert await page_a.evaluate("fetch('/v1/jobs').then(r => r.status)") == 401
    assert await ctx_a.cookies() == []
    # The refusals the test asked for: 404s for another key's job, 401s once signed out.
    assert all("404" in e or "401" in e for e in watch_a.refused + watch_b.refused)
    watch_a.clean()
    watch_b.clean()
    await ctx_a.close()
    await ctx_b.close()


async def test_older_jobs_come_a_page_at_a_time(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    key = await make_key(tmp_path / "data", "many")
    async with server.client(key) as api:
        # Addresses that settle without a mail server: 30 small jobs, finished at once.
        made = [
            (await api.post("/v1/jobs", json={"emails": [f"no-at-sign-{i}"]})).json()["id"]
            for i in range(30)
        ]
    watch = Watch()
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await open_page(context, server.url + "/console/#/jobs", watch)
    await sign_in(page, key)
    rows = page.locator("#jobs-body tr[data-job-id]")
    await page.wait_for_selector("#jobs-more:not([hidden])")
    assert await rows.count() == 25
    newest = [await rows.nth(i).get_attribute("data-job-id") for i in range(25)]
    assert newest == made[::-1][:25]
    assert job_lists(watch) == 1
    await page.click("#jobs-more")
    await page.wait_for_selector("#jobs-more", state="hidden")
    assert await rows.count() == 30
    shown = [await rows.nth(i).get_attribute("data-job-id") for i in range(30)]
    assert shown == made[::-1]
    assert job_lists(watch) == 2
    watch.clean()
    await context.close()

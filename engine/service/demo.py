"""`make demo`, second part: `mailprobe serve` on loopback against the demo's mail world.

Starts the world of engine.demo (DNS and SMTP servers on 127.0.4.x), a service process on
127.0.0.1 with a fresh key, makes one call per face and a small job with curl-like output,
then stops everything. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.demo import DNS_IP, GREYLIST_DELAY_S, HELO, MAIL_FROM, World, listening, local_world

_KEY_SHOWN = "$KEY"


class Demo:
    """A running service and a way to call it that prints what a terminal would show."""

    def __init__(self, url: str, key: str) -> None:
        import httpx

        self.url = url
        self.key = key
        self.http = httpx.Client(base_url=url, timeout=60)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        show: int = 6,
    ) -> Any:
        query = ("?" + "&".join(f"{k}={v}" for k, v in params.items())) if params else ""
        parts = ["curl -s"]
        if method != "GET":
            parts.append(f"-X {method}")
        for name, value in (headers or {}).items():
            parts.append(f'-H "{name}: {value}"')
        if body is not None:
            parts.append(f"-H 'Content-Type: application/json' -d '{json.dumps(body)}'")
        parts.append(f'"{self.url}{path}{query}"')
        print("$ " + " ".join(parts).replace(self.key, _KEY_SHOWN))
        reply = self.http.request(method, path, params=params, headers=headers, json=body)
        print(f"HTTP {reply.status_code}")
        try:
            data = reply.json()
        except ValueError:
            print(reply.text)
            return None
        text = json.dumps(data, ensure_ascii=False)
        lines = textwrap.wrap(text, 100)
        for line in lines[:show]:
            print("  " + line)
        if len(lines) > show:
            print(f"  ... ({len(text)} characters in all)")
        print()
        return data


@contextlib.contextmanager
def _service(world: World, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    argv = [
        sys.executable, "-m", "engine", "serve", "--port", "0", "--data-dir", str(data_dir),
        "--nameserver", DNS_IP, "--dns-port", str(world.dns_port),
        "--smtp-port", str(world.smtp_port), "--allow-private", "--no-cache",
        "--helo", HELO, "--mail-from", MAIL_FROM, "--greylist-delay", str(GREYLIST_DELAY_S),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        url = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if "serving on " in line:
                url = line.split("serving on ", 1)[1].split()[0]
                break
        if not url:
            raise RuntimeError("the service did not start")
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _faces(demo: Demo) -> None:
    key = demo.key
    print(
        "Faces: the APIs clients already call, over the same engine; only the base URL changes.\n"
    )
    demo.call("GET", "/kickbox/v2/verify", params={"email": "bob@shop.test", "apikey": key})
    demo.call("GET", "/emailable/v1/verify", params={"email": "full@shop.test", "api_key": key})
    demo.call(
        "GET",
        "/byteplant/api/verify",
        params={"email": "alice@shop.tset", "key": key, "correct": "1"},
    )
    demo.call(
        "POST",
        "/mailvalid/api/v1/verify",
        headers={"X-API-Key": key},
        body={"email": "anyone@catchall.test"},
    )
    demo.call(
        "POST",
        "/reacher/v0/check_email",
        headers={"x-reacher-secret": key},
        body={"to_email": "nobody@shop.test"},
    )


def _job(demo: Demo) -> None:
    print("A small job: submitted, followed, its results read in input order as CSV.\n")
    auth = {"Authorization": f"Bearer {demo.key}"}
    emails = [
        "alice@shop.test", "nobody@shop.test", "old@shop.test", "anyone@catchall.test",
        "erin@blocked.test", "someone@nowhere.test", "carol@implicit.test", "not an address",
    ]  # fmt: skip
    made = demo.call("POST", "/v1/jobs", headers=auth, body={"emails": emails})
    job_id = made["id"]
    for _ in range(600):
        job = demo.http.get(f"/v1/jobs/{job_id}", headers=auth).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.1)
    demo.call("GET", f"/v1/jobs/{job_id}", headers=auth, show=4)
    print(
        f'$ curl -s -H "Authorization: Bearer $KEY" "{demo.url}/v1/jobs/{job_id}/results'
        '?format=csv" | cut -d, -f1-4'
    )
    reply = demo.http.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"}, headers=auth)
    for line in reply.text.splitlines():
        print("  " + ",".join(line.split(",")[:4]))
    print()


def main() -> int:
    """Run the service demo; returns 0 when every call was answered and everything stopped."""
    try:
        import httpx  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        print(f"The service demo needs the server extra ({exc.name} is missing).", file=sys.stderr)
        return 1
    print("\n5. The HTTP service: `mailprobe serve` on 127.0.0.1, in the same mail world.\n")
    with contextlib.ExitStack() as stack:
        try:
            world = stack.enter_context(local_world())
        except OSError as exc:
            print(f"The local mail world could not start: {exc}", file=sys.stderr)
            return 1
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mailprobe-")))
        made = subprocess.run(
            [sys.executable, "-m", "engine", "keys", "create", "--name", "demo",
             "--data-dir", str(data_dir)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        key = made.stdout.strip()
        print("$ KEY=$(mailprobe keys create --name demo)")
        print(f"$ mailprobe serve --port 0 --allow-private --nameserver {DNS_IP} ...\n")
        url, proc = stack.enter_context(_service(world, data_dir))
        demo = Demo(url, key)
        stack.callback(demo.http.close)
        print("The native API: Result.to_dict() plus `cached` and `complete`.\n")
        demo.call(
            "GET",
            "/v1/verify",
            params={"email": "alice@shop.test"},
            headers={"Authorization": f"Bearer {key}"},
        )
        demo.call(
            "POST",
            "/v1/verify",
            headers={"X-API-Key": key},
            body={"email": "grey@greylist.test", "timeout": 0.5},
        )
        _faces(demo)
        _job(demo)
    pid_gone = proc.poll() is not None
    left = listening(world)
    if left or not pid_gone:
        print(f"Still running after the stop: {', '.join(left) or 'the service'}", file=sys.stderr)
        return 1
    print("Stopped: the service, the DNS server and the SMTP servers; nothing is left listening.")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())

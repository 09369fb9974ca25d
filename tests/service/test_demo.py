"""`make demo`'s service part runs, answers every call, and leaves nothing listening."""

from __future__ import annotations

import subprocess
import sys


def test_service_demo_answers_each_call_and_stops_everything() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.service.demo"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert out.count("HTTP 201") == 1  # the job
    assert "0,alice@shop.test,alice@shop.test,deliverable" in out
    assert "7,not an address,,undeliverable" in out
    flat = " ".join(line.strip() for line in out.splitlines())  # the JSON is wrapped at spaces
    assert '"reason": "Timeout"' in flat
    # Whether the service's process has the vendor mappers (asked in a process like it).
    probe = "import importlib.util as u; print(u.find_spec('engine.service.faces') is not None)"
    faces = (
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
        ).stdout.strip()
        == "True"
    )
    assert out.count("HTTP 200") == (2 + 5 + 1 if faces else 2 + 1)
    assert out.rstrip().endswith("nothing is left listening.")

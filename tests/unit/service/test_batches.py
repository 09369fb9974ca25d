"""The batch faces (Kickbox's Batch Verification API, Reacher's bulk API) against the shapes
their vendors document, field by field: tests/data/faces/kickbox_batch.json, reacher_bulk.json."""

from __future__ import annotations

import re
from dataclasses import replace
from types import MappingProxyType

import pytest

from engine.service.faces._batch import BatchFacts
from engine.service.faces.kickbox import (
    CSV_FIELDS,
    kickbox_csv_cells,
    to_kickbox,
    to_kickbox_batch,
)
from engine.service.faces.reacher import CSV_COLUMNS, reacher_csv_cells, to_reacher_progress
from engine.service.store import job_number
from tests.unit.service import cases
from tests.unit.service.shapes import assert_types, load, roundtrip

CREATED = 1526151488.0  # 2018-05-12T18:58:08Z
RUNNING = BatchFacts(
    number=123,
    status="running",
    total=3,
    processed=1,
    states=MappingProxyType({"deliverable": 1, "undeliverable": 0, "risky": 0, "unknown": 0}),
    created=CREATED,
    started=CREATED + 1,
)
DONE = replace(
    RUNNING,
    status="completed",
    processed=3,
    states=MappingProxyType({"deliverable": 2, "undeliverable": 1, "risky": 0, "unknown": 0}),
    finished=CREATED + 43.4,
)

# Our job status -> the example of Kickbox's status it must look like.
KICKBOX_STATUS = {
    "queued": "starting",
    "running": "processing",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "failed",
}


@pytest.mark.parametrize("ours", sorted(KICKBOX_STATUS))
def test_kickbox_batch_status_has_the_documented_keys_and_types(ours: str) -> None:
    shape = load("kickbox_batch")
    finished = ours in ("completed", "failed", "cancelled")
    facts = replace(DONE if finished else RUNNING, status=ours)
    body = roundtrip(to_kickbox_batch(facts, download_url="https://x.test/d", sendex=0.5))
    example = shape["examples"][KICKBOX_STATUS[ours]]
    assert set(body) == set(example)
    for part in ("progress", "stats"):
        if part in example:
            assert set(body[part]) == set(example[part])
    assert_types(body, shape["types"])
    assert body["status"] in shape["enums"]["status"]
    if "created_at" in body:
        assert re.match(shape["created_at_pattern"], body["created_at"])


def test_kickbox_batch_values_field_by_field() -> None:
    assert to_kickbox_batch(replace(RUNNING, status="queued")) == {
        "id": 123,
        "status": "starting",
        "success": True,
        "message": None,
    }
    assert to_kickbox_batch(RUNNING)["progress"] == {
        "deliverable": 1,
        "undeliverable": 0,
        "risky": 0,
        "unknown": 0,
        "total": 3,
        "unprocessed": 2,
    }
    assert to_kickbox_batch(DONE, download_url="https://x.test/d", sendex=0.3456) == {
        "id": 123,
        "name": "Batch API Process - 05-12-2018-18-58-08",
        "download_url": "https://x.test/d",
        "created_at": "2018-05-12T18:58:08.000Z",
        "status": "completed",
        "stats": {
            "deliverable": 2,
            "undeliverable": 1,
            "risky": 0,
            "unknown": 0,
            "sendex": 0.35,
            "addresses": 3,
        },
        "error": None,
        "duration": 42,
        "success": True,
        "message": None,
    }
    named = to_kickbox_batch(replace(DONE, name="march.csv"), download_url="u", sendex=None)
    assert named["name"] == "march.csv" and named["stats"]["sendex"] == 0.0
    failed = to_kickbox_batch(replace(DONE, status="failed", error="internal error: OSError"))
    assert (failed["status"], failed["error"]) == ("failed", "internal error: OSError")
    cancelled = to_kickbox_batch(replace(DONE, status="cancelled", processed=2))
    assert cancelled["status"] == "failed" and "cancelled" in cancelled["error"]


@pytest.mark.parametrize("case", sorted(cases.ALL))
def test_kickbox_results_csv_row_is_the_verify_answer(case: str) -> None:
    result = cases.ALL[case]()
    body = to_kickbox(result)
    cells = kickbox_csv_cells(result)
    assert len(cells) == len(CSV_FIELDS)
    for name, cell in zip(CSV_FIELDS, cells, strict=True):
        value = body[name]
        expected = (
            "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        )
        assert cell == expected, name


@pytest.mark.parametrize("ours", ["queued", "running", "completed", "failed", "cancelled"])
def test_reacher_progress_has_the_documented_keys_and_types(ours: str) -> None:
    shape = load("reacher_bulk")
    finished = ours in ("completed", "failed", "cancelled")
    body = roundtrip(to_reacher_progress(replace(DONE if finished else RUNNING, status=ours)))
    example = shape["examples"]["completed" if finished else "running"]
    assert set(body) == set(example) and set(body["summary"]) == set(example["summary"])
    assert_types(body, shape["types"])
    assert body["job_status"] == example["job_status"]
    assert re.match(shape["time_pattern"], body["created_at"])
    if finished:
        assert re.match(shape["time_pattern"], body["finished_at"])
    else:
        assert body["finished_at"] is None


def test_reacher_progress_values_field_by_field() -> None:
    assert to_reacher_progress(DONE) == {
        "job_id": 123,
        "created_at": "2018-05-12T18:58:08.000000Z",
        "finished_at": "2018-05-12T18:58:51.400000Z",
        "total_records": 3,
        "total_processed": 3,
        "summary": {"total_safe": 2, "total_risky": 0, "total_invalid": 1, "total_unknown": 0},
        "job_status": "Completed",
    }


def test_reacher_csv_has_the_documented_columns_and_rows() -> None:
    assert list(CSV_COLUMNS) == load("reacher_bulk")["csv_columns"]
    assert reacher_csv_cells(cases.deliverable()) == [
        "Jane.Doe+news@Example.com",
        "safe",
        "false",
        "false",
        "",
        "true",
        "true",
        "false",
        "false",
        "true",
        "false",
        "true",
        "example.com",
        "Jane.Doe+news",
        "",
    ]
    grey = dict(zip(CSV_COLUMNS, reacher_csv_cells(cases.greylisted()), strict=True))
    assert grey["is_reachable"] == "unknown"
    assert grey["smtp.can_connect"] == "false" and grey["mx.accepts_mail"] == "true"
    assert grey["error"].startswith("SmtpError: 4")
    broken = dict(zip(CSV_COLUMNS, reacher_csv_cells(cases.syntax_error()), strict=True))
    assert broken["syntax.is_valid_syntax"] == "false" and broken["is_reachable"] == "invalid"


def test_job_numbers_are_json_safe_integers_from_the_uuid() -> None:
    number = job_number("d0768033-e9c6-4ef4-9b16-0dbc151618e7")
    assert number == 0xD0768033E9C6 and number < 2**53

"""The service's pure parts: CSV column detection, the rate limiter's arithmetic, key hashing."""

from __future__ import annotations

import contextlib
import io

import pytest

pytest.importorskip("starlette", reason="the server extra is not installed")

from engine.service.keys import key_hash, new_key
from engine.service.ratelimit import RateLimiter
from engine.service.uploads import UploadError, csv_rows, json_emails


def _rows(text: str, column: str | None = None) -> tuple[list[str] | None, list[str]]:
    header, rows = csv_rows(io.BytesIO(text.encode()), column)
    return header, [raw for raw, _ in rows]


def test_csv_header_is_a_first_row_without_an_at_sign() -> None:
    assert _rows("name,email\nAnn,a@x.test\nBob,b@x.test\n") == (
        ["name", "email"],
        ["a@x.test", "b@x.test"],
    )
    assert _rows("a@x.test\nb@x.test\n") == (None, ["a@x.test", "b@x.test"])
    assert _rows("Ann,a@x.test\nBob,b@x.test\n") == (None, ["a@x.test", "b@x.test"])


def test_csv_column_by_name_or_index_and_a_clear_error_otherwise() -> None:
    text = "\ufeffid,Mail,other\n1,a@x.test,c@y.test\n"
    assert _rows(text, "other")[1] == ["c@y.test"]
    assert _rows(text, "1")[1] == ["a@x.test"]
    with pytest.raises(UploadError, match="'email' is not a column"):
        _rows(text, "email")
    with pytest.raises(UploadError, match="out of range"):
        _rows(text, "7")
    with pytest.raises(UploadError, match="empty"):
        _rows("")


def test_csv_keeps_one_row_per_record_even_short_or_broken_ones() -> None:
    header, rows = _rows('email,n\na@x.test,1\n\n"b@x.test",2\nc@x.test\n')
    assert header == ["email", "n"] and rows == ["a@x.test", "", "b@x.test", "c@x.test"]


def test_json_emails_must_be_a_list_of_strings() -> None:
    assert json_emails(["a@x.test"]) == ["a@x.test"]
    assert json_emails("a@x.test, b@x.test") == ["a@x.test", "b@x.test"]
    for bad in (None, [], {}, [1], ["a", None]):
        with pytest.raises(UploadError):
            json_emails(bad)


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, 3, clock=lambda: now[0])
    assert [limiter.take("k").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.take("k")
    assert refused.retry_after_s == 1 and refused.headers()["Retry-After"] == "1"
    now[0] = 0.5  # one token back
    assert limiter.take("k").allowed and not limiter.take("k").allowed
    assert limiter.take("other").remaining == 2


def test_keys_are_random_and_hashed() -> None:
    a, b = new_key(), new_key()
    assert a != b and a.startswith("mp_") and len(a) >= 40
    assert key_hash(a) != key_hash(b) and len(key_hash(a)) == 64


def test_reading_an_upload_leaves_its_stream_open_for_its_owner() -> None:
    import gc

    from engine.service.uploads import plain_lines

    for read in (
        lambda s: list(csv_rows(s, None)[1]),
        lambda s: list(plain_lines(s)),
        lambda s: csv_rows(s, "nope"),
    ):
        stream = io.BytesIO(b"name,email\nAnn,a@x.test\n")
        with contextlib.suppress(UploadError):
            read(stream)
        gc.collect()  # a wrapper left open would close the stream here (and warn)
        assert not stream.closed
        stream.close()


def _running_job(processed: int, total: int, started: float) -> object:
    from engine.service.store import JobRecord

    return JobRecord(
        id="00000000-0000-4000-8000-000000000000", key_id="k", face="native", status="running",
        total=total, processed=processed, counts={}, created=started, started=started,
        finished=None, callback_url=None, webhook_secret=None, metadata=None, header=None,
        error=None,
    )  # fmt: skip


def test_the_eta_gives_way_to_a_waiting_count_while_rows_wait_on_slow_servers() -> None:
    from dataclasses import replace

    from engine.service.jobs import Flight, job_view

    job = _running_job(297, 300, started=1000.0)
    quick = job_view(job, now=1010.0)  # type: ignore[arg-type]
    assert quick["eta_s"] == 0.1 and quick["waiting"] == 0
    assert quick["waiting_at_most_s"] is None
    # Three rows held by a slow server: the rate of the rows done says nothing of them.
    held = job_view(job, now=1010.0, flight=Flight(3, 104.5))  # type: ignore[arg-type]
    assert (held["eta_s"], held["waiting"], held["waiting_at_most_s"]) == (None, 3, 104.5)
    assert job_view(job, now=1010.0, flight=Flight())["eta_s"] == 0.1  # type: ignore[arg-type]
    done = replace(job, status="completed", processed=300, finished=1020.0)  # type: ignore[type-var]
    finished = job_view(done, now=1030.0, flight=Flight(3, 1.0))
    assert (finished["eta_s"], finished["waiting"]) == (0.0, 0)

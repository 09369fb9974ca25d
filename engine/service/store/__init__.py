"""The service's one SQLite database (WAL): keys, jobs, their rows and results, webhook deliveries.

`Store` is the whole of it for the service's callers; each table's queries live in a module of
their own (keys and sessions, jobs and rows, deliveries) over one connection and writer thread
(database). Nothing here knows HTTP or the engine's pipeline.
"""

from __future__ import annotations

from engine.service.store.database import DB_NAME, connect
from engine.service.store.deliveries import Delivery, DeliveryQueries
from engine.service.store.jobs import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED,
    IMPORT_BATCH,
    NUMBER_BITS,
    QUEUED,
    RUNNING,
    UNFINISHED,
    UPLOADING,
    ImportCancelled,
    JobQueries,
    JobRecord,
    StoredRow,
    job_number,
)
from engine.service.store.keys import KeyQueries, KeyRecord, SessionRecord

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "DB_NAME",
    "FAILED",
    "FINISHED",
    "IMPORT_BATCH",
    "NUMBER_BITS",
    "QUEUED",
    "RUNNING",
    "UNFINISHED",
    "UPLOADING",
    "Delivery",
    "ImportCancelled",
    "JobRecord",
    "KeyRecord",
    "SessionRecord",
    "Store",
    "StoredRow",
    "connect",
    "job_number",
]


class Store(KeyQueries, JobQueries, DeliveryQueries):
    """The database; async methods run on the store's own thread."""

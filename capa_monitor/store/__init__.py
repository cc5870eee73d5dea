"""Where uploads, job plans, settings and the audit log are kept (SQLAlchemy Core; issues 3, 12)."""

from capa_monitor.store.overlap import KEEP_DIFFERENT, ON_OVERLAP, REPLACE, SKIP
from capa_monitor.store.store import (
    DEMO_SOURCE,
    IngestOutcome,
    IngestPlan,
    Store,
    UploadChange,
    UploadRows,
)

__all__ = [
    "DEMO_SOURCE",
    "KEEP_DIFFERENT",
    "ON_OVERLAP",
    "REPLACE",
    "SKIP",
    "IngestOutcome",
    "IngestPlan",
    "Store",
    "UploadChange",
    "UploadRows",
]

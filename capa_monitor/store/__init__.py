"""Where uploads, job plans, settings and the audit log are kept (SQLAlchemy Core; issue 3)."""

from capa_monitor.store.store import (
    DEMO_SOURCE,
    IngestOutcome,
    IngestPlan,
    Store,
)

__all__ = ["DEMO_SOURCE", "IngestOutcome", "IngestPlan", "Store"]

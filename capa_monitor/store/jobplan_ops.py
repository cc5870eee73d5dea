"""Job plans in the store: read typed, replaced or removed one clinician at a time, each
change kept in `jobplan_history`, inside the caller's write (Store.save_jobplans and
Store.remove_jobplans, whose `_write` brings the derived results up to date).

A plan identical to the stored one is left alone, so importing the same file twice writes no
history; any change raises the shared version (derived.mark_shared), which every review
depends on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, delete, insert, select

from capa_monitor import model
from capa_monitor.errors import StoreError
from capa_monitor.names import clinician_key
from capa_monitor.store import derived
from capa_monitor.store.schema import jobplan_history, jobplans, utc_now
from capa_monitor.store.upload_ops import audit

JOBPLAN_HISTORY_COLUMNS: tuple[str, ...] = (
    "changed_at",
    "changed_by",
    "source",
    "clinician",
    "change",
    "before",
    "after",
)


def read(conn: Connection, teams: Sequence[str] | None) -> pd.DataFrame:
    """The stored plans of `teams` (None: every plan), typed as plan_targets.canonical_plans."""
    query = select(*(jobplans.c[name] for name in model.JOBPLAN_COLUMNS))
    if teams is not None:
        query = query.where(jobplans.c.team.in_(list(teams)))
    # Imported here: plan_targets brings the holiday calendars, which no other store read needs.
    from capa_monitor.plan_targets import canonical_plans

    rows = conn.execute(query.order_by(jobplans.c.team, jobplans.c.clinician_key)).all()
    return canonical_plans(pd.DataFrame(rows, columns=list(model.JOBPLAN_COLUMNS)))


def records(plans: pd.DataFrame) -> list[dict[str, Any]]:
    """The plans' rows as stored; StoreError for a row without a name or a clinician listed
    twice (by clinician_key), before anything is written."""
    rows = [_record(row) for row in plans.to_dict("records")]
    keys = [clinician_key(r["clinician"]) for r in rows]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise StoreError(
            f"The job plans list {duplicated[0]!r} more than once; keep one row per clinician."
        )
    return rows


def save(conn: Connection, rows: list[dict[str, Any]], *, user: str, source: str) -> int:
    """Replace each clinician's plan with its row of `records(...)`; how many changed."""
    keys = [clinician_key(r["clinician"]) for r in rows]
    current = {
        r.clinician_key: r
        for r in conn.execute(select(jobplans).where(jobplans.c.clinician_key.in_(keys))).all()
    }
    now = utc_now()
    changed = 0
    for key, record in zip(keys, rows, strict=True):
        before = current.get(key)
        before_plan = (
            {name: getattr(before, name) for name in model.JOBPLAN_COLUMNS} if before else None
        )
        if before_plan == record:
            continue
        changed += 1
        conn.execute(delete(jobplans).where(jobplans.c.clinician_key == key))
        conn.execute(
            insert(jobplans).values(
                clinician_key=key, **record, source=source, updated_by=user, updated_at=now
            )
        )
        _history(conn, key, record["clinician"], "replaced" if before else "created",
                 before_plan, record, source=source, user=user, at=now)
    if changed:
        derived.mark_shared(conn)
    audit(conn, "job plans changed", user, source=source, rows=changed)
    return changed


def remove(conn: Connection, clinicians: Sequence[str], *, user: str, source: str) -> int:
    """Delete these clinicians' plans, each kept in the history; how many were removed."""
    keys = sorted({clinician_key(name) for name in clinicians})
    now = utc_now()
    removed = 0
    for before in conn.execute(select(jobplans).where(jobplans.c.clinician_key.in_(keys))).all():
        removed += 1
        before_plan = {name: getattr(before, name) for name in model.JOBPLAN_COLUMNS}
        conn.execute(delete(jobplans).where(jobplans.c.clinician_key == before.clinician_key))
        _history(conn, before.clinician_key, before.clinician, "removed", before_plan, None,
                 source=source, user=user, at=now)
    if removed:
        derived.mark_shared(conn)
        audit(conn, "job plans changed", user, source=source, rows=removed)
    return removed


def history(conn: Connection) -> pd.DataFrame:
    """Every plan change, oldest first (JOBPLAN_HISTORY_COLUMNS)."""
    rows = conn.execute(select(jobplan_history).order_by(jobplan_history.c.id)).all()
    frame = pd.DataFrame(
        [{name: getattr(r, name) for name in JOBPLAN_HISTORY_COLUMNS} for r in rows],
        columns=list(JOBPLAN_HISTORY_COLUMNS),
    )
    frame["changed_at"] = pd.to_datetime(frame["changed_at"])
    return frame


def _history(conn: Connection, key: str, clinician: str, change: str,
             before: dict[str, Any] | None, after: dict[str, Any] | None, *, source: str,
             user: str, at) -> None:
    conn.execute(insert(jobplan_history).values(
        clinician_key=key, clinician=clinician, change=change,
        before=_json(before) if before else None, after=_json(after) if after else None,
        source=source, changed_by=user, changed_at=at))


def _record(row: dict[str, Any]) -> dict[str, Any]:
    """One job-plan row as stored: floats or None, dates or None, names as text."""
    record: dict[str, Any] = {}
    for name in model.JOBPLAN_COLUMNS:
        value = row.get(name)
        missing = value is None or (not isinstance(value, str) and pd.isna(value))
        if name in model.JOBPLAN_NUMBER_COLUMNS:
            record[name] = None if missing else float(value)
        elif name in model.JOBPLAN_DATE_COLUMNS:
            record[name] = None if missing else pd.Timestamp(value).date()
        else:
            record[name] = None if missing else " ".join(str(value).split())
    if not record["clinician"]:
        raise StoreError("A job-plan row has no clinician name; every row needs one.")
    return record


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)

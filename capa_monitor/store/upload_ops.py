"""The store's upload writes — ingest, restore, removal — worked out and applied inside the
caller's write transaction (the Store's methods are the way in; see store.py for the rules).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select, update

from capa_monitor import model
from capa_monitor.errors import StoreError
from capa_monitor.names import clinician_key
from capa_monitor.store import bulk, identity, overlap
from capa_monitor.store.overlap import REPLACE, UploadRows, teams_label
from capa_monitor.store.schema import activity, audit_log, jobplans, meta, uploads, utc_now

if TYPE_CHECKING:  # the loader's classes: a review, which reads only, never imports the loader
    from capa_monitor.loading.report import LoadResult

STATUS_ACTIVE = "active"
STATUS_PARTLY = "partly superseded"
STATUS_SUPERSEDED = "superseded"


@dataclass(frozen=True)
class IngestPlan:
    """What ingesting a load result would do, worked out without writing anything."""

    status: str  # "new" | "unchanged"
    file_name: str
    sha256: str
    rows: int
    teams: tuple[str | None, ...]  # None: rows without a team
    period: tuple[date, date]  # the cover, inclusive both ends
    supersedes: dict[int, int] = field(default_factory=dict)  # earlier upload id -> rows
    unchanged_upload_id: int | None = None  # the stored upload it repeats, when unchanged
    on_overlap: str = REPLACE
    #: per earlier upload: its counted rows that are slots of this file (and how many differ)
    overlaps: tuple[UploadRows, ...] = ()
    #: rows of this file kept only as history, because the stored copy counts (skip, or an
    #: identical copy under keep_different)
    deferred_rows: int = 0
    #: the file has no team, the store keeps teams: ingest refuses until it is given one
    team_needed: bool = False
    suggested_team: str | None = None  # the team its clinicians work in
    team_evidence: str = ""  # why, in words

    @property
    def superseded_rows(self) -> int:
        return sum(self.supersedes.values())

    @property
    def overlap_rows(self) -> int:
        return sum(o.rows for o in self.overlaps)

    @property
    def stored_rows(self) -> int:
        """Rows of this file that will count."""
        return self.rows - self.deferred_rows

    @property
    def teams_label(self) -> str:
        return teams_label(self.teams)


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # "stored" | "unchanged"
    upload_id: int
    superseded_rows: int
    supersedes: dict[int, int] = field(default_factory=dict)
    deferred_rows: int = 0


@dataclass(frozen=True)
class _Prepared:
    """What the write needs beyond the plan."""

    system: str | None
    content: np.ndarray
    slot: np.ndarray | None
    resolution: overlap.IngestResolution


def upload_status(rows_active: int, rows_accepted: int) -> str:
    if rows_active >= rows_accepted:
        return STATUS_ACTIVE
    return STATUS_SUPERSEDED if rows_active == 0 else STATUS_PARTLY


def _team_values(frame: pd.DataFrame) -> tuple[str | None, ...]:
    teams = frame[model.TEAM]
    named = sorted(str(t) for t in teams.dropna().unique())
    return (*named, *([None] if teams.isna().any() else []))


# ---- ingest -------------------------------------------------------------------------------


def plan(
    conn: Connection,
    result: LoadResult,
    period: tuple[date, date] | None,
    digest: str,
    on_overlap: str,
) -> tuple[IngestPlan, _Prepared | None]:
    frame = result.frame
    if frame.empty:
        raise StoreError(
            f"{result.report.file_name} has no accepted rows, so there is nothing to store."
        )
    dates = pd.to_datetime(frame[model.DATE])
    first, last = dates.min().date(), dates.max().date()
    if period is not None:
        if period[0] > period[1]:
            raise StoreError(f"The period {period[0]} to {period[1]} ends before it starts.")
        # A period can only widen the cover: rows outside it would otherwise stay active
        # beside another upload's rows for the same team and date.
        first, last = min(first, period[0]), max(last, period[1])
    teams = _team_values(frame)
    cover_counts = rows_per_upload(conn, overlap.cover_condition(teams, first, last))
    system = identity.system_signature(result.report.columns)
    content, slot = _identity_keys(frame, system, digest)
    resolution = overlap.resolve_ingest(
        conn, frame, content, slot, (teams, first, last), cover_counts, on_overlap,
        overlap.upload_names(conn),
    )
    sha256 = result.report.sha256
    repeat = conn.execute(
        select(uploads.c.id)
        .where(
            uploads.c.sha256 == sha256,
            uploads.c.rows_digest == digest,
            uploads.c.rows_active == uploads.c.rows_accepted,
        )
        .order_by(uploads.c.id.desc())
    ).first()
    touched = set(cover_counts) | {o.upload_id for o in resolution.overlaps}
    common = {
        "file_name": result.report.file_name,
        "sha256": sha256,
        "rows": len(frame),
        "teams": teams,
        "period": (first, last),
        "on_overlap": on_overlap,
    }
    # A team-less file into a store that keeps teams is refused even when it repeats an upload
    # stored before the store had teams (the property test's model found that case).
    team_needed = bool(frame[model.TEAM].isna().all()) and _store_has_teams(conn)
    if repeat is not None and touched <= {repeat.id} and not team_needed:
        return IngestPlan(status="unchanged", unchanged_upload_id=repeat.id, **common), None
    suggested, evidence = (
        team_suggestion(conn, frame[model.CLINICIAN].dropna().unique().tolist())
        if team_needed
        else (None, "")
    )
    new_plan = IngestPlan(
        status="new",
        supersedes=resolution.supersedes,
        overlaps=resolution.overlaps,
        deferred_rows=resolution.deferred,
        team_needed=team_needed,
        suggested_team=suggested,
        team_evidence=evidence,
        **common,
    )
    return new_plan, _Prepared(system, content, slot, resolution)


# The identity keys of the upload planned last, by the digest of its rows (which covers every
# column the keys read) and its system: the app's preview and the CLI plan an upload and then
# ingest it, and the keys cost about a second at a million rows. Read-only arrays, shared.
_last_keys: tuple[str, str | None, np.ndarray, np.ndarray | None] | None = None


def _identity_keys(
    frame: pd.DataFrame, system: str | None, digest: str
) -> tuple[np.ndarray, np.ndarray | None]:
    global _last_keys
    last = _last_keys
    if last is not None and last[:2] == (digest, system) and len(last[2]) == len(frame):
        return last[2], last[3]
    content = identity.content_keys(frame)
    slot = identity.slot_keys(frame, system)
    for keys in (content, slot):
        if keys is not None:
            keys.flags.writeable = False
    _last_keys = (digest, system, content, slot)
    return content, slot


def team_needed_message(plan: IngestPlan) -> str:
    text = (
        f"{plan.file_name} has no team column, and this store keeps teams: say which team its "
        "rows are for"
    )
    if plan.suggested_team:
        text += f" (its clinicians work in {plan.suggested_team}: {plan.team_evidence})"
    return text + "."


def apply_ingest(
    conn: Connection,
    result: LoadResult,
    ingest_plan: IngestPlan,
    prepared: _Prepared,
    digest: str,
    *,
    user: str,
    demo: bool,
) -> IngestOutcome:
    if ingest_plan.team_needed:
        raise StoreError(team_needed_message(ingest_plan))
    report = result.report
    resolution = prepared.resolution
    active_rows = ingest_plan.stored_rows
    upload_id = next_upload_id(conn)
    conn.execute(
        insert(uploads)
        .values(
            id=upload_id,
            file_name=ingest_plan.file_name,
            sha256=ingest_plan.sha256,
            rows_digest=digest,
            teams=_json(list(ingest_plan.teams)),
            period_start=ingest_plan.period[0],
            period_end=ingest_plan.period[1],
            uploaded_by=user,
            uploaded_at=utc_now(),
            rows_accepted=ingest_plan.rows,
            rows_rejected=len(report.rejected),
            rows_active=active_rows,
            mapping=_json(report.columns),
            status=upload_status(active_rows, ingest_plan.rows),
            demo=demo,
            system=prepared.system,
            applied=next_applied(conn),
        )
    )
    conn.execute(
        update(activity)
        .where(overlap.cover_condition(ingest_plan.teams, *ingest_plan.period))
        .values(superseded_by=upload_id)
    )
    if len(resolution.kept):
        conn.execute(
            update(activity)
            .where(overlap.values_in(conn, activity.c.id, resolution.kept))
            .values(superseded_by=None)
        )
    if len(resolution.replaced):
        conn.execute(
            update(activity)
            .where(
                overlap.values_in(conn, activity.c.id, resolution.replaced),
                activity.c.superseded_by.is_(None),
            )
            .values(superseded_by=upload_id)
        )
    take_off_active(conn, ingest_plan.supersedes)
    slot = prepared.slot
    extra = {
        "slot_key": pd.Series(pd.NA if slot is None else slot, index=result.frame.index,
                              dtype="Int64"),
        "content_key": pd.Series(prepared.content, index=result.frame.index, dtype="Int64"),
        "superseded_by": resolution.deferred_to.set_axis(result.frame.index),
    }
    bulk.insert_activity(conn, result.frame, upload_id, extra)
    audit(
        conn,
        "upload",
        user,
        file_name=ingest_plan.file_name,
        upload_id=upload_id,
        teams=list(ingest_plan.teams),
        rejected=len(report.rejected),
        demo=demo,
        on_overlap=ingest_plan.on_overlap,
        already_stored={str(o.upload_id): o.rows for o in ingest_plan.overlaps},
        differing={str(o.upload_id): o.differing for o in ingest_plan.overlaps},
        kept_as_history=ingest_plan.deferred_rows,
        **_audit_period(ingest_plan),
    )
    audit_supersedes(conn, user, upload_id, ingest_plan.supersedes)
    return IngestOutcome(
        "stored", int(upload_id), ingest_plan.superseded_rows, ingest_plan.supersedes,
        ingest_plan.deferred_rows,
    )


def audit_unchanged(conn: Connection, ingest_plan: IngestPlan, user: str) -> IngestOutcome:
    audit(
        conn,
        "upload unchanged",
        user,
        file_name=ingest_plan.file_name,
        upload_id=ingest_plan.unchanged_upload_id,
        **_audit_period(ingest_plan),
    )
    return IngestOutcome("unchanged", int(ingest_plan.unchanged_upload_id), 0)


def _audit_period(ingest_plan: IngestPlan) -> dict[str, Any]:
    return {
        "file_sha256": ingest_plan.sha256,
        "period_start": ingest_plan.period[0],
        "period_end": ingest_plan.period[1],
        "rows": ingest_plan.rows,
    }


def _store_has_teams(conn: Connection) -> bool:
    active = conn.execute(
        select(activity.c.id)
        .where(activity.c.superseded_by.is_(None), activity.c.team.is_not(None))
        .limit(1)
    ).first()
    planned = conn.execute(
        select(jobplans.c.clinician_key).where(jobplans.c.team.is_not(None)).limit(1)
    ).first()
    return active is not None or planned is not None


def team_suggestion(conn: Connection, clinicians: Sequence[str]) -> tuple[str | None, str]:
    """The team these clinicians work in: the one holding most of their counted rows, else
    the one most of them have a job plan in; with the evidence in words."""
    keys = {clinician_key(name) for name in clinicians}
    counts = conn.execute(
        select(activity.c.clinician, activity.c.team, func.count())
        .where(activity.c.superseded_by.is_(None), activity.c.team.is_not(None))
        .group_by(activity.c.clinician, activity.c.team)
    ).all()
    rows: Counter[str] = Counter()
    for name, team, n in counts:
        if clinician_key(name) in keys:
            rows[team] += n
    if rows:
        team, n = min(rows.items(), key=lambda item: (-item[1], item[0]))
        total = sum(rows.values())
        return team, f"{n:,} of their {total:,} stored rows are {team}'s"
    planned: defaultdict[str, set[str]] = defaultdict(set)
    for key, team in conn.execute(
        select(jobplans.c.clinician_key, jobplans.c.team).where(jobplans.c.team.is_not(None))
    ).all():
        if key in keys:
            planned[team].add(key)
    if not planned:
        return None, ""
    team, people = min(planned.items(), key=lambda item: (-len(item[1]), item[0]))
    return team, f"{len(people)} of its {len(keys)} clinicians have a job plan in {team}"


# ---- restore and removal ------------------------------------------------------------------


def upload_row(conn: Connection, upload_id: int):
    row = conn.execute(select(uploads).where(uploads.c.id == upload_id)).first()
    if row is None:
        raise StoreError(f"There is no upload {upload_id}; `uploads` lists them.")
    return row


def apply_restore(conn: Connection, row, user: str) -> overlap.UploadChange:
    resolution = overlap.resolve_restore(conn, row)
    _supersede_ids(conn, resolution.supersede)
    _bring_back(conn, resolution.bring_back)
    conn.execute(update(uploads).where(uploads.c.id == row.id).values(applied=next_applied(conn)))
    change = resolution.change
    refresh_active_counts(conn, [row.id, *(o.upload_id for o in change.others)])
    audit(
        conn,
        "restore",
        user,
        upload_id=row.id,
        file_name=row.file_name,
        file_sha256=row.sha256,
        period_start=row.period_start,
        period_end=row.period_end,
        rows=row.rows_accepted,
        rows_back=change.rows,
    )
    audit_supersedes(conn, user, row.id, {o.upload_id: o.rows for o in change.others})
    return change


def apply_removal(conn: Connection, row, user: str) -> overlap.UploadChange:
    resolution = overlap.resolve_removal(conn, row)
    change = resolution.change
    conn.execute(delete(activity).where(activity.c.upload_id == row.id))
    _bring_back(conn, resolution.bring_back)
    _supersede_ids(conn, resolution.supersede, only_active=False)
    conn.execute(delete(uploads).where(uploads.c.id == row.id))
    affected = {o.upload_id for o in change.others} | set(resolution.supersede)
    refresh_active_counts(conn, sorted(affected))
    audit(
        conn,
        "upload removed",
        user,
        upload_id=row.id,
        file_name=row.file_name,
        file_sha256=row.sha256,
        period_start=row.period_start,
        period_end=row.period_end,
        rows=change.rows,
        teams=json.loads(row.teams),
        months=list(change.months),
        back={str(o.upload_id): o.rows for o in change.others},
        demo=bool(row.demo),
    )
    return change


def _supersede_ids(
    conn: Connection, by_upload: dict[int, np.ndarray], *, only_active: bool = True
) -> None:
    for upload_id, ids in by_upload.items():
        if not len(ids):
            continue
        conditions = [overlap.values_in(conn, activity.c.id, ids)]
        if only_active:
            conditions.append(activity.c.superseded_by.is_(None))
        conn.execute(update(activity).where(*conditions).values(superseded_by=upload_id))


def _bring_back(conn: Connection, ids: np.ndarray) -> None:
    if len(ids):
        conn.execute(
            update(activity)
            .where(overlap.values_in(conn, activity.c.id, ids))
            .values(superseded_by=None)
        )


# ---- bookkeeping --------------------------------------------------------------------------


def next_upload_id(conn: Connection) -> int:
    """One more than any upload id ever given: a removed upload's id is never given again, so
    "upload 5" in the audit log always means one file (SQLite would reuse the highest id)."""
    last = conn.execute(select(meta.c.value).where(meta.c.key == _LAST_UPLOAD_ID)).scalar()
    highest = conn.execute(select(func.coalesce(func.max(uploads.c.id), 0))).scalar_one()
    upload_id = max(int(last or 0), int(highest)) + 1
    if last is None:
        conn.execute(insert(meta).values(key=_LAST_UPLOAD_ID, value=upload_id))
    else:
        conn.execute(update(meta).where(meta.c.key == _LAST_UPLOAD_ID).values(value=upload_id))
    return upload_id


_LAST_UPLOAD_ID = "last_upload_id"


def next_applied(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(uploads.c.applied), 0))).scalar_one()) + 1


def rows_per_upload(conn: Connection, condition) -> dict[int, int]:
    """How many activity rows match `condition`, by upload id."""
    counts = conn.execute(
        select(activity.c.upload_id, func.count()).where(condition).group_by(activity.c.upload_id)
    ).all()
    return {int(upload_id): int(n) for upload_id, n in counts}


def take_off_active(conn: Connection, supersedes: dict[int, int]) -> None:
    """Take superseded rows off each upload's count of active rows."""
    for upload_id, rows in supersedes.items():
        current = conn.execute(
            select(uploads.c.rows_active, uploads.c.rows_accepted).where(uploads.c.id == upload_id)
        ).one()
        remaining = current.rows_active - rows
        conn.execute(
            update(uploads)
            .where(uploads.c.id == upload_id)
            .values(rows_active=remaining, status=upload_status(remaining, current.rows_accepted))
        )


def refresh_active_counts(conn: Connection, upload_ids: Sequence[int] | None = None) -> None:
    """Recount the active rows of these uploads (every upload when None)."""
    condition = activity.c.superseded_by.is_(None)
    if upload_ids is not None:
        upload_ids = [int(u) for u in upload_ids]
        if not upload_ids:
            return
        condition = condition & activity.c.upload_id.in_(list(upload_ids))
    counts = rows_per_upload(conn, condition)
    query = select(uploads.c.id, uploads.c.rows_accepted)
    if upload_ids is not None:
        query = query.where(uploads.c.id.in_(list(upload_ids)))
    for row in conn.execute(query).all():
        active = counts.get(row.id, 0)
        conn.execute(
            update(uploads)
            .where(uploads.c.id == row.id)
            .values(rows_active=active, status=upload_status(active, row.rows_accepted))
        )


_AUDIT_COLUMN_DETAILS = ("file_sha256", "period_start", "period_end", "rows")


def audit(conn: Connection, action: str, user: str, **details: Any) -> None:
    columns = {key: details.pop(key, None) for key in _AUDIT_COLUMN_DETAILS}
    conn.execute(
        insert(audit_log).values(
            action=action, user_name=user, at=utc_now(), details=_json(details), **columns
        )
    )


def audit_supersedes(
    conn: Connection, user: str, by_upload: int, supersedes: dict[int, int]
) -> None:
    for upload_id, rows in sorted(supersedes.items()):
        audit(conn, "supersede", user, upload_id=upload_id, superseded_by=by_upload, rows=rows)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)

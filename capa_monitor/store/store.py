"""The Store: every monthly upload kept, "last upload wins", no slot counted twice, job plans,
settings, audit.

Upload semantics (issues 3 and 12). An upload covers, for each team it contains, every date
from its first to last appointment (or a wider period the manager gives). Ingesting it marks
every earlier *active* row inside that cover as superseded by it, and also every active row
that is the same slot as one of its rows wherever it is filed (another team label, another
system's file: slot identity, identity.py) — unless the manager chose to skip those (the stored
copies keep counting and the new copies are kept only as history) or to keep only the ones
that differ (`on_overlap`). All in one transaction, so a reader sees the old state or the new
one, never a mix; no two active rows are ever the same slot. Restoring an upload applies the
rule again with its stored cover and rows; removing one deletes its rows and brings back what
it had superseded, unless a later upload covers it (overlap.py). The same file read the same
way, while it still wins everywhere it covers, is "unchanged": no rows are written, one audit
entry says so. A file without a team, into a store that keeps teams, is refused until it is
given one (the plan names the team its clinicians work in).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd
from sqlalchemy import (
    Connection,
    delete,
    insert,
    select,
    true,
    update,
)

from capa_monitor import model
from capa_monitor.settings import DEFAULT_SETTINGS, Settings
from capa_monitor.store import (
    bulk,
    counts,
    derived,
    hops,
    identity,
    jobplan_ops,
    kept_reviews,
    overlap,
    review_reads,
    upload_ops,
)
from capa_monitor.store.database import (
    create_store_engine,
    read_transaction,
    resolve_url,
    write_transaction,
)
from capa_monitor.store.overlap import REPLACE, UploadChange, UploadRows, teams_label
from capa_monitor.store.review_reads import ReviewInputs
from capa_monitor.store.schema import (
    LATEST_VERSION,
    activity,
    audit_log,
    current_version,
    jobplans,
    mapping_profiles,
    meta,
    migrate,
    settings_table,
    uploads,
    utc_now,
)
from capa_monitor.store.upload_ops import IngestOutcome, IngestPlan
from capa_monitor.store.upload_ops import audit as _audit

if TYPE_CHECKING:  # the loader's classes: a review, which reads only, never imports the loader
    from capa_monitor.loading.report import LoadResult, MappingProfile
    from capa_monitor.metrics.review import Review
    from capa_monitor.periods import Quarter

logger = logging.getLogger(__name__)

__all__ = [
    "DEMO_SOURCE",
    "IngestOutcome",
    "IngestPlan",
    "Store",
    "UploadChange",
    "UploadRows",
    "teams_label",
]

UPLOAD_COLUMNS: tuple[str, ...] = (
    "upload_id",
    "file_name",
    "sha256",
    "teams",
    "period_start",
    "period_end",
    "uploaded_by",
    "uploaded_at",
    "rows_accepted",
    "rows_rejected",
    "rows_active",
    "status",
    "demo",
    "mapping",
)
AUDIT_COLUMNS: tuple[str, ...] = (
    "id",
    "action",
    "user",
    "at",
    "file_sha256",
    "period_start",
    "period_end",
    "rows",
    "details",
)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class Store:
    """The database behind the app and the CLI (SQLite file by default, or PostgreSQL)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_store_engine(url)
        # (shared version, every plan) of the last review read: every job-plan write bumps
        # the shared version (derived.mark_shared), so an equal version means equal plans,
        # and a review need not read and type them again (8 ms of a team's 0.2 s review)
        self._plans_seen: tuple[int, pd.DataFrame] | None = None
        # Called with this store after each write has committed (the app and the CLI start a
        # pre-work run with it: prework.py); never allowed to fail the write.
        self.after_write: Callable[[Store], object] | None = None

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Open (creating and upgrading as needed) the store at url, $CAPA_DATABASE_URL or the default."""
        store = cls(resolve_url(url))
        # Check first without the write lock, so opening never waits behind a long ingest.
        with read_transaction(store.engine) as conn:
            up_to_date = current_version(conn) == LATEST_VERSION
        if not up_to_date:
            with write_transaction(store.engine) as conn:
                migrate(conn)
                derived.refresh(conn)
        return store

    def close(self) -> None:
        self.engine.dispose()

    # ---- version ---------------------------------------------------------------------------

    def review_version(self, teams: Sequence[str]) -> tuple[int, ...]:
        """What a review of these teams depends on (derived.review_version): unchanged by
        writes to other teams' rows that match none of these teams' lost slots, and by audit
        entries. Empty `teams` (every team): the data version."""
        with read_transaction(self.engine) as conn:
            if not teams:
                return (int(conn.execute(
                    select(meta.c.value).where(meta.c.key == "data_version")).scalar_one()),)
            return derived.review_version(conn, teams)

    def data_version(self) -> int:
        with read_transaction(self.engine) as conn:
            return int(
                conn.execute(select(meta.c.value).where(meta.c.key == "data_version")).scalar_one()
            )

    @contextmanager
    def _write(self, *, may_change_reviews: bool = True) -> Iterator[Connection]:
        """A write transaction that brings the derived results (derived.py) up to date and
        bumps the data version before it commits; then `after_write`, unless the write cannot
        change a review (an audit entry, a saved column mapping)."""
        with write_transaction(self.engine) as conn:
            yield conn
            counts.refresh(conn)  # before derived.refresh, which forgets the teams touched
            derived.refresh(conn)
            kept_reviews.forget_stale(conn)  # after the versions are raised
            conn.execute(
                update(meta).where(meta.c.key == "data_version").values(value=meta.c.value + 1)
            )
        if may_change_reviews and self.after_write is not None:
            try:
                self.after_write(self)
            except Exception:  # the write has committed; what follows it only saves a wait
                logger.exception("after_write failed")

    # ---- uploads ---------------------------------------------------------------------------

    def plan_ingest(
        self,
        result: LoadResult,
        *,
        period: tuple[date, date] | None = None,
        on_overlap: str = REPLACE,
    ) -> IngestPlan:
        """What ingest would do with the same arguments (see the module docstring)."""
        with read_transaction(self.engine) as conn:
            digest = identity.rows_digest(result.frame)
            return upload_ops.plan(conn, result, period, digest, on_overlap)[0]

    def ingest(
        self,
        result: LoadResult,
        *,
        user: str,
        period: tuple[date, date] | None = None,
        demo: bool = False,
        on_overlap: str = REPLACE,
    ) -> IngestOutcome:
        """Store an upload in one all-or-nothing transaction (see the module docstring).

        Refused (StoreError) when the file has no team and the store keeps teams."""
        digest = identity.rows_digest(result.frame)
        with self._write() as conn:
            plan, prepared = upload_ops.plan(conn, result, period, digest, on_overlap)
            if prepared is None:
                return upload_ops.audit_unchanged(conn, plan, user)
            outcome = upload_ops.apply_ingest(
                conn, result, plan, prepared, digest, user=user, demo=demo
            )
            if len(result.frame):  # inserted rows: the triggers see only supersedes
                derived.mark_dirty(conn, result.frame[model.DATE].min().date())
                derived.mark_teams(conn, result.frame[model.TEAM].unique().tolist())
            return outcome

    def plan_restore(self, upload_id: int) -> UploadChange:
        """What restore would do: its rows that count again, other uploads' rows it replaces."""
        with read_transaction(self.engine) as conn:
            return overlap.resolve_restore(conn, upload_ops.upload_row(conn, upload_id)).change

    def restore(self, upload_id: int, *, user: str) -> UploadChange:
        """Make an earlier upload win again over its whole cover and every slot it holds."""
        with self._write() as conn:
            return upload_ops.apply_restore(conn, upload_ops.upload_row(conn, upload_id), user)

    def plan_remove(self, upload_id: int) -> UploadChange:
        """What removing an upload would do: its counted rows that go (teams, months), and the
        rows of other uploads it had superseded that come back."""
        with read_transaction(self.engine) as conn:
            return overlap.resolve_removal(conn, upload_ops.upload_row(conn, upload_id)).change

    def remove_upload(self, upload_id: int, *, user: str) -> UploadChange:
        """Delete an upload and its rows; what it had superseded comes back (plan_remove)."""
        with self._write() as conn:
            return upload_ops.apply_removal(conn, upload_ops.upload_row(conn, upload_id), user)

    def uploads(self) -> pd.DataFrame:
        """Every upload, newest first, with how much of it is still active."""
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(uploads).order_by(uploads.c.id.desc())).all()
        frame = pd.DataFrame(
            [
                {
                    "upload_id": r.id,
                    "file_name": r.file_name,
                    "sha256": r.sha256,
                    "teams": teams_label(json.loads(r.teams)),
                    "period_start": r.period_start,
                    "period_end": r.period_end,
                    "uploaded_by": r.uploaded_by,
                    "uploaded_at": r.uploaded_at,
                    "rows_accepted": r.rows_accepted,
                    "rows_rejected": r.rows_rejected,
                    "rows_active": r.rows_active,
                    "status": r.status,
                    "demo": bool(r.demo),
                    "mapping": r.mapping,
                }
                for r in rows
            ],
            columns=list(UPLOAD_COLUMNS),
        )
        for column in ("period_start", "period_end", "uploaded_at"):
            frame[column] = pd.to_datetime(frame[column])
        return frame.astype(
            {
                "upload_id": "int64",
                "rows_accepted": "int64",
                "rows_rejected": "int64",
                "rows_active": "int64",
                "demo": "bool",
            }
        )

    def remove_demo(self, *, user: str) -> int:
        """Delete the demo uploads (as remove_upload does, newest first) and demo job plans;
        returns uploads removed."""
        with self._write() as conn:
            demo_ids = list(
                conn.execute(
                    select(uploads.c.id).where(uploads.c.demo == true()).order_by(uploads.c.id.desc())
                ).scalars()
            )
            for upload_id in demo_ids:
                upload_ops.apply_removal(conn, upload_ops.upload_row(conn, upload_id), user)
            removed_plans = conn.execute(
                delete(jobplans)
                .where(jobplans.c.source == DEMO_SOURCE)
                .returning(jobplans.c.clinician)
            ).all()
            if removed_plans:
                derived.mark_shared(conn)
            _audit(
                conn,
                "demo removed",
                user,
                upload_ids=sorted(demo_ids),
                jobplans=[r.clinician for r in removed_plans],
            )
        return len(demo_ids)

    # ---- reads for the metrics -------------------------------------------------------------

    def activity(
        self,
        teams: Sequence[str] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> pd.DataFrame:
        """Active rows (model.ACTIVITY_COLUMNS + upload_id) with start <= date < end."""
        conditions = [activity.c.superseded_by.is_(None)]
        if start is not None:
            conditions.append(activity.c.date >= start)
        if end is not None:
            conditions.append(activity.c.date < end)
        with read_transaction(self.engine) as conn:
            return bulk.read_activity(conn, conditions, None if teams is None else list(teams))

    def review_inputs(
        self,
        teams: Sequence[str] | None,
        quarter: Quarter,
        as_of: date | None = None,
        *,
        looking_ahead: bool = False,
    ) -> ReviewInputs:
        """What metrics.review.stored_review needs for a quarter, read in one snapshot
        (store/review_reads.py): the part of the teams' rows the quarter's metrics look at,
        the stored M2 matches of their lost slots in it and their per-day counts, every job
        plan and the settings; never the teams' whole history nor other teams' rows.
        `looking_ahead`: the rows the looking-ahead page needs too."""
        with read_transaction(self.engine) as conn:
            return review_reads.read_inputs(
                conn, teams, quarter, as_of, self._every_plan(conn),
                looking_ahead=looking_ahead,
            )

    def kept_review(
        self, teams: Sequence[str] | None, quarter: Quarter, as_of: date | None = None
    ) -> Review | None:
        """The review `review` would return if it is kept and current (kept_reviews.py), else
        None: nothing is worked out."""
        with read_transaction(self.engine) as conn:
            return _kept(conn, teams, quarter, as_of).review

    def kept_standing(self, views: Sequence[tuple[Sequence[str] | None, Quarter]]) -> list[bool]:
        """For each (teams, quarter), whether review(teams, quarter) would read it kept (one
        read, nothing decoded); those standing are marked just made (kept_reviews.touch)."""
        with read_transaction(self.engine) as conn:
            stored = hops.stored_teams(conn)
            asked = [(kept_reviews.Key.of(teams, quarter, None),
                      review_reads.team_names(conn, teams or None, stored))
                     for teams, quarter in views]
            standing = kept_reviews.standing(conn, asked)
        kept_reviews.touch(self.engine, [key for (key, _), ok in zip(asked, standing, strict=True)
                                         if ok])
        return standing

    def latest_as_of_by_team(self) -> dict[str, date]:
        """latest_as_of([team]) of each stored team, in one read (a query a team, on the kept
        counts' key); a team where nothing has happened is absent."""
        with read_transaction(self.engine) as conn:
            found = {team: counts.latest_happened(conn, names)
                     for team, names in review_reads.each_team(conn)}
        return {team: day for team, day in found.items() if day is not None}

    def quarter_rows_by_team(self, quarter: Quarter) -> dict[str, int]:
        """quarter_rows([team], quarter) of each stored team, in one read; a team with no rows
        in it is absent."""
        with read_transaction(self.engine) as conn:
            found = {team: counts.rows_between(conn, names, quarter.start, quarter.last_day)
                     for team, names in review_reads.each_team(conn)}
        return {team: rows for team, rows in found.items() if rows}

    def quarter_rows(self, teams: Sequence[str] | None, quarter: Quarter) -> int:
        """How many active rows `teams` (None: every team) have in the quarter, from the kept
        counts: what a review of them holds in memory grows with it."""
        with read_transaction(self.engine) as conn:
            return counts.rows_between(conn, review_reads.team_names(conn, teams),
                                       quarter.start, quarter.last_day)

    def review(
        self,
        teams: Sequence[str] | None,
        quarter: Quarter,
        as_of: date | None = None,
        *,
        keep: bool | None = None,
    ) -> Review:
        """The quarter's review of `teams` (None: every team): the one kept in the store
        (kept_reviews.py) while nothing it was worked out from has changed, else worked out
        from review_inputs and kept for the next process that asks: always with `keep` True,
        never with False, and by default when working it out took kept_reviews.WORTH_KEEPING_S
        or more (a team's review, 0.2 s, is not worth a write on every switch)."""
        from capa_monitor.metrics.review import stored_review

        started = time.perf_counter()
        teams = list(teams) if teams else None
        with read_transaction(self.engine) as conn:
            found = _kept(conn, teams, quarter, as_of)
            if found.review is not None:
                return found.review
            inputs = review_reads.read_inputs(conn, teams, quarter, as_of, self._every_plan(conn))
        result = stored_review(inputs, quarter, as_of=as_of, teams=teams)
        if keep or (keep is None
                    and time.perf_counter() - started >= kept_reviews.WORTH_KEEPING_S):
            kept_reviews.keep(self.engine, found.key, found.names, found.worked_from, result)
        return result

    def _every_plan(self, conn: Connection) -> pd.DataFrame:
        """Every current plan, as _jobplans reads them, kept while the shared version stands."""
        version = derived.shared_version(conn)
        seen = self._plans_seen
        if seen is not None and seen[0] == version:
            return seen[1]
        plans = jobplan_ops.read(conn, None)
        self._plans_seen = (version, plans)
        return plans

    def latest_as_of(self, teams: Sequence[str] | None) -> date | None:
        """The teams' as-of date (§2: the latest date attended or missed), from the kept counts."""
        with read_transaction(self.engine) as conn:
            names = review_reads.team_names(conn, teams)
            return counts.latest_happened(conn, names)

    def slots(
        self,
        teams: Sequence[str] | None,
        start: date,
        end: date,
        *,
        clinician: str | None = None,
        kinds: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Active rows of the teams with start <= date < end, of one clinician and some kinds
        (the drill-down's slots): read through the (team, date) index."""
        rows = activity.c
        conditions = [rows.superseded_by.is_(None), rows.date >= start, rows.date < end]
        if clinician is not None:
            conditions.append(rows.clinician == clinician)
        if kinds is not None:
            conditions.append(rows.kind.in_(list(kinds)))
        with read_transaction(self.engine) as conn:
            names = review_reads.team_names(conn, teams)
            return bulk.read_activity(
                conn, conditions, hops.stored_teams(conn) if names is None else names)

    def teams(self) -> list[str]:
        """Teams with active rows or a job plan, sorted."""
        with read_transaction(self.engine) as conn:
            planned = conn.execute(
                select(jobplans.c.team).where(jobplans.c.team.is_not(None)).distinct()
            ).scalars()
            return sorted(set(hops.active_teams(conn)) | set(planned))

    def date_bounds(self) -> tuple[date, date] | None:
        with read_transaction(self.engine) as conn:
            return hops.date_bounds(conn)

    # ---- job plans -------------------------------------------------------------------------

    def jobplans(self, teams: Sequence[str] | None = None) -> pd.DataFrame:
        with read_transaction(self.engine) as conn:
            return jobplan_ops.read(conn, teams)

    def save_jobplans(self, plans: pd.DataFrame, *, user: str, source: str) -> int:
        """Replace the plan of each clinician in `plans`, keeping history; returns plans changed.

        A plan identical to the stored one is left alone (no history entry).
        """
        records = jobplan_ops.records(plans)  # refused before the write when a row is wrong
        with self._write() as conn:
            return jobplan_ops.save(conn, records, user=user, source=source)

    def remove_jobplans(self, clinicians: Sequence[str], *, user: str, source: str) -> int:
        """Delete the plans of these clinicians (e.g. rows deleted in the app's editor), keeping
        each removed plan in the history; returns how many were removed."""
        with self._write() as conn:
            return jobplan_ops.remove(conn, clinicians, user=user, source=source)

    def jobplan_history(self) -> pd.DataFrame:
        with read_transaction(self.engine) as conn:
            return jobplan_ops.history(conn)

    # ---- settings and mapping profiles -----------------------------------------------------

    def settings(self) -> Settings:
        with read_transaction(self.engine) as conn:
            overrides = conn.execute(
                select(settings_table.c.overrides).where(settings_table.c.id == 1)
            ).scalar()
        return Settings.from_dict(json.loads(overrides)) if overrides else DEFAULT_SETTINGS

    def save_settings(self, settings: Settings, *, user: str) -> None:
        """Keep only the values that differ from the defaults, so new defaults reach old stores."""
        overrides = _differences(settings.to_dict(), DEFAULT_SETTINGS.to_dict())
        with self._write() as conn:
            if derived.matching_changed(derived.stored_settings(conn), settings):
                derived.mark_dirty(conn, None)
            derived.mark_shared(conn)
            conn.execute(delete(settings_table))
            conn.execute(
                insert(settings_table).values(
                    id=1, overrides=_json(overrides), updated_by=user, updated_at=utc_now()
                )
            )
            _audit(conn, "settings changed", user, overrides=overrides)

    def save_profile(self, profile: MappingProfile) -> None:
        with self._write(may_change_reviews=False) as conn:
            conn.execute(delete(mapping_profiles).where(mapping_profiles.c.name == profile.name))
            conn.execute(
                insert(mapping_profiles).values(
                    name=profile.name, profile=profile.to_json(), saved_at=utc_now()
                )
            )

    def profiles(self) -> list[MappingProfile]:
        from capa_monitor.loading.report import MappingProfile

        with read_transaction(self.engine) as conn:
            texts = conn.execute(
                select(mapping_profiles.c.profile).order_by(mapping_profiles.c.name)
            ).scalars()
            return [MappingProfile.from_json(t) for t in texts]

    # ---- audit -----------------------------------------------------------------------------

    def record(self, action: str, *, user: str, **details: Any) -> None:
        """Append an audit entry (downloads and other actions outside the store)."""
        with self._write(may_change_reviews=False) as conn:
            _audit(conn, action, user, **details)

    def audit(self) -> pd.DataFrame:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
        frame = pd.DataFrame(
            [
                (
                    r.id,
                    r.action,
                    r.user_name,
                    r.at,
                    r.file_sha256,
                    r.period_start,
                    r.period_end,
                    r.rows,
                    r.details,
                )
                for r in rows
            ],
            columns=list(AUDIT_COLUMNS),
        )
        for column in ("at", "period_start", "period_end"):
            frame[column] = pd.to_datetime(frame[column])
        frame["rows"] = frame["rows"].astype("Int64")
        return frame


DEMO_SOURCE = "demo"


class _Kept(NamedTuple):
    key: kept_reviews.Key
    names: list[str] | None  # the stored team names the selection means
    worked_from: str  # kept_reviews.versions of them now
    review: Review | None  # the kept review if current


def _kept(conn: Connection, teams: Sequence[str] | None, quarter: Quarter,
          as_of: date | None) -> _Kept:
    """The kept review of `teams` if current, with what a review worked out now is kept by."""
    teams = list(teams) if teams else None
    key = kept_reviews.Key.of(teams, quarter, as_of)
    names = review_reads.team_names(conn, teams)
    worked_from = kept_reviews.versions(conn, names)
    return _Kept(key, names, worked_from, kept_reviews.find(conn, key, worked_from))


def _differences(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        default = defaults.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            nested = _differences(value, default)
            if nested:
                out[key] = nested
        elif value != default:
            out[key] = list(value) if isinstance(value, tuple) else value
    return out

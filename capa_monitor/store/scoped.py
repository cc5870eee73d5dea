"""The store as one person may use it (issue 14): every read filtered to their teams, every
write checked against their role, every refusal audited.

The pages and downloads call this, not the Store, for anything a team owns: uploads, their
restore and removal, job plans, the audit log. Refusals (access.AccessDenied) name only what
the person asked for, never another team's data.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from capa_monitor.access import (
    DOWNLOAD,
    EDIT_JOBPLANS,
    EDIT_SETTINGS,
    MANAGE_ACCESS,
    REMOVE,
    RESTORE,
    UPLOAD,
    VIEW_AUDIT,
    AccessDenied,
    Scope,
)
from capa_monitor.model import TEAM
from capa_monitor.settings import Settings
from capa_monitor.store.database import read_transaction, write_transaction
from capa_monitor.store.overlap import SKIP, UploadChange, teams_label
from capa_monitor.store.schema import uploads as uploads_table
from capa_monitor.store.store import IngestOutcome, IngestPlan, Store
from capa_monitor.store.upload_ops import audit

if TYPE_CHECKING:  # the loader's classes: a review, which reads only, never imports the loader
    from capa_monitor.loading.report import LoadResult, MappingProfile

#: Audit actions about the access list: the admin's alone to read.
ACCESS_ACTIONS = ("access granted", "access revoked")
REFUSED = "refused"


class ScopedStore:
    """``store`` seen by ``scope``; ``user`` is the name audit entries carry."""

    def __init__(self, store: Store, scope: Scope, user: str):
        self.store, self.scope, self.user = store, scope, user

    # ---- refusals --------------------------------------------------------------------------

    def check(self, action: str, teams=(), **details: Any) -> None:
        """scope.check, with the refusal written to the audit log before it is raised."""
        try:
            self.scope.check(action, teams)
        except AccessDenied as refused:
            self.refused(refused, **details)
            raise

    def refused(self, refused: AccessDenied, **details: Any) -> None:
        self.note(REFUSED, attempted=refused.action, teams=list(refused.teams) or None,
                  reason=str(refused), **details)

    def note(self, action: str, **details: Any) -> None:
        """An audit entry that changes no data, so the data version (and every cache keyed on
        it) stays: page views, downloads, refusals."""
        with write_transaction(self.store.engine) as conn:
            audit(conn, action, self.user, **details)

    # ---- reads -----------------------------------------------------------------------------

    def data_version(self) -> int:
        return self.store.data_version()

    def settings(self) -> Settings:
        return self.store.settings()

    def teams(self, action: str) -> list[str]:
        return self.scope.visible_teams(self.store.teams(), action)

    def _upload_teams(self) -> dict[int, list[str | None]]:
        with read_transaction(self.store.engine) as conn:
            rows = conn.execute(select(uploads_table.c.id, uploads_table.c.teams)).all()
        return {int(r.id): json.loads(r.teams) for r in rows}

    def uploads(self, action: str = UPLOAD) -> pd.DataFrame:
        """Uploads holding rows of this person's teams, the teams label naming only theirs."""
        frame = self.store.uploads()
        if self.scope.every_team and self.scope.can(action):
            return frame
        teams = self._upload_teams()
        visible = [[t for t in teams.get(int(i), []) if self.scope.allows(action, t)]
                   for i in frame["upload_id"]]
        keep = [bool(v) for v in visible]
        frame = frame.assign(teams=[teams_label(v) for v in visible])
        return frame[keep].reset_index(drop=True)

    def audit(self) -> pd.DataFrame:
        """Audit entries about this person's teams (entries about no team, such as settings:
        only for a scope over every team; access-list changes: the admin's only)."""
        self.check(VIEW_AUDIT, what="audit log")
        log = self.store.audit()
        if self.scope.can(MANAGE_ACCESS):
            return log
        upload_teams = self._upload_teams()
        keep = []
        for action, details in zip(log["action"], log["details"], strict=True):
            if action in ACCESS_ACTIONS:
                keep.append(False)
                continue
            teams = entry_teams(json.loads(details or "{}"), upload_teams)
            keep.append(self.scope.every_team if not teams
                        else all(self.scope.allows(VIEW_AUDIT, t) for t in teams))
        return log[keep].reset_index(drop=True)

    def jobplans(self, action: str = EDIT_JOBPLANS) -> pd.DataFrame:
        return self.scope.filter_teams(self.store.jobplans(), "team", action)

    def jobplan_history(self) -> pd.DataFrame:
        """Changes to plans of this person's teams (the team before or after the change)."""
        history = self.store.jobplan_history()
        if self.scope.every_team:
            return history
        keep = []
        for before, after in zip(history["before"], history["after"], strict=True):
            teams = [json.loads(p).get("team") for p in (before, after) if p]
            keep.append(bool(teams) and all(self.scope.allows(EDIT_JOBPLANS, t) for t in teams))
        return history[keep].reset_index(drop=True)

    # ---- uploads ---------------------------------------------------------------------------

    def refused_rows(self, result: LoadResult) -> dict[str, int]:
        """Rows of ``result`` per team this person may not upload ("(no team)" for blanks)."""
        teams = result.frame[TEAM].astype("object").where(result.frame[TEAM].notna(), None)
        counts: dict[str, int] = {}
        for team, rows in teams.value_counts(dropna=False).items():
            for word in self.scope.outside(UPLOAD, [team]):
                counts[word] = counts.get(word, 0) + int(rows)
        return dict(sorted(counts.items()))

    def within_scope(self, result: LoadResult) -> LoadResult:
        """``result`` without the rows of teams outside this person's scope."""
        self.check(UPLOAD, what="upload")
        if not self.refused_rows(result):
            return result
        teams = result.frame[TEAM]
        keep = teams.map(lambda t: self.scope.allows(UPLOAD, None if pd.isna(t) else t))
        return replace(result, frame=result.frame[keep.astype(bool)].reset_index(drop=True))

    def plan_ingest(self, result: LoadResult, **options: Any) -> IngestPlan:
        """The store's plan. A team-less file always needs one of this person's teams (its
        rows may only go there), and the team suggested for it is only ever one of theirs:
        the suggestion reads every team's rows and must not name another."""
        team_less = bool(len(result.frame)) and bool(result.frame[TEAM].isna().all())
        if not team_less or self.scope.every_team:
            return self._own_suggestion(
                self.store.plan_ingest(self.within_scope(result), **options))
        self.check(UPLOAD, what="upload")
        plan = replace(self.store.plan_ingest(result, **options), team_needed=True)
        return self._own_suggestion(plan)

    def _own_suggestion(self, plan: IngestPlan) -> IngestPlan:
        if not plan.team_needed or (
                plan.suggested_team and self.scope.allows(UPLOAD, plan.suggested_team)):
            return plan
        own = sorted(self.scope.teams or ())
        if len(own) == 1:
            return replace(plan, suggested_team=own[0], team_evidence="the one team you manage")
        return replace(plan, suggested_team=None, team_evidence="")

    def ingest(self, result: LoadResult, *, user: str, **options: Any) -> IngestOutcome:
        """Store the rows of this person's teams; the rows of other teams are refused (one
        audit entry says which and how many), and so is a file whose slots are already stored
        under a team outside the scope, unless those stored copies are kept (on_overlap=skip)."""
        refused = self.refused_rows(result)
        kept = self.within_scope(result)
        if kept.frame.empty:
            denied = AccessDenied(
                "None of this file's rows are for your teams (" + ", ".join(refused)
                + f"): {self.scope.describe()}.", action=UPLOAD, teams=list(refused))
            self.refused(denied, what="upload", rows=len(result.frame))
            raise denied
        if refused:
            self.refused(AccessDenied(
                f"Rows for {', '.join(refused)} were not stored: {self.scope.describe()}.",
                action=UPLOAD, teams=list(refused)), what="upload", rows=sum(refused.values()))
        if not self.scope.every_team and options.get("on_overlap") != SKIP:
            self._check_overlaps(kept, options)
        return self.store.ingest(kept, user=user, **options)

    def _check_overlaps(self, kept: LoadResult, options: dict[str, Any]) -> None:
        plan = self.store.plan_ingest(kept, **options)
        teams = self._upload_teams()
        foreign = [o for o in plan.overlaps
                   if any(not self.scope.allows(UPLOAD, t) for t in teams.get(o.upload_id, []))]
        if foreign:
            denied = AccessDenied(
                f"{sum(o.rows for o in foreign):,} rows of this file are slots already stored "
                "in an upload that also holds another team's rows, which you may not replace: "
                "keep the stored copies (skip), or ask an admin.", action=UPLOAD)
            self.refused(denied, what="upload", rows=sum(o.rows for o in foreign))
            raise denied

    def _check_upload(self, action: str, upload_id: int, *, attempt: bool) -> None:
        """Refuse an upload outside the scope; an ``attempt`` (not a preview) is audited."""
        teams = self._upload_teams().get(int(upload_id))
        if teams is None or not any(self.scope.allows(action, t) for t in teams):
            # Neither its existence nor its teams are told to someone outside them.
            denied = AccessDenied(f"There is no upload {upload_id} among your teams' uploads.",
                                  action=action)
        elif not all(self.scope.allows(action, t) for t in teams):
            denied = AccessDenied(
                f"Upload {upload_id} also holds rows of a team outside yours, so you may not "
                f"{'restore' if action == RESTORE else 'remove'} it: ask an admin.", action=action)
        else:
            return
        if attempt:
            self.refused(denied, upload_id=int(upload_id))
        raise denied

    def _check_change(self, action: str, change: UploadChange, *, attempt: bool) -> UploadChange:
        """Refuse a restore or removal that would change rows of an upload holding another
        team's rows (slots filed under another team come back or are replaced)."""
        if self.scope.every_team and self.scope.can(action):
            return change
        teams = self._upload_teams()
        foreign = [o for o in change.others
                   if any(not self.scope.allows(action, t) for t in teams.get(o.upload_id, []))]
        if foreign:
            denied = AccessDenied(
                f"That would change {sum(o.rows for o in foreign):,} rows of an upload that "
                "holds another team's rows, which you may not change: ask an admin.",
                action=action)
            if attempt:
                self.refused(denied, upload_id=change.upload_id)
            raise denied
        return change

    def plan_restore(self, upload_id: int, *, attempt: bool = False) -> UploadChange:
        """The preview (refused, not audited: the page shows it on every run)."""
        self._check_upload(RESTORE, upload_id, attempt=attempt)
        return self._check_change(RESTORE, self.store.plan_restore(upload_id), attempt=attempt)

    def restore(self, upload_id: int, *, user: str) -> UploadChange:
        self.plan_restore(upload_id, attempt=True)
        return self.store.restore(upload_id, user=user)

    def plan_remove(self, upload_id: int, *, attempt: bool = False) -> UploadChange:
        self._check_upload(REMOVE, upload_id, attempt=attempt)
        return self._check_change(REMOVE, self.store.plan_remove(upload_id), attempt=attempt)

    def remove_upload(self, upload_id: int, *, user: str) -> UploadChange:
        self.plan_remove(upload_id, attempt=True)
        return self.store.remove_upload(upload_id, user=user)

    def remove_demo(self, *, user: str) -> int:
        """The demo uploads and plans go only for someone who may remove every team's."""
        if not self.scope.every_team:
            self.check(REMOVE, [None], what="demo data")
        self.check(REMOVE, what="demo data")
        return self.store.remove_demo(user=user)

    def profiles(self) -> list[MappingProfile]:
        return self.store.profiles()

    def save_profile(self, profile: MappingProfile) -> None:
        if not self.scope.can(EDIT_JOBPLANS):
            self.check(UPLOAD, what="mapping profile")
        self.store.save_profile(profile)

    # ---- job plans, settings, downloads ----------------------------------------------------

    def _check_plans(self, clinicians, teams, what: str) -> None:
        stored = self.store.jobplans()
        keys = {" ".join(str(c).split()).casefold() for c in clinicians}
        current = stored[stored["clinician"].map(lambda c: " ".join(str(c).split()).casefold())
                         .isin(keys)]["team"]
        touched = [None if pd.isna(t) else t for t in [*teams, *current]]
        self.check(EDIT_JOBPLANS, touched, what=what)

    def save_jobplans(self, plans: pd.DataFrame, *, user: str, source: str) -> int:
        self._check_plans(plans["clinician"], plans["team"], "job plans")
        return self.store.save_jobplans(plans, user=user, source=source)

    def remove_jobplans(self, clinicians, *, user: str, source: str) -> int:
        self._check_plans(clinicians, [], "job plans")
        return self.store.remove_jobplans(clinicians, user=user, source=source)

    def save_settings(self, settings: Settings, *, user: str) -> None:
        self.check(EDIT_SETTINGS, what="settings")
        self.store.save_settings(settings, user=user)

    def record(self, action: str, *, user: str, **details: Any) -> None:
        """An audit entry; a download is checked first (and refused for teams outside)."""
        if action == "download":
            if not details.get("teams") and not self.scope.every_team:
                details["teams"] = sorted(self.scope.teams or ())  # "every team" is theirs
            self.check(DOWNLOAD, details.get("teams") or [], what=details.get("what"))
            self.note(action, **details)
            return
        self.store.record(action, user=user, **details)


def entry_teams(details: dict[str, Any], upload_teams: dict[int, list[str | None]]
                ) -> list[str | None]:
    """The teams an audit entry is about: its ``teams``/``team`` detail, else the teams of the
    uploads it names; [] when it names none (a store-wide entry)."""
    named = details.get("teams", details.get("team"))
    if isinstance(named, str):
        return [t.strip() for t in named.split(",") if t.strip()]
    if isinstance(named, list) and named:
        return named
    ids = [details.get(k) for k in ("upload_id", "superseded_by")]
    ids += list(details.get("upload_ids") or [])
    found: list[str | None] = []
    for upload_id in ids:
        if upload_id is not None:
            found += upload_teams.get(int(upload_id), [])
    return sorted(set(found), key=lambda t: (t is None, t or ""))

"""L4 (domain spec §8): try changes to the job plans without saving them, and see per quarter
the team's capacity, L3's balance and each clinician's target before and after.

A change is a small frozen value (a leaving date, a leave, sessions moved, a new starter) that
says itself in words; `try_changes` applies a list of them to a copy of the plans, refusing
one that cannot apply (no such clinician, more sessions moved than the plan has) with one
sentence. Saving a trial is the store's ordinary audited `save_jobplans` of `Trial.changed_plans`.

Moved sessions: Core and Specific are half-day sessions; Choice is kept in a plan as
appointments a week, so a session of Choice is `appointments_per_half_day` appointments. A plan
with explicit quarterly targets (q1_target…q4_target) would ignore moved Core sessions, so its
targets are scaled with its Core sessions (and the trial says so); a plan whose targets come
with no Core sessions to scale by keeps them, and the trial says that too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from capa_monitor.errors import CapaError
from capa_monitor.metrics.capacity import (
    Conversion,
    balance_words,
    capacity_by_quarter,
    conversion,
    plan_capacity,
)
from capa_monitor.names import clinician_key, clinician_keys
from capa_monitor.periods import Quarter
from capa_monitor.plan_targets import canonical_plans
from capa_monitor.settings import DEFAULT_SETTINGS, Settings

ACTIVITIES = ("choice", "core", "specific")
_TARGETS = ("q1_target", "q2_target", "q3_target", "q4_target")
_COLUMN = {"choice": "choice_per_week", "core": "core_sessions", "specific": "specific_sessions"}
_NAMES = {"choice": "Choice", "core": "Core", "specific": "Specific"}


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


@dataclass(frozen=True)
class Leaving:
    clinician: str
    last_day: date

    def words(self) -> str:
        return f"{self.clinician} leaves on {_day(self.last_day)}"


@dataclass(frozen=True)
class Leave:
    """A leave (maternity leave, a long absence): from `starts` the plan stops (available_to is
    the day before); `returns` alone sets available_from (a leave already begun)."""

    clinician: str
    starts: date | None = None
    returns: date | None = None

    def words(self) -> str:
        parts = []
        if self.starts:
            parts.append(f"goes on leave from {_day(self.starts)}")
        if self.returns:
            parts.append(f"is back on {_day(self.returns)}")
        return f"{self.clinician} {' and '.join(parts) or 'takes leave'}"


@dataclass(frozen=True)
class MoveSessions:
    """`sessions` half-days a week from `source` work to `target` work, of the same clinician
    or (with `to_clinician`) of a colleague, whose plan gains them."""

    clinician: str
    sessions: float
    source: str
    target: str
    to_clinician: str | None = None

    def words(self) -> str:
        count = f"{self.sessions:g} {_NAMES.get(self.source, self.source)} session" + (
            "" if self.sessions == 1 else "s")
        who = f" of {self.to_clinician}" if self.to_clinician else ""
        return f"{self.clinician}: {count} a week move to {_NAMES.get(self.target, self.target)}{who}"


@dataclass(frozen=True)
class Starter:
    clinician: str
    starts: date
    team: str | None = None
    core_sessions: float = 0.0
    choice_per_week: float = 0.0
    specific_sessions: float = 0.0
    fte: float | None = None

    def words(self) -> str:
        return (f"{self.clinician} starts on {_day(self.starts)} with {self.core_sessions:g} "
                f"Core session{'' if self.core_sessions == 1 else 's'} a week")


Change = Leaving | Leave | MoveSessions | Starter


@dataclass(frozen=True)
class Trial:
    """Plans with the changes applied (canonical job-plan columns), nothing saved."""

    plans: pd.DataFrame
    changes: tuple[Change, ...]
    changed: tuple[str, ...]  # clinicians whose plan the changes touch
    notes: tuple[str, ...]  # what the trial did that the changes do not say

    @property
    def changed_plans(self) -> pd.DataFrame:
        """The rows to save (store.save_jobplans replaces just these clinicians' plans)."""
        keys = {clinician_key(name) for name in self.changed}
        return self.plans[clinician_keys(self.plans["clinician"]).isin(keys).to_numpy()]

    def words(self) -> str:
        return "; ".join(change.words() for change in self.changes)


def try_changes(plans: pd.DataFrame, changes: Sequence[Change],
                settings: Settings = DEFAULT_SETTINGS) -> Trial:
    """Apply `changes` in order to a copy of `plans`; CapaError (one sentence) on one that
    cannot apply."""
    frame = canonical_plans(plans).reset_index(drop=True).copy()
    changed: list[str] = []
    notes: list[str] = []
    for change in changes:
        if isinstance(change, Starter):
            frame = _add_starter(frame, change)
            changed.append(change.clinician)
            continue
        row = _row(frame, change.clinician)
        name = frame.at[row, "clinician"]
        changed.append(name)
        if isinstance(change, Leaving):
            frame.at[row, "available_to"] = pd.Timestamp(change.last_day)
        elif isinstance(change, Leave):
            _leave(frame, row, change, notes)
        elif isinstance(change, MoveSessions):
            _move(frame, row, change, settings, notes)
            if change.to_clinician:
                changed.append(frame.at[_row(frame, change.to_clinician), "clinician"])
        else:  # pragma: no cover - the Change union is closed
            raise TypeError(change)
    unique = tuple(dict.fromkeys(changed))
    return Trial(plans=frame, changes=tuple(changes), changed=unique, notes=tuple(notes))


def _row(frame: pd.DataFrame, clinician: str) -> int:
    found = np.flatnonzero(clinician_keys(frame["clinician"]).to_numpy() == clinician_key(clinician))
    if not len(found):
        raise CapaError(f"There is no job plan for {clinician!r} to change; add it as a new "
                        "starter or on the Job plans page.")
    return int(found[-1])


def _add_starter(frame: pd.DataFrame, starter: Starter) -> pd.DataFrame:
    if (clinician_keys(frame["clinician"]) == clinician_key(starter.clinician)).any():
        raise CapaError(f"{starter.clinician} already has a job plan; change it rather than "
                        "adding them as a starter.")
    if starter.core_sessions < 0 or starter.choice_per_week < 0 or starter.specific_sessions < 0:
        raise CapaError(f"A starter's sessions cannot be below 0 ({starter.clinician}).")
    row = pd.DataFrame([{
        "clinician": starter.clinician, "team": starter.team, "fte": starter.fte,
        "choice_per_week": starter.choice_per_week, "core_sessions": starter.core_sessions,
        "specific_sessions": starter.specific_sessions,
        "available_from": pd.Timestamp(starter.starts),
    }])
    return canonical_plans(pd.concat([frame, canonical_plans(row)], ignore_index=True))


def _leave(frame: pd.DataFrame, row: int, leave: Leave, notes: list[str]) -> None:
    if leave.starts is None and leave.returns is None:
        raise CapaError(f"Give the day {leave.clinician}'s leave starts, or the day they are back.")
    if leave.starts is not None:
        frame.at[row, "available_to"] = pd.Timestamp(leave.starts - timedelta(days=1))
        if leave.returns is not None:
            notes.append(
                f"{leave.clinician}'s return on {_day(leave.returns)} is not in the trial: a job "
                "plan holds one spell of availability, so set their start date to it once the "
                "leave has begun.")
    else:
        frame.at[row, "available_from"] = pd.Timestamp(leave.returns)


def _sessions(frame: pd.DataFrame, row: int, activity: str, settings: Settings) -> float:
    value = frame.at[row, _COLUMN[activity]]
    value = 0.0 if pd.isna(value) else float(value)
    return value / settings.appointments_per_half_day if activity == "choice" else value


def _set_sessions(frame: pd.DataFrame, row: int, activity: str, sessions: float,
                  settings: Settings, notes: list[str]) -> None:
    if activity == "core":
        _scale_explicit_targets(frame, row, sessions, notes)
    value = sessions * settings.appointments_per_half_day if activity == "choice" else sessions
    frame.at[row, _COLUMN[activity]] = round(value, 9)


def _move(frame: pd.DataFrame, row: int, move: MoveSessions, settings: Settings,
          notes: list[str]) -> None:
    for activity in (move.source, move.target):
        if activity not in ACTIVITIES:
            raise CapaError(f"Sessions move between Choice, Core and Specific, not {activity!r}.")
    if not move.sessions > 0:
        raise CapaError(f"Move a number of sessions above 0, not {move.sessions:g}.")
    to_row = _row(frame, move.to_clinician) if move.to_clinician else row
    if to_row == row and move.source == move.target:
        raise CapaError(f"{move.clinician}'s sessions would move from {_NAMES[move.source]} to "
                        "itself; choose another kind of work or a colleague.")
    has = _sessions(frame, row, move.source, settings)
    if move.sessions > has + 1e-9:
        raise CapaError(f"{move.clinician}'s job plan has {has:g} {_NAMES[move.source]} "
                        f"session{'' if has == 1 else 's'} a week, fewer than the "
                        f"{move.sessions:g} to move.")
    _set_sessions(frame, row, move.source, has - move.sessions, settings, notes)
    gains = _sessions(frame, to_row, move.target, settings)
    _set_sessions(frame, to_row, move.target, gains + move.sessions, settings, notes)


def _scale_explicit_targets(frame: pd.DataFrame, row: int, sessions: float,
                            notes: list[str]) -> None:
    """Explicit targets follow moved Core sessions (else the move would change nothing)."""
    explicit = [name for name in _TARGETS if not pd.isna(frame.at[row, name])]
    if not explicit:
        return
    name = frame.at[row, "clinician"]
    old = frame.at[row, "core_sessions"]
    if pd.isna(old) or old == 0:
        notes.append(f"{name}'s job plan sets its quarterly targets without Core sessions to "
                     "scale them by, so they are kept as they are: edit them on the Job plans page.")
        return
    for column in explicit:
        frame.at[row, column] = frame.at[row, column] * sessions / float(old)
    notes.append(f"{name}'s explicit quarterly targets are scaled with their Core sessions "
                 f"({float(old):g} to {sessions:g} a week).")


@dataclass(frozen=True)
class WhatIf:
    """Before and after, per quarter.

    `team`: quarter, demand, capacity_before, capacity_after, balance_before, balance_after,
    words_before, words_after. `clinicians`: quarter, clinician, team, target_before,
    target_after (the plan's full-quarter target), available_before, available_after (the part
    their availability allows: what capacity counts), changed (bool)."""

    trial: Trial
    conversion: Conversion
    team: pd.DataFrame
    clinicians: pd.DataFrame


def compare(activity: pd.DataFrame, before: pd.DataFrame, trial: Trial,
            quarters: Sequence[Quarter], as_of: date, settings: Settings = DEFAULT_SETTINGS,
            measured: Conversion | None = None) -> WhatIf:
    """L3 before and after the trial for each quarter, and each clinician's targets. Demand does
    not change with a job plan, so only capacity and balance move."""
    measured = measured or conversion(activity, as_of, settings)
    l3 = capacity_by_quarter(activity, before, quarters, as_of, settings, measured)
    team_rows, clinician_rows = [], []
    changed = {clinician_key(name) for name in trial.changed}
    for quarter, (_, row) in zip(quarters, l3.iterrows(), strict=True):
        old = plan_capacity(before, quarter, settings)
        new = plan_capacity(trial.plans, quarter, settings)
        after = float(new["available_target"].sum())
        team_rows.append({
            "quarter": quarter.label,
            "demand": row["demand"],
            "capacity_before": row["capacity"],
            "capacity_after": after,
            "balance_before": row["balance"],
            "balance_after": after / row["demand"] if row["demand"] > 0 else np.nan,
            "words_before": row["balance_words"],
            "words_after": balance_words(after, row["demand"], settings),
        })
        merged = (old.assign(key=clinician_keys(old["clinician"])).set_index("key")
                  .join(new.assign(key=clinician_keys(new["clinician"])).set_index("key"),
                        how="outer", suffixes=("_before", "_after")))
        clinician_rows.append(pd.DataFrame({
            "quarter": quarter.label,
            "clinician": merged["clinician_after"].fillna(merged["clinician_before"]),
            "team": merged["team_after"].fillna(merged["team_before"]),
            "target_before": merged["target_before"],
            "target_after": merged["target_after"],
            "available_before": merged["available_target_before"],
            "available_after": merged["available_target_after"],
            "changed": merged.index.isin(changed),
        }))
    clinicians = pd.concat(clinician_rows, ignore_index=True) if clinician_rows else pd.DataFrame()
    return WhatIf(trial=trial, conversion=measured, team=pd.DataFrame(team_rows),
                  clinicians=clinicians)

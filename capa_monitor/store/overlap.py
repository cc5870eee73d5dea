"""Which stored rows are the same slots as an upload's, and what ingest, restore and removal do
with them, so that no slot is ever counted twice (domain spec §3; keys in identity.py).

The invariant every write keeps: no two active rows share a content key, and no two share a
slot key. Each function here works out a change inside the caller's transaction without
writing; the Store applies it. Plans and their application share these functions, so a preview
is exactly what the write does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    and_,
    any_,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from capa_monitor import model
from capa_monitor.names import clinician_keys
from capa_monitor.store.schema import activity, uploads

#: What to do with an upload's rows that are already stored (the manager's choice).
REPLACE, SKIP, KEEP_DIFFERENT = "replace", "skip", "keep_different"
ON_OVERLAP = (REPLACE, SKIP, KEEP_DIFFERENT)

# Fields compared to say whether two copies of a slot differ: the ones both must give, and the
# optional ones, which differ only when both copies give a value (a file without a booked-on
# column says nothing different). Team and ids are how the copies are filed, not what happened.
_REQUIRED = (model.CLINICIAN, model.DATE, model.KIND, model.OUTCOME)
_OPTIONAL = (model.START, model.CLIENT_KEY, model.BOOKED_ON, model.DURATION_MIN, model.REOFFERED)
_STORED = (
    activity.c.id,
    activity.c.upload_id,
    activity.c.team,
    activity.c.slot_key,
    activity.c.content_key,
    activity.c.superseded_by,
    # Dates as their ISO text: SQLAlchemy's per-value date parsing was the bulk of the fetch.
    *(
        cast(activity.c[name], String).label(name)
        if name in model.ACTIVITY_DATE_COLUMNS
        else activity.c[name]
        for name in (*_REQUIRED, *_OPTIONAL)
    ),
)


@dataclass(frozen=True)
class UploadRows:
    """Rows of one stored upload that a change touches, for the words of a preview."""

    upload_id: int
    file_name: str
    teams: str  # the upload's teams as people read them
    rows: int
    differing: int = 0  # of those, rows whose copy in the new file differs (ingest only)


@dataclass(frozen=True)
class UploadChange:
    """What removing or restoring an upload does (plan_remove / plan_restore)."""

    action: str  # "remove" | "restore"
    upload_id: int
    file_name: str
    teams: str
    period: tuple[date, date]
    rows: int  # remove: its rows that stop counting; restore: its rows that count again
    months: tuple[str, ...]  # the months those rows are in, "Jul 2026"
    others: tuple[UploadRows, ...]  # remove: rows that come back; restore: rows it replaces

    @property
    def other_rows(self) -> int:
        return sum(o.rows for o in self.others)


# ---- looking keys up --------------------------------------------------------------------

_INTEGER_NAMES = frozenset({"id", "upload_id", "slot_key", "content_key", "superseded_by"})


def rows_frame(rows: Sequence, columns: Sequence[str]) -> pd.DataFrame:
    """Fetched rows as a frame, ids and keys as exact Int64 (a column holding NULLs would
    otherwise become float, which cannot hold a 64-bit key)."""
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(columns), dtype=object)
    for name in columns:
        if name in _INTEGER_NAMES:
            frame[name] = frame[name].astype("Int64")
    return frame



def values_in(conn: Connection, column, values: np.ndarray) -> ColumnElement:
    """`column IN values` as one bound parameter whatever the size (SQLite: a JSON array read
    by json_each; PostgreSQL: an array), so a million keys are one query through the index."""
    values = np.unique(np.asarray(values, dtype=np.int64))
    if not len(values):
        return false()
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values.tolist(), type_=ARRAY(BigInteger)))
    listed = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(values.tolist())))
    )
    return column.in_(listed.scalar_subquery())


def stored_sharing_keys(
    conn: Connection,
    content: np.ndarray,
    slot: np.ndarray | None,
    *,
    active_only: bool = True,
    extra: Sequence[ColumnElement] = (),
) -> pd.DataFrame:
    """Stored rows whose content key is in `content` or slot key in `slot` (one query per key,
    each through its index), once each, with the fields compared; `extra` narrows them."""
    conditions = [*extra]
    if active_only:
        conditions.append(activity.c.superseded_by.is_(None))
    rows = conn.execute(
        select(*_STORED).where(*conditions, values_in(conn, activity.c.content_key, content))
    ).all()
    if slot is not None and len(slot):
        # Ids first: most rows found by slot key were found by content key already.
        ids = np.array(
            conn.execute(
                select(activity.c.id).where(
                    *conditions,
                    activity.c.slot_key.is_not(None),
                    values_in(conn, activity.c.slot_key, slot),
                )
            ).scalars().all(),
            dtype=np.int64,
        )
        missing = np.setdiff1d(ids, np.array([row.id for row in rows], dtype=np.int64))
        if len(missing):
            rows += conn.execute(
                select(*_STORED).where(values_in(conn, activity.c.id, missing))
            ).all()
    return rows_frame(rows, [c.name for c in _STORED])


def any_active(conn: Connection) -> bool:
    return conn.execute(
        select(activity.c.id).where(activity.c.superseded_by.is_(None)).limit(1)
    ).first() is not None


# ---- ingest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResolution:
    """What an ingest does with stored copies of its slots (positions are the frame's rows)."""

    overlaps: tuple[UploadRows, ...]
    replaced: np.ndarray  # ids of stored rows the new upload supersedes (besides its cover)
    kept: np.ndarray  # ids of stored rows that stay, although in the cover
    deferred_to: pd.Series  # Int64 per new row: the upload that counts instead, else <NA>
    supersedes: dict[int, int]  # stored upload id -> its rows the upload supersedes in all

    @property
    def deferred(self) -> int:
        return int(self.deferred_to.notna().sum())


def resolve_ingest(
    conn: Connection,
    frame: pd.DataFrame,
    content: np.ndarray,
    slot: np.ndarray | None,
    cover: tuple[Sequence[str | None], date, date],
    cover_counts: dict[int, int],
    on_overlap: str,
    names: dict[int, tuple[str, str]],
) -> IngestResolution:
    """Pair the new rows with active stored rows of the same slot and apply the choice:
    replace supersedes the stored copies; skip keeps them and stores the new copies only as
    history (superseded by the stored copy's upload); keep_different does that for identical
    copies and replaces the ones that differ. `cover_counts`: active rows per upload in the
    upload's cover (team × period), which it supersedes except for rows kept."""
    if on_overlap not in ON_OVERLAP:
        raise ValueError(f"on_overlap must be one of {ON_OVERLAP}, not {on_overlap!r}")
    none = pd.Series(pd.NA, index=range(len(frame)), dtype="Int64")
    stored = stored_sharing_keys(conn, content, slot) if any_active(conn) else pd.DataFrame()
    if stored.empty:
        return IngestResolution((), np.array([], np.int64), np.array([], np.int64), none,
                                dict(cover_counts))
    pairs = _pairs(frame, content, slot, stored)
    stored_differs = pairs.groupby("id")["differs"].any()
    if on_overlap == REPLACE:
        kept_ids = np.array([], np.int64)
    elif on_overlap == SKIP:
        kept_ids = stored_differs.index.to_numpy()
    else:
        kept_ids = stored_differs.index[~stored_differs.to_numpy()].to_numpy()
    pairs["kept"] = pairs["id"].isin(kept_ids)
    all_kept = pairs.groupby("pos")["kept"].all()
    deferred_pos = all_kept.index[all_kept.to_numpy()]
    first = pairs.sort_values("id").drop_duplicates("pos").set_index("pos")["upload_id"]
    deferred_to = none.copy()
    deferred_to.iloc[deferred_pos.to_numpy()] = first.loc[deferred_pos].to_numpy()

    matched = stored.set_index("id").loc[stored_differs.index]
    in_cover = _in_cover(matched, *cover)
    kept = matched.index.isin(kept_ids)
    supersedes = dict(cover_counts)
    for upload_id, rows in matched[kept & in_cover].groupby("upload_id").size().items():
        supersedes[int(upload_id)] = supersedes.get(int(upload_id), 0) - int(rows)
    for upload_id, rows in matched[~kept & ~in_cover].groupby("upload_id").size().items():
        supersedes[int(upload_id)] = supersedes.get(int(upload_id), 0) + int(rows)
    per_upload = pd.DataFrame(
        {"upload_id": matched["upload_id"], "differs": stored_differs.to_numpy()}
    ).groupby("upload_id")["differs"].agg(["size", "sum"])
    overlaps = tuple(
        UploadRows(int(u), *names.get(int(u), ("?", "?")), int(row["size"]), int(row["sum"]))
        for u, row in per_upload.iterrows()
    )
    return IngestResolution(
        overlaps=overlaps,
        replaced=matched.index[~kept].to_numpy(dtype=np.int64),
        kept=matched.index[kept & in_cover].to_numpy(dtype=np.int64),
        deferred_to=deferred_to,
        supersedes={u: n for u, n in supersedes.items() if n > 0},
    )


def _pairs(
    frame: pd.DataFrame, content: np.ndarray, slot: np.ndarray | None, stored: pd.DataFrame
) -> pd.DataFrame:
    """(pos, id, upload_id, differs) for each new row and stored row of the same slot."""
    new = pd.DataFrame({"pos": np.arange(len(frame)), "content_key": content})
    by_content = new.merge(stored[["id", "upload_id", "content_key"]], on="content_key")
    found = [by_content[["pos", "id", "upload_id"]]]
    if slot is not None:
        new_slots = pd.DataFrame({"pos": np.arange(len(frame)), "slot_key": slot})
        known = stored.dropna(subset=["slot_key"]).astype({"slot_key": "int64"})
        found.append(new_slots.merge(known[["id", "upload_id", "slot_key"]], on="slot_key")[
            ["pos", "id", "upload_id"]
        ])
    pairs = pd.concat(found, ignore_index=True).drop_duplicates(["pos", "id"])
    pairs = pairs.reset_index(drop=True)
    new_side = _comparable(frame.iloc[pairs["pos"].to_numpy()].reset_index(drop=True))
    old_side = _comparable(
        stored.set_index("id").loc[pairs["id"].to_numpy()].reset_index(drop=True)
    )
    pairs["differs"] = _differs(new_side, old_side)
    return pairs


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            model.CLINICIAN: clinician_keys(frame[model.CLINICIAN].astype("str")),
            model.DATE: pd.to_datetime(frame[model.DATE]).astype("datetime64[us]"),
            model.KIND: frame[model.KIND].astype("str"),
            model.OUTCOME: frame[model.OUTCOME].astype("str"),
            model.START: frame[model.START].astype("str"),
            model.CLIENT_KEY: frame[model.CLIENT_KEY].astype("str"),
            model.BOOKED_ON: pd.to_datetime(frame[model.BOOKED_ON]).astype("datetime64[us]"),
            model.DURATION_MIN: frame[model.DURATION_MIN].astype("Float64"),
            model.REOFFERED: frame[model.REOFFERED].astype("boolean").astype("Float64"),
        }
    )


def _differs(new: pd.DataFrame, old: pd.DataFrame) -> np.ndarray:
    out = np.zeros(len(new), dtype=bool)
    for name in (*_REQUIRED, *_OPTIONAL):
        left, right = new[name], old[name]
        given = (left.notna() & right.notna()).to_numpy(dtype=bool)
        unequal = np.zeros(len(new), dtype=bool)
        unequal[given] = (left[given] != right[given]).to_numpy(dtype=bool)
        if name in _REQUIRED:
            unequal |= (left.isna() != right.isna()).to_numpy(dtype=bool)
        out |= unequal
    return out


def _in_cover(rows: pd.DataFrame, teams: Sequence[str | None], start: date, end: date) -> np.ndarray:
    named = [t for t in teams if t is not None]
    team_in = rows["team"].isin(named).to_numpy(dtype=bool)
    if None in teams:
        team_in = team_in | rows["team"].isna().to_numpy(dtype=bool)
    days = pd.to_datetime(rows["date"])
    within = ((days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))).to_numpy(dtype=bool)
    return team_in & within


def cover_condition(teams: Sequence[str | None], start: date, end: date) -> ColumnElement:
    """Active rows of the given teams dated start..end inclusive (dates compared half-open)."""
    named = [t for t in teams if t is not None]
    team_terms = []
    if named:
        team_terms.append(activity.c.team.in_(named))
    if None in teams:
        team_terms.append(activity.c.team.is_(None))
    return and_(
        activity.c.superseded_by.is_(None),
        or_(*team_terms) if team_terms else false(),
        activity.c.date >= start,
        activity.c.date < end + timedelta(days=1),
    )


# ---- restore and removal ------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """Row changes of a restore or removal: ids to supersede (by upload) or bring back."""

    change: UploadChange
    supersede: dict[int, np.ndarray]  # superseding upload -> row ids
    bring_back: np.ndarray


def teams_label(teams: Sequence[str | None]) -> str:
    """Teams as people read them: "North, South", rows without a team as "(no team)"."""
    return ", ".join(t if t is not None else "(no team)" for t in teams)


def upload_names(conn: Connection) -> dict[int, tuple[str, str]]:
    """upload id -> (file name, teams label), for the words of previews."""
    return {
        int(r.id): (r.file_name, teams_label(json.loads(r.teams)))
        for r in conn.execute(select(uploads.c.id, uploads.c.file_name, uploads.c.teams)).all()
    }


def _upload_rows(conn: Connection, upload_id: int) -> pd.DataFrame:
    return rows_frame(
        conn.execute(
            select(activity.c.id, activity.c.team, activity.c.date, activity.c.slot_key,
                   activity.c.content_key, activity.c.superseded_by)
            .where(activity.c.upload_id == upload_id)
        ).all(),
        ["id", "team", "date", "slot_key", "content_key", "superseded_by"],
    )


def _keys(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return (
        rows["content_key"].dropna().to_numpy(dtype=np.int64),
        rows["slot_key"].dropna().to_numpy(dtype=np.int64),
    )


def _months(days: pd.Series) -> tuple[str, ...]:
    if days.empty:
        return ()
    periods = pd.to_datetime(days).dt.to_period("M").drop_duplicates().sort_values()
    return tuple(p.strftime("%b %Y") for p in periods)


def _others(counts: dict[int, int], names: dict[int, tuple[str, str]]) -> tuple[UploadRows, ...]:
    return tuple(
        UploadRows(int(u), *names.get(int(u), ("?", "?")), int(n))
        for u, n in sorted(counts.items())
        if n
    )


def resolve_restore(conn: Connection, row) -> Resolution:
    """Restoring upload `row` (an uploads row): its rows count again, and every other active
    row in its cover or of the same slot as one of its rows is superseded by it."""
    own = _upload_rows(conn, row.id)
    content, slot = _keys(own)
    teams = tuple(json.loads(row.teams))
    cover = and_(cover_condition(teams, row.period_start, row.period_end),
                 activity.c.upload_id != row.id)
    in_cover = rows_frame(
        conn.execute(select(activity.c.id, activity.c.upload_id).where(cover)).all(),
        ["id", "upload_id"],
    )
    same = stored_sharing_keys(conn, content, slot, extra=[activity.c.upload_id != row.id])
    going = pd.concat([in_cover, same[["id", "upload_id"]]]).drop_duplicates("id")
    back = own[own["superseded_by"].notna()]
    names = upload_names(conn)
    change = UploadChange(
        action="restore",
        upload_id=int(row.id),
        file_name=row.file_name,
        teams=names[int(row.id)][1],
        period=(row.period_start, row.period_end),
        rows=len(back),
        months=_months(back["date"]),
        others=_others(going.groupby("upload_id").size().to_dict(), names),
    )
    return Resolution(change, {int(row.id): going["id"].to_numpy(dtype=np.int64)},
                      back["id"].to_numpy(dtype=np.int64))


def resolve_removal(conn: Connection, row) -> Resolution:
    """Removing upload `row`: its rows go; rows it had superseded come back unless a row of the
    same slot still counts, or an upload that won after theirs covers their team and date
    without a copy of that slot (that upload had replaced them, or would have)."""
    own = _upload_rows(conn, row.id)
    going = own[own["superseded_by"].isna()]
    names = upload_names(conn)
    candidates = rows_frame(
        conn.execute(
            select(activity.c.id, activity.c.upload_id, activity.c.team, activity.c.date,
                   activity.c.slot_key, activity.c.content_key)
            .where(activity.c.superseded_by == row.id, activity.c.upload_id != row.id)
        ).all(),
        ["id", "upload_id", "team", "date", "slot_key", "content_key"],
    )
    supersede: dict[int, list[int]] = {}
    back = candidates
    if not candidates.empty:
        back, supersede = _what_comes_back(conn, row.id, candidates)
    change = UploadChange(
        action="remove",
        upload_id=int(row.id),
        file_name=row.file_name,
        teams=names[int(row.id)][1],
        period=(row.period_start, row.period_end),
        rows=len(going),
        months=_months(going["date"]),
        others=_others(back.groupby("upload_id").size().to_dict(), names),
    )
    return Resolution(
        change,
        {u: np.asarray(ids, dtype=np.int64) for u, ids in supersede.items()},
        back["id"].to_numpy(dtype=np.int64),
    )


def _what_comes_back(
    conn: Connection, removed: int, candidates: pd.DataFrame
) -> tuple[pd.DataFrame, dict[int, list[int]]]:
    """Split the rows `removed` had superseded into those that come back and, for the rest,
    the upload that now supersedes them."""
    applied = dict(conn.execute(select(uploads.c.id, uploads.c.applied)).all())
    covers = conn.execute(
        select(uploads.c.id, uploads.c.teams, uploads.c.period_start, uploads.c.period_end)
        .where(uploads.c.id != removed)
    ).all()
    content, slot = _keys(candidates)
    related = stored_sharing_keys(
        conn, content, slot, active_only=False, extra=[activity.c.upload_id != removed]
    )
    blocked_by = pd.Series(pd.NA, index=candidates.index, dtype="Int64")
    # 1. a row of the same slot still counts
    active = related[related["superseded_by"].isna()]
    for key in ("content_key", "slot_key"):
        owner = active.dropna(subset=[key]).drop_duplicates(key).set_index(key)["upload_id"]
        blocked_by = blocked_by.fillna(candidates[key].map(owner).astype("Int64"))
    # 2. an upload that won later covers the row's team and date and has no copy of the slot
    won = candidates["upload_id"].map(applied)
    for cover in sorted(covers, key=lambda c: -applied.get(c.id, 0)):
        later = (won < applied.get(cover.id, 0)).to_numpy(dtype=bool)
        inside = _in_cover(candidates, json.loads(cover.teams), cover.period_start,
                           cover.period_end)
        its = related[related["upload_id"] == cover.id]
        has_copy = (
            candidates["content_key"].isin(its["content_key"].dropna())
            | candidates["slot_key"].isin(its["slot_key"].dropna())
        ).to_numpy(dtype=bool)
        hit = later & inside & ~has_copy & blocked_by.isna().to_numpy(dtype=bool)
        blocked_by[hit] = cover.id
    # 3. two rows of one slot coming back: the one whose upload won last counts
    unblocked = blocked_by.isna().to_numpy(dtype=bool)
    free = candidates[unblocked].assign(won=won[unblocked].to_numpy())
    free = free.sort_values(["won", "id"], ascending=[False, True])
    for key in ("content_key", "slot_key"):
        with_key = free.dropna(subset=[key])
        winner = with_key.drop_duplicates(key).set_index(key)["upload_id"]
        losers = with_key.index[with_key.duplicated(key)]
        blocked_by.loc[losers] = with_key.loc[losers, key].map(winner).to_numpy()
        free = free.drop(losers)
    supersede: dict[int, list[int]] = {}
    for upload_id, ids in candidates["id"][blocked_by.notna()].groupby(blocked_by.dropna()):
        supersede[int(upload_id)] = ids.tolist()
    return candidates.loc[free.index], supersede

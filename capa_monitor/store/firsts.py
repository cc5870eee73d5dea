"""Each family's first attended Choice / new Core Partnership and first attended Specific
session per team, kept at write time so the bounded review (store/review_reads.py) knows how
far back a family's history goes without reading it.

The review looks a family up in older rows only when its wait (M5) or its open Specific
episode (M4) may have begun before the windows it read; with the first dates kept, it asks
only for families that do have older appointments and stops going back once it has found
them, so a look-up costs the family's own gap, never the years of the store.

Kept exact under every write: a write touching a team's rows dated D or later (the dirty
date, store/derived.py) can change a family's first date only if that date is D or later (or
the family had none): those are worked out again from the team's active rows dated D or
later; earlier first dates stay as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import pandas as pd
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Index,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    delete,
    func,
    or_,
    select,
)

from capa_monitor.model import SPECIFIC_KINDS, Kind, Outcome
from capa_monitor.store import bulk
from capa_monitor.store.schema import activity, metadata

WAIT_KINDS = (Kind.CHOICE.value, Kind.CORE_NEW.value)
SPECIFIC = tuple(str(k) for k in SPECIFIC_KINDS)
FIRST_COLUMNS = ("first_wait", "first_specific")

family_firsts = Table(
    "family_firsts",
    metadata,
    Column("client_key", Text, primary_key=True),
    Column("team", Text, primary_key=True),  # "" for rows without a team
    Column("first_wait", Date, nullable=True),  # attended choice / core_new
    Column("first_specific", Date, nullable=True),  # attended specific_new / _followup
    Index("ix_family_firsts_team", "team"),
)


def first_dates(activity_rows: pd.DataFrame) -> pd.DataFrame:
    """What the table holds, from rows (the definition the refresh keeps): client_key, team,
    first_wait, first_specific, sorted by client_key and team."""
    rows = activity_rows[activity_rows["client_key"].notna()
                         & (activity_rows["outcome"] == Outcome.ATTENDED)]
    frame = pd.DataFrame({
        "client_key": rows["client_key"].astype("str"),
        "team": rows["team"].fillna("").astype("str"),
        "first_wait": rows["date"].where(rows["kind"].isin(WAIT_KINDS)),
        "first_specific": rows["date"].where(rows["kind"].isin(SPECIFIC)),
    })
    firsts = frame.groupby(["client_key", "team"], sort=True, as_index=False).min()
    firsts = firsts[firsts[list(FIRST_COLUMNS)].notna().any(axis=1)]
    return firsts.reset_index(drop=True)


def _teams_condition(teams: Sequence[str]):
    named = [team for team in teams if team != ""]
    either = [activity.c.team.in_(named)] if named else []
    if "" in teams:
        either.append(activity.c.team.is_(None))
    return or_(*either)


_KEY = ["client_key", "team"]


def _mins(conn: Connection, teams: Sequence[str], since: date | None) -> pd.DataFrame:
    """The first dates of the teams' active rows dated `since` or later (None: all)."""
    rows = activity.c
    conditions = [rows.superseded_by.is_(None), _teams_condition(teams),
                  rows.client_key.is_not(None), rows.outcome == Outcome.ATTENDED.value,
                  rows.kind.in_([*WAIT_KINDS, *SPECIFIC])]
    if since is not None:
        conditions.append(rows.date >= since)
    team = func.coalesce(rows.team, "")
    query = select(
        rows.client_key, team.label("team"),
        cast(func.min(case((rows.kind.in_(WAIT_KINDS), rows.date))), String).label("first_wait"),
        cast(func.min(case((rows.kind.in_(SPECIFIC), rows.date))), String
             ).label("first_specific"),
    ).where(*conditions).group_by(team, rows.client_key)
    return _typed(_frame(conn.execute(query).all(), [*_KEY, *FIRST_COLUMNS]))


def _frame(rows: list, names: list[str]) -> pd.DataFrame:
    """Fetched rows as a frame built column by column (from row objects: far slower)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame({name: pd.Series(values, dtype=object)
                         for name, values in zip(names, columns, strict=True)})


def refresh(conn: Connection, teams: Sequence[str], since: date | None) -> None:
    """Bring the teams' first dates up to date after a write touching their rows dated
    `since` or later (None: anything), all teams at once (store/counts.refresh)."""
    teams = sorted(set(teams))
    if not teams:
        return
    table = family_firsts.c
    mins = _mins(conn, teams, since)
    if since is None:
        conn.execute(delete(family_firsts).where(table.team.in_(teams)))
        changed = mins
    else:
        # the stored dates that can change: from `since` on, and the families written
        columns = [table.client_key, table.team,
                   *(cast(table[n], String).label(n) for n in FIRST_COLUMNS)]
        mine = table.team.in_(teams)
        later = or_(table.first_wait >= since, table.first_specific >= since)
        found = conn.execute(select(*columns).where(mine, later)).all()
        for chunk in key_chunks(conn, pd.unique(mins["client_key"]).tolist(), table.client_key):
            found += conn.execute(select(*columns).where(mine, chunk)).all()
        stored = _typed(_frame(found, [*_KEY, *FIRST_COLUMNS])).drop_duplicates(_KEY)
        both = stored.merge(mins, on=_KEY, how="outer", suffixes=("_stored", ""),
                            indicator=True)
        cut = pd.Timestamp(since)
        new = both[_KEY].assign(**{
            name: both[f"{name}_stored"].where(both[f"{name}_stored"] < cut, both[name])
            for name in FIRST_COLUMNS
        })
        same = pd.Series(True, index=both.index)
        for name in FIRST_COLUMNS:
            old = both[f"{name}_stored"]
            same &= (new[name] == old) | (new[name].isna() & old.isna())
        changed = new[~same.to_numpy()]
        was_stored = both["_merge"].to_numpy()[~same.to_numpy()] != "right_only"
        for team, gone in changed[was_stored].groupby("team")["client_key"]:
            for chunk in key_chunks(conn, gone.tolist(), table.client_key):
                conn.execute(delete(family_firsts).where(table.team == team, chunk))
    kept = changed[changed[list(FIRST_COLUMNS)].notna().any(axis=1).to_numpy()]
    if len(kept):
        bulk.insert_rows(conn, family_firsts, pd.DataFrame({
            "client_key": kept["client_key"].astype(object),
            "team": kept["team"].astype(object),
            **{name: kept[name].dt.date.astype(object).where(kept[name].notna(), None)
               for name in FIRST_COLUMNS},
        }).reset_index(drop=True))


def create(conn: Connection, teams: Sequence[str]) -> None:
    """The table, filled from every active row of the teams (migration 8)."""
    family_firsts.create(conn)
    refresh(conn, teams, None)


def stored(conn: Connection) -> pd.DataFrame:
    """The table as first_dates gives it."""
    table = family_firsts.c
    frame = _typed(pd.DataFrame(
        conn.execute(select(table.client_key, table.team, *(table[n] for n in FIRST_COLUMNS))
                     ).all(), columns=["client_key", "team", *FIRST_COLUMNS]))
    return frame.sort_values(["client_key", "team"], ignore_index=True)


def of_families(conn: Connection, keys: Sequence[str], teams: Sequence[str] | None
                ) -> pd.DataFrame:
    """The earliest first dates of `keys` over `teams` (stored names; None: every team):
    index client_key, FIRST_COLUMNS."""
    table = family_firsts.c
    dates = [cast(func.min(table[n]), String).label(n) for n in FIRST_COLUMNS]
    rows = []
    for chunk in key_chunks(conn, keys, table.client_key):
        query = select(table.client_key, *dates).where(chunk)
        if teams is not None:
            query = query.where(table.team.in_(list(teams)))
        rows += conn.execute(query.group_by(table.client_key)).all()
    return _typed(_frame(rows, ["client_key", *FIRST_COLUMNS])).set_index("client_key")


def key_chunks(conn: Connection, keys: Sequence[str], column) -> list:
    """`column IN keys` as few conditions as the database takes: on SQLite one JSON
    parameter (binding thousands of parameters cost more than the query), else IN lists."""
    keys = sorted(keys)
    if not keys:
        return []
    if conn.dialect.name == "sqlite":
        listed = func.json_each(bindparam("family_keys", json.dumps(keys))).table_valued("value")
        return [column.in_(select(listed.c.value))]
    return [column.in_(keys[i:i + 20_000]) for i in range(0, len(keys), 20_000)]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in FIRST_COLUMNS:
        out[name] = pd.to_datetime(out[name]).astype("datetime64[us]")
    for name in ("client_key", "team"):
        if name in out:
            out[name] = out[name].astype("str")
    return out

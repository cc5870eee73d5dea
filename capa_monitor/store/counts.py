"""Per team, clinician and day counts of the active rows (metrics/daily.py defines them),
kept at write time so a review never reads years of rows for the trend charts, the as-of date
or the list of clinicians who have worked in a team.

Which part a write can alter: the rows of the teams it touched (`derived.changed_teams`,
filled by the triggers and `derived.mark_teams`) dated on or after the earliest changed date
(`derived.DIRTY_KEY`). `refresh` recounts exactly that, in SQL, before derived.refresh
forgets the touched teams; the migration counts everything once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Integer,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
)

from capa_monitor import model
from capa_monitor.metrics import daily
from capa_monitor.store import derived, hops
from capa_monitor.store.schema import activity, metadata

daily_counts = Table(
    "daily_counts",
    metadata,
    Column("team", Text, primary_key=True),  # "" for rows without a team
    Column("date", Date, primary_key=True),
    Column("clinician", Text, primary_key=True),
    *(Column(name, Integer, nullable=False) for name in daily.COUNT_COLUMNS),
)


def _flag(condition) -> object:
    return func.sum(case((condition, 1), else_=0))


def _counted(team: str, since: date | None):
    """SELECT of the counts of one team's active rows dated `since` or later."""
    rows = activity.c
    kind, outcome = rows.kind, rows.outcome
    dna_kind = kind.in_([str(k) for k in daily.DNA_KINDS])
    conditions = [rows.superseded_by.is_(None),
                  rows.team.is_(None) if team == "" else rows.team == team]
    if since is not None:
        conditions.append(rows.date >= since)
    return (
        select(
            literal(team).label("team"), rows.date, rows.clinician,
            func.count().label("rows"),
            _flag(outcome.in_([str(o) for o in model.HAPPENED_OUTCOMES])).label("happened"),
            _flag(and_(kind == model.Kind.CORE_NEW.value,
                       outcome == model.Outcome.ATTENDED.value)).label("core_new_attended"),
            _flag(and_(dna_kind, outcome == model.Outcome.DNA.value)).label("dna"),
            _flag(and_(dna_kind, outcome.in_([str(o) for o in daily.DNA_SEEN_OUTCOMES]))
                  ).label("dna_seen"),
        )
        .where(*conditions)
        .group_by(rows.date, rows.clinician)
    )


def _recount(conn: Connection, teams: Sequence[str], since: date | None) -> None:
    names = ["team", "date", "clinician", *daily.COUNT_COLUMNS]
    for team in teams:
        gone = [daily_counts.c.team == team]
        if since is not None:
            gone.append(daily_counts.c.date >= since)
        conn.execute(delete(daily_counts).where(*gone))
        conn.execute(insert(daily_counts).from_select(names, _counted(team, since)))


def every_team(conn: Connection) -> list[str]:
    """Every stored team name, "" first when rows without a team are stored."""
    has_blank = conn.execute(
        select(activity.c.id).where(activity.c.team.is_(None)).limit(1)).first() is not None
    return [*([""] if has_blank else []), *hops.stored_teams(conn)]


def create(conn: Connection) -> None:
    """The table, filled from every active row (migration 7)."""
    daily_counts.create(conn)
    _recount(conn, every_team(conn), None)


def refresh(conn: Connection) -> None:
    """Recount the rows of the teams the write under way touched, from its earliest changed
    date on (inside the write's transaction, before derived.refresh)."""
    teams = sorted(conn.execute(select(derived.changed_teams.c.team)).scalars())
    if not teams:
        return
    _recount(conn, teams, derived.earliest_change(conn))


def stored(conn: Connection, teams: Sequence[str] | None = None) -> pd.DataFrame:
    """The kept counts of `teams` (stored names; None: every team), metrics.daily.DAILY_COLUMNS
    sorted as daily.daily_counts sorts them."""
    table = daily_counts.c
    query = select(*(table[name] for name in daily.DAILY_COLUMNS))
    if teams is not None:
        query = query.where(table.team.in_(list(teams)))
    frame = pd.DataFrame(conn.execute(query).all(), columns=list(daily.DAILY_COLUMNS))
    return _typed(frame).sort_values(["team", "clinician", "date"], ignore_index=True)


def by_date(conn: Connection, teams: Sequence[str] | None) -> pd.DataFrame:
    """The counts of `teams` summed per date (metrics.daily.by_date), summed by the database."""
    table = daily_counts.c
    query = select(table.date, *(func.sum(table[name]).label(name)
                                 for name in daily.COUNT_COLUMNS)).group_by(table.date)
    if teams is not None:
        query = query.where(table.team.in_(list(teams)))
    rows = conn.execute(query.order_by(table.date)).all()
    if not rows:
        return daily.by_date(pd.DataFrame(columns=list(daily.DAILY_COLUMNS)))
    # built column by column: a frame from row objects, then a second grouping, cost a
    # switch of team 20 ms for five years of days
    days, *sums = zip(*rows, strict=True)
    index = pd.DatetimeIndex(np.array(days, dtype="datetime64[D]").astype("datetime64[us]"),
                             name="date")
    return pd.DataFrame({name: np.array(values, dtype="int64")
                         for name, values in zip(daily.COUNT_COLUMNS, sums, strict=True)},
                        index=index)


def latest_happened(conn: Connection, teams: Sequence[str] | None) -> date | None:
    """metrics.daily.latest_happened of `teams`' counts, found by the database: the latest
    date something was attended or missed (the as-of date, §2); None when nothing was.
    Summing every team's counts per date first cost the page's period picker 0.4 s at 5M."""
    query = select(func.max(daily_counts.c.date)).where(daily_counts.c.happened > 0)
    if teams is not None:
        query = query.where(daily_counts.c.team.in_(list(teams)))
    return conn.execute(query).scalar()


def rows_between(conn: Connection, teams: Sequence[str] | None, first: date, last: date) -> int:
    """How many active rows `teams` (None: every team) have dated first to last."""
    query = select(func.coalesce(func.sum(daily_counts.c.rows), 0)).where(
        daily_counts.c.date >= first, daily_counts.c.date <= last)
    if teams is not None:
        query = query.where(daily_counts.c.team.in_(list(teams)))
    return int(conn.execute(query).scalar_one())


def clinicians(conn: Connection, teams: Sequence[str] | None) -> list[str]:
    """Every clinician name with an active row in `teams`, as stored."""
    query = select(daily_counts.c.clinician).distinct()
    if teams is not None:
        query = query.where(daily_counts.c.team.in_(list(teams)))
    return sorted(conn.execute(query).scalars())


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[us]")
    for name in daily.COUNT_COLUMNS:
        out[name] = out[name].astype("int64")
    for name in ("team", "clinician"):
        if name in out:
            out[name] = out[name].astype("str")
    return out

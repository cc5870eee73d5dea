"""Store-wide reads that hop along the (team, date) index instead of scanning every row.

A DISTINCT or a min/max over every active row reads the whole table (0.7–0.8 s each on a
5M-row SQLite store, and again after every write); a team at a time through the index, each
query stops at its first active row. Both databases answer the same SQL.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, select

from capa_monitor.store.schema import activity

_TEAM_HOPS = (
    "WITH RECURSIVE t(team) AS ("
    " SELECT min(team) FROM activity"
    " UNION ALL SELECT (SELECT min(team) FROM activity WHERE team > t.team) FROM t"
    " WHERE t.team IS NOT NULL)"
    " SELECT team FROM t WHERE team IS NOT NULL"
)


def stored_teams(conn: Connection) -> list[str]:
    """Every team with a stored row, active or not, sorted."""
    return list(conn.exec_driver_sql(_TEAM_HOPS).scalars())


def active_teams(conn: Connection) -> list[str]:
    """The teams with an active row, sorted."""
    rows = activity.c
    return [
        team for team in stored_teams(conn)
        if conn.execute(
            select(rows.id).where(rows.team == team, rows.superseded_by.is_(None)).limit(1)
        ).first() is not None
    ]


def date_bounds(conn: Connection) -> tuple[date, date] | None:
    """The first and last dates of the active rows (None: there are none)."""
    rows = activity.c
    lows, highs = [], []
    for team in [None, *stored_teams(conn)]:
        query = select(rows.date).where(
            rows.team.is_(None) if team is None else rows.team == team,
            rows.superseded_by.is_(None),
        ).limit(1)
        # ORDER BY … LIMIT 1 walks the index from one end; min() and max() together would not
        low = conn.execute(query.order_by(rows.date)).scalar()
        if low is not None:
            lows.append(low)
            highs.append(conn.execute(query.order_by(rows.date.desc())).scalar())
    return (min(lows), max(highs)) if lows else None

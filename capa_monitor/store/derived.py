"""What the review needs from the whole history, worked out when data changes (issue 13).

M2's matching (metrics/reoffer.py) is greedy over every team's history, so a lost slot's
status can depend on slots far from the quarter viewed. The store keeps each active lost
slot's match (what was found and the evidence row) in `lost_slot_matches`, and refreshes it
inside every write's transaction, so the review reads only the quarter's lost slots.

Which part a change can alter. Lost slots are matched in date order and each looks only at
later slots within the re-offer window, so a change to rows dated D or later leaves every lost
slot dated before D − window as it was (its candidates and, by induction, every earlier
choice are untouched). `meta.derived_dirty_from` holds the earliest changed date (as days
since 1970); the refresh deletes the matches from D − window on, marks the evidence of the
earlier matches as used, and runs the same greedy pass over the rows from D − window on. The
whole-history pass, `matches_from_scratch`, is the same function over every row: the property
test (tests/test_derived_equality.py) checks that the two always agree.

What marks a change: triggers on `activity` for rows that start or stop being active (a
supersede, a restore, a removal: any write path), `mark_dirty` from the store for inserted
rows (an ingest) and for settings that change the matching (window, monitored kinds), which
redo everything.
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
    Column,
    Connection,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    insert,
    select,
    update,
)

from capa_monitor import model
from capa_monitor.metrics import reoffer
from capa_monitor.settings import DEFAULT_SETTINGS, Settings
from capa_monitor.store import bulk, hops
from capa_monitor.store.schema import activity, meta, metadata, settings_table

DIRTY_KEY = "derived_dirty_from"
CLEAN = 2**40  # no change waiting
EVERYTHING = -(2**40)  # redo from the first day
_EPOCH = date(1970, 1, 1)

lost_slot_matches = Table(
    "lost_slot_matches",
    metadata,
    Column("activity_id", BigInteger, primary_key=True, autoincrement=False),
    Column("date", Date, nullable=False),  # the lost slot's date
    Column("found", String(24), nullable=False),  # reoffer.MARKED | CLIENT | REPLACEMENT | ""
    Column("evidence_id", BigInteger, nullable=True),  # activity.id of the later slot
    Index("ix_lost_slot_matches_date", "date"),
)

# Per-team versions (migration 6): a team's review can change only when its rows, the matches
# of its lost slots, or what every review reads (job plans, settings: `SHARED_KEY`) change,
# so the app caches a team's review on these rather than on the store-wide data version.
team_versions = Table(
    "team_versions",
    metadata,
    Column("team", Text, primary_key=True),  # "" for rows without a team
    Column("version", BigInteger, nullable=False),
)
changed_teams = Table(  # teams touched by the write under way (triggers, mark_teams)
    "changed_teams",
    metadata,
    Column("team", Text, primary_key=True),
)
SHARED_KEY = "shared_version"

MATCH_COLUMNS = ("activity_id", "date", "found", "evidence_id")
_READ = (model.SLOT_ID, model.CLINICIAN, model.TEAM, model.DATE, model.KIND, model.OUTCOME,
         model.CLIENT_KEY, model.BOOKED_ON, model.REOFFERED)

_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER activity_m2_update AFTER UPDATE OF superseded_by ON activity
       WHEN (OLD.superseded_by IS NULL) <> (NEW.superseded_by IS NULL)
       BEGIN UPDATE meta SET value = min(value, CAST(julianday(NEW.date) - 2440587.5 AS INTEGER))
             WHERE key = '{DIRTY_KEY}'; END""",
    f"""CREATE TRIGGER activity_m2_delete AFTER DELETE ON activity
       WHEN OLD.superseded_by IS NULL
       BEGIN UPDATE meta SET value = min(value, CAST(julianday(OLD.date) - 2440587.5 AS INTEGER))
             WHERE key = '{DIRTY_KEY}'; END""",
)
# PostgreSQL: one trigger a statement over its transition tables (a row trigger would cost a
# call per row of a large supersede).
_POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION activity_m2_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE meta SET value = LEAST(value, (
             SELECT min(n.date - DATE '1970-01-01') FROM m2_new n JOIN m2_old o ON o.id = n.id
             WHERE (o.superseded_by IS NULL) <> (n.superseded_by IS NULL)))
         WHERE key = '{DIRTY_KEY}';
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER activity_m2_update AFTER UPDATE ON activity
       REFERENCING OLD TABLE AS m2_old NEW TABLE AS m2_new
       FOR EACH STATEMENT EXECUTE FUNCTION activity_m2_update()""",
    f"""CREATE FUNCTION activity_m2_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE meta SET value = LEAST(value, (
             SELECT min(g.date - DATE '1970-01-01') FROM m2_gone g
             WHERE g.superseded_by IS NULL))
         WHERE key = '{DIRTY_KEY}';
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER activity_m2_delete AFTER DELETE ON activity
       REFERENCING OLD TABLE AS m2_gone
       FOR EACH STATEMENT EXECUTE FUNCTION activity_m2_delete()""",
)


_SQLITE_TEAM_TRIGGERS = (
    """CREATE TRIGGER activity_team_update AFTER UPDATE OF superseded_by ON activity
       WHEN (OLD.superseded_by IS NULL) <> (NEW.superseded_by IS NULL)
       BEGIN INSERT OR IGNORE INTO changed_teams (team) VALUES (coalesce(NEW.team, '')); END""",
    """CREATE TRIGGER activity_team_delete AFTER DELETE ON activity
       WHEN OLD.superseded_by IS NULL
       BEGIN INSERT OR IGNORE INTO changed_teams (team) VALUES (coalesce(OLD.team, '')); END""",
)
_POSTGRES_TEAM_TRIGGERS = (
    """CREATE FUNCTION activity_team_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO changed_teams (team)
         SELECT DISTINCT coalesce(n.team, '') FROM m2_new n JOIN m2_old o ON o.id = n.id
         WHERE (o.superseded_by IS NULL) <> (n.superseded_by IS NULL)
         ON CONFLICT DO NOTHING;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER activity_team_update AFTER UPDATE ON activity
       REFERENCING OLD TABLE AS m2_old NEW TABLE AS m2_new
       FOR EACH STATEMENT EXECUTE FUNCTION activity_team_update()""",
    """CREATE FUNCTION activity_team_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO changed_teams (team)
         SELECT DISTINCT coalesce(g.team, '') FROM m2_gone g WHERE g.superseded_by IS NULL
         ON CONFLICT DO NOTHING;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER activity_team_delete AFTER DELETE ON activity
       REFERENCING OLD TABLE AS m2_gone
       FOR EACH STATEMENT EXECUTE FUNCTION activity_team_delete()""",
)


def create_team_versions(conn: Connection) -> None:
    """Per-team versions, the shared version and their triggers (migration 6)."""
    team_versions.create(conn)
    changed_teams.create(conn)
    conn.execute(insert(meta).values(key=SHARED_KEY, value=0))
    postgres = conn.dialect.name == "postgresql"
    for statement in _POSTGRES_TEAM_TRIGGERS if postgres else _SQLITE_TEAM_TRIGGERS:
        conn.exec_driver_sql(statement)


def mark_teams(conn: Connection, teams: Sequence[str | None]) -> None:
    """Rows of these teams were inserted by the write under way."""
    names = sorted({"" if pd.isna(team) else str(team) for team in teams})
    known = set(conn.execute(select(changed_teams.c.team)).scalars())
    rows = [{"team": name} for name in names if name not in known]
    if rows:
        conn.execute(insert(changed_teams), rows)


def mark_shared(conn: Connection) -> None:
    """What every review reads changed (job plans, settings)."""
    conn.execute(update(meta).where(meta.c.key == SHARED_KEY).values(value=meta.c.value + 1))


def shared_version(conn: Connection) -> int:
    """The version of what every review reads (job plans, settings: mark_shared)."""
    return int(conn.execute(select(meta.c.value).where(meta.c.key == SHARED_KEY)).scalar_one())


def review_version(conn: Connection, teams: Sequence[str]) -> tuple[int, ...]:
    """The versions a review of `teams` depends on: the shared one, then each team's."""
    shared = shared_version(conn)
    found = dict(conn.execute(
        select(team_versions.c.team, team_versions.c.version).where(
            team_versions.c.team.in_(list(teams)))
    ).all())
    return (int(shared), *(int(found.get(team, 0)) for team in teams))


def _bump_teams(conn: Connection, also: set[str]) -> None:
    """Raise the version of every team the write touched, then forget them."""
    teams = set(conn.execute(select(changed_teams.c.team)).scalars()) | also
    if not teams:
        return
    current = dict(conn.execute(
        select(team_versions.c.team, team_versions.c.version).where(
            team_versions.c.team.in_(sorted(teams)))
    ).all())
    conn.execute(delete(team_versions).where(team_versions.c.team.in_(sorted(current))))
    conn.execute(insert(team_versions),
                 [{"team": team, "version": current.get(team, 0) + 1} for team in sorted(teams)])
    conn.execute(delete(changed_teams))


def create(conn: Connection) -> None:
    """The table, the dirty mark (everything, so the first refresh fills it) and the triggers
    (migration 4)."""
    lost_slot_matches.create(conn)
    conn.execute(insert(meta).values(key=DIRTY_KEY, value=EVERYTHING))
    postgres = conn.dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        conn.exec_driver_sql(statement)


def mark_dirty(conn: Connection, since: date | None) -> None:
    """Rows dated `since` or later changed (None: the matching rules did: redo everything)."""
    day = EVERYTHING if since is None else _day(since)
    current = conn.execute(select(meta.c.value).where(meta.c.key == DIRTY_KEY)).scalar_one()
    if day < current:
        conn.execute(update(meta).where(meta.c.key == DIRTY_KEY).values(value=day))


def earliest_change(conn: Connection) -> date | None:
    """The earliest date the write under way changed rows on (`DIRTY_KEY`); None when it
    cannot say (everything to redo, or nothing marked)."""
    dirty = conn.execute(select(meta.c.value).where(meta.c.key == DIRTY_KEY)).scalar_one()
    return None if dirty <= EVERYTHING // 2 or dirty >= CLEAN else _date(dirty)


def matching_changed(before: Settings, after: Settings) -> bool:
    return (before.reoffer_window_days != after.reoffer_window_days
            or set(before.monitored_kinds) != set(after.monitored_kinds))


def refresh(conn: Connection) -> int:
    """Bring the stored matches up to date inside the caller's write and raise the versions
    of the teams it touched; returns lost slots matched again (0 when nothing had changed)."""
    dirty = conn.execute(select(meta.c.value).where(meta.c.key == DIRTY_KEY)).scalar_one()
    if dirty >= CLEAN:
        _bump_teams(conn, set())
        return 0
    settings = stored_settings(conn)
    window = int(settings.reoffer_window_days)
    since = None if dirty <= EVERYTHING // 2 else _date(dirty - window)
    table = lost_slot_matches.c
    redone = [] if since is None else [table.date >= since]
    before = {row[0]: (row[1], row[2]) for row in conn.execute(
        select(table.activity_id, table.found, table.evidence_id).where(*redone)).all()}
    conn.execute(delete(lost_slot_matches).where(*redone))
    if since is None:
        used_ids = np.zeros(0, dtype=np.int64)
    else:
        used_ids = np.fromiter(
            conn.execute(
                select(table.evidence_id).where(
                    table.date >= since - timedelta(days=window), table.evidence_id.is_not(None)
                )
            ).scalars(),
            dtype=np.int64,
        )
    rows = active_rows(conn, settings, since, bulk.take_inserted(conn))
    matches = _matches(rows, settings, used=np.isin(rows["id"].to_numpy(), used_ids))
    if len(matches):
        bulk.insert_rows(conn, lost_slot_matches, matches)
    conn.execute(update(meta).where(meta.c.key == DIRTY_KEY).values(value=CLEAN))
    # Teams whose lost slots' matches changed (rows that came or went are the triggers')
    after = dict(zip(matches["activity_id"].tolist(),
                     zip(matches["found"], matches["evidence_id"], strict=True), strict=True))
    changed = [i for i, match in after.items() if i in before and before[i] != match]
    team_of = dict(zip(rows["id"].tolist(), rows[model.TEAM].fillna("").tolist(), strict=True))
    _bump_teams(conn, {team_of[i] for i in changed})
    return len(matches)


def matches_from_scratch(rows: pd.DataFrame, settings: Settings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Every active lost slot's match from the whole history (`rows`: active_rows(conn,
    settings, None)), MATCH_COLUMNS sorted by activity_id: what refresh must always equal."""
    return _matches(rows, settings).sort_values("activity_id", ignore_index=True)


def stored_matches(conn: Connection) -> pd.DataFrame:
    """The lost_slot_matches table, MATCH_COLUMNS sorted by activity_id."""
    rows = conn.execute(
        select(*(lost_slot_matches.c[name] for name in MATCH_COLUMNS)).order_by(
            lost_slot_matches.c.activity_id
        )
    ).all()
    return _match_frame(pd.DataFrame(rows, columns=list(MATCH_COLUMNS)))


def active_rows(
    conn: Connection, settings: Settings, since: date | None, inserted: bulk.Inserted | None = None
) -> pd.DataFrame:
    """The active rows of the monitored kinds dated `since` or later (None: all), in id order,
    with the columns the matching reads. `inserted`: rows this write has just inserted, taken
    from memory instead of read back (a first upload of a million rows: 1.4 s)."""
    conditions = [activity.c.superseded_by.is_(None),
                  activity.c.kind.in_(list(settings.monitored_kinds))]
    if inserted is not None:
        conditions.append(activity.c.id < inserted.first_id)
    columns = [activity.c.id, *(_raw(activity.c[name]) for name in _READ)]
    if since is None:
        parts = [select(*columns).where(*conditions)]
    else:
        # A date range over every team goes through the (team, date) index one team at a
        # time: without a team, both databases would scan the whole table.
        conditions.append(activity.c.date >= since)
        parts = [select(*columns).where(*conditions, activity.c.team.is_(None))]
        parts += [select(*columns).where(*conditions, activity.c.team == team)
                  for team in hops.stored_teams(conn)]
    rows = [row for part in parts for row in conn.execute(part).all()]
    stored = _typed(_columns(rows, ["id", *_READ]).sort_values("id"))
    if inserted is None:
        return stored
    # Their ids are above every stored one: id order is the stored rows, then these.
    fresh = _inserted_rows(inserted, settings, since)
    return pd.concat([stored, fresh], ignore_index=True) if len(stored) else fresh


def _inserted_rows(inserted: bulk.Inserted, settings: Settings, since: date | None) -> pd.DataFrame:
    """The active monitored rows of `inserted` dated `since` or later, in id order, typed
    exactly as _typed types the same rows read back (dates to the day, flags as booleans)."""
    frame = inserted.frame
    order = inserted.order
    keep = (inserted.superseded_by.isna().to_numpy()[order]
            & frame[model.KIND].isin(list(settings.monitored_kinds)).to_numpy()[order])
    days = frame[model.DATE].to_numpy(dtype="datetime64[D]")[order]
    if since is not None:
        keep &= days >= np.datetime64(since, "D")
    at = order[keep]
    columns: dict[str, object] = {"id": np.flatnonzero(keep).astype("int64") + inserted.first_id}
    for name in _READ:
        values = frame[name].take(at)
        if name in model.ACTIVITY_DATE_COLUMNS:
            columns[name] = values.to_numpy(dtype="datetime64[D]").astype("datetime64[us]")
        elif name == model.REOFFERED:
            columns[name] = pd.array(values.to_numpy(dtype=object), dtype="boolean")
        else:
            columns[name] = values.astype("str").reset_index(drop=True)
    return pd.DataFrame(columns)


def _columns(rows: list, names: list[str]) -> pd.DataFrame:
    """Fetched rows as a frame built column by column (from row objects: ten times slower)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame({name: pd.Series(values, dtype=object)
                         for name, values in zip(names, columns, strict=True)})


def _raw(column):
    """Dates as their ISO text and flags as integers: the driver's per-row conversion to
    Python dates was most of the read (pandas converts the columns at once)."""
    if column.name in model.ACTIVITY_DATE_COLUMNS:
        return cast(column, String).label(column.name)
    if column.name == model.REOFFERED:
        return cast(column, Integer).label(column.name)
    return column


@dataclass(frozen=True)
class QuarterLostSlots:
    """Stored matches of the lost slots of some teams in a date range, for reoffer.describe:
    the lost rows and their evidence rows (reoffer.DESCRIBED_COLUMNS, aligned), in matching
    order."""

    lost: pd.DataFrame
    evidence: pd.DataFrame
    found: np.ndarray


def quarter_lost_slots(
    conn: Connection, teams: Sequence[str] | None, start: date, last_day: date
) -> QuarterLostSlots:
    """The stored matches of the lost slots dated in [start, last_day] of the teams (None:
    every team), with their rows and their evidence's rows."""
    lost_row, evidence_row = activity.alias("lost_row"), activity.alias("evidence_row")
    described = reoffer.DESCRIBED_COLUMNS
    query = (
        select(
            lost_slot_matches.c.found,
            lost_row.c.id,
            *(lost_row.c[name] for name in described),
            *(evidence_row.c[name].label(f"e_{name}") for name in described),
        )
        .select_from(lost_slot_matches)
        .join(lost_row, lost_row.c.id == lost_slot_matches.c.activity_id)
        .outerjoin(evidence_row, evidence_row.c.id == lost_slot_matches.c.evidence_id)
        .where(and_(lost_slot_matches.c.date >= start, lost_slot_matches.c.date <= last_day))
    )
    if teams is not None:
        # the lost row's own date too, so the teams' rows are found through the (team, date)
        # index in the quarter alone, not over their whole history (a match's date is its
        # lost row's)
        query = query.where(lost_row.c.team.in_(list(teams)),
                            lost_row.c.date >= start, lost_row.c.date <= last_day)
    names = ["found", "id", *described, *(f"e_{name}" for name in described)]
    frame = _columns(conn.execute(query).all(), names).sort_values("id")
    lost = _typed(frame[["id", *described]])
    evidence = _typed(
        frame[[f"e_{name}" for name in described]].set_axis(list(described), axis=1)
    )
    # Matching order (reoffer.match): date, clinician, slot id, then row (id) order.
    clinician_rank = pd.factorize(lost[model.CLINICIAN], sort=True)[0]
    slot_rank = reoffer.slot_ranks(lost[model.SLOT_ID])
    day = lost[model.DATE].to_numpy()
    order = np.lexsort((slot_rank, clinician_rank, day))
    return QuarterLostSlots(
        lost=lost.iloc[order].drop(columns="id").reset_index(drop=True),
        evidence=evidence.iloc[order].reset_index(drop=True),
        found=frame["found"].to_numpy(dtype=object)[order],
    )


def lost_slots_of(
    rows: pd.DataFrame,
    settings: Settings,
    teams: Sequence[str] | None,
    start: date,
    last_day: date,
) -> QuarterLostSlots:
    """What quarter_lost_slots returns, worked out from scratch from every team's rows (a
    store stand-in's, in row order)."""
    order, found, evidence_at = reoffer.match(rows, settings)
    dates = rows[model.DATE].to_numpy()[order]
    keep = (dates >= np.datetime64(start)) & (dates <= np.datetime64(last_day))
    if teams is not None:
        keep &= rows[model.TEAM].isin(list(teams)).to_numpy()[order]
    described = [name for name in reoffer.DESCRIBED_COLUMNS if name in rows]
    evidence_at = evidence_at[keep]
    return QuarterLostSlots(
        lost=rows.iloc[order[keep]][described].reset_index(drop=True),
        evidence=rows.iloc[np.maximum(evidence_at, 0)][described].reset_index(drop=True),
        found=found[keep],
    )


def _matches(rows: pd.DataFrame, settings: Settings, used: np.ndarray | None = None) -> pd.DataFrame:
    order, found, evidence_at = reoffer.match(rows, settings, used=used)
    ids = rows["id"].to_numpy()
    has = evidence_at >= 0
    return _match_frame(
        pd.DataFrame(
            {
                "activity_id": ids[order],
                "date": rows[model.DATE].to_numpy()[order].astype("datetime64[D]").astype(object),
                "found": found,
                "evidence_id": pd.Series(
                    [int(e) if h else None
                     for e, h in zip(ids[np.maximum(evidence_at, 0)], has, strict=True)],
                    dtype=object,
                ),
            }
        )
    )


def _match_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """MATCH_COLUMNS with one set of types whatever the backend: ints, dates, text."""
    return pd.DataFrame(
        {
            "activity_id": frame["activity_id"].astype("int64"),
            "date": pd.to_datetime(frame["date"]).dt.date.astype(object),
            "found": frame["found"].astype(object),
            "evidence_id": pd.Series(
                [None if pd.isna(e) else int(e) for e in frame["evidence_id"]],
                index=frame.index, dtype=object,
            ),
        },
        columns=list(MATCH_COLUMNS),
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Stored values as the canonical frame types (model.py) the metrics read."""
    # built column by column into a new frame: setting each column of a copy cost a team's
    # review 5 ms of pandas' bookkeeping
    columns: dict[str, object] = {}
    for name in frame.columns:
        values = frame[name]
        if name in model.ACTIVITY_DATE_COLUMNS:
            columns[name] = pd.to_datetime(values).astype("datetime64[us]").to_numpy()
        elif name == model.REOFFERED:
            columns[name] = pd.array(values, dtype="Float64").astype("boolean")
        elif name in model.ACTIVITY_TEXT_COLUMNS:
            columns[name] = values.astype("str").array
        elif name == "id":
            columns[name] = values.to_numpy(dtype="int64")
        else:
            columns[name] = values.to_numpy()
    return pd.DataFrame(columns, columns=list(frame.columns))


def stored_settings(conn: Connection) -> Settings:
    """The settings as stored, read inside the caller's transaction."""
    overrides = conn.execute(
        select(settings_table.c.overrides).where(settings_table.c.id == 1)
    ).scalar()
    return Settings.from_dict(json.loads(overrides)) if overrides else DEFAULT_SETTINGS


def _day(day: date) -> int:
    return (day - _EPOCH).days


def _date(day: int) -> date:
    return _EPOCH + timedelta(days=day)

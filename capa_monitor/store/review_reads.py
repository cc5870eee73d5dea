"""What a quarter's review reads from the store: a bounded part of the viewed teams' rows and
what the store keeps at write time, never their whole history (issue 13).

The rows read are the union of
- the quarter window: from `lookback` weeks before the first quarter shown (the review's, or
  the earliest of the looking-ahead page's) to the end of the quarter after the reviewed one
  (M1, M3, M5, §8 L2, L3);
- the recent window: from `recent` weeks before the as-of date on, future diary included
  (§8 L1's 13-week rate, M6's last four weeks, M4's open episodes, L3's conversion);
- the few older rows two metrics need to be exact: M5's previous appointment of a client
  whose first appointment in the windows is a new Core Partnership (their wait may have
  begun long before), and the appointments between the windows of clients who look still
  waiting; M4's earlier Specific sessions of clients whose open episode may have begun
  before the recent window. These look-ups go by family key through partial indexes of
  their own (store/schema.py), so they cost the families' own rows, not the teams' years.
Everything else the review needs from the whole history is kept: M2's matches
(store/derived.py) and the per-day counts (store/counts.py) behind M7's charts, the as-of
date and the clinicians who have worked in the teams. tests/test_bounded_review.py checks the
review from these equals the review over every stored row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Text,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from capa_monitor import model
from capa_monitor.metrics import daily
from capa_monitor.model import SPECIFIC_KINDS, Kind, Outcome
from capa_monitor.settings import Settings
from capa_monitor.store import bulk, counts, derived, hops
from capa_monitor.store.schema import SPECIFIC_SESSIONS, WAIT_EVENTS, activity

if TYPE_CHECKING:  # periods brings the holiday calendars, which reading rows does not need
    from capa_monitor.periods import Quarter

#: Weeks before the first quarter shown whose rows are read (most Choice → Core waits begin
#: in them, so few clients need their earlier appointment looked up).
LOOKBACK_WEEKS = 13
#: Quarters before the reviewed one the looking-ahead page shows (metrics.lookahead).
L3_QUARTERS_BEFORE = 3
#: The activity columns the review's metrics and the looking-ahead page read (M2, which also
#: reads slot ids, times and booking dates, is worked out at write time): the rest are not
#: read, a third of the rows' text.
REVIEW_COLUMNS: tuple[str, ...] = (model.CLINICIAN, model.TEAM, model.DATE, model.KIND,
                                   model.OUTCOME, model.CLIENT_KEY, model.DURATION_MIN)


@dataclass(frozen=True)
class ReviewInputs:
    """A quarter's review from the store (Store.review_inputs, metrics.review.stored_review)."""

    activity: pd.DataFrame  # the viewed teams' rows the review needs (see the module
    #                         docstring), their REVIEW_COLUMNS only
    jobplans: pd.DataFrame  # every current plan
    settings: Settings
    lost: derived.QuarterLostSlots
    dates: pd.DataFrame  # metrics.daily.by_date counts of the viewed teams
    clinicians: tuple[str, ...]  # every clinician with a stored row in the viewed teams
    as_of: date | None  # the data's as-of date (§2) of the viewed teams; None: no data


def team_names(conn: Connection, teams: Sequence[str] | None,
               stored: Sequence[str] | None = None) -> list[str] | None:
    """The stored team names the selection means (trimmed, case-insensitive, as the review
    matches them); None for every team. `stored`: hops.stored_teams, read already."""
    if teams is None:
        return None
    wanted = {team.strip().casefold() for team in teams}
    return [name for name in (hops.stored_teams(conn) if stored is None else stored)
            if name.strip().casefold() in wanted]


def each_team(conn: Connection) -> list[tuple[str, list[str]]]:
    """Each stored team with the stored names a review of it alone reads (team_names)."""
    stored = hops.stored_teams(conn)
    return [(team, team_names(conn, [team], stored)) for team in stored]


def recent_weeks(settings: Settings, *, looking_ahead: bool = False) -> int:
    """Weeks before the as-of date the metrics look back: L1's non-attendance rate, M4's
    episode gap, M6's complete weeks (the last may end up to six days before the as-of date),
    and on the looking-ahead page L3's conversion window."""
    weeks = max(settings.nonattendance_weeks, settings.drift_gap_weeks,
                settings.dropoff_weeks + 1)
    if looking_ahead:
        weeks = max(weeks, settings.conversion_weeks)
    return weeks + 1


def read_rows(
    conn: Connection,
    teams: _Teams,
    first_quarter: Quarter,
    quarter: Quarter,
    as_of: date,
    settings: Settings,
    *,
    recent: int,
) -> pd.DataFrame:
    """The viewed teams' rows the review of `quarter` needs (module docstring), their
    REVIEW_COLUMNS as bulk.read_activity types them (window by window: not in insertion
    order)."""
    windows = _windows(first_quarter, quarter, as_of, recent)
    read = [_read(conn, teams, [_in(window)]) for window in windows]
    rows = read[0] if len(read) == 1 else pd.concat(read, ignore_index=True)
    extra = [*_earlier_appointments(conn, teams, rows, windows, as_of),
             *_earlier_specific(conn, teams, rows, windows, as_of, settings)]
    return pd.concat([rows, *extra], ignore_index=True) if extra else rows


def _windows(first_quarter: Quarter, quarter: Quarter, as_of: date, recent: int
             ) -> list[tuple[date, date | None]]:
    """Disjoint date windows [low, high) in date order; high None: no end."""
    quarter_low = first_quarter.start - timedelta(weeks=LOOKBACK_WEEKS)
    quarter_high = quarter.next().end
    recent_low = as_of - timedelta(weeks=recent)
    if recent_low <= quarter_high:
        return [(min(quarter_low, recent_low), None)]
    return [(quarter_low, quarter_high), (recent_low, None)]


def _in(window: tuple[date, date | None]):
    low, high = window
    day = activity.c.date
    return day >= low if high is None else and_(day >= low, day < high)


def _outside(windows: list[tuple[date, date | None]], before: date):
    """Dates before `before` in none of the windows."""
    day = activity.c.date
    gaps = [day < windows[0][0]]
    gaps += [and_(day >= high, day < low)
             for (_, high), (low, _) in zip(windows, windows[1:], strict=False)]
    return and_(or_(*gaps), day < before)


@dataclass(frozen=True)
class _Teams:
    """The stored team names read, and whether rows without a team are read too."""

    names: list[str]
    blank: bool


def _viewed(conn: Connection, names: list[str] | None) -> _Teams:
    if names is not None:
        return _Teams(names, False)
    every = counts.every_team(conn)
    return _Teams([team for team in every if team], "" in every)


def _read(conn: Connection, teams: _Teams, conditions: list) -> pd.DataFrame:
    """Active rows of the teams matching `conditions`, a team at a time through the (team,
    date) index (a date range over every team without one would scan the table)."""
    conditions = [activity.c.superseded_by.is_(None), *conditions]
    rows = bulk.read_activity(conn, conditions, teams.names, ordered=False,
                              columns=REVIEW_COLUMNS)
    if teams.blank:  # a store without teams: its rows are the only team's
        blank = bulk.read_activity(conn, [*conditions, activity.c.team.is_(None)], None,
                                   ordered=False, columns=REVIEW_COLUMNS)
        rows = pd.concat([rows, blank], ignore_index=True)
    return rows


def _by_keys(conn: Connection, teams: _Teams, keys: Sequence[str], rows: str,
             conditions: list) -> list[pd.DataFrame]:
    """The teams' active rows of these families matching `conditions`, `rows` one of the
    look-up predicates (schema.WAIT_EVENTS, SPECIFIC_SESSIONS), read through its partial
    index on (client_key, date)."""
    if not keys:
        return []
    return [bulk.read_activity(conn, [*_look_up(teams, rows), *conditions,
                                      _keys_in(conn, keys)], None, at_once=True,
                               columns=REVIEW_COLUMNS)]


def _look_up(teams: _Teams, rows: str) -> list:
    """The conditions every family look-up starts from: active rows of the teams that `rows`
    (a look-up predicate) holds. The team test is kept off the (team, date) index (`|| ''`):
    through it a look-up would read each team's whole date range."""
    in_teams = activity.c.team.concat("").in_(teams.names)
    if teams.blank:
        in_teams = or_(in_teams, activity.c.team.is_(None))
    return [activity.c.superseded_by.is_(None), text(rows), in_teams]


def _keys_in(conn: Connection, keys: Sequence[str]):
    """`client_key IN keys` with one parameter: on SQLite a JSON list (binding thousands of
    parameters cost more than the query), on PostgreSQL an array (`= ANY`: 70k keys as IN
    lists took 2.6–3.0 s to render and plan, as an array 0.8–1.1)."""
    keys = sorted(keys)
    if conn.dialect.name == "sqlite":
        listed = func.json_each(bindparam("family_keys", json.dumps(keys))).table_valued("value")
        return activity.c.client_key.in_(select(listed.c.value))
    return activity.c.client_key == any_(bindparam("family_keys", keys, type_=ARRAY(Text)))


def _latest_before(conn: Connection, teams: _Teams, keys: Sequence[str], before: date
                   ) -> list[pd.DataFrame]:
    """Each family's attended Choice and new Core Partnership rows on the latest day it had
    any before `before`: one look-up through the index, however long ago that day was."""
    if not keys:
        return []
    latest = select(activity.c.client_key, func.max(activity.c.date)).where(
        *_look_up(teams, WAIT_EVENTS), _keys_in(conn, keys), activity.c.date < before,
    ).group_by(activity.c.client_key)
    return [bulk.read_activity(conn, [
        *_look_up(teams, WAIT_EVENTS), tuple_(activity.c.client_key, activity.c.date).in_(latest),
    ], None, at_once=True, columns=REVIEW_COLUMNS)]


_WAIT_KINDS = (Kind.CHOICE.value, Kind.CORE_NEW.value)
_SPECIFIC = [str(k) for k in SPECIFIC_KINDS]


def _earlier_appointments(conn, teams, rows, windows, as_of) -> list[pd.DataFrame]:
    """M5 (metrics/flow.py): the attended Choice and new Core Partnership appointments a
    wait needs from outside the windows: those on the latest day before the windows of a
    family whose first appointment read is a new Core Partnership (the wait, if any, began
    then), and for families who look still waiting after a Choice in the quarter window,
    those between the windows."""
    events = rows[rows[model.KIND].isin(_WAIT_KINDS) & (rows[model.OUTCOME] == Outcome.ATTENDED)
                  & rows[model.CLIENT_KEY].notna() & (rows[model.DATE] <= pd.Timestamp(as_of))]
    if events.empty:
        return []
    order = np.lexsort(((events[model.KIND] == Kind.CORE_NEW).to_numpy(),
                        events[model.DATE].to_numpy()))
    ordered = events.iloc[order]
    first = ordered.drop_duplicates(model.CLIENT_KEY, keep="first")
    starts_with_core = first.loc[first[model.KIND] == Kind.CORE_NEW, model.CLIENT_KEY].tolist()
    found = _latest_before(conn, teams, starts_with_core, windows[0][0])
    if len(windows) > 1:
        last = ordered.drop_duplicates(model.CLIENT_KEY, keep="last")
        waiting = last.loc[(last[model.KIND] == Kind.CHOICE)
                           & (last[model.DATE] < pd.Timestamp(windows[0][1])), model.CLIENT_KEY]
        found += _by_keys(conn, teams, waiting.tolist(), WAIT_EVENTS,
                          [activity.c.date >= windows[0][1], activity.c.date < windows[1][0]])
    return found


def _earlier_specific(conn, teams, rows, windows, as_of, settings) -> list[pd.DataFrame]:
    """M4 (metrics/drift.py): the attended Specific sessions from before the recent window
    that an episode open at the as-of date may hold: every earlier session of the families
    with a (family, clinician) pair whose latest episode is open and begins less than the
    episode gap after the window's start (it may reach further back), or whose Specific slot
    is booked from the as-of date on with no session of that pair in the window (their
    latest episode is open however old)."""
    recent_low = windows[-1][0]
    specific = rows[rows[model.KIND].isin(_SPECIFIC) & rows[model.CLIENT_KEY].notna()]
    day = specific[model.DATE].to_numpy()
    booked = specific[(specific[model.OUTCOME] == Outcome.BOOKED).to_numpy()
                      & (day >= np.datetime64(as_of))]
    attended = specific[(specific[model.OUTCOME] == Outcome.ATTENDED).to_numpy()
                        & (day <= np.datetime64(as_of))]
    if booked.empty and attended.empty:
        return []
    families = pd.Index(pd.unique(specific[model.CLIENT_KEY]))
    clinicians = pd.Index(pd.unique(specific[model.CLINICIAN]))

    def pairs_of(frame: pd.DataFrame) -> np.ndarray:
        """Each row's (family, clinician) pair as one integer: family code × _PAIRS + clinician."""
        family = families.get_indexer(frame[model.CLIENT_KEY]).astype(np.int64)
        return family * _PAIRS + clinicians.get_indexer(frame[model.CLINICIAN])

    pair, dates = pairs_of(attended), attended[model.DATE].to_numpy()
    booked_pairs = np.unique(pairs_of(booked))
    gap = np.timedelta64(settings.drift_gap_weeks * 7, "D")
    wanted = np.unique(_open_reaching_back(pair, dates, np.datetime64(recent_low), booked_pairs,
                                           gap, np.datetime64(as_of)) // _PAIRS)
    if len(wanted) == 0:
        return []
    # Every earlier session of those families at once: through the index a family's whole
    # history is a few rows, and one with none costs one index seek. Going back in steps
    # (the weeks just before the window first) read as many rows at 5M, one round trip more.
    return _by_keys(conn, teams, families[wanted].tolist(), SPECIFIC_SESSIONS,
                    [activity.c.date < recent_low, _outside(windows, recent_low)])


#: Clinician codes per family code in a pair code (far more clinicians than any store has).
_PAIRS = 1_000_003


def _open_reaching_back(pair: np.ndarray, dates: np.ndarray, start: np.datetime64,
                        booked_pairs: np.ndarray, gap: np.timedelta64, as_of: np.datetime64
                        ) -> np.ndarray:
    """The pairs whose earlier sessions, from before `start`, may belong to an episode open
    at `as_of`, knowing every session of theirs from `start` on: the pairs whose latest
    episode is open (its last session less than `gap` before `as_of`, or a slot booked) and
    begins less than `gap` after `start`, and the booked pairs with no session known."""
    known = dates >= start
    pair, dates = pair[known], dates[known]
    order = np.lexsort((dates, pair))
    pair, dates = pair[order], dates[order]
    begins = np.ones(len(pair), dtype=bool)  # a session that begins an episode
    begins[1:] = (pair[1:] != pair[:-1]) | (dates[1:] - dates[:-1] >= gap)
    episode_start = np.maximum.accumulate(np.where(begins, np.arange(len(pair)), 0))
    last = np.ones(len(pair), dtype=bool)
    last[:-1] = pair[1:] != pair[:-1]
    latest, last_date = pair[last], dates[last]
    first_date = dates[episode_start[last]]
    is_open = (as_of - last_date < gap) | np.isin(latest, booked_pairs)
    reaching = latest[is_open & (first_date < start + gap)]
    unseen = booked_pairs[~np.isin(booked_pairs, latest)]
    return np.concatenate([reaching, unseen])


def read_inputs(
    conn: Connection,
    teams: Sequence[str] | None,
    quarter: Quarter,
    as_of: date | None,
    jobplans: pd.DataFrame,
    *,
    looking_ahead: bool = False,
) -> ReviewInputs:
    """Everything stored_review needs for `quarter` of `teams` (None: every team), read inside
    the caller's transaction. `as_of` None: the data's own as-of date. `looking_ahead`: also
    what metrics.lookahead.outlook needs (L3's earlier quarters and conversion window)."""
    settings = derived.stored_settings(conn)
    names = team_names(conn, teams)
    dates = counts.by_date(conn, names)
    data_as_of = daily.latest_happened(dates)
    used_as_of = as_of or data_as_of or quarter.last_day
    first_quarter = quarter
    for _ in range(L3_QUARTERS_BEFORE if looking_ahead else 0):
        first_quarter = first_quarter.previous()
    rows = read_rows(conn, _viewed(conn, names), first_quarter, quarter, used_as_of,
                     settings,
                     recent=recent_weeks(settings, looking_ahead=looking_ahead))
    return ReviewInputs(
        activity=rows,
        jobplans=jobplans,
        settings=settings,
        lost=derived.quarter_lost_slots(conn, names, quarter.start, quarter.last_day),
        dates=dates,
        clinicians=tuple(counts.clinicians(conn, names)),
        as_of=data_as_of,
    )

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
  before the recent window.
Everything else the review needs from the whole history is kept: M2's matches
(store/derived.py) and the per-day counts (store/counts.py) behind M7's charts, the as-of
date and the clinicians who have worked in the teams. tests/test_bounded_review.py checks the
review from these equals the review over every stored row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, or_

from capa_monitor import model
from capa_monitor.metrics import daily
from capa_monitor.model import SPECIFIC_KINDS, Kind, Outcome
from capa_monitor.settings import Settings
from capa_monitor.store import bulk, counts, derived, firsts, hops
from capa_monitor.store.schema import activity

if TYPE_CHECKING:  # periods brings the holiday calendars, which reading rows does not need
    from capa_monitor.periods import Quarter

#: Weeks before the first quarter shown whose rows are read (most Choice → Core waits begin
#: in them, so few clients need their earlier appointment looked up).
LOOKBACK_WEEKS = 13
#: Quarters before the reviewed one the looking-ahead page shows (metrics.lookahead).
L3_QUARTERS_BEFORE = 3


@dataclass(frozen=True)
class ReviewInputs:
    """A quarter's review from the store (Store.review_inputs, metrics.review.stored_review)."""

    activity: pd.DataFrame  # the viewed teams' rows the review needs (see the module docstring)
    jobplans: pd.DataFrame  # every current plan
    settings: Settings
    lost: derived.QuarterLostSlots
    dates: pd.DataFrame  # metrics.daily.by_date counts of the viewed teams
    clinicians: tuple[str, ...]  # every clinician with a stored row in the viewed teams
    as_of: date | None  # the data's as-of date (§2) of the viewed teams; None: no data


def team_names(conn: Connection, teams: Sequence[str] | None) -> list[str] | None:
    """The stored team names the selection means (trimmed, case-insensitive, as the review
    matches them); None for every team."""
    if teams is None:
        return None
    wanted = {team.strip().casefold() for team in teams}
    return [name for name in hops.stored_teams(conn) if name.strip().casefold() in wanted]


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
    names: list[str] | None,
    first_quarter: Quarter,
    quarter: Quarter,
    as_of: date,
    settings: Settings,
    *,
    recent: int,
) -> pd.DataFrame:
    """The viewed teams' rows the review of `quarter` needs (module docstring), as
    bulk.read_activity types them (window by window: not in insertion order)."""
    windows = _windows(first_quarter, quarter, as_of, recent)
    rows = pd.concat([_read(conn, teams, [_in(window)]) for window in windows],
                     ignore_index=True)
    extra = [*_earlier_appointments(conn, teams, names, rows, windows, as_of),
             *_earlier_specific(conn, teams, names, rows, windows, as_of, settings)]
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
    rows = bulk.read_activity(conn, conditions, teams.names)
    if teams.blank:  # a store without teams: its rows are the only team's
        blank = bulk.read_activity(conn, [*conditions, activity.c.team.is_(None)], None)
        rows = pd.concat([rows, blank], ignore_index=True)
    return rows


def _by_keys(conn: Connection, teams: _Teams, keys: Sequence[str], conditions: list
             ) -> list[pd.DataFrame]:
    """The teams' active rows of these families matching `conditions`."""
    return [_read(conn, teams, [*conditions, chunk])
            for chunk in firsts.key_chunks(conn, keys, activity.c.client_key)]


_WAIT_KINDS = (Kind.CHOICE.value, Kind.CORE_NEW.value)
_SPECIFIC = [str(k) for k in SPECIFIC_KINDS]


def _steps_back(high: date):
    """Ever longer date ranges [low, high) going back from `high`: a look-up finds most
    families in the first and stops as soon as it has what it needs."""
    weeks = LOOKBACK_WEEKS
    while True:
        low = high - timedelta(weeks=weeks)
        yield low, high
        high, weeks = low, weeks * 2


def _earlier_appointments(conn, teams, names, rows, windows, as_of) -> list[pd.DataFrame]:
    """M5 (metrics/flow.py): the attended Choice and new Core Partnership appointments a
    wait needs from outside the windows: the one before a family's first appointment read
    when that is a new Core Partnership (found going back from the windows, only for
    families that have one: store/firsts.py), and for families who look still waiting after
    a Choice in the quarter window, those between the windows."""
    events = rows[rows[model.KIND].isin(_WAIT_KINDS) & (rows[model.OUTCOME] == Outcome.ATTENDED)
                  & rows[model.CLIENT_KEY].notna() & (rows[model.DATE] <= pd.Timestamp(as_of))]
    if events.empty:
        return []
    attended = [activity.c.kind.in_(_WAIT_KINDS), activity.c.outcome == Outcome.ATTENDED.value]
    order = np.lexsort(((events[model.KIND] == Kind.CORE_NEW).to_numpy(),
                        events[model.DATE].to_numpy()))
    ordered = events.iloc[order]
    first = ordered.drop_duplicates(model.CLIENT_KEY, keep="first")
    starts_with_core = first.loc[first[model.KIND] == Kind.CORE_NEW, model.CLIENT_KEY].tolist()
    earliest = firsts.of_families(conn, starts_with_core, names)["first_wait"]
    found: list[pd.DataFrame] = []
    pending = earliest[earliest < pd.Timestamp(windows[0][0])]
    for low, high in _steps_back(windows[0][0]):
        if pending.empty:
            break
        part = pd.concat(_by_keys(conn, teams, pending.index.tolist(),
                                  [*attended, activity.c.date >= low, activity.c.date < high]),
                         ignore_index=True)
        found.append(part)
        pending = pending[~pending.index.isin(part[model.CLIENT_KEY])]
        pending = pending[pending < pd.Timestamp(low)]
    if len(windows) > 1:
        last = ordered.drop_duplicates(model.CLIENT_KEY, keep="last")
        waiting = last.loc[(last[model.KIND] == Kind.CHOICE)
                           & (last[model.DATE] < pd.Timestamp(windows[0][1])), model.CLIENT_KEY]
        found += _by_keys(conn, teams, waiting.tolist(),
                          [*attended, activity.c.date >= windows[0][1],
                           activity.c.date < windows[1][0]])
    return found


def _earlier_specific(conn, teams, names, rows, windows, as_of, settings) -> list[pd.DataFrame]:
    """M4 (metrics/drift.py): the attended Specific sessions from before the recent window
    that an episode open at the as-of date may hold. Going back from the window, a family is
    looked up while a session it is known to have lies less than the episode gap after the
    range's start (its episode may reach further back), or while one of its
    clinician's Specific slots is booked from the as-of date on and no session of that pair
    is known yet (their latest episode is open however old) — never before its first
    Specific session (store/firsts.py)."""
    recent_low = windows[-1][0]
    specific = rows[rows[model.KIND].isin(_SPECIFIC) & rows[model.CLIENT_KEY].notna()]
    attended = (specific[model.OUTCOME] == Outcome.ATTENDED).to_numpy()
    day = specific[model.DATE].to_numpy()
    booked = specific[(specific[model.OUTCOME] == Outcome.BOOKED).to_numpy()
                      & (day >= np.datetime64(as_of))]
    keys = pd.Index(pd.unique(specific.loc[attended | (day >= np.datetime64(as_of)),
                                           model.CLIENT_KEY]))
    if keys.empty:
        return []
    earliest = firsts.of_families(conn, keys.tolist(), names)["first_specific"].reindex(keys)
    earliest = earliest.to_numpy(dtype="datetime64[us]")
    clinicians: dict[str, int] = {}

    def coded(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(family code, family × clinician pair code, date) of attended sessions."""
        family = keys.get_indexer(frame[model.CLIENT_KEY])
        clinician = np.array([clinicians.setdefault(name, len(clinicians))
                              for name in frame[model.CLINICIAN]], dtype=np.int64)
        return family, family * 1_000_003 + clinician, frame[model.DATE].to_numpy()

    def sessions_of(frame: pd.DataFrame, low=None, high=None):
        keep = ((frame[model.OUTCOME] == Outcome.ATTENDED).to_numpy()
                & (frame[model.DATE].to_numpy() <= np.datetime64(as_of)))
        if low is not None:
            dates = frame[model.DATE].to_numpy()
            keep &= (dates >= np.datetime64(low)) & (dates < np.datetime64(high))
        return coded(frame[keep])

    family, pair, dates = sessions_of(specific)
    booked_pairs = np.unique(coded(booked)[1])
    gap = np.timedelta64(settings.drift_gap_weeks * 7, "D")
    found: list[pd.DataFrame] = []
    for low, high in _steps_back(recent_low):
        start = np.datetime64(high)
        reaching = family[(dates >= start) & (dates < start + gap)]
        # a pair's latest session is the first found going back: one dated from `high` on
        unseen = booked_pairs[~np.isin(booked_pairs, pair[dates >= start])] // 1_000_003
        wanted = np.unique(np.concatenate([reaching, unseen]))
        wanted = wanted[earliest[wanted] < start]
        if len(wanted) == 0:
            break
        part = pd.concat(_by_keys(conn, teams, keys[wanted].tolist(), [
            activity.c.kind.in_(_SPECIFIC), activity.c.outcome == Outcome.ATTENDED.value,
            activity.c.date >= low, activity.c.date < high, _outside(windows, recent_low),
        ]), ignore_index=True)
        found.append(part)
        # what is known now: the sessions read in the windows, and every part found so far
        older = [sessions_of(part), sessions_of(specific, low, high)]
        family, pair, dates = (np.concatenate([old, *(new[i] for new in older)])
                               for i, old in enumerate((family, pair, dates)))
    return found


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
    rows = read_rows(conn, _viewed(conn, names), names, first_quarter, quarter, used_as_of,
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

"""The app's only way to the store: one Store per database URL, and cached reads keyed on
(database URL, data version, …) so a page change or filter change never re-reads or recomputes
what has not changed, and every write (which bumps the data version) is seen at once. The
review pages read only the viewed teams' rows and the stored M2 matches (issue 13).

Caches are never keyed on uploaded files or frames (Streamlit hashes large frames by sample).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date

import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from capa_monitor.errors import CapaError
from capa_monitor.metrics.review import Review, stored_review, team_rows
from capa_monitor.periods import Quarter, as_of_date
from capa_monitor.settings import Settings
from capa_monitor.store import Store
from capa_monitor.store.derived import ReviewInputs

DATABASE_URL_ENV = "CAPA_DATABASE_URL"


def database_url() -> str:
    """The configured database URL; "" means the store's default (its SQLite file)."""
    return os.environ.get(DATABASE_URL_ENV, "")


@st.cache_resource(show_spinner=False)
def _store_for(url: str) -> Store:
    return Store.open(url or None)


def store() -> Store:
    return _store_for(database_url())


def unreachable_message(exc: Exception) -> str:
    """One sentence for a store that cannot be opened, without the URL's password."""
    url = database_url()
    try:
        shown = make_url(url).render_as_string(hide_password=True) if url else "data/capa.sqlite"
    except ArgumentError:
        shown = "set in CAPA_DATABASE_URL (it is not a database URL)"
    reason = str(exc).splitlines()[0] if isinstance(exc, CapaError) else type(exc).__name__
    return (
        f"The database {shown} cannot be opened ({reason}); check {DATABASE_URL_ENV} and that "
        "the database server is running, then reload this page."
    )


def teams_key(teams: Sequence[str] | None) -> tuple[str, ...]:
    """A hashable, order-free cache key for a team selection (empty = every team)."""
    return tuple(sorted(teams or ()))


@st.cache_data(show_spinner=False, max_entries=4)
def date_bounds(url: str, version: int) -> tuple[date, date] | None:
    """First and last stored appointment dates (a scan of every row: cached per version)."""
    return _store_for(url).date_bounds()


@st.cache_data(show_spinner=False, max_entries=4)
def teams(url: str, version: int) -> list[str]:
    return _store_for(url).teams()


@st.cache_data(show_spinner=False, max_entries=4)
def uploads(url: str, version: int) -> pd.DataFrame:
    return _store_for(url).uploads()


# cache_resource, not cache_data: a team's rows over the years are ~100k rows; cache_data
# would keep a pickled copy per entry and unpickle it on every hit. Every reader treats it as
# read-only (metrics are pure and filter into new frames), so sharing the one object is safe.
def team_activity(url: str, version: int, teams: tuple[str, ...]) -> pd.DataFrame:
    """The viewed teams' stored rows (every team's when `teams` is empty): the review reads
    other teams' history only through the M2 matches the store keeps (store/derived.py).
    Cached on the teams' own versions: another team's upload does not read them again."""
    return _team_activity(url, _store_for(url).review_version(list(teams)), teams)


@st.cache_resource(show_spinner=False, max_entries=4)
def _team_activity(url: str, review_version: tuple[int, ...], teams: tuple[str, ...]):
    return _store_for(url).activity(list(teams) or None)


@st.cache_resource(show_spinner=False, max_entries=1)
def activity(url: str, version: int) -> pd.DataFrame:
    """Every stored activity row of every team (the looking-ahead page's history; the review
    pages read team_activity)."""
    return _store_for(url).activity()


@st.cache_data(show_spinner=False, max_entries=4)
def jobplans(url: str, version: int) -> pd.DataFrame:
    """Every current plan; review() picks the viewed teams' (a blank team goes with the
    clinician's activity, which a store query by team would drop)."""
    return _store_for(url).jobplans()


@st.cache_data(show_spinner=False, max_entries=8)
def settings(url: str, version: int) -> Settings:
    return _store_for(url).settings()


@st.cache_data(show_spinner=False, max_entries=8)
def latest_as_of(url: str, version: int, teams: tuple[str, ...]) -> date | None:
    return as_of_date(team_rows(team_activity(url, version, teams), teams))


@st.cache_data(show_spinner=False, max_entries=32)
def clinician_slots(url: str, version: int, teams: tuple[str, ...], start: date, end: date,
                    clinician: str, kinds: tuple[str, ...]) -> pd.DataFrame:
    """One clinician's slots of `kinds` in the teams and [start, end), for the drill-down
    (small, so a clinician change never copies the whole activity frame out of the cache)."""
    rows = team_activity(url, version, teams)
    rows = rows[
        (rows["clinician"] == clinician)
        & (rows["date"] >= pd.Timestamp(start))
        & (rows["date"] < pd.Timestamp(end))
        & rows["kind"].isin(kinds)
    ]
    return team_rows(rows, teams)


def quarterly_review(
    url: str,
    version: int,
    quarter_label: str,
    teams: tuple[str, ...],
    as_of: date | None,
) -> Review:
    """The quarter's review of the teams, cached on what it depends on (Store.review_version:
    the teams' rows and lost-slot matches, job plans, settings), not on every write."""
    return _quarterly_review(url, _store_for(url).review_version(list(teams)), quarter_label,
                             teams, as_of)


@st.cache_data(show_spinner="Working out the review…", max_entries=16)
def _quarterly_review(
    url: str,
    review_version: tuple[int, ...],
    quarter_label: str,
    teams: tuple[str, ...],
    as_of: date | None,
) -> Review:
    store = _store_for(url)
    stored_settings = store.settings()
    quarter = Quarter.parse(quarter_label, stored_settings.fy_first_month)
    inputs = ReviewInputs(
        activity=_team_activity(url, review_version, teams),
        jobplans=store.jobplans(),
        settings=stored_settings,
        lost=store.quarter_lost_slots(list(teams) or None, quarter.start, quarter.last_day),
    )
    return stored_review(inputs, quarter, as_of=as_of, teams=list(teams) or None)

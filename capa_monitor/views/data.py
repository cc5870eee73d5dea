"""The app's only way to the store: one Store per database URL, and cached reads keyed on
(database URL, data version, …) so a page change or filter change never re-reads or recomputes
what has not changed, and every write (which bumps the data version) is seen at once. The
review pages read a bounded part of the viewed teams' rows and what the store keeps at write
time (store/review_reads.py, issue 13): no page holds the whole store.

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

from capa_monitor import prework
from capa_monitor.errors import CapaError
from capa_monitor.metrics.review import Review
from capa_monitor.periods import Quarter
from capa_monitor.settings import Settings
from capa_monitor.store import Store
from capa_monitor.store.review_reads import ReviewInputs

DATABASE_URL_ENV = "CAPA_DATABASE_URL"


def database_url() -> str:
    """The configured database URL; "" means the store's default (its SQLite file)."""
    return os.environ.get(DATABASE_URL_ENV, "")


@st.cache_resource(show_spinner=False)
def _store_for(url: str) -> Store:
    store = Store.open(url or None)
    store.after_write = prework.start  # every team's review worked out ahead (prework.py)
    # and once as the server starts: new code makes every kept review stale (their
    # fingerprint), and no write may come for days; a run with nothing to do exits in ~1 s
    prework.start(store)
    return store


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


@st.cache_data(show_spinner=False, max_entries=4)
def jobplans(url: str, version: int) -> pd.DataFrame:
    """Every current plan; review() picks the viewed teams' (a blank team goes with the
    clinician's activity, which a store query by team would drop)."""
    return _store_for(url).jobplans()


@st.cache_data(show_spinner=False, max_entries=8)
def settings(url: str, version: int) -> Settings:
    return _store_for(url).settings()


def latest_as_of(url: str, version: int, teams: tuple[str, ...]) -> date | None:
    """The teams' as-of date, from the counts the store keeps (cached on the teams' versions)."""
    return _latest_as_of(url, _store_for(url).review_version(list(teams)), teams)


@st.cache_data(show_spinner=False, max_entries=16)
def _latest_as_of(url: str, review_version: tuple[int, ...], teams: tuple[str, ...]
                  ) -> date | None:
    return _store_for(url).latest_as_of(list(teams) or None)


@st.cache_data(show_spinner=False, max_entries=32)
def clinician_slots(url: str, version: int, teams: tuple[str, ...], start: date, end: date,
                    clinician: str, kinds: tuple[str, ...]) -> pd.DataFrame:
    """One clinician's slots of `kinds` in the teams and [start, end), for the drill-down
    (a store query through the (team, date) index: small, whatever the store's size)."""
    return _store_for(url).slots(list(teams) or None, start, end, clinician=clinician,
                                 kinds=kinds)


def review_inputs(url: str, quarter_label: str, teams: tuple[str, ...], as_of: date | None,
                  *, looking_ahead: bool = False) -> ReviewInputs:
    """What the looking-ahead page (`looking_ahead`) and its what-if read from the store,
    cached on the teams' versions (Store.review_version)."""
    return _review_inputs(url, _store_for(url).review_version(list(teams)), quarter_label,
                          teams, as_of, looking_ahead)


# cache_resource, not cache_data: the rows read are a quarter and more of every viewed team;
# cache_data would keep a pickled copy per entry and unpickle it on every hit. Every reader
# treats them as read-only (metrics are pure and filter into new frames), so sharing is safe.
# Two entries: the looking-ahead page and its what-if reread them on every change; all teams
# of a 5M-row store are ~250 MB an entry.
@st.cache_resource(show_spinner=False, max_entries=2)
def _review_inputs(url: str, review_version: tuple[int, ...], quarter_label: str,
                   teams: tuple[str, ...], as_of: date | None, looking_ahead: bool
                   ) -> ReviewInputs:
    return _read_inputs(url, quarter_label, teams, as_of, looking_ahead)


def _read_inputs(url: str, quarter_label: str, teams: tuple[str, ...], as_of: date | None,
                 looking_ahead: bool) -> ReviewInputs:
    store = _store_for(url)
    quarter = Quarter.parse(quarter_label, store.settings().fy_first_month)
    return store.review_inputs(list(teams) or None, quarter, as_of, looking_ahead=looking_ahead)


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
    # The store's kept review while it stands (another process or replica may have worked it
    # out), else read for this review only: its rows are not kept in the process, which would
    # grow with each selection (store/kept_reviews.py, store/review_reads.py).
    store = _store_for(url)
    quarter = Quarter.parse(quarter_label, store.settings().fy_first_month)
    chosen = list(teams) or None
    # A big review (every team of a trust) not kept yet is worked out by a process of its
    # own, so this one stays small whatever the store's size (prework.py)
    if prework.worth_a_process(store, chosen, quarter):
        kept = store.kept_review(chosen, quarter, as_of)
        if kept is not None:
            return kept
        apart = prework.work_out_apart(store, chosen, quarter, as_of)
        if apart is not None:
            return apart
    return store.review(chosen, quarter, as_of)

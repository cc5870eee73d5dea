"""Shared fixtures: a fresh store per test (SQLite always, PostgreSQL when configured), and
helpers that build canonical activity frames and load results from small readable rows; for the
AppTest modules, the app's own store (`db_url`), captured downloads and page helpers.

`from conftest import make_activity, make_load_result` works in any test module.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from capa_monitor import model
from capa_monitor.loading.report import LoadReport, LoadResult, Rejection
from capa_monitor.store import Store

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

POSTGRES_ENV = "CAPA_TEST_POSTGRES_URL"
# No pre-work run after every write of every test (prework.py): tests/test_prework.py turns it
# on for its own. Set here, so the app and CLI processes the tests start inherit it.
os.environ["CAPA_PREWORK"] = "0"
DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard.py"
VIEWS = "capa_monitor/views"

_ACTIVITY_DEFAULTS = {
    model.TEAM: None,
    model.START: None,
    model.KIND: "core_new",
    model.OUTCOME: "attended",
    model.CLIENT_KEY: None,
    model.BOOKED_ON: None,
    model.DURATION_MIN: None,
    model.REOFFERED: None,
}


def make_activity(rows: list[dict]) -> pd.DataFrame:
    """A canonical activity frame (model.ACTIVITY_COLUMNS, model.py dtypes) from dict rows.

    Each row needs `clinician` and `date` ("2026-07-01"); `slot_id` defaults to "S<n>",
    `source_row` to n + 1 (a header on sheet row 1), kind to core_new, outcome to attended,
    everything else to missing.
    """
    records = []
    for number, row in enumerate(rows, start=1):
        record = {**_ACTIVITY_DEFAULTS, **row}
        record.setdefault(model.SLOT_ID, f"S{number}")
        record.setdefault(model.SOURCE_ROW, number + 1)
        records.append(record)
    frame = pd.DataFrame(records, columns=list(model.ACTIVITY_COLUMNS))
    for column in model.ACTIVITY_TEXT_COLUMNS:
        frame[column] = frame[column].astype("str")
    frame[model.DATE] = pd.to_datetime(frame[model.DATE]).astype("datetime64[us]")
    frame[model.BOOKED_ON] = pd.to_datetime(frame[model.BOOKED_ON]).astype("datetime64[us]")
    frame[model.DURATION_MIN] = frame[model.DURATION_MIN].astype("Int64")
    frame[model.REOFFERED] = frame[model.REOFFERED].astype("boolean")
    frame[model.SOURCE_ROW] = frame[model.SOURCE_ROW].astype("int64")
    return frame


def raw_cells(rows: list[list[str | None]]) -> pd.DataFrame:
    """A RawSheet.cells frame from rows of texts: str columns 0..n-1, short rows padded,
    missing = NaN."""
    width = max(len(r) for r in rows)
    padded = [list(r) + [None] * (width - len(r)) for r in rows]
    return pd.DataFrame(padded, columns=range(width), dtype="str")


def make_load_result(
    frame: pd.DataFrame,
    *,
    file_name: str = "export.xlsx",
    sha256: str | None = None,
    rejected: int = 0,
) -> LoadResult:
    """What the loader would hand the store for `frame` (the file hash made up from its name
    unless given, so two calls with the same name look like the same file)."""
    dates = pd.to_datetime(frame[model.DATE])
    report = LoadReport(
        file_name=file_name,
        sha256=sha256 or hashlib.sha256(file_name.encode()).hexdigest(),
        sheet="Sheet1",
        header_row=1,
        encoding=None,
        rows_read=len(frame) + rejected,
        accepted=len(frame),
        rejected=[
            Rejection("Sheet1", len(frame) + 2 + i, "date", "not a date", "unreadable date")
            for i in range(rejected)
        ],
        columns={"clinician": "Clinician", "date": "Date"},
        clinicians=sorted(frame[model.CLINICIAN].dropna().unique().tolist()),
        date_range=(dates.min().date(), dates.max().date()) if len(frame) else None,
    )
    return LoadResult(frame=frame, report=report)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'capa.sqlite'}"


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of its own, dropped afterwards."""
    base = os.environ[POSTGRES_ENV]
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def skip_without_postgres() -> None:
    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} is not set (scripts/postgres.sh start prints one)")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    skip_without_postgres()
    with postgres_schema_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    """A fresh, empty database URL: SQLite always, PostgreSQL when CAPA_TEST_POSTGRES_URL is set."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def store(store_url) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


REVIEW_FRAMES = ("clinicians", "lost_slots", "balance", "balance_teams", "drift", "waits",
                 "flow_summary", "dropoff", "spc_weekly", "spc_dna")


def kept_keys(store: Store) -> set[tuple[str, str, str]]:
    """(teams, quarter, as_of) of every review kept in the store (store/kept_reviews.py)."""
    from capa_monitor.store.kept_reviews import kept_reviews

    with store.engine.connect() as conn:
        return {tuple(row) for row in conn.execute(
            select(kept_reviews.c.teams, kept_reviews.c.quarter, kept_reviews.c.as_of)).all()}


def assert_same_review(kept, fresh) -> None:
    """Two Reviews show the same: every frame, the as-of date, the next quarter's diary."""
    from pandas.testing import assert_frame_equal

    assert (kept.quarter, kept.as_of, kept.as_of_source, kept.teams, kept.settings) == (
        fresh.quarter, fresh.as_of, fresh.as_of_source, fresh.teams, fresh.settings)
    for name in REVIEW_FRAMES:
        assert_frame_equal(getattr(kept, name), getattr(fresh, name), obj=name)
    assert (kept.next_diary is None) == (fresh.next_diary is None)
    if fresh.next_diary is not None:
        assert (kept.next_diary.quarter, kept.next_diary.ready_at, kept.next_diary.checked) == (
            fresh.next_diary.quarter, fresh.next_diary.ready_at, fresh.next_diary.checked)
        assert_frame_equal(kept.next_diary.clinicians, fresh.next_diary.clinicians)
    assert kept.headline == fresh.headline


# --- AppTest helpers (Streamlit is imported only by the tests that use them) ------------------


def plans_frame(rows: list[dict]) -> pd.DataFrame:
    """Job plans (model.JOBPLAN_COLUMNS, missing columns empty) from dict rows."""
    return pd.DataFrame(rows).reindex(columns=list(model.JOBPLAN_COLUMNS))


def fill_store(url: str, rows: list[dict], plans: pd.DataFrame, team: str = "North") -> None:
    """Store `rows` as one upload (north.xlsx) of `team`, and `plans` as the job plans."""
    store = Store.open(url)
    activity = make_activity([{**row, "team": team} for row in rows])
    store.ingest(make_load_result(activity, file_name="north.xlsx"), user="setup@example.org")
    store.save_jobplans(plans, user="setup@example.org", source="test")
    store.close()


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    """The app's store: a fresh SQLite file by CAPA_DATABASE_URL, served in local mode."""
    from streamlit import config as st_config

    url = f"sqlite:///{tmp_path / 'capa.sqlite'}"
    monkeypatch.setenv("CAPA_DATABASE_URL", url)
    monkeypatch.setenv("CAPA_PSEUDONYM_KEY", "app-test-key")
    st_config.set_option("server.address", "127.0.0.1")  # local mode serves loopback only
    return url


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """Bytes of every download button rendered, by file name (what the browser would get)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    captured: dict[str, bytes] = {}
    original = MediaFileManager.add

    def add(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name and isinstance(path_or_data, bytes):
            captured[file_name] = path_or_data
        return original(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", add)
    return captured


def visit(at: AppTest, page: str) -> AppTest:
    """Switch to capa_monitor/views/<page>.py and run it, with no exception raised."""
    at.switch_page(f"{VIEWS}/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str | None = None) -> AppTest:
    """The app in local mode, on `page` (else its default page), with no exception raised."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(DASHBOARD), default_timeout=60).run()
    if page:
        return visit(at, page)
    assert not at.exception, [e.value for e in at.exception]
    return at


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page with this column (a read-only st.dataframe has no key)."""
    return next(t.value for t in at.dataframe if column in t.value.columns)

"""The store (issue 3): upload semantics, restore, reads, job plans, settings, audit, migrations.

Every test runs on SQLite and, when CAPA_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pandas as pd
import pytest
from conftest import make_activity, make_load_result
from sqlalchemy import inspect, text

from capa_monitor import model
from capa_monitor.errors import StoreError
from capa_monitor.loading.report import MappingProfile
from capa_monitor.settings import Settings
from capa_monitor.store import Store, bulk
from capa_monitor.store.database import read_transaction, write_transaction
from capa_monitor.store.schema import LATEST_VERSION, current_version, migrate

USER = "manager@example.org"


def active_keys(store: Store, **filters) -> list[tuple[str, str, str]]:
    """(team or '-', date, slot id) of the active rows, sorted: the store's state in short."""
    frame = store.activity(**filters)
    return sorted(
        zip(
            frame[model.TEAM].fillna("-"),
            frame[model.DATE].dt.strftime("%Y-%m-%d"),
            frame[model.SLOT_ID],
            strict=True,
        )
    )


def upload(store: Store, rows: list[dict], name: str, *, period=None, demo=False):
    result = make_load_result(make_activity(rows), file_name=name)
    return store.ingest(result, user=USER, period=period, demo=demo)


JULY_A = [
    {"slot_id": "a1", "clinician": "Ann Able", "team": "A", "date": "2026-07-01"},
    {"slot_id": "a2", "clinician": "Ann Able", "team": "A", "date": "2026-07-15"},
    {"slot_id": "a3", "clinician": "Ann Able", "team": "A", "date": "2026-07-31"},
    {"slot_id": "b1", "clinician": "Ben Baker", "team": "B", "date": "2026-07-15"},
]
# A correction for team A only, dated 10–20 July: its cover is A × 10..20 July.
CORRECTION_A = [
    {"slot_id": "c1", "clinician": "Ann Able", "team": "A", "date": "2026-07-10"},
    {"slot_id": "c2", "clinician": "Ann Able", "team": "A", "date": "2026-07-20"},
]


def test_new_store_is_migrated_to_the_latest_version(store):
    with store.engine.connect() as conn:
        assert current_version(conn) == LATEST_VERSION == 10
    assert store.data_version() == 0
    assert store.uploads().empty
    assert store.activity().empty
    assert list(store.activity().columns) == [*model.ACTIVITY_COLUMNS, "upload_id"]
    assert store.date_bounds() is None


def test_store_written_at_migration_1_opens_and_upgrades(store_url):
    engine = Store(store_url).engine
    with write_transaction(engine) as conn:
        assert migrate(conn, target=1) == [1]
        conn.execute(
            text(
                "INSERT INTO uploads (file_name, sha256, rows_digest, teams, period_start,"
                " period_end, uploaded_by, uploaded_at, rows_accepted, rows_rejected,"
                " rows_active, mapping, status) VALUES ('old.xlsx', 'x', 'y', '[\"A\"]',"
                " '2026-04-01', '2026-04-30', 'old', '2026-05-01 09:00:00', 0, 0, 0, '{}',"
                " 'active')"
            )
        )
    engine.dispose()
    upgraded = Store.open(store_url)
    with upgraded.engine.connect() as conn:
        assert current_version(conn) == LATEST_VERSION
    history = upgraded.uploads()
    assert history["file_name"].tolist() == ["old.xlsx"]
    assert history["demo"].tolist() == [False]  # the column migration 2 added, defaulted
    assert upgraded.jobplans().empty  # a table migration 2 created
    upgraded.close()


def test_a_store_at_migration_8_drops_its_first_dates_and_gains_the_look_up_indexes(store_url):
    """Session 4's stores kept each family's first dates (`family_firsts`, migration 8); the
    partial indexes of migration 9 answer the review's look-ups instead, so opening such a
    store drops the table and builds the indexes over the rows it already holds."""
    engine = Store(store_url).engine
    with write_transaction(engine) as conn:
        assert migrate(conn, target=8) == list(range(1, 9))
        conn.execute(text(
            "CREATE TABLE family_firsts (client_key TEXT, team TEXT, first_wait DATE,"
            " first_specific DATE, PRIMARY KEY (client_key, team))"))
    engine.dispose()
    upgraded = Store.open(store_url)
    try:
        with upgraded.engine.connect() as conn:
            assert current_version(conn) == LATEST_VERSION
            found = inspect(conn)
            assert not found.has_table("family_firsts")
            indexes = {index["name"] for index in found.get_indexes("activity")}
        assert {"ix_activity_wait_events", "ix_activity_specific_sessions"} <= indexes
    finally:
        upgraded.close()


def test_same_file_again_is_unchanged_and_audited(store):
    first = upload(store, JULY_A, "july.xlsx")
    version = store.data_version()
    again = upload(store, JULY_A, "july.xlsx")
    assert (first.status, again.status) == ("stored", "unchanged")
    assert again.upload_id == first.upload_id
    assert len(store.uploads()) == 1
    assert store.data_version() == version + 1  # the audit entry is a write
    assert store.audit()["action"].tolist() == ["upload", "upload unchanged"]


def test_plan_says_what_an_ingest_would_do_without_writing(store):
    upload(store, JULY_A, "july.xlsx")
    result = make_load_result(make_activity(CORRECTION_A), file_name="fix.xlsx")
    plan = store.plan_ingest(result)
    assert plan.status == "new"
    assert plan.teams == ("A",)
    assert plan.period == (date(2026, 7, 10), date(2026, 7, 20))
    assert plan.supersedes == {1: 1}  # only a2 (15 July) lies in A × 10..20 July
    assert len(store.uploads()) == 1
    assert (
        store.plan_ingest(make_load_result(make_activity(JULY_A), file_name="july.xlsx")).status
        == "unchanged"
    )


def test_new_upload_supersedes_only_its_teams_and_dates(store):
    upload(store, JULY_A, "july.xlsx")
    outcome = upload(store, CORRECTION_A, "fix.xlsx")
    assert (outcome.status, outcome.superseded_rows, outcome.supersedes) == ("stored", 1, {1: 1})
    # a2 (A, 15 July) is replaced; a1, a3 outside 10..20 July and b1 (team B) stay.
    assert active_keys(store) == [
        ("A", "2026-07-01", "a1"),
        ("A", "2026-07-10", "c1"),
        ("A", "2026-07-20", "c2"),
        ("A", "2026-07-31", "a3"),
        ("B", "2026-07-15", "b1"),
    ]
    history = store.uploads().set_index("upload_id")
    assert history.loc[1, "status"] == "partly superseded"
    assert history.loc[1, "rows_active"] == 3
    assert history.loc[2, "status"] == "active"


def test_period_widens_the_cover_to_whole_months(store):
    upload(store, JULY_A, "july.xlsx")
    upload(store, CORRECTION_A, "fix.xlsx", period=(date(2026, 7, 1), date(2026, 7, 31)))
    # A × 1..31 July now belongs to the correction: a1, a2, a3 go, b1 stays.
    assert active_keys(store) == [
        ("A", "2026-07-10", "c1"),
        ("A", "2026-07-20", "c2"),
        ("B", "2026-07-15", "b1"),
    ]
    assert store.uploads().set_index("upload_id").loc[1, "rows_active"] == 1


def test_period_never_narrows_the_cover_below_the_rows_dates(store):
    result = make_load_result(make_activity(CORRECTION_A), file_name="fix.xlsx")
    plan = store.plan_ingest(result, period=(date(2026, 7, 12), date(2026, 7, 13)))
    assert plan.period == (date(2026, 7, 10), date(2026, 7, 20))


def test_upload_that_covers_everything_of_an_earlier_one_makes_it_superseded(store):
    upload(store, CORRECTION_A, "fix.xlsx")
    upload(store, JULY_A, "july.xlsx")
    assert store.uploads().set_index("upload_id").loc[1, "status"] == "superseded"


def test_restore_brings_an_upload_back_over_its_whole_cover(store):
    upload(store, JULY_A, "july.xlsx")
    upload(store, CORRECTION_A, "fix.xlsx")
    store.restore(1, user=USER)
    # july.xlsx covers A and B × 1..31 July, so the correction's rows are superseded.
    assert active_keys(store) == [
        ("A", "2026-07-01", "a1"),
        ("A", "2026-07-15", "a2"),
        ("A", "2026-07-31", "a3"),
        ("B", "2026-07-15", "b1"),
    ]
    history = store.uploads().set_index("upload_id")
    assert history.loc[1, "status"] == "active"
    assert history.loc[2, "status"] == "superseded"
    assert store.audit()["action"].tolist() == [
        "upload",
        "upload",
        "supersede",
        "restore",
        "supersede",
    ]


def test_restore_of_an_unknown_upload_is_refused(store):
    with pytest.raises(StoreError, match="no upload 42"):
        store.restore(42, user=USER)


def test_old_file_uploaded_again_after_a_correction_wins_again(store):
    upload(store, JULY_A, "july.xlsx")
    upload(store, CORRECTION_A, "fix.xlsx")
    again = upload(store, JULY_A, "july.xlsx")
    assert again.status == "stored"  # not "unchanged": it no longer wins everywhere it covers
    assert [key[2] for key in active_keys(store)] == ["a1", "a2", "a3", "b1"]


def test_rows_without_a_team_are_a_team_of_their_own(store):
    upload(
        store,
        [
            {"slot_id": "n1", "clinician": "Ann Able", "date": "2026-07-05"},
            {"slot_id": "t1", "clinician": "Ann Able", "team": "A", "date": "2026-07-05"},
        ],
        "mixed.xlsx",
    )
    # A file with a team column may leave some rows blank (a file with no team at all, into a
    # store that keeps teams, is refused: test_overlap.py).
    upload(
        store,
        [
            {"slot_id": "n2", "clinician": "Ann Able", "date": "2026-07-05"},
            {"slot_id": "u1", "clinician": "Ann Able", "team": "B", "date": "2026-07-06"},
        ],
        "mixed2.xlsx",
    )
    assert active_keys(store) == [
        ("-", "2026-07-05", "n2"),
        ("A", "2026-07-05", "t1"),
        ("B", "2026-07-06", "u1"),
    ]


def _month_rows(month: int) -> list[dict]:
    return [
        {
            "slot_id": f"m{month}-{day}",
            "clinician": "Ann Able",
            "team": team,
            "date": f"2026-{month:02d}-{day:02d}",
            "outcome": outcome,
        }
        for day, team, outcome in ((1, "A", "attended"), (14, "B", "dna"), (28, "A", "booked"))
    ]


def test_twelve_monthly_uploads_equal_one_annual_upload(store_url, tmp_path):
    monthly = Store.open(store_url)
    for month in range(1, 13):
        upload(monthly, _month_rows(month), f"2026-{month:02d}.xlsx")
    annual = Store.open(f"sqlite:///{tmp_path / 'annual.sqlite'}")
    upload(annual, [row for month in range(1, 13) for row in _month_rows(month)], "2026.xlsx")
    columns = list(model.ACTIVITY_COLUMNS[:-1])  # source_row differs between the files
    by_slot = [model.SLOT_ID]
    left = monthly.activity()[columns].sort_values(by_slot).reset_index(drop=True)
    right = annual.activity()[columns].sort_values(by_slot).reset_index(drop=True)
    assert len(left) == 36  # 12 months × 3 rows
    pd.testing.assert_frame_equal(left, right)
    monthly.close()
    annual.close()


def test_a_failing_ingest_leaves_the_store_exactly_as_before(store):
    upload(store, JULY_A, "july.xlsx")
    before = (store.data_version(), active_keys(store), len(store.audit()))
    broken = make_activity(CORRECTION_A)
    broken.loc[1, model.CLINICIAN] = None  # NOT NULL fails half-way, after the supersede step
    with pytest.raises(Exception):  # noqa: B017 - the driver's own integrity error
        store.ingest(make_load_result(broken, file_name="broken.xlsx"), user=USER)
    assert (store.data_version(), active_keys(store), len(store.audit())) == before
    assert store.uploads()["file_name"].tolist() == ["july.xlsx"]


def test_an_upload_without_rows_is_refused(store):
    with pytest.raises(StoreError, match="no accepted rows"):
        upload(store, [], "empty.xlsx")


FULL_ROW = {
    "slot_id": "=HYPERLINK()",
    "clinician": "Jane Smith",
    "team": "North",
    "date": "2026-09-30",
    "start": "09:30",
    "kind": "specific_followup",
    "outcome": "late_not_seen",
    "client_key": "ab" * 32,
    "booked_on": "2026-08-01",
    "duration_min": 50,
    "reoffered": False,
}


def test_every_column_round_trips_with_the_canonical_dtypes(store):
    frame = make_activity(
        [FULL_ROW, {"clinician": "Ann Able", "date": "2026-10-01", "reoffered": True}]
    )
    store.ingest(make_load_result(frame), user=USER)
    stored = store.activity().sort_values(model.DATE).reset_index(drop=True)
    pd.testing.assert_frame_equal(stored[list(model.ACTIVITY_COLUMNS)], frame)
    assert stored["upload_id"].tolist() == [1, 1]


@pytest.mark.parametrize("columns", [("team", "duration_min", "date"), ("reoffered",)])
def test_a_read_of_some_columns_gives_those_columns_of_the_full_read(store, columns):
    """What the review reads (bulk.read_activity(columns=…)): the same values and types as
    the full read, in the order asked, whichever columns are left out."""
    frame = make_activity(
        [FULL_ROW, {"clinician": "Ann Able", "date": "2026-10-01", "reoffered": True}]
    )
    store.ingest(make_load_result(frame), user=USER)
    with read_transaction(store.engine) as conn:
        some = bulk.read_activity(conn, [], None, columns=columns)
        every = bulk.read_activity(conn, [], None)
        with pytest.raises(ValueError, match="not an activity column: \\['nhs_number'\\]"):
            bulk.read_activity(conn, [], None, columns=("team", "nhs_number"))
    assert list(some.columns) == list(columns)
    pd.testing.assert_frame_equal(some, every[list(columns)])


def test_arrow_hands_freed_memory_back_unless_the_operator_chose_a_pool():
    """bulk picks jemalloc returning freed pages at once (mimalloc kept about 0.15 GB more
    after the all-teams review at 5M); ARROW_DEFAULT_MEMORY_POOL still decides when set."""
    code = ("import capa_monitor.store.bulk, pyarrow as pa\n"
            "print(pa.default_memory_pool().backend_name)")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    chosen = [subprocess.run([sys.executable, "-c", code], env=extra, capture_output=True,
                             text=True, check=True).stdout.strip()
              for extra in (env, {**env, "ARROW_DEFAULT_MEMORY_POOL": "system"})]
    assert chosen == ["jemalloc", "system"]


# Text the bulk read must carry exactly (SQLite reads rows as JSON text parsed as CSV, PostgreSQL
# as COPY CSV): CSV and JSON syntax, the words those formats use for missing, empty text,
# non-ASCII, and characters JSON escapes (quote, backslash, line break, tab, a control character).
HOSTILE_TEXT = (
    'O\'Neill, "Jo"',
    "null",
    "NULL",
    "",
    "Siân Ó Briain 🙂",
    "back\\slash",
    "line\nbreak\ttab\x01",
    "]\n[",
)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_any_text_round_trips_exactly(store, text):
    frame = make_activity(
        [
            {"clinician": "Ann Able", "date": "2026-07-01", "team": "A"},
            {
                "slot_id": text,
                "clinician": text,
                "team": text,
                "date": "2026-07-02",
                "client_key": text,
            },
            {"clinician": "Ann Able", "date": "2026-07-03", "team": None},
        ]
    )
    store.ingest(make_load_result(frame), user=USER)
    stored = store.activity().sort_values(model.DATE).reset_index(drop=True)
    pd.testing.assert_frame_equal(stored[list(model.ACTIVITY_COLUMNS)], frame)
    assert store.activity(teams=[text])[model.CLINICIAN].tolist() == [text]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["a1", "a2", "a3", "b1"]),
        ({"teams": ["B"]}, ["b1"]),
        ({"teams": []}, []),
        # end is exclusive; a row on the last day of the range is kept (never BETWEEN on text)
        ({"start": date(2026, 7, 15), "end": date(2026, 7, 31)}, ["a2", "b1"]),
        ({"start": date(2026, 7, 15), "end": date(2026, 8, 1)}, ["a2", "a3", "b1"]),
        ({"teams": ["A"], "end": date(2026, 7, 2)}, ["a1"]),
    ],
)
def test_activity_filters_by_team_and_half_open_dates(store, filters, expected):
    upload(store, JULY_A, "july.xlsx")
    assert [key[2] for key in active_keys(store, **filters)] == expected


# Rows come back in the order stored: upload by upload, each upload's rows by (team, date),
# rows without a team last. JULY_A as stored: a1, a2, a3 (A by date), then b1; AUGUST after.
AUGUST = [
    {"slot_id": "n1", "clinician": "Ann Able", "team": None, "date": "2026-08-02"},
    {"slot_id": "b2", "clinician": "Ben Baker", "team": "B", "date": "2026-08-03"},
    {"slot_id": "a4", "clinician": "Ann Able", "team": "A", "date": "2026-08-04"},
]
IN_STORED_ORDER = ["a1", "a2", "a3", "b1", "a4", "b2", "n1"]


@pytest.mark.parametrize(
    "teams",
    [None, ["B", "A"], ["A", "B", "A"]],  # a team named twice still gives its rows once
)
def test_activity_comes_in_stored_order_once_per_row(store, teams):
    upload(store, JULY_A, "july.xlsx")
    upload(store, AUGUST, "august.xlsx")
    expected = [slot for slot in IN_STORED_ORDER if teams is None or slot[0] in "ab"]
    assert store.activity(teams)[model.SLOT_ID].tolist() == expected


def test_a_read_split_into_row_id_ranges_is_whole_and_in_order(store, monkeypatch):
    # SQLite reads every team in row-id ranges; ranges of 2 ids make 7 rows take 4 queries.
    monkeypatch.setattr(bulk, "_SQLITE_IDS_PER_QUERY", 2)
    upload(store, JULY_A, "july.xlsx")
    upload(store, AUGUST, "august.xlsx")
    assert store.activity()[model.SLOT_ID].tolist() == IN_STORED_ORDER


def test_teams_and_date_bounds_describe_the_active_rows(store):
    upload(store, JULY_A, "july.xlsx")
    store.save_jobplans(
        pd.DataFrame([{"clinician": "Cat Cole", "team": "C"}]), user=USER, source="test"
    )
    assert store.teams() == ["A", "B", "C"]
    assert store.date_bounds() == (date(2026, 7, 1), date(2026, 7, 31))


def test_data_version_changes_on_every_write(store):
    versions = [store.data_version()]
    upload(store, JULY_A, "july.xlsx")
    versions.append(store.data_version())
    store.save_settings(Settings(reoffer_window_days=42), user=USER)
    versions.append(store.data_version())
    store.record("download", user=USER, what="shortfall list")
    versions.append(store.data_version())
    assert versions == [0, 1, 2, 3]


PLANS = pd.DataFrame(
    [
        {
            "clinician": "Jane Smith",
            "team": "North",
            "fte": 1.0,
            "core_sessions": 4.0,
            "q2_target": 10.0,
            "available_to": pd.Timestamp("2026-08-31"),
        },
        {"clinician": "Ben Baker", "team": "South", "fte": 0.5, "core_sessions": 2.0},
    ]
)


def test_job_plans_are_saved_and_read_back_typed(store):
    assert store.save_jobplans(PLANS, user=USER, source="plans.xlsx") == 2
    plans = store.jobplans()
    assert list(plans.columns) == list(model.JOBPLAN_COLUMNS)
    assert plans["clinician"].tolist() == ["Jane Smith", "Ben Baker"]  # by team: North, South
    jane = plans.iloc[0]
    assert (jane["fte"], jane["core_sessions"], jane["q2_target"]) == (1.0, 4.0, 10.0)
    assert pd.isna(jane["q1_target"])
    assert jane["available_to"] == pd.Timestamp("2026-08-31")
    assert pd.isna(plans.iloc[1]["available_to"])
    assert store.jobplans(teams=["South"])["clinician"].tolist() == ["Ben Baker"]


def test_reimporting_replaces_each_clinicians_plan_case_insensitively_with_history(store):
    store.save_jobplans(PLANS, user=USER, source="april.xlsx")
    revised = pd.DataFrame(
        [{"clinician": "  jane   SMITH ", "team": "North", "core_sessions": 3.0}]
    )
    assert store.save_jobplans(revised, user="lead@example.org", source="july.xlsx") == 1
    plans = store.jobplans().set_index("clinician")
    assert sorted(plans.index) == ["Ben Baker", "jane SMITH"]
    assert plans.loc["jane SMITH", "core_sessions"] == 3.0
    history = store.jobplan_history()
    assert history["change"].tolist() == ["created", "created", "replaced"]
    assert history["changed_by"].tolist()[-1] == "lead@example.org"
    assert '"core_sessions": 4.0' in history["before"].tolist()[-1]
    # the same plans again change nothing
    assert store.save_jobplans(revised, user=USER, source="july.xlsx") == 0


def test_a_review_read_sees_every_job_plan_change_at_once(store):
    """Store.review_inputs keeps the plans it read while the shared version stands: a save,
    a removal or another process's save is read at the next review, an upload is not a
    reason to read them again."""
    from capa_monitor.periods import Quarter

    quarter = Quarter.parse("2026/27 Q2", 4)
    upload(store, [{"clinician": "Jane Smith", "team": "North", "date": "2026-07-01"}],
           "july.xlsx")

    def planned() -> list[tuple[str, float]]:
        plans = store.review_inputs(None, quarter).jobplans
        return sorted(zip(plans["clinician"], plans["core_sessions"], strict=True))

    assert planned() == []
    store.save_jobplans(PLANS, user=USER, source="april.xlsx")
    assert planned() == [("Ben Baker", 2.0), ("Jane Smith", 4.0)]
    first = store.review_inputs(None, quarter).jobplans
    upload(store, [{"clinician": "Jane Smith", "team": "North", "date": "2026-07-02"}],
           "july-2.xlsx")
    assert store.review_inputs(None, quarter).jobplans is first  # kept: no plan changed
    other = Store.open(store.url)  # another process of the same store
    try:
        other.save_jobplans(pd.DataFrame([{"clinician": "Jane Smith", "team": "North",
                                           "core_sessions": 3.0}]), user=USER, source="x.xlsx")
    finally:
        other.close()
    assert planned() == [("Ben Baker", 2.0), ("Jane Smith", 3.0)]
    store.remove_jobplans(["Ben Baker"], user=USER, source="job-plan editor")
    assert planned() == [("Jane Smith", 3.0)]


def test_removing_a_plan_deletes_it_with_history_and_audit(store):
    store.save_jobplans(PLANS, user=USER, source="april.xlsx")
    # Names match case- and space-insensitively; an unknown name removes nothing.
    removed = store.remove_jobplans([" BEN  baker", "Nobody Here"], user="lead@example.org",
                                    source="job-plan editor")
    assert removed == 1
    assert store.jobplans()["clinician"].tolist() == ["Jane Smith"]
    history = store.jobplan_history()
    assert history["change"].tolist() == ["created", "created", "removed"]
    last = history.iloc[-1]
    assert (last["clinician"], last["changed_by"]) == ("Ben Baker", "lead@example.org")
    assert '"core_sessions": 2.0' in last["before"] and pd.isna(last["after"])
    audit = store.audit()
    assert audit.iloc[-1][["action", "rows"]].tolist() == ["job plans changed", 1]
    assert store.remove_jobplans(["Ben Baker"], user=USER, source="x") == 0


def test_a_clinician_twice_in_one_job_plan_file_is_refused(store):
    twice = pd.DataFrame([{"clinician": "Jane Smith"}, {"clinician": "jane smith"}])
    with pytest.raises(StoreError, match="more than once"):
        store.save_jobplans(twice, user=USER, source="x.xlsx")
    assert store.jobplans().empty


def test_settings_keep_only_overrides_and_round_trip(store):
    assert store.settings() == Settings()
    chosen = Settings(reoffer_window_days=42, monitored_kinds=("core_new",))
    store.save_settings(chosen, user=USER)
    assert store.settings() == chosen
    details = store.audit()["details"].iloc[-1]
    assert details == '{"overrides": {"monitored_kinds": ["core_new"], "reoffer_window_days": 42}}'


def test_mapping_profiles_are_kept_by_name(store):
    first = MappingProfile("Rio diary", {"clinician": "HCP"}, {"outcome": {"Seen": "attended"}})
    store.save_profile(first)
    store.save_profile(MappingProfile("Rio diary", {"clinician": "Staff"}))
    store.save_profile(MappingProfile("Aardvark"))
    assert [p.name for p in store.profiles()] == ["Aardvark", "Rio diary"]
    assert store.profiles()[1].columns == {"clinician": "Staff"}


def test_audit_records_who_what_and_is_append_only(store):
    upload(store, JULY_A, "july.xlsx")
    store.record("download", user="lead@example.org", what="shortfall xlsx", quarter="2026/27 Q2")
    audit = store.audit()
    first, last = audit.iloc[0], audit.iloc[-1]
    assert (first["action"], first["user"], first["rows"]) == ("upload", USER, 4)
    assert first["period_start"] == pd.Timestamp("2026-07-01")
    assert first["period_end"] == pd.Timestamp("2026-07-31")
    assert len(first["file_sha256"]) == 64
    assert (last["action"], last["user"]) == ("download", "lead@example.org")
    assert last["details"] == '{"quarter": "2026/27 Q2", "what": "shortfall xlsx"}'
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:  # noqa: B017
        conn.execute(text("UPDATE audit_log SET user_name = 'someone else'"))
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:  # noqa: B017
        conn.execute(text("DELETE FROM audit_log"))


def test_remove_demo_takes_out_demo_uploads_and_plans_only(store):
    upload(store, JULY_A, "july.xlsx")
    upload(
        store,
        [{"slot_id": "d1", "clinician": "Dee Demo", "team": "Demo", "date": "2026-07-02"}],
        "demo.xlsx",
        demo=True,
    )
    store.save_jobplans(
        pd.DataFrame([{"clinician": "Dee Demo", "team": "Demo"}]), user=USER, source="demo"
    )
    store.save_jobplans(PLANS, user=USER, source="plans.xlsx")
    assert store.remove_demo(user=USER) == 1
    assert [key[2] for key in active_keys(store)] == ["a1", "a2", "a3", "b1"]
    assert store.uploads()["file_name"].tolist() == ["july.xlsx"]
    assert sorted(store.jobplans()["clinician"]) == ["Ben Baker", "Jane Smith"]
    assert store.audit()["action"].iloc[-1] == "demo removed"


def test_open_uses_the_environment_then_the_default_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAPA_DATABASE_URL", raising=False)
    Store.open().close()
    assert (tmp_path / "data" / "capa.sqlite").exists()
    monkeypatch.setenv("CAPA_DATABASE_URL", f"sqlite:///{tmp_path / 'other.sqlite'}")
    opened = Store.open()
    assert opened.url.endswith("other.sqlite")
    opened.close()
    assert (tmp_path / "other.sqlite").exists()


def test_sqlite_store_uses_wal_and_foreign_keys(sqlite_url):
    opened = Store.open(sqlite_url)
    with opened.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    opened.close()

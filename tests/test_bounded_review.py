"""Issue 13: the review read from the store (Store.review_inputs: a bounded part of the viewed
teams' rows, the kept M2 matches and per-day counts) equals the review over every stored row,
whatever the history; and the per-day counts the store keeps equal a count from scratch after
any sequence of uploads, supersedes, removals and restores.

The histories are built to reach past every window the store reads (store/review_reads.py):
three years of rows; clients whose Choice came long before their Core Partnership, or whose
wait ended in the months between an old quarter and the as-of date; Specific episodes that
began long before the recent window or whose latest episode is old but still has a slot
booked; a blank-team job plan of a clinician who left the team years ago; rows of a second
team. Generated from seeds (numpy), so a failure names its seed.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from conftest import make_activity, make_load_result, plans_frame
from pandas.testing import assert_frame_equal
from sqlalchemy import event

from capa_monitor.metrics import daily
from capa_monitor.metrics.lookahead import outlook, stored_outlook
from capa_monitor.metrics.review import review, stored_review, team_rows
from capa_monitor.periods import Quarter, as_of_date
from capa_monitor.store import Store, counts, schema
from capa_monitor.store.database import read_transaction

USER = "manager@example.org"
FIRST = date(2023, 11, 6)
DAYS = 3 * 365
CLINICIANS = ("Jane Smith", "Ravi Raman", "Ann Okafor", "Tom Price")
KINDS = ("choice", "core_new", "core_followup", "specific_new", "specific_followup", "other")
OUTCOMES = ("attended",) * 6 + ("dna", "late_not_seen", "cancelled_by_client",
                                "cancelled_by_service", "unbooked", "booked")


def _rows(seed: int) -> list[dict]:
    """About 900 rows of two teams over three years, with the long-reaching shapes above."""
    rng = np.random.default_rng(seed)
    clients = [f"c{n}" for n in range(40)]
    rows = []

    def add(day: int, clinician: str, kind: str, outcome: str, client: str | None, team="North"):
        rows.append({"clinician": clinician, "team": team, "kind": kind, "outcome": outcome,
                     "client_key": client, "day": int(day)})

    for _ in range(600):  # background
        add(rng.integers(0, DAYS), rng.choice(CLINICIANS), rng.choice(KINDS),
            rng.choice(OUTCOMES), rng.choice([*clients, None]))
    for _ in range(120):  # the other team, sharing some families
        add(rng.integers(0, DAYS), rng.choice(("Lee Chan", "Jane Smith")), rng.choice(KINDS),
            rng.choice(OUTCOMES), rng.choice(clients[:10]), team="South")
    for n in range(8):  # Choice, then a Core Partnership 100–400 days later
        client = f"w{n}"
        choice = int(rng.integers(0, DAYS - 420))
        add(choice, rng.choice(CLINICIANS), "choice", "attended", client)
        if n % 2:
            add(choice + int(rng.integers(100, 400)), rng.choice(CLINICIANS), "core_new",
                "attended", client)
    for n in range(6):  # Specific episodes of many weekly-to-monthly sessions
        client, clinician = f"s{n}", CLINICIANS[n % len(CLINICIANS)]
        day = int(rng.integers(0, DAYS - 200))
        end = min(DAYS + 60, day + int(rng.integers(150, 900)))
        while day < end:
            add(day, clinician, rng.choice(("specific_new", "specific_followup")),
                "attended" if day <= DAYS else "booked", client)
            day += int(rng.integers(5, 55))
        if n % 3 == 0:  # an old episode with a slot still booked ahead
            add(DAYS + int(rng.integers(1, 40)), clinician, "specific_followup", "booked", client)
    for day in range(0, 200, 14):  # a leaver: worked in North only in the first months
        add(day, "Zoe Hart", "core_new", "attended", f"z{day}")
    return rows


def _frame(rows: list[dict], seed: int) -> pd.DataFrame:
    records = []
    for n, r in enumerate(rows):
        day = FIRST + timedelta(days=r["day"])
        records.append({
            "slot_id": f"S{seed}-{n}", "clinician": r["clinician"], "team": r["team"],
            "date": day.isoformat(), "start": f"{9 + n % 8:02d}:00", "kind": r["kind"],
            "outcome": r["outcome"], "client_key": r["client_key"],
            "booked_on": (day - timedelta(days=n % 30)).isoformat(),
        })
    return make_activity(records)


PLANS = plans_frame([
    {"clinician": "Jane Smith", "team": "North", "fte": 1.0, "core_sessions": 4.0,
     "specific_sessions": 3.0},
    {"clinician": "Ravi Raman", "team": "North", "fte": 0.8, "core_sessions": 3.0},
    {"clinician": "Ann Okafor", "team": "North", "fte": 1.0, "core_sessions": 2.0,
     "specific_sessions": 4.0},
    {"clinician": "Zoe Hart", "team": None, "fte": 1.0, "core_sessions": 4.0},  # no team
    {"clinician": "Lee Chan", "team": "South", "fte": 1.0, "core_sessions": 4.0},
])


def _fill(url: str, seed: int) -> Store:
    """The rows as monthly uploads of each team, one month uploaded again with changes and
    its first copy restored, one month removed, and the plans."""
    store = Store.open(url)
    frame = _frame(_rows(seed), seed)
    months = frame["date"].dt.to_period("M")
    for (team, _), part in frame.groupby([frame["team"], months], sort=True):
        store.ingest(make_load_result(part.reset_index(drop=True),
                                      file_name=f"{team}-{part['date'].min():%Y-%m}.xlsx"),
                     user=USER)
    again = frame[(months == months.iloc[len(frame) // 2]) & (frame["team"] == "North")].copy()
    again.loc[again.index[::3], "outcome"] = "dna"
    store.ingest(make_load_result(again.reset_index(drop=True), file_name="again.xlsx"),
                 user=USER)
    listed = store.uploads()
    month = f"North-{again['date'].min():%Y-%m}.xlsx"
    replaced = int(listed.loc[listed["file_name"] == month, "upload_id"].iloc[0])
    store.restore(replaced, user=USER)  # the first copy counts again, the changes go
    store.remove_upload(int(listed["upload_id"].iloc[-4]), user=USER)
    store.save_jobplans(PLANS, user=USER, source="plans.xlsx")
    return store


def _assert_same_review(kept, whole) -> None:
    assert (kept.as_of, kept.as_of_source) == (whole.as_of, whole.as_of_source)
    for name in ("clinicians", "lost_slots", "balance", "balance_teams", "drift", "waits",
                 "flow_summary", "dropoff", "spc_weekly", "spc_dna"):
        assert_frame_equal(getattr(kept, name), getattr(whole, name), obj=name)
    if whole.next_diary is None:
        assert kept.next_diary is None
    else:
        assert_frame_equal(kept.next_diary.clinicians, whole.next_diary.clinicians)


# (quarter, as_of given, teams): the current quarter, an old one seen from today (two windows
# and the gap between), one seen from a given day inside it, every team, team names as typed.
CASES = (
    ("2026/27 Q3", None, ["North"]),
    ("2024/25 Q1", None, ["North"]),
    ("2025/26 Q2", date(2025, 8, 20), ["north "]),
    ("2025/26 Q4", None, None),
    ("2026/27 Q2", date(2026, 9, 1), ["South", "North"]),
)


def _check(url: str, seed: int) -> None:
    store = _fill(url, seed)
    try:
        everything, plans, settings = store.activity(), store.jobplans(), store.settings()
        with read_transaction(store.engine) as conn:
            assert_frame_equal(counts.stored(conn), daily.daily_counts(everything))
        for label, as_of, teams in CASES:
            quarter = Quarter.parse(label, settings.fy_first_month)
            whole = review(everything, plans, quarter, as_of=as_of, settings=settings,
                           teams=teams)
            inputs = store.review_inputs(teams, quarter, as_of)
            assert len(inputs.activity) < len(everything)
            assert store.latest_as_of(teams) == as_of_date(team_rows(everything, teams))
            _assert_same_review(stored_review(inputs, quarter, as_of=as_of, teams=teams), whole)
            ahead = store.review_inputs(teams, quarter, as_of, looking_ahead=True)
            kept_look = stored_outlook(ahead, whole)
            whole_look = outlook(everything, plans, whole)
            assert_frame_equal(kept_look.capacity, whole_look.capacity)
            assert kept_look.conversion == whole_look.conversion
            assert_frame_equal(kept_look.plans, whole_look.plans)
    finally:
        store.close()


@pytest.mark.parametrize("seed", range(6))
def test_the_stored_review_equals_the_whole_store_review_on_sqlite(tmp_path, seed):
    _check(f"sqlite:///{tmp_path / 'capa.sqlite'}", seed)


@pytest.mark.postgres
@pytest.mark.parametrize("seed", range(3))
def test_the_stored_review_equals_the_whole_store_review_on_postgres(postgres_url, seed):
    _check(postgres_url, seed)


def test_a_blank_team_plan_goes_with_a_clinician_who_worked_in_the_team_long_ago(tmp_path):
    """Hand-worked: Zoe Hart's plan has no team; she saw families in North in 2023 only. The
    2026/27 Q3 review of North reads nothing of 2023, yet lists her (planned, 0 delivered)
    because the store keeps who has worked in each team."""
    store = _fill(f"sqlite:///{tmp_path / 'capa.sqlite'}", 0)
    try:
        quarter = Quarter.parse("2026/27 Q3", 4)
        inputs = store.review_inputs(["North"], quarter)
        assert "Zoe Hart" not in set(inputs.activity["clinician"])
        assert "Zoe Hart" in inputs.clinicians
        kept = stored_review(inputs, quarter, teams=["North"])
        zoe = kept.clinicians[kept.clinicians["clinician"] == "Zoe Hart"].iloc[0]
        assert (bool(zoe["planned"]), int(zoe["delivered"])) == (True, 0)
    finally:
        store.close()


def test_a_store_without_teams_reads_the_same_bounded_review(tmp_path):
    """A service that keeps no team column: every row's team is missing, and the bounded
    read (rows without a team) still equals the whole-store review, and reads fewer rows."""
    store = Store.open(f"sqlite:///{tmp_path / 'capa.sqlite'}")
    try:
        frame = _frame([{**r, "team": None} for r in _rows(7)], 7)
        store.ingest(make_load_result(frame, file_name="service.xlsx"), user=USER)
        everything, plans, settings = store.activity(), store.jobplans(), store.settings()
        with read_transaction(store.engine) as conn:
            assert_frame_equal(counts.stored(conn), daily.daily_counts(everything))
        for label in ("2026/27 Q3", "2024/25 Q2"):
            quarter = Quarter.parse(label, settings.fy_first_month)
            inputs = store.review_inputs(None, quarter)
            assert len(inputs.activity) < len(everything)
            _assert_same_review(stored_review(inputs, quarter),
                                review(everything, plans, quarter, settings=settings))
    finally:
        store.close()


@pytest.mark.parametrize("teams, expected", [
    (["North"], date(2026, 3, 2)),  # its booked slot of 20 March has not happened
    (["south "], date(2026, 3, 5)),  # the DNA counts; the service's cancellation does not
    (None, date(2026, 3, 5)),
    (["West"], None),  # no such team
])
def test_the_as_of_date_is_the_latest_attended_or_missed_day_of_the_teams(store, teams,
                                                                        expected):
    """§2 as-of date from the kept counts (Store.latest_as_of), hand-worked."""
    frame = make_activity([
        {"clinician": "Jane Smith", "team": "North", "date": "2026-03-02"},
        {"clinician": "Jane Smith", "team": "North", "date": "2026-03-20", "outcome": "booked"},
        {"clinician": "Ravi Raman", "team": "South", "date": "2026-03-05", "outcome": "dna"},
        {"clinician": "Ravi Raman", "team": "South", "date": "2026-03-09",
         "outcome": "cancelled_by_service"},
    ])
    store.ingest(make_load_result(frame, file_name="march.xlsx"), user=USER)
    assert store.latest_as_of(teams) == expected


def _look_up_plans(store: Store, teams) -> list[str]:
    """SQLite's plan of each family look-up (a read of activity rows by family key) that the
    review of 2026/27 Q3 runs."""
    looked_up = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "FROM activity" in statement and "json_each" in statement:
            looked_up.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", keep)
    try:
        store.review_inputs(teams, Quarter.parse("2026/27 Q3", 4))
    finally:
        event.remove(store.engine, "before_cursor_execute", keep)
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        return [" ".join(row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement,
                                                         parameters))
                for statement, parameters in looked_up]


@pytest.mark.parametrize("teams", [["North"], None])
def test_the_family_look_ups_read_through_their_own_indexes_on_sqlite(tmp_path, teams):
    """Measured on a 5M-row store: the look-ups went through the (team, date) index and read
    every team's whole date range, 14 s of an all-teams review; through the partial indexes on
    (client_key, date) they took 0.9 s. Each look-up is planned on one of them."""
    store = _fill(f"sqlite:///{tmp_path / 'capa.sqlite'}", 0)
    try:
        plans = _look_up_plans(store, teams)
    finally:
        store.close()
    used = {name for name in ("ix_activity_wait_events", "ix_activity_specific_sessions")
            if any(f"USING INDEX {name} " in plan for plan in plans)}
    assert used == {"ix_activity_wait_events", "ix_activity_specific_sessions"}, plans
    assert not [plan for plan in plans if "ix_activity_team_date" in plan
                or "SCAN activity" in plan]


@pytest.mark.postgres
def test_the_look_up_predicates_can_use_their_partial_indexes_on_postgres(postgres_url):
    """PostgreSQL proves a partial index usable from the query's own predicate: with scans of
    the whole table ruled out, a look-up of each kind is planned on its index."""
    store = Store.open(postgres_url)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for predicate, index in ((schema.WAIT_EVENTS, "ix_activity_wait_events"),
                                     (schema.SPECIFIC_SESSIONS,
                                      "ix_activity_specific_sessions")):
                plan = " ".join(conn.exec_driver_sql(
                    f"EXPLAIN SELECT * FROM activity WHERE {predicate} AND client_key IN "
                    "('c1', 'c2') AND date >= DATE '2025-01-01' AND superseded_by IS NULL"
                ).scalars())
                assert index in plan, plan
    finally:
        store.close()

"""Issue 13: a review kept in the store (store/kept_reviews.py) is read back only while
nothing it was worked out from has changed, and then equals the review worked out afresh.

The small fixture, worked by hand: North's Jane Smith delivers two new Core Partnerships in
2026/27 Q2 (July 2026), South's Lee Chan one. Each write below changes what one review can
show, or not, and the test says which kept reviews it leaves.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import numpy as np
import pytest
from conftest import assert_same_review, kept_keys, make_activity, make_load_result, plans_frame
from sqlalchemy import func, select, text, update

from capa_monitor.periods import Quarter
from capa_monitor.settings import Settings
from capa_monitor.store import Store, kept_reviews, review_reads
from capa_monitor.store.database import WRITER_LOCK_KEY, write_transaction
from capa_monitor.store.kept_reviews import kept_reviews as kept_table

USER = "manager@example.org"
Q2 = Quarter(2026, 2)
PLANS = plans_frame([
    {"clinician": "Jane Smith", "team": "North", "fte": 1.0, "core_sessions": 4.0},
    {"clinician": "Lee Chan", "team": "South", "fte": 1.0, "core_sessions": 2.0},
])


def _upload(store: Store, name: str, rows: list[dict]) -> None:
    store.ingest(make_load_result(make_activity(rows), file_name=name), user=USER)


def _north(day: str, client: str, **more) -> dict:
    return {"clinician": "Jane Smith", "team": "North", "date": day, "client_key": client,
            **more}


def _south(day: str, client: str, **more) -> dict:
    return {"clinician": "Lee Chan", "team": "South", "date": day, "client_key": client,
            **more}


@pytest.fixture
def filled(store) -> Store:
    _upload(store, "north-july.xlsx", [
        _north("2026-07-06", "f1", slot_id="N1"),
        _north("2026-07-13", "f2", slot_id="N2"),
        _north("2026-07-20", "f3", slot_id="N3", outcome="dna"),
        _north("2026-07-27", "f4", slot_id="N4", kind="choice"),
    ])
    _upload(store, "south-july.xlsx", [_south("2026-07-08", "g1", slot_id="S1")])
    store.save_jobplans(PLANS, user=USER, source="plans.xlsx")
    return store


NORTH = ('["North"]', "2026/27 Q2", "")
EVERY = ("", "2026/27 Q2", "")


def _delivered(result, clinician: str) -> int:
    rows = result.clinicians
    return int(rows.loc[rows["clinician"] == clinician, "delivered"].iloc[0])


@pytest.fixture
def no_reading(monkeypatch):
    """Fail any review that reads rows, so a test sees the kept review was used."""
    def read_inputs(*args, **kwargs):
        raise AssertionError("the review read the store's rows: the kept review was not used")

    def forbid():
        monkeypatch.setattr(review_reads, "read_inputs", read_inputs)
    return forbid


def test_a_kept_review_is_read_back_equal_without_reading_rows(filled, no_reading):
    fresh = filled.review(["North"], Q2, keep=False)
    assert kept_keys(filled) == set()
    assert _delivered(filled.review(["North"], Q2, keep=True), "Jane Smith") == 2
    assert kept_keys(filled) == {NORTH}
    no_reading()
    again = filled.review(["North"], Q2)
    assert_same_review(again, fresh)
    assert _delivered(again, "Jane Smith") == 2
    assert again.teams == ("North",)


def test_the_teams_are_kept_as_asked(filled):
    filled.review([" north"], Q2, keep=True)
    assert filled.review([" north"], Q2).teams == (" north",)
    assert filled.review(["North"], Q2).teams == ("North",)  # another key: worked out again
    assert kept_keys(filled) == {('[" north"]', "2026/27 Q2", "")}


def test_an_as_of_given_is_a_review_of_its_own(filled):
    filled.review(["North"], Q2, date(2026, 7, 10), keep=True)
    early = filled.review(["North"], Q2, date(2026, 7, 10))
    assert (early.as_of, early.as_of_source) == (date(2026, 7, 10), "given")
    assert _delivered(early, "Jane Smith") == 1  # only the 6 July one by 10 July
    assert _delivered(filled.review(["North"], Q2), "Jane Smith") == 2
    assert kept_keys(filled) == {('["North"]', "2026/27 Q2", "2026-07-10")}


def test_another_teams_upload_leaves_a_teams_kept_review_and_ends_every_teams(filled,
                                                                                 no_reading):
    filled.review(["North"], Q2, keep=True)
    filled.review(None, Q2, keep=True)
    assert kept_keys(filled) == {NORTH, EVERY}
    _upload(filled, "south-august.xlsx", [_south("2026-08-03", "g2", slot_id="S2")])
    assert kept_keys(filled) == {NORTH}
    assert _delivered(filled.review(None, Q2, keep=False), "Lee Chan") == 2
    no_reading()
    assert _delivered(filled.review(["North"], Q2), "Jane Smith") == 2


def test_an_upload_to_the_team_ends_its_kept_review_and_the_next_shows_it(filled):
    filled.review(["North"], Q2, keep=True)
    _upload(filled, "north-august.xlsx", [_north("2026-08-03", "f5", slot_id="N5")])
    assert kept_keys(filled) == set()
    assert _delivered(filled.review(["North"], Q2), "Jane Smith") == 3


def test_removing_an_upload_ends_the_kept_reviews_it_was_in(filled):
    _upload(filled, "north-august.xlsx", [_north("2026-08-03", "f5", slot_id="N5")])
    assert _delivered(filled.review(["North"], Q2, keep=True), "Jane Smith") == 3
    uploads = filled.uploads()
    august = int(uploads.loc[uploads["file_name"] == "north-august.xlsx", "upload_id"].iloc[0])
    filled.remove_upload(august, user=USER)
    assert kept_keys(filled) == set()  # its figures do not linger in the store
    assert _delivered(filled.review(["North"], Q2), "Jane Smith") == 2


def test_job_plans_and_settings_end_every_kept_review(filled):
    first = filled.review(["North"], Q2, keep=True)
    filled.review(["South"], Q2, keep=True)
    jane = first.clinicians.set_index("clinician").loc["Jane Smith"]
    filled.save_jobplans(plans_frame([{"clinician": "Jane Smith", "team": "North", "fte": 1.0,
                                       "core_sessions": 2.0}]),
                         user=USER, source="plans-v2.xlsx")
    assert kept_keys(filled) == set()
    halved = filled.review(["North"], Q2, keep=True).clinicians.set_index("clinician")
    assert halved.loc["Jane Smith", "target"] == jane["target"] / 2
    filled.save_settings(Settings(reoffer_window_days=7), user=USER)
    assert kept_keys(filled) == set()
    assert filled.review(["North"], Q2).settings.reoffer_window_days == 7


def test_a_review_kept_by_other_code_is_not_read_back(filled, monkeypatch):
    filled.review(["North"], Q2, keep=True)
    monkeypatch.setattr(kept_reviews, "code_fingerprint", lambda: "other code")
    calls = []
    real = review_reads.read_inputs
    monkeypatch.setattr(review_reads, "read_inputs",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    assert _delivered(filled.review(["North"], Q2), "Jane Smith") == 2
    assert calls == [1]
    _upload(filled, "south-august.xlsx", [_south("2026-08-03", "g2", slot_id="S2")])
    assert kept_keys(filled) == set()  # the next write forgets it


def test_a_kept_review_that_does_not_read_is_worked_out_again(filled, caplog):
    fresh = filled.review(["North"], Q2, keep=True)
    with filled.engine.begin() as conn:
        conn.execute(update(kept_table).values(review=b"CAPA-REVIEW-1\n\x05garbage"))
    assert_same_review(filled.review(["North"], Q2), fresh)
    assert "does not read" in caplog.text
    with filled.engine.begin() as conn:
        conn.execute(update(kept_table).values(review=b"not a review at all"))
    assert_same_review(filled.review(["North"], Q2), fresh)


def test_keeping_never_waits_long_behind_another_writer(filled):
    held, release = threading.Event(), threading.Event()

    def writer():
        with write_transaction(filled.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": WRITER_LOCK_KEY})
            held.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        result = filled.review(["North"], Q2, keep=True)
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join()
    assert _delivered(result, "Jane Smith") == 2
    assert kept_keys(filled) == set()
    assert waited < 10  # not the 60 s a write waits for the store


def test_only_the_most_recent_reviews_arekept_keys(filled, monkeypatch):
    monkeypatch.setattr(kept_reviews, "MOST_KEPT", 2)
    for teams in (["North"], ["South"], None):
        filled.review(teams, Q2, keep=True)
        time.sleep(0.01)
    assert kept_keys(filled) == {('["South"]', "2026/27 Q2", ""), EVERY}


def test_by_default_only_a_review_that_took_long_iskept_keys(filled, monkeypatch):
    filled.review(["North"], Q2)  # a fifth of a second at most: not worth a write
    assert kept_keys(filled) == set()
    monkeypatch.setattr(kept_reviews, "WORTH_KEEPING_S", 0.0)
    filled.review(["North"], Q2)
    assert kept_keys(filled) == {NORTH}


@pytest.mark.parametrize("seed", [3, 11])
def test_kept_reviews_always_equal_the_review_worked_out_afresh(store, seed, monkeypatch):
    """Random sequences of uploads, re-uploads, restores, removals, plan and settings changes;
    after each, every selection's review (kept where it stands) equals one worked out afresh."""
    rng = np.random.default_rng(seed)
    names = {"North": "Jane Smith", "South": "Lee Chan"}
    found = kept_reviews.find
    used = []
    monkeypatch.setattr(kept_reviews, "find",
                        lambda *a: used.append(result := found(*a)) or result)
    store.save_jobplans(PLANS, user=USER, source="plans.xlsx")
    selections = (["North"], ["South"], None, ["North", "South"])
    for step in range(8):
        action = rng.choice(["upload", "upload", "upload", "restore", "remove", "plans",
                             "settings"])
        uploads = store.uploads()
        replaced = uploads[uploads["status"] != "active"]
        if action == "upload" or uploads.empty:
            team = str(rng.choice(list(names)))
            rows = [{"clinician": names[team], "team": team,
                     "date": f"2026-0{int(rng.integers(7, 10))}-{int(rng.integers(1, 29)):02d}",
                     "kind": str(rng.choice(["core_new", "choice", "specific_followup"])),
                     "outcome": str(rng.choice(["attended", "dna", "booked", "unbooked"])),
                     "client_key": f"k{int(rng.integers(0, 6))}",
                     "slot_id": f"{team[0]}{int(rng.integers(0, 12))}"}
                    for _ in range(int(rng.integers(1, 6)))]
            _upload(store, f"{team}-{step}.xlsx", rows)  # over earlier uploads' dates
        elif action == "restore" and not replaced.empty:
            store.restore(int(replaced["upload_id"].iloc[0]), user=USER)
        elif action == "remove":
            store.remove_upload(int(uploads["upload_id"].iloc[-1]), user=USER)
        elif action == "plans":
            store.save_jobplans(plans_frame([
                {"clinician": "Jane Smith", "team": "North", "fte": 1.0,
                 "core_sessions": float(rng.integers(1, 6))},
            ]), user=USER, source=f"plans-{step}.xlsx")
        else:
            store.save_settings(Settings(reoffer_window_days=int(rng.integers(5, 30))),
                                user=USER)
        for teams in selections:
            for as_of in (None, date(2026, 8, 15)):
                first = store.review(teams, Q2, as_of, keep=True)
                assert_same_review(first, store.review(teams, Q2, as_of, keep=False))
                assert_same_review(store.review(teams, Q2, as_of), first)  # kept, read back
    assert sum(result is not None for result in used) >= 8 * len(selections) * 2
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(kept_table)).scalar_one() <= 8


def test_the_review_command_reads_the_kept_review_back(filled, store_url, monkeypatch, capsys,
                                                       no_reading):
    from capa_monitor import cli

    monkeypatch.setattr(kept_reviews, "WORTH_KEEPING_S", 0.0)  # as every team of a trust takes
    assert cli.main(["--db", store_url, "review", "--quarter", "2026/27 Q2"]) == 0
    first = capsys.readouterr().out
    assert "3 delivered of" in first  # Jane's two (North) and Lee's one (South)
    assert kept_keys(filled) == {EVERY}
    no_reading()
    assert cli.main(["--db", store_url, "review", "--quarter", "2026/27 Q2"]) == 0
    assert capsys.readouterr().out == first

"""Issue 13: after a write, every team's review of the quarter the page and the `review` CLI
open on is worked out in a process of its own and kept (prework.py), so the next viewer of
the whole trust reads it instead of waiting for it.

The small fixture, worked by hand: North's Jane Smith attends two new Core Partnerships in
July 2026 (N1, N2; N3 was missed, N4 is a Choice), South's Lee Chan one (S1). The latest
attended appointment is N4 on 27 July 2026, so every team's review opens on 2026/27 Q2
(April-start year: July to September) as of 27 July; North's and South's own too (South's
latest, S1 on 8 July, is in Q2). Each team's own review is worked ahead as well, and so is
its quarter before where it has rows: none here (nothing before July).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import assert_same_review, kept_keys, make_activity, make_load_result, plans_frame

from capa_monitor import prework
from capa_monitor.periods import Quarter
from capa_monitor.store import Store, review_reads

USER = "manager@example.org"
Q2 = Quarter(2026, 2)
Q1 = Quarter(2026, 1)
EVERY_Q2 = ("", "2026/27 Q2", "")
NORTH_Q2 = ('["North"]', "2026/27 Q2", "")
SOUTH_Q2 = ('["South"]', "2026/27 Q2", "")
AHEAD = [(None, Q2), (("North",), Q2), (("South",), Q2)]
PLANS = plans_frame([
    {"clinician": "Jane Smith", "team": "North", "fte": 1.0, "core_sessions": 4.0},
    {"clinician": "Lee Chan", "team": "South", "fte": 1.0, "core_sessions": 2.0},
])
ROOT = Path(__file__).resolve().parents[1]


def _north(day: str, client: str, **more) -> dict:
    return {"clinician": "Jane Smith", "team": "North", "date": day, "client_key": client,
            **more}


def _upload(store: Store, name: str, rows: list[dict]) -> None:
    store.ingest(make_load_result(make_activity(rows), file_name=name), user=USER)


def _fill(store: Store) -> Store:
    _upload(store, "north-july.xlsx", [
        _north("2026-07-06", "f1", slot_id="N1"),
        _north("2026-07-13", "f2", slot_id="N2"),
        _north("2026-07-20", "f3", slot_id="N3", outcome="dna"),
        _north("2026-07-27", "f4", slot_id="N4", kind="choice"),
    ])
    _upload(store, "south-july.xlsx", [{"clinician": "Lee Chan", "team": "South",
                                        "date": "2026-07-08", "client_key": "g1",
                                        "slot_id": "S1"}])
    store.save_jobplans(PLANS, user=USER, source="plans.xlsx")
    return store


def _delivered(result, clinician: str) -> int:
    rows = result.clinicians
    return int(rows.loc[rows["clinician"] == clinician, "delivered"].iloc[0])


@pytest.fixture
def reads(monkeypatch) -> list:
    """The teams of each review that read the store's rows (rather than a kept review)."""
    calls: list = []
    real = review_reads.read_inputs

    def counted(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(review_reads, "read_inputs", counted)
    return calls


def test_work_ahead_keeps_every_teams_and_each_teams_review_of_the_quarter_the_page_opens_on(
        store, reads):
    _fill(store)
    assert prework.default_quarter(store) == Q2
    assert prework.work_ahead(store) == AHEAD
    assert kept_keys(store) == {EVERY_Q2, NORTH_Q2, SOUTH_Q2}
    assert len(reads) == 3
    kept = store.review(None, Q2)  # what the page and the CLI ask for: read back, not reread
    north = store.review(["North"], Q2)  # a switch to North
    assert len(reads) == 3
    assert kept.as_of == date(2026, 7, 27)
    assert (_delivered(kept, "Jane Smith"), _delivered(kept, "Lee Chan")) == (2, 1)
    assert list(north.clinicians["clinician"]) == ["Jane Smith"]
    assert _delivered(north, "Jane Smith") == 2
    assert_same_review(kept, store.review(None, Q2, keep=False))
    assert_same_review(north, store.review(["North"], Q2, keep=False))


def test_a_teams_quarter_before_is_worked_ahead_where_it_has_rows(store, reads):
    """North also saw a client in June (Q1): North's Q1 is worked ahead, South's is not
    (no rows). Every team's Q1 is not: it is worked out (apart) when asked."""
    _fill(store)
    _upload(store, "north-june.xlsx", [_north("2026-06-15", "f9", slot_id="N0")])
    assert prework.work_ahead(store) == [*AHEAD, (("North",), Q1)]
    assert kept_keys(store) == {EVERY_Q2, NORTH_Q2, SOUTH_Q2, ('["North"]', "2026/27 Q1", "")}
    reads.clear()
    june = store.review(["North"], Q1)
    assert reads == []
    assert _delivered(june, "Jane Smith") == 1
    assert_same_review(june, store.review(["North"], Q1, keep=False))


def test_a_team_whose_own_quarter_differs_gets_both(store):
    """South's only appointment moves to 24 June (Q1): its page opens on Q1, but a viewer
    switching to it from every team's page (Q2) stays on Q2, so both are worked ahead."""
    _upload(store, "north-july.xlsx", [_north("2026-07-06", "f1", slot_id="N1")])
    _upload(store, "south-june.xlsx", [{"clinician": "Lee Chan", "team": "South",
                                        "date": "2026-06-24", "client_key": "g1"}])
    store.save_jobplans(PLANS, user=USER, source="plans.xlsx")
    assert prework.default_quarter(store, ("South",)) == Q1
    assert prework.views_ahead(store) == [(None, Q2), (("North",), Q2), (("South",), Q1),
                                          (("South",), Q2)]


def test_after_one_teams_upload_only_its_reviews_and_every_teams_are_worked_again(store, reads):
    _fill(store)
    prework.work_ahead(store)
    _upload(store, "north-late-july.xlsx", [_north("2026-07-29", "f5", slot_id="N5")])
    reads.clear()
    assert prework.work_ahead(store) == AHEAD
    assert reads == [None, ["North"]]  # every team's and North's; South's stood
    assert _delivered(store.review(["North"], Q2), "Jane Smith") == 3
    assert len(reads) == 2


def test_at_most_most_ahead_reviews_are_worked_ahead_fewer_than_the_store_keeps(store,
                                                                                monkeypatch):
    from capa_monitor.store import kept_reviews

    # else a run would push out of the store what it had just kept, and work it out again
    assert prework.MOST_AHEAD < kept_reviews.MOST_KEPT
    _fill(store)
    monkeypatch.setattr(prework, "MOST_AHEAD", 2)
    assert prework.views_ahead(store) == [(None, Q2), (("North",), Q2)]


def test_reviews_viewers_keep_push_out_their_own_before_the_ones_worked_ahead(store, reads,
                                                                              monkeypatch):
    """The store keeps four reviews here. Two kept by viewers (as of 20 July) push out the
    oldest, every team's worked ahead. The next run works out only that one, and since it
    marked the two it passed over as just made, keeping it pushes out a viewer's; a third
    run finds all three standing. (Were they not marked, each keep would push out the next
    worked ahead, and every run would work them all out again.)"""
    from capa_monitor.store import kept_reviews

    monkeypatch.setattr(kept_reviews, "MOST_KEPT", 4)
    _fill(store)
    prework.work_ahead(store)
    july_20 = date(2026, 7, 20)
    store.review(["North"], Q2, july_20, keep=True)
    store.review(["South"], Q2, july_20, keep=True)
    assert EVERY_Q2 not in kept_keys(store)
    reads.clear()
    prework.work_ahead(store)
    assert reads == [None]
    assert kept_keys(store) == {EVERY_Q2, NORTH_Q2, SOUTH_Q2, ('["South"]', "2026/27 Q2",
                                                              "2026-07-20")}
    reads.clear()
    prework.work_ahead(store)
    assert reads == []


def test_a_service_leads_several_teams_are_worked_out_as_their_page_asks_for_them(store, reads):
    """The access list: a service lead over North and South (their page opens on both), a
    manager of North only (North's own review, worked ahead as each team's is), a team
    member over both who shares the lead's view (worked out once), an admin over every
    team."""
    from capa_monitor.access import SERVICE_LEAD, TEAM_MANAGER, TEAM_MEMBER
    from capa_monitor.store import access_store

    _fill(store)
    both = frozenset({"South", "North"})
    access_store.grant(store, "lead@example.org", SERVICE_LEAD, both, by=USER)
    access_store.grant(store, "north@example.org", TEAM_MANAGER, frozenset({"North"}), by=USER)
    access_store.grant(store, "member@example.org", TEAM_MEMBER, both, by=USER)
    access_store.grant(store, "admin@example.org", "admin", None, by=USER)
    assert prework.opening_views(store) == [None, ("North", "South")]
    assert prework.work_ahead(store) == [(None, Q2), (("North", "South"), Q2), *AHEAD[1:]]
    assert kept_keys(store) == {EVERY_Q2, ('["North", "South"]', "2026/27 Q2", ""), NORTH_Q2,
                                SOUTH_Q2}
    lead = access_store.entry(store, "lead@example.org")
    # what the lead's review page asks for (views/common.period_picker, nothing chosen)
    from capa_monitor.views.data import teams_key

    asked = lead.review_teams(teams_key([]), lead.visible_teams(store.teams()))
    reads.clear()
    kept = store.review(list(asked), Q2)
    assert reads == []
    assert kept.teams == ("North", "South")
    assert_same_review(kept, store.review(list(asked), Q2, keep=False))


def test_a_second_run_finds_the_reviews_kept_and_works_nothing_out(store, reads):
    _fill(store)
    prework.work_ahead(store)
    prework.work_ahead(store)
    assert len(reads) == 3


def test_a_store_where_nothing_has_happened_yet_has_nothing_to_work_out(store, reads):
    assert prework.work_ahead(store) == []
    assert kept_keys(store) == set() and reads == []


def test_a_write_landing_during_the_work_is_worked_in_before_the_run_ends(store, monkeypatch):
    _fill(store)
    real = store.review
    calls = []

    def review_then_a_write_lands(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result)
        if len(calls) == 1:  # another manager's upload commits while this run works
            _upload(store, "north-late-july.xlsx", [_north("2026-07-29", "f5", slot_id="N5")])
        return result

    monkeypatch.setattr(store, "review", review_then_a_write_lands)
    assert prework.work_ahead(store) == AHEAD
    # round one: every team's (2: the write lands after it), North's (3), South's; round
    # two: every team's again (3); North's and South's stand
    assert [r.teams for r in calls] == [None, ("North",), ("South",), None]
    assert [_delivered(calls[i], "Jane Smith") for i in (0, 1, 3)] == [2, 3, 3]
    monkeypatch.setattr(store, "review", real)
    assert _delivered(store.review(None, Q2), "Jane Smith") == 3
    assert kept_keys(store) == {EVERY_Q2, NORTH_Q2, SOUTH_Q2}


def test_start_runs_a_process_that_keeps_the_review(store, reads):
    _fill(store)
    os.environ[prework.ENV] = "1"
    try:
        process = prework.start(store)
    finally:
        os.environ[prework.ENV] = "0"
    assert process is not None and process.wait(timeout=120) == 0
    assert kept_keys(store) == {EVERY_Q2, NORTH_Q2, SOUTH_Q2}
    kept = store.review(None, Q2)
    assert reads == []  # worked out by the other process, read back here
    assert_same_review(kept, store.review(None, Q2, keep=False))


def test_start_does_nothing_when_turned_off_or_for_a_store_no_other_process_sees(store):
    assert os.environ[prework.ENV] == "0"  # tests/conftest.py
    assert prework.start(store) is None
    memory = Store.open("sqlite://")
    os.environ[prework.ENV] = "1"
    try:
        assert prework.start(memory) is None
    finally:
        os.environ[prework.ENV] = "0"
        memory.close()


def test_a_failing_after_write_never_fails_the_write(store):
    def broken(_store):
        raise RuntimeError("no process could be started")

    store.after_write = broken
    _fill(store)
    assert set(store.teams()) == {"North", "South"}


def test_after_write_is_called_once_per_committed_write_and_not_for_a_refused_one(store):
    seen: list[int] = []
    store.after_write = lambda s: seen.append(s.data_version())
    _fill(store)  # two uploads and a job-plan import
    assert len(seen) == 3 and seen == sorted(seen)
    with pytest.raises(Exception, match="no accepted rows"):
        empty = make_activity([_north("2026-07-30", "f6")]).iloc[:0]
        store.ingest(make_load_result(empty, file_name="empty.xlsx"), user=USER)
    assert len(seen) == 3


def test_runs_take_turns_and_at_most_one_waits(store):
    entered = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first():
        with prework.one_at_a_time(store.url) as turn:
            order.append(f"first in {turn}")
            entered.set()
            release.wait(10)
            order.append("first out")

    def second():
        with prework.one_at_a_time(store.url) as turn:
            order.append(f"second in {turn}")

    one = threading.Thread(target=first)
    one.start()
    assert entered.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.5)  # the second run waits for its turn now (it would have entered)
    with prework.one_at_a_time(store.url) as turn:  # a third: one waits already
        order.append(f"third {turn}")
    release.set()
    for thread in (one, two):
        thread.join(10)
    assert order == ["first in True", "third False", "first out", "second in True"]


def test_a_run_started_while_one_waits_exits_before_loading_the_store(store, tmp_path):
    """`python -m capa_monitor.prework` while one run works and another waits: it exits at
    once, without importing pandas."""
    hold, waiting = threading.Event(), threading.Event()
    release = threading.Event()

    def holder():
        with prework.one_at_a_time(store.url):
            hold.set()
            release.wait(30)

    def waiter():
        hold.wait(10)
        waiting.set()
        with prework.one_at_a_time(store.url):
            pass

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    waiting.wait(10)
    time.sleep(0.3)
    probe = tmp_path / "probe.py"
    probe.write_text("import sys, runpy\n"
                     "sys.argv = ['prework']\n"
                     "try:\n"
                     "    runpy.run_module('capa_monitor.prework', run_name='__main__')\n"
                     "except SystemExit as done:\n"
                     "    print(done.code, 'pandas' in sys.modules)\n")
    env = {**os.environ, prework.ENV: "1", "CAPA_DATABASE_URL": store.url,
           "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, str(probe)], env=env, capture_output=True,
                              text=True, timeout=60)
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
    assert done.stdout.split() == ["0", "False"], done.stderr


def test_the_cli_starts_a_run_after_an_ingest(tmp_path):
    """A SystmOne appointments report (tests/exports) through `ingest`: its latest attended or
    missed appointment is on 11 Nov 2026, so every team's review opens on 2026/27 Q3."""
    url = f"sqlite:///{tmp_path / 'capa.sqlite'}"
    env = {**os.environ, prework.ENV: "1", "CAPA_USER": USER}
    done = subprocess.run(
        [sys.executable, "-m", "capa_monitor", "--db", url, "ingest",
         str(ROOT / "tests" / "exports" / "systmone_appointments.csv"),
         "--team", "Westmoor CAMHS", "--yes"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    store = Store.open(url)
    deadline = time.monotonic() + 120
    while not kept_keys(store) and time.monotonic() < deadline:
        time.sleep(0.2)
    with prework.one_at_a_time(url) as turn:  # waits for the run's end: nothing outlives it
        assert turn
    assert kept_keys(store) == {("", "2026/27 Q3", ""), ('["Westmoor CAMHS"]', "2026/27 Q3", "")}
    q3 = Quarter(2026, 3)
    kept = store.review(None, q3)
    assert kept.as_of == date(2026, 11, 11)
    assert_same_review(kept, store.review(None, q3, keep=False))
    store.close()


def test_the_app_and_the_cli_stores_start_runs():
    from capa_monitor.cli import store_cmds
    from capa_monitor.store import database
    from capa_monitor.views import data

    assert prework.URL_ENV == database.URL_ENV
    app_store = data._store_for("sqlite://")
    try:
        assert app_store.after_write is prework.start
    finally:
        data._store_for.clear()
        app_store.close()

    class Args:
        db = "sqlite://"

    cli_store = store_cmds._open_store(Args())
    assert cli_store.after_write is prework.start
    cli_store.close()


def test_the_app_works_ahead_once_as_it_starts(tmp_path, prework_on):
    """A store filled with nothing kept (as after new code: every kept review stale): the
    app's first opening of it starts a run, which keeps every team's and each team's."""
    from capa_monitor.views import data

    url = f"sqlite:///{tmp_path / 'capa.sqlite'}"
    store = _fill(Store.open(url))
    assert kept_keys(store) == set()
    app_store = data._store_for(url)
    try:
        deadline = time.monotonic() + 120
        while not kept_keys(store) and time.monotonic() < deadline:
            time.sleep(0.2)
        with prework.one_at_a_time(url) as turn:  # waits for the run's end
            assert turn
        assert kept_keys(store) == {EVERY_Q2, NORTH_Q2, SOUTH_Q2}
    finally:
        data._store_for.clear()
        app_store.close()
        store.close()


def test_a_download_or_a_saved_mapping_starts_no_run(store):
    from capa_monitor.loading.report import MappingProfile

    _fill(store)
    seen: list[int] = []
    store.after_write = lambda s: seen.append(1)
    store.record("download", user=USER, what="shortfall list")
    store.save_profile(MappingProfile(name="rio", columns={"clinician": "Clinician"}))
    assert seen == []
    store.save_settings(store.settings(), user=USER)  # settings can change every review
    assert seen == [1]


def test_the_process_started_reads_our_package_and_an_absolute_store_file(tmp_path,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = Store.open("sqlite:///data/capa.sqlite")
    try:
        env = prework._child_env(relative)
    finally:
        relative.close()
    assert env["CAPA_DATABASE_URL"] == f"sqlite:///{tmp_path / 'data' / 'capa.sqlite'}"
    assert env["PYTHONSAFEPATH"] == "1"
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)


# ---- a big review not kept yet is worked out apart, so the app process stays small -------


@pytest.fixture
def prework_on(monkeypatch):
    monkeypatch.setenv(prework.ENV, "1")


def test_quarter_rows_count_the_active_rows_of_the_teams_in_the_quarter(store):
    _fill(store)  # North: four rows in July, South: one
    assert store.quarter_rows(None, Q2) == 5
    assert store.quarter_rows(["North"], Q2) == 4
    assert store.quarter_rows(["South"], Q2) == 1
    assert store.quarter_rows(None, Quarter(2026, 3)) == 0
    assert store.quarter_rows_by_team(Q2) == {"North": 4, "South": 1}
    assert store.quarter_rows_by_team(Quarter(2026, 3)) == {}
    # N4 (a Choice attended) on 27 July; S1 on 8 July
    assert store.latest_as_of_by_team() == {"North": date(2026, 7, 27),
                                            "South": date(2026, 7, 8)}


def test_a_review_is_worth_a_process_of_its_own_from_so_many_rows(store, monkeypatch,
                                                                   prework_on):
    _fill(store)
    monkeypatch.setattr(prework, "OWN_PROCESS_ROWS", 5)
    assert prework.worth_a_process(store, None, Q2)
    assert not prework.worth_a_process(store, ["North"], Q2)  # four rows
    monkeypatch.setenv(prework.ENV, "0")
    assert not prework.worth_a_process(store, None, Q2)


def test_a_review_worked_out_apart_is_read_back_here(store, reads, prework_on):
    _fill(store)
    apart = prework.work_out_apart(store, None, Q2, date(2026, 7, 20))
    assert reads == []  # not worked out in this process
    assert apart is not None and apart.as_of == date(2026, 7, 20)
    assert kept_keys(store) == {("", "2026/27 Q2", "2026-07-20")}
    assert _delivered(apart, "Jane Smith") == 2  # N1 and N2; N4 (27 Jul) is a Choice anyway
    assert_same_review(apart, store.review(None, Q2, date(2026, 7, 20), keep=False))


def test_when_the_process_apart_fails_the_caller_is_told_none(store, monkeypatch, prework_on,
                                                               caplog):
    _fill(store)
    broken = {**os.environ, "CAPA_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"}
    monkeypatch.setattr(prework, "_child_env", lambda _store: broken)
    with caplog.at_level("WARNING", logger="capa_monitor.prework"):
        assert prework.work_out_apart(store, None, Q2, None) is None
    assert kept_keys(store) == set()
    [said] = [r.getMessage() for r in caplog.records]
    assert said.startswith("working out a review apart failed (")
    assert "127.0.0.1" in said and "port 1" in said  # the child's own last words: refused


def test_the_page_of_every_team_has_a_big_review_worked_out_apart(db_url, monkeypatch,
                                                                    prework_on):
    from conftest import open_page

    store = _fill(Store.open(db_url))
    fresh = store.review(None, Q2, keep=False)
    store.close()
    monkeypatch.setattr(prework, "OWN_PROCESS_ROWS", 5)  # this store's five rows are "big"
    # no run as the app's store opens: it would keep North's review, asked for below
    monkeypatch.setattr(prework, "start", lambda _store: None)
    reads: list = []
    real = review_reads.read_inputs
    monkeypatch.setattr(review_reads, "read_inputs",
                        lambda *a, **k: reads.append(a[1]) or real(*a, **k))
    at = open_page()
    assert not at.exception, [e.value for e in at.exception]
    assert reads == []  # every team's review came from the process apart
    assert "as of **27 Jul 2026**" in at.caption[0].value
    at.multiselect(key="review_teams").set_value(["North"]).run()  # four rows: worked out here
    assert not at.exception, [e.value for e in at.exception]
    assert reads == [["North"]]
    store = Store.open(db_url)
    assert_same_review(store.kept_review(None, Q2), fresh)
    store.close()


def test_the_cli_finds_a_leads_kept_review_whichever_order_the_teams_are_typed(tmp_path,
                                                                                 capsys, reads):
    from capa_monitor.access import SERVICE_LEAD
    from capa_monitor.cli import main as cli
    from capa_monitor.store import access_store

    url = f"sqlite:///{tmp_path / 'capa.sqlite'}"
    store = _fill(Store.open(url))
    access_store.grant(store, "lead@example.org", SERVICE_LEAD,
                       frozenset({"North", "South"}), by=USER)
    prework.work_ahead(store)
    store.close()
    reads.clear()
    assert cli(["--db", url, "review", "--team", "south", "--team", "North"]) == 0
    assert reads == []  # the kept review of ("North", "South")
    assert "3 delivered" in capsys.readouterr().out  # Jane Smith's two and Lee Chan's one

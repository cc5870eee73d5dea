"""The review at trust scale (issue 13): a store of years of many teams, built from the
package's own generator month by month as uploads, then what a user waits for.

    python -m benchmarks.trust [--rows 1000000] [--teams 40] [--years 5] [--db URL]
                               [--out benchmarks/_work/trust_1000000.json]

Steps, each in a fresh child process (benchmarks.run.run_step: wall time, own peak RSS):
- build: the store, one upload a month (every team's rows of that month) and a job plan for
  every clinician — each upload does its write-time work (store/derived.py) as the app's do —
  then the pre-work run that follows the last write in a running app (prework.py), timed;
- upload: a monthly upload of ~5k rows (the last full month of the first teams, read again
  with some outcomes changed) as the upload page does it: preview = guarded sandboxed read +
  normalise + plan_ingest, confirm = ingest (store + derived refresh);
- cli: `python -m capa_monitor review --team T` and all teams, wall clock, interpreter start
  included (and `--help`); all teams twice more, reading the review the first run kept;
- page: AppTest of the review page: first render with one team chosen after the upload,
  three quarter switches and three team switches (medians) to teams whose reviews the
  pre-work kept, three to teams whose kept reviews are dropped first (before any pre-work),
  and one to the quarter before (pre-worked), then all teams; peak RSS of the
  process; then all teams again in a new process, which reads the review the one before kept
  (store/kept_reviews.py), as another replica or a restarted server does;
- prework: a running server's pages of all teams and of one team; that team's month uploaded
  again and the pre-work run that follows a write (prework.py), timed with its peak memory;
  the team's page while the run works, then the page of all teams, and the `review` CLI of
  all teams, which read what the run kept.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.run import ROOT, WORK, run_step

MONTHLY_ROWS = 5_000


def _frames(rows: int, teams: int, years: int):
    import math

    from capa_monitor.sample import CLINICIANS_PER_TEAM, SLOTS_PER_CLINICIAN_DAY, generate_activity

    # The generator fills about SLOTS_PER_CLINICIAN_DAY slots per clinician a working day, so
    # the row count and the years fix the number of teams; --teams is the fallback.
    if years:
        per_day = rows / (years * 252)
        teams = max(1, math.ceil(per_day / (CLINICIANS_PER_TEAM * SLOTS_PER_CLINICIAN_DAY)))
    first = date(2026, 11, 23).replace(year=2026 - max(years, 1))
    return generate_activity(rows, teams=teams, seed=13, start=first)


def _canonical(frame):
    """The generator's frame as the loader would hand it to the store (client pseudonyms)."""
    import hashlib

    import pandas as pd

    from capa_monitor import model
    from capa_monitor.sample import CLIENT_REF

    refs = frame[CLIENT_REF]
    codes, uniques = pd.factorize(refs)
    keys = [hashlib.sha256(f"bench:{u}".encode()).hexdigest() for u in uniques]
    client_key = pd.Series(pd.array(keys + [None], dtype="str")[codes], index=frame.index)
    out = frame.assign(**{model.CLIENT_KEY: client_key})
    return out.loc[:, list(model.ACTIVITY_COLUMNS)].reset_index(drop=True)


def _result(frame, name: str):
    from capa_monitor import model
    from capa_monitor.loading.report import LoadReport, LoadResult

    dates = frame[model.DATE]
    report = LoadReport(
        file_name=name, sha256=f"{abs(hash(name)):064d}"[-64:], sheet="Diary", header_row=4,
        encoding=None, rows_read=len(frame), accepted=len(frame), rejected=[],
        columns={"clinician": "Clinician", "date": "Date"},
        clinicians=sorted(frame[model.CLINICIAN].dropna().unique().tolist()),
        date_range=(dates.min().date(), dates.max().date()),
    )
    return LoadResult(frame=frame, report=report)


def step_build(db: str, rows: str, teams: str, years: str) -> dict:
    import pandas as pd

    from capa_monitor import model, prework
    from capa_monitor.store import Store

    t0 = time.perf_counter()
    frame = _frames(int(rows), int(teams), int(years))
    canonical = _canonical(frame)
    generated = time.perf_counter() - t0
    store = Store.open(db)
    months = canonical[model.DATE].dt.to_period("M")
    seconds = []
    for month in sorted(months.unique()):
        part = canonical[months == month].reset_index(drop=True)
        t = time.perf_counter()
        store.ingest(_result(part, f"trust-{month}.xlsx"), user="benchmark")
        seconds.append(time.perf_counter() - t)
    staff = canonical[[model.CLINICIAN, model.TEAM]].drop_duplicates(model.CLINICIAN)
    plans = pd.DataFrame({c: pd.Series(None, index=staff.index, dtype=object)
                          for c in model.JOBPLAN_COLUMNS})
    plans["clinician"], plans["team"] = staff[model.CLINICIAN], staff[model.TEAM]
    plans["fte"], plans["choice_per_week"], plans["core_sessions"] = 1.0, 2.0, 4.0
    plans["specific_sessions"], plans["nonclinical_sessions"] = 1.0, 2.0
    store.save_jobplans(plans.reset_index(drop=True), user="benchmark", source="benchmark")
    # what the run after the last write of a running app or the CLI does (prework.py): the
    # first works out every review it keeps; later ones only what a write made stale
    t = time.perf_counter()
    ahead = prework.work_ahead(store)
    prework_s = time.perf_counter() - t
    return {
        "rows": len(canonical), "teams": int(canonical[model.TEAM].nunique()),
        "first": str(canonical[model.DATE].min().date()),
        "last": str(canonical[model.DATE].max().date()),
        "uploads": len(seconds), "generate_s": generated, "build_s": sum(seconds),
        "upload_median_s": sorted(seconds)[len(seconds) // 2],
        "prework_s": prework_s, "prework_reviews": len(ahead),
    }


def _monthly_file(db: str) -> tuple[Path, str, str]:
    """An xlsx of ~5k rows: the last full month of the first teams, with some outcomes changed
    (a corrected export of a month already stored)."""
    import numpy as np
    import pandas as pd

    from capa_monitor import model
    from capa_monitor.sample import CLIENT_REF, DETAIL, write_diary_xlsx
    from capa_monitor.store import Store

    store = Store.open(db)
    last = store.date_bounds()[1]
    month = (pd.Timestamp(last).to_period("M") - 2)
    teams = store.teams()
    rows = store.activity(teams[:8], month.start_time.date(), (month + 1).start_time.date())
    per_team = rows.groupby(model.TEAM).size()
    chosen = list(per_team.index[np.cumsum(per_team.to_numpy()) <= MONTHLY_ROWS]) or teams[:1]
    rows = rows[rows[model.TEAM].isin(chosen)].reset_index(drop=True)
    rng = np.random.default_rng(5)
    flip = rng.random(len(rows)) < 0.05
    rows.loc[flip & (rows[model.OUTCOME] == "attended"), model.OUTCOME] = "dna"
    frame = rows.rename(columns={model.CLIENT_KEY: CLIENT_REF}).assign(**{DETAIL: pd.NA})
    codes, _ = pd.factorize(frame[CLIENT_REF])
    refs = pd.Series([f"C{10_000_000 + c}" for c in codes], dtype="str", index=frame.index)
    frame[CLIENT_REF] = refs.where(codes >= 0)
    path = WORK / f"monthly_{len(frame)}.xlsx"
    write_diary_xlsx(frame.loc[:, [c for c in frame.columns if c != "upload_id"]], path)
    return path, chosen[0], str(month)


def warm(db: str) -> None:
    """Bring the store into the OS page cache, as a server that keeps serving its teams has
    it. This machine pages out file pages untouched for a few seconds (DAMON reclaim), so
    the same review measured 0.65 s of reads cold and 0.11 s warm; the steps warm first."""
    if db.startswith("sqlite:///"):
        path = db.removeprefix("sqlite:///")
        for name in (path, f"{path}-wal"):
            if Path(name).exists():
                with open(name, "rb") as file:
                    while file.read(1 << 24):
                        pass
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        conn.execute(text(
            "SELECT pg_prewarm(c.oid, 'read') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')"))
    engine.dispose()


def step_upload(db: str) -> dict:
    from capa_monitor.loading import load_raw
    from capa_monitor.loading.read import read_upload, warm_up
    from capa_monitor.store import Store

    path, team, month = _monthly_file(db)
    store = Store.open(db)
    warm_up()
    time.sleep(5)  # as a running server's reader has settled
    warm(db)
    data = path.read_bytes()
    t0 = time.perf_counter()
    workbook = read_upload(data, path.name)
    result = load_raw(workbook, filename=path.name, pseudonym_key=b"benchmark-key")
    plan = store.plan_ingest(result)
    t1 = time.perf_counter()
    outcome = store.ingest(result, user="benchmark")
    t2 = time.perf_counter()
    return {"rows": result.report.accepted, "team": team, "month": month,
            "superseded": plan.superseded_rows, "status": outcome.status,
            "preview_s": t1 - t0, "confirm_s": t2 - t1}


def step_page(db: str, team: str) -> dict:
    """A running server's review page (one team chosen): a cold start, then another upload
    of that team's last full month (some outcomes changed), then what the viewer waits for."""
    import numpy as np
    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from capa_monitor import model
    from capa_monitor.periods import Quarter
    from capa_monitor.store import Store
    from capa_monitor.views.common import PERIOD_KEY

    os.environ["CAPA_DATABASE_URL"] = db
    warm(db)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300)
    at.session_state[PERIOD_KEY] = {"quarter": None, "teams": [team], "as_of": None}
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    startup_run_done(db)

    store = Store.open(db)
    month = pd.Timestamp(store.date_bounds()[1]).to_period("M") - 2
    rows = store.activity([team], month.start_time.date(), (month + 1).start_time.date())
    flip = np.random.default_rng(11).random(len(rows)) < 0.05
    rows.loc[flip & (rows[model.OUTCOME] == "attended"), model.OUTCOME] = "late_not_seen"
    t0 = time.perf_counter()
    store.ingest(_result(rows.drop(columns="upload_id"), f"again-{month}.xlsx"), user="benchmark")
    confirm = time.perf_counter() - t0

    t0 = time.perf_counter()
    at.run()
    after_upload = time.perf_counter() - t0
    # Three switches of each kind, each to a quarter or team not viewed yet (one switch is
    # one sample of a machine whose timings vary run to run): the median is the figure.
    shown = at.selectbox(key="review_quarter").value
    quarters = [q for q in at.selectbox(key="review_quarter").options if q != shown]
    quarter_switches = []
    for label in quarters[:3]:
        t0 = time.perf_counter()
        at.selectbox(key="review_quarter").set_value(label).run()
        quarter_switches.append(time.perf_counter() - t0)
    at.selectbox(key="review_quarter").set_value(shown).run()  # back: cached
    # Teams whose review the pre-work after the build kept (prework.views_ahead), then teams
    # whose kept reviews are dropped first: a switch before the pre-work has run. From the
    # end of the list: the upload step's month is of the first teams, whose reviews it made
    # stale (a running app's pre-work would have kept them again within seconds).
    teams = [t for t in at.multiselect(key="review_teams").options if t != team][::-1]
    quarter = Quarter.parse(shown, store.settings().fy_first_month)
    kept_before = store.kept_standing([([t], quarter) for t in teams[:3]])
    drop_kept(store, teams[3:6])
    team_switches, worked_switches = [], []
    for other in teams[:6]:
        t0 = time.perf_counter()
        at.multiselect(key="review_teams").set_value([other]).run()
        (team_switches if len(team_switches) < 3 else worked_switches).append(
            time.perf_counter() - t0)
    before = quarter.previous()
    [kept_quarter_before] = store.kept_standing([([teams[0]], before)])
    at.multiselect(key="review_teams").set_value([teams[0]]).run()  # back: cached
    t0 = time.perf_counter()
    at.selectbox(key="review_quarter").set_value(before.label).run()
    quarter_before = time.perf_counter() - t0
    at.selectbox(key="review_quarter").set_value(shown).run()  # back: cached
    other = teams[6]  # not a team switched to above: their kept reviews stand for the next run
    t0 = time.perf_counter()
    at.multiselect(key="review_teams").set_value([team]).run()  # back: cached
    team_back = time.perf_counter() - t0
    # Another team's month uploaded again (its families are its own): the viewed team's
    # review stays cached (Store.review_version).
    theirs = store.activity([other], month.start_time.date(), (month + 1).start_time.date())
    store.ingest(_result(theirs.drop(columns="upload_id"), f"other-{month}.xlsx"),
                 user="benchmark")
    t5 = time.perf_counter()
    at.run()
    t6 = time.perf_counter()
    errors = [e.value for e in at.exception]
    return {"cold_start_s": cold, "confirm_in_app_s": confirm, "after_upload_s": after_upload,
            "quarter_switch_s": statistics.median(quarter_switches),
            "quarter_switches_s": quarter_switches,
            "team_switch_s": statistics.median(team_switches), "team_switches_s": team_switches,
            "team_switch_kept": kept_before,
            "team_switch_worked_s": statistics.median(worked_switches),
            "team_switches_worked_s": worked_switches,
            "quarter_before_kept_s": quarter_before, "quarter_before_kept": kept_quarter_before,
            "team_back_s": team_back,
            "after_other_team_upload_s": t6 - t5, "rows_uploaded": len(rows), "errors": errors}


def startup_run_done(db: str) -> None:
    """Wait for the pre-work run the app starts as its store opens (views/data._store_for) to
    end, as on a server started long before: what follows is then measured without it."""
    from capa_monitor import prework

    time.sleep(1)  # its process takes the turn before it loads anything
    with prework.one_at_a_time(db):
        pass


def drop_kept(store, teams) -> None:
    """Forget the kept reviews of each of `teams` alone, as if no pre-work had run yet."""
    import json as json_text

    from sqlalchemy import delete

    from capa_monitor.store.kept_reviews import kept_reviews

    with store.engine.begin() as conn:
        conn.execute(delete(kept_reviews).where(
            kept_reviews.c.teams.in_([json_text.dumps([t]) for t in teams])))


def step_page_all(db: str) -> dict:
    """A new server process's review page of every team: worked out, by a process of its own
    on a store this big (prework.worth_a_process), or read kept. Peak memory of this process
    (the app) and of the process that worked it out, apart."""
    import resource

    from streamlit.testing.v1 import AppTest

    os.environ["CAPA_DATABASE_URL"] = db
    warm(db)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - t0
    return {"first_all_s": seconds, "errors": [e.value for e in at.exception],
            # run_step's peak_mib counts the waited-for process that worked it out as well
            "app_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "apart_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def step_prework(db: str) -> dict:
    """A running server's review pages of every team and of one team; that team's month
    uploaded again; the pre-work run the app or CLI starts after that write (prework.py), in
    its own process as they start it, while the team's page renders; then every team's page
    again: what its viewer waits for once the run is done. Also how long the run took and its
    peak memory (the page process's is this step's)."""
    import resource

    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from capa_monitor.store import Store
    from capa_monitor.views.common import PERIOD_KEY

    os.environ["CAPA_DATABASE_URL"] = db
    warm(db)
    store = Store.open(db)
    team = store.teams()[-1]
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    before = time.perf_counter() - t0
    startup_run_done(db)
    # the uploader's own page, open in the same server: their team's review
    mine = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    mine.session_state[PERIOD_KEY] = {"quarter": None, "teams": [team], "as_of": None}
    mine.run()
    month = pd.Timestamp(store.date_bounds()[1]).to_period("M") - 3
    rows = store.activity([team], month.start_time.date(), (month + 1).start_time.date())
    t0 = time.perf_counter()
    store.ingest(_result(rows.drop(columns="upload_id"), f"prework-{month}.xlsx"),
                 user="benchmark")
    t1 = time.perf_counter()
    run = subprocess.Popen([sys.executable, "-m", "capa_monitor.prework"], cwd=ROOT,
                           env={**os.environ, "CAPA_PREWORK": "1"})
    mine.run()  # the uploader looks at their team while the run works on one core
    t2 = time.perf_counter()
    _, status, usage = os.wait4(run.pid, 0)  # this run's own peak, not any other child's
    if status != 0:
        raise RuntimeError("the pre-work run failed")
    t3 = time.perf_counter()
    child_kib = usage.ru_maxrss
    at.run()
    t4 = time.perf_counter()
    return {"team": team, "rows_uploaded": len(rows), "first_all_s": before,
            "confirm_s": t1 - t0, "own_team_during_prework_s": t2 - t1,
            "prework_s": t3 - t1, "prework_peak_mib": child_kib / 1024,
            "after_upload_all_s": t4 - t3,
            # this process's own: run_step's peak_mib counts the waited-for run as well
            "app_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "errors": [e.value for e in (*at.exception, *mine.exception)]}


def _wall(*argv: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "capa_monitor", *argv], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "CAPA_USER": "benchmark"})
    return time.perf_counter() - t0


# (label, step, key, target seconds or MiB or None): the issue 13 figures, in RESULTS.md order.
# Memory is in MiB (ru_maxrss): the 600 MB is 572 MiB.
FIGURES = (
    ("review page, first render after an upload (one team, running app)", "page",
     "after_upload_s", 1.0),
    ("review page, cold process start (one team)", "page", "cold_start_s", None),
    ("quarter switch (median of three, each a quarter not viewed yet, not pre-worked)", "page",
     "quarter_switch_s", 0.3),
    ("team switch (median of three, each a team not viewed yet, its review pre-worked)", "page",
     "team_switch_s", 0.3),
    ("team switch (median of three, each a team not viewed yet, before any pre-work)", "page",
     "team_switch_worked_s", 0.3),
    ("quarter switch to the quarter before (one team, pre-worked)", "page",
     "quarter_before_kept_s", 0.3),
    ("review page after another team's upload (cached)", "page", "after_other_team_upload_s",
     None),
    ("`review --team T` CLI, wall, interpreter start included", "cli", "review_team_s", 1.5),
    ("`review` CLI, all teams", "cli", "review_all_s", None),
    ("`review` CLI, all teams, kept (nothing changed since the last run)", "cli",
     "review_all_kept_s", 1.5),
    ("`--help`", "cli", "help_s", 0.3),
    ("monthly upload: preview (read + normalise + plan)", "upload", "preview_s", 1.0),
    ("monthly upload: confirm (store + M2 refresh)", "upload", "confirm_s", 2.0),
    ("app peak memory, MiB (page process, one team)", "page", "peak_mib", 572),
    ("review page, all teams, first render (a new process; worked out apart when big)",
     "page_all", "first_all_s", None),
    ("app peak memory, MiB, all teams", "page_all", "app_peak_mib", 572),
    ("peak memory, MiB, of the process that worked all teams out apart (0: none)", "page_all",
     "apart_peak_mib", None),
    # a cold process: mostly first imports (pandas alone is 0.3 s), as for one team above
    ("review page, all teams, a new process reading the kept review", "page_all_kept",
     "first_all_s", None),
    ("app peak memory, MiB, all teams, kept review", "page_all_kept", "app_peak_mib", 572),
    ("pre-work after an upload: every team's review worked out and kept (its own process)",
     "prework", "prework_s", None),
    ("pre-work process peak memory, MiB", "prework", "prework_peak_mib", None),
    ("review page, one team, first render after its upload while pre-work runs", "prework",
     "own_team_during_prework_s", 1.0),
    ("review page, all teams, first render after an upload, once pre-work has run "
     "(running app)", "prework", "after_upload_all_s", 1.0),
    ("app peak memory, MiB, pages of all teams and one team, an upload, pre-work beside",
     "prework", "app_peak_mib", 572),
    ("`review` CLI, all teams, after an upload, once pre-work has run", "cli_prework",
     "review_all_s", 1.5),
)


def report(paths: list[str]) -> str:
    """A markdown table of trust runs (JSON files, each `LABEL=path` or a path), each target
    met or missed on every run that measured it."""
    labelled = [p.split("=", 1) if "=" in p else (Path(p).stem, p) for p in paths]
    names = [name for name, _ in labelled]
    runs = [json.loads(Path(p).read_text()) for _, p in labelled]
    lines = ["| measure | " + " | ".join(names) + " | target | |",
             "|---|" + "---:|" * len(runs) + "---:|---|"]
    for label, step, key, target in FIGURES:
        values = [r.get(step, {}).get(key) for r in runs]
        cells = ["—" if v is None else (f"{v:.0f}" if key.endswith("peak_mib") else f"{v:.2f}")
                 for v in values]
        measured = [v for v in values if v is not None]
        verdict = "" if target is None or not measured else (
            "met" if all(v <= target for v in measured) else "missed")
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | {'—' if target is None else f'≤ {target:g}'} | {verdict} |")
    return "\n".join(lines) + "\n"


STEPS = {"build": step_build, "upload": step_upload, "page": step_page,
         "page_all": step_page_all, "prework": step_prework}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trust", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--db", default=None, help="default: a SQLite file in benchmarks/_work")
    parser.add_argument("--out", default=None)
    parser.add_argument("--skip", default="", help="steps to leave out, comma-separated")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="print the markdown table of these runs (LABEL=file.json) instead")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report), end="")
        return 0
    if args.step:
        name, out_path, *rest = args.step
        Path(out_path).write_text(json.dumps(STEPS[name](*rest)))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    db = args.db or f"sqlite:///{WORK / f'trust_{args.rows}.sqlite'}"
    skip = set(args.skip.split(","))
    results: dict = {"db": db.split("@")[-1], "rows_asked": args.rows}

    def step(name: str, *rest: str) -> dict:
        print(f"== {name} …", flush=True)
        found = run_step(f"trust:{name}", *rest)
        print(json.dumps(found, default=str), flush=True)
        return found

    if "build" not in skip:
        results["build"] = step("build", db, str(args.rows), str(args.teams), str(args.years))
    if "upload" not in skip:
        results["upload"] = step("upload", db)
    team = results.get("upload", {}).get("team")
    if team is None:
        from capa_monitor.store import Store

        team = Store.open(db).teams()[0]
    if "cli" not in skip:
        warm(db)
        results["cli"] = {
            "help_s": min(_wall("--help") for _ in range(3)),
            "review_team_s": min(_wall("--db", db, "review", "--team", team) for _ in range(3)),
            "review_all_s": _wall("--db", db, "review"),  # worked out, then kept
            # every team's review kept by the run before (store/kept_reviews.py)
            "review_all_kept_s": min(_wall("--db", db, "review") for _ in range(2)),
        }
        print(json.dumps(results["cli"]), flush=True)
    if "page" not in skip:
        results["page"] = step("page", db, team)
    if "page_all" not in skip:
        results["page_all"] = step("page_all", db)
        # a new server process (another replica, a restart): reads the review page_all kept
        results["page_all_kept"] = step("page_all", db)
    if "prework" not in skip:
        results["prework"] = step("prework", db)
        results["cli_prework"] = {"review_all_s": _wall("--db", db, "review")}
        print(json.dumps(results["cli_prework"]), flush=True)
    out = Path(args.out or WORK / f"trust_{args.rows}.json")
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

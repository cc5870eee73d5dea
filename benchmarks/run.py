"""Speed and memory of CAPA Monitor at team and trust scale (issue 7), measured in one run.

    python -m benchmarks [--sizes 5000,100000,1000000] [--runs 3] [--out benchmarks/RESULTS.md]

Each step runs in a fresh child process, so its wall time includes nothing else and its peak
memory (ru_maxrss of the child) is its own. Baselines (pandas + openpyxl, bare fastexcel) read
the same file in the same run, so the ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
TEAMS_FOR = {5_000: 1, 100_000: 6, 1_000_000: 40}
TRUST_HEADING = "## Trust scale"
OPENPYXL_MAX_ROWS = 100_000  # pandas+openpyxl takes minutes and GBs beyond this (measured)
CLI_MAX_ROWS = 100_000  # the CLI ingest is timed up to this size (issue 13's target is at 100k)


def _export_path(rows: int) -> Path:
    """The benchmark export of `rows` rows, generated once by the package's own generator."""
    path = WORK / f"activity_{rows}.xlsx"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        from capa_monitor.sample import generate_activity, write_diary_xlsx

        frame = generate_activity(
            rows, teams=TEAMS_FOR.get(rows, max(1, rows // 25_000)), seed=7, start=date(2025, 4, 1)
        )
        tmp = path.with_suffix(".tmp")
        write_diary_xlsx(frame, tmp)
        tmp.replace(path)
    return path


# --- steps: each runs in its own child process (python -m benchmarks.run --step NAME ARGS) ---


def step_ingest(file: str, db: str) -> dict:
    """What an upload costs a running app: its store is open and its reader started."""
    from capa_monitor.loading import load_raw
    from capa_monitor.loading.read import read_upload, warm_up
    from capa_monitor.store import Store

    data = Path(file).read_bytes()
    store = Store.open(db)
    warm_up()  # as the app does at start; the reader takes in pandas once idle
    time.sleep(5)  # (read.IDLE_IMPORT_DELAY_S after starting), as a running server's has
    t0 = time.perf_counter()
    # load_activity, in its two halves: guard + sandboxed read, then the normaliser
    workbook = read_upload(data, Path(file).name)
    t1 = time.perf_counter()
    result = load_raw(workbook, filename=Path(file).name, pseudonym_key=b"benchmark-key")
    t2 = time.perf_counter()
    outcome = store.ingest(result, user="benchmark")
    t3 = time.perf_counter()
    return {
        "seconds": t3 - t0,
        "read_s": t1 - t0,
        "normalise_s": t2 - t1,
        "store_s": t3 - t2,
        "rows": result.report.accepted,
        "status": outcome.status,
    }


def step_cli_ingest(file: str, db: str) -> dict:
    """`python -m capa_monitor ingest FILE --yes` into an empty store, as a user runs it: wall
    time of the whole command, interpreter start and the reader's start included."""
    # CAPA_PREWORK=0: the review run the CLI starts after a write (detached: not in this wall
    # time) would run beside the next step; benchmarks.trust measures it.
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "capa_monitor", "--db", db, "ingest", file, "--yes"],
        cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "CAPA_USER": "benchmark", "CAPA_PREWORK": "0"},
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"ingest CLI failed: {done.stderr.strip()[-500:]}")
    return {"seconds": seconds}


def step_openpyxl(file: str) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    frame = pd.read_excel(file, engine="openpyxl", header=None, dtype=str)
    return {"seconds": time.perf_counter() - t0, "rows": len(frame)}


def step_fastexcel(file: str) -> dict:
    """The fastest bare fastexcel read of the first sheet as text: eager, straight to Arrow
    (the reader's own way; a lazy sheet's to_arrow is about 10 % slower)."""
    import fastexcel

    t0 = time.perf_counter()
    reader = fastexcel.read_excel(Path(file).read_bytes())
    table = reader.load_sheet(0, header_row=None, dtypes="string", eager=True)
    return {"seconds": time.perf_counter() - t0, "rows": table.num_rows}


def step_sqlite_floor(db: str) -> dict:
    """SQLite's own cost of writing the stored rows, with no Python in the loop: copy them
    with INSERT … SELECT into an empty table of the same shape and index, in one transaction
    (with the app's connection settings). No ingest into SQLite can beat this."""
    from sqlalchemy import text

    from capa_monitor.store import Store

    store = Store.open(db)
    with store.engine.connect() as conn:
        conn.execute(text("DROP TABLE IF EXISTS floor_copy"))
        conn.execute(text("CREATE TABLE floor_copy AS SELECT * FROM activity WHERE 0"))
        conn.execute(text("CREATE INDEX ix_floor_copy ON floor_copy (team, date)"))
        conn.commit()
        t0 = time.perf_counter()
        rows = conn.execute(text("INSERT INTO floor_copy SELECT * FROM activity")).rowcount
        conn.commit()
        seconds = time.perf_counter() - t0
        conn.execute(text("DROP TABLE floor_copy"))
        conn.commit()
    return {"seconds": seconds, "rows": rows}


def step_review(db: str) -> dict:
    """What the app does: read the whole store once, then review() per team choice."""
    from capa_monitor.metrics.review import review
    from capa_monitor.periods import Quarter, as_of_date
    from capa_monitor.store import Store

    t0 = time.perf_counter()
    store = Store.open(db)
    activity = store.activity()
    plans = store.jobplans()
    settings = store.settings()
    t1 = time.perf_counter()
    # The first team (an export without a team column stores its rows under none).
    teams = store.teams()[:1] or None
    as_of = as_of_date(activity)
    quarter = Quarter.containing(as_of)
    t2 = time.perf_counter()
    review(activity, plans, quarter, settings=settings, teams=teams)
    t3 = time.perf_counter()
    review(activity, plans, quarter, settings=settings, teams=teams)
    t4 = time.perf_counter()
    review(activity, plans, quarter, settings=settings)
    t5 = time.perf_counter()
    return {
        "read_all_s": t1 - t0,
        "review_team_cold_s": t3 - t2,
        "review_team_warm_s": t4 - t3,
        "review_all_s": t5 - t4,
        "all_rows": len(activity),
        "team_rows": int(activity["team"].isin(teams).sum()) if teams else len(activity),
    }


def step_page(db: str) -> dict:
    from streamlit.testing.v1 import AppTest

    os.environ["CAPA_DATABASE_URL"] = db
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    t0 = time.perf_counter()
    at.run()
    t1 = time.perf_counter()
    at.run()  # same page, warm caches (what a filter change or page revisit costs)
    t2 = time.perf_counter()
    errors = [e.value for e in at.exception]
    return {"first_s": t1 - t0, "warm_s": t2 - t1, "errors": errors}


STEPS = {
    "ingest": step_ingest,
    "cli_ingest": step_cli_ingest,
    "openpyxl": step_openpyxl,
    "fastexcel": step_fastexcel,
    "sqlite_floor": step_sqlite_floor,
    "review": step_review,
    "page": step_page,
}


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                queue.extend(int(c) for c in children)
        except OSError:
            continue  # it has just exited
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory(threading.Thread):
    """Peak of the summed resident memory of a process and all its descendants (the sandboxed
    reader and its child included), sampled every 10 ms. Pages a forked child still shares
    with its parent count in both, so this is an upper bound."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            total = sum(_rss_kib(p) for p in _descendants(self.pid))
            self.peak_kib = max(self.peak_kib, total)
            self.done.wait(0.01)


def run_step(name: str, *args: str) -> dict:
    """Run one step in a child process; add its peak memory (MiB) to what it reports: its own
    (peak_mib) and that of its whole process tree (tree_peak_mib)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    cmd = [sys.executable, "-m", "benchmarks.run", "--step", name, out_path, *args]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    sampler = TreeMemory(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    sampler.done.set()
    sampler.join()
    if status != 0:
        raise RuntimeError(f"step {name} {args} failed with status {status}")
    result = json.loads(Path(out_path).read_text())
    os.unlink(out_path)
    result["peak_mib"] = usage.ru_maxrss / 1024  # Linux: KiB
    result["tree_peak_mib"] = max(sampler.peak_kib, usage.ru_maxrss) / 1024
    return result


def median_of(runs: int, name: str, *args: str, before=None) -> dict:
    results = []
    for _ in range(runs):
        if before:
            before()
        results.append(run_step(name, *args))
    best = dict(results[0])
    for key in results[0]:
        if isinstance(results[0][key], float):
            best[key] = statistics.median(r[key] for r in results)
    best["peak_mib"] = max(r["peak_mib"] for r in results)
    best["tree_peak_mib"] = max(r["tree_peak_mib"] for r in results)
    best["runs"] = runs
    return best


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--sizes", default="5000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        name, out_path, *rest = args.step
        module, _, name = name.rpartition(":")  # "trust:build": a step of benchmarks/trust.py
        steps = importlib.import_module(f"benchmarks.{module}").STEPS if module else STEPS
        Path(out_path).write_text(json.dumps(steps[name](*rest)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    rows_out: list[dict] = []
    review_result = page_result = None
    for size in sizes:
        print(f"== {size:,} rows: generating export …", flush=True)
        file = str(_export_path(size))
        db_path = WORK / f"store_{size}.sqlite"

        def fresh_db(path=db_path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        db = f"sqlite:///{db_path}"
        ingest = median_of(args.runs, "ingest", file, db, before=fresh_db)
        bare = median_of(args.runs, "fastexcel", file)
        openpyxl = (
            median_of(min(args.runs, 3), "openpyxl", file) if size <= OPENPYXL_MAX_ROWS else None
        )
        floor = median_of(args.runs, "sqlite_floor", db)
        cli = (
            median_of(args.runs, "cli_ingest", file, db, before=fresh_db)
            if size <= CLI_MAX_ROWS else None
        )
        row = {
            "rows": size,
            "file_mib": Path(file).stat().st_size / 2**20,
            "ingest": ingest,
            "fastexcel": bare,
            "openpyxl": openpyxl,
            "sqlite_floor": floor,
            "cli": cli,
        }
        rows_out.append(row)
        print(json.dumps(row, indent=1, default=str), flush=True)
        if size == max(sizes):
            _load_jobplans(db)
            review_result = median_of(args.runs, "review", db)
            print("review:", review_result, flush=True)
            page_result = run_step("page", db)
            print("page:", page_result, flush=True)

    report = render(rows_out, review_result, page_result, args.runs)
    print(report)
    out = Path(args.out)
    if out.exists() and TRUST_HEADING in (kept := out.read_text()):
        # the trust-scale section comes from benchmarks/trust.py runs: keep it
        report += "\n" + TRUST_HEADING + kept.split(TRUST_HEADING, 1)[1]
    out.write_text(report)
    return 0


def _load_jobplans(db: str) -> None:
    """Give every clinician of the biggest store a job plan, so review() does all its work."""
    import numpy as np
    import pandas as pd

    from capa_monitor.model import JOBPLAN_COLUMNS
    from capa_monitor.store import Store

    store = Store.open(db)
    staff = store.activity()[["clinician", "team"]].drop_duplicates("clinician")
    rng = np.random.default_rng(7)
    plans = pd.DataFrame({c: pd.Series(np.nan, index=staff.index) for c in JOBPLAN_COLUMNS})
    plans["clinician"], plans["team"] = staff["clinician"], staff["team"]
    plans["fte"] = 1.0
    plans["choice_per_week"] = rng.integers(1, 4, len(staff)).astype(float)
    plans["core_sessions"] = rng.integers(2, 6, len(staff)).astype(float)
    plans["specific_sessions"] = rng.integers(0, 3, len(staff)).astype(float)
    plans["nonclinical_sessions"] = 2.0
    plans["available_from"] = pd.NaT
    plans["available_to"] = pd.NaT
    store.save_jobplans(plans.reset_index(drop=True), user="benchmark", source="benchmark")


def render(rows: list[dict], review_result: dict | None, page: dict | None, runs: int) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {machine()} by `python -m benchmarks`",
        f"(median of {runs} runs per step, each in a fresh process). Peak memory: \"process\" is the",
        "step's own maximum RSS; \"with reader\" is the peak of the summed RSS of the step and all its",
        "descendants (the sandboxed reader and its parse child), sampled every 10 ms: an upper bound,",
        "since pages a forked child shares with its parent count twice. The ingest step starts the",
        "reader first, as the app does when it starts.",
        "",
        "## Ingest of a diary-style xlsx (guard + sandboxed read + normalise + store)",
        "",
        "| rows | file MiB | full ingest s | read s | normalise s | store s | peak MiB process / with reader | bare fastexcel s | pandas+openpyxl s | ingest ÷ fastexcel | openpyxl ÷ ingest | µs per row |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ing, fx, op = r["ingest"], r["fastexcel"], r["openpyxl"]
        lines.append(
            f"| {r['rows']:,} | {r['file_mib']:.1f} | {ing['seconds']:.2f} | {ing['read_s']:.2f} | "
            f"{ing['normalise_s']:.2f} | "
            f"{ing['store_s']:.2f} | {ing['peak_mib']:.0f} / {ing['tree_peak_mib']:.0f} | "
            f"{fx['seconds']:.2f} | "
            + (f"{op['seconds']:.2f}" if op else "not run (minutes, GBs)")
            + f" | {ing['seconds'] / fx['seconds']:.2f}× | "
            + (f"{op['seconds'] / ing['seconds']:.1f}×" if op else "—")
            + f" | {ing['seconds'] / r['rows'] * 1e6:.1f} |"
        )
    lines += [
        "",
        "### The floor under any ingest on this machine",
        "",
        "A bare fastexcel read of the file plus SQLite's own cost of writing its rows (INSERT … "
        "SELECT of the stored rows into an empty copy of the table, no Python in the loop): what "
        "an ingest would cost if guarding, sandboxing and normalising were free.",
        "",
        "| rows | bare fastexcel s | SQLite write s | floor s | full ingest s | ingest ÷ floor |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        floor = r["fastexcel"]["seconds"] + r["sqlite_floor"]["seconds"]
        lines.append(
            f"| {r['rows']:,} | {r['fastexcel']['seconds']:.2f} | "
            f"{r['sqlite_floor']['seconds']:.2f} | {floor:.2f} | {r['ingest']['seconds']:.2f} | "
            f"{r['ingest']['seconds'] / floor:.2f}× |"
        )
    if review_result:
        lines += [
            "",
            f"## review() on the {rows[-1]['rows']:,}-row store",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| read the whole store: activity ({review_result['all_rows']:,} rows) + job plans | {review_result['read_all_s']:.2f} |",
            f"| review() one team ({review_result['team_rows']:,} rows), one quarter, cold (first call in the process) | {review_result['review_team_cold_s']:.3f} |",
            f"| review() same, warm | {review_result['review_team_warm_s']:.3f} |",
            f"| review() all teams, one quarter | {review_result['review_all_s']:.3f} |",
            f"| peak memory | {review_result['peak_mib']:.0f} MiB |",
        ]
    if page:
        lines += [
            "",
            "## Quarterly review page (AppTest, the default page of dashboard.py)",
            "",
            f"- first render (cold caches): {page['first_s']:.2f} s",
            f"- re-render with warm caches: {page['warm_s']:.2f} s",
            f"- peak memory: {page['peak_mib']:.0f} MiB",
        ]
        if page["errors"]:
            lines.append(f"- errors: {page['errors']}")
    lines += ["", *target_lines(rows, review_result, page)]
    return "\n".join(lines) + "\n"


def target_lines(rows: list[dict], review_result: dict | None, page: dict | None) -> list[str]:
    """Issue 7's targets against this run's figures, each marked met or missed."""
    checks = []
    by_size = {r["rows"]: r for r in rows}
    if (r := by_size.get(100_000)) is not None:
        ingest = r["ingest"]["seconds"]
        over_fastexcel = ingest / r["fastexcel"]["seconds"]
        checks.append(("100k ingest ≤ 2× a bare fastexcel read", f"{over_fastexcel:.2f}×",
                       over_fastexcel <= 2))
        if r["openpyxl"]:
            faster = r["openpyxl"]["seconds"] / ingest
            checks.append(("100k ingest ≥ 10× faster than pandas+openpyxl", f"{faster:.1f}×",
                           faster >= 10))
    if (r := by_size.get(1_000_000)) is not None:
        ingest = r["ingest"]
        checks.append(("1M ingest ≤ 10 s", f"{ingest['seconds']:.1f} s", ingest["seconds"] <= 10))
        checks.append(("1M ingest peak ≤ 1.5 GB (with reader)",
                       f"{ingest['tree_peak_mib']:.0f} MiB", ingest["tree_peak_mib"] <= 1536))
    if review_result:
        cold = review_result["review_team_cold_s"]
        checks.append((f"review() on the {rows[-1]['rows']:,}-row store ≤ 1 s cold",
                       f"{cold:.2f} s", cold <= 1))
    if page:
        checks.append(("page re-render, warm caches ≤ 0.3 s", f"{page['warm_s']:.2f} s",
                       page["warm_s"] <= 0.3))
    if len(rows) > 1:
        per_row = [r["ingest"]["seconds"] / r["rows"] for r in rows]
        linear = all(b <= a * 1.15 for a, b in itertools.pairwise(per_row))
        checks.append(("cost grows linearly (µs per row rises by no more than 15 % with size)",
                       " → ".join(f"{p * 1e6:.1f}" for p in per_row), linear))
    return [
        "## Targets (issue 7)",
        "",
        "| target | this run | |",
        "|---|---:|---|",
        *(f"| {name} | {figure} | {'met' if ok else 'missed'} |" for name, figure, ok in checks),
        "",
        *ingest_target_lines(by_size),
    ]


def ingest_target_lines(by_size: dict[int, dict]) -> list[str]:
    """Issue 13's ingest targets against this run's figures, each marked met or missed."""
    checks = []
    if (r := by_size.get(1_000_000)) is not None:
        floor = r["fastexcel"]["seconds"] + r["sqlite_floor"]["seconds"]
        ratio = r["ingest"]["seconds"] / floor
        checks.append(("1M-row xlsx full ingest ≤ 1.3× the floor (bare fastexcel + SQLite write)",
                       f"{ratio:.2f}×", ratio <= 1.3))
    if (r := by_size.get(100_000)) is not None:
        ratio = r["ingest"]["seconds"] / r["fastexcel"]["seconds"]
        checks.append(("100k ingest ≤ 1.5× a bare fastexcel read, in-process", f"{ratio:.2f}×",
                       ratio <= 1.5))
        if r.get("cli"):
            ratio = r["cli"]["seconds"] / r["fastexcel"]["seconds"]
            checks.append(("100k ingest ≤ 2× a bare fastexcel read, by CLI (interpreter start "
                           f"included: {r['cli']['seconds']:.2f} s)", f"{ratio:.2f}×", ratio <= 2))
    if not checks:
        return []
    return [
        "## Ingest targets (issue 13)",
        "",
        "| target | this run | |",
        "|---|---:|---|",
        *(f"| {name} | {figure} | {'met' if ok else 'missed'} |" for name, figure, ok in checks),
    ]


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed and memory of CAPA Monitor at team and trust scale (issue 7), measured in one run.

    python -m benchmarks [--sizes 5000,100000,1000000] [--runs 3] [--out benchmarks/RESULTS.md]

Each step runs in a fresh child process, so its wall time includes nothing else and its peak
memory (ru_maxrss of the child) is its own. Baselines (pandas + openpyxl, bare fastexcel) read
the same file in the same run, so the ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
TEAMS_FOR = {5_000: 1, 100_000: 6, 1_000_000: 40}
OPENPYXL_MAX_ROWS = 100_000  # pandas+openpyxl takes minutes and GBs beyond this (measured)


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
    from capa_monitor.loading import load_activity
    from capa_monitor.loading.read import warm_up
    from capa_monitor.store import Store

    data = Path(file).read_bytes()
    warm_up()  # as the app does at start: measure an upload to a running server
    time.sleep(2)
    t0 = time.perf_counter()
    result = load_activity(data, Path(file).name, pseudonym_key=b"benchmark-key")
    t1 = time.perf_counter()
    store = Store.open(db)
    outcome = store.ingest(result, user="benchmark")
    t2 = time.perf_counter()
    return {
        "seconds": t2 - t0,
        "load_s": t1 - t0,
        "store_s": t2 - t1,
        "rows": result.report.accepted,
        "status": outcome.status,
    }


def step_openpyxl(file: str) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    frame = pd.read_excel(file, engine="openpyxl", header=None, dtype=str)
    return {"seconds": time.perf_counter() - t0, "rows": len(frame)}


def step_fastexcel(file: str) -> dict:
    import fastexcel

    t0 = time.perf_counter()
    reader = fastexcel.read_excel(Path(file).read_bytes())
    sheet = reader.load_sheet(0, header_row=None, dtypes="string")
    table = sheet.to_arrow()
    return {"seconds": time.perf_counter() - t0, "rows": table.num_rows}


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
    team = store.teams()[0]
    as_of = as_of_date(activity)
    quarter = Quarter.containing(as_of)
    t2 = time.perf_counter()
    review(activity, plans, quarter, settings=settings, teams=[team])
    t3 = time.perf_counter()
    review(activity, plans, quarter, settings=settings, teams=[team])
    t4 = time.perf_counter()
    review(activity, plans, quarter, settings=settings)
    t5 = time.perf_counter()
    return {
        "read_all_s": t1 - t0,
        "review_team_cold_s": t3 - t2,
        "review_team_warm_s": t4 - t3,
        "review_all_s": t5 - t4,
        "all_rows": len(activity),
        "team_rows": int((activity["team"] == team).sum()),
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
    "openpyxl": step_openpyxl,
    "fastexcel": step_fastexcel,
    "review": step_review,
    "page": step_page,
}


def run_step(name: str, *args: str) -> dict:
    """Run one step in a child process; add its peak memory (MiB) to what it reports."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    cmd = [sys.executable, "-m", "benchmarks.run", "--step", name, out_path, *args]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"step {name} {args} failed with status {status}")
    result = json.loads(Path(out_path).read_text())
    os.unlink(out_path)
    result["peak_mib"] = usage.ru_maxrss / 1024  # Linux: KiB
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
        Path(out_path).write_text(json.dumps(STEPS[name](*rest)))
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
            median_of(1, "openpyxl", file) if size <= OPENPYXL_MAX_ROWS else None
        )
        row = {
            "rows": size,
            "file_mib": Path(file).stat().st_size / 2**20,
            "ingest": ingest,
            "fastexcel": bare,
            "openpyxl": openpyxl,
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
    Path(args.out).write_text(report)
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
        f"(median of {runs} runs per step, each in a fresh process; peak = max RSS of that process;",
        "the ingest step starts the sandboxed reader first, as the app does when it starts, and the",
        "reader child's own peak is not included).",
        "",
        "## Ingest of a diary-style xlsx (guard + sandboxed read + normalise + store)",
        "",
        "| rows | file MiB | full ingest s | of which load s | store s | peak MiB | bare fastexcel s | pandas+openpyxl s | ingest ÷ fastexcel | openpyxl ÷ ingest | µs per row |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ing, fx, op = r["ingest"], r["fastexcel"], r["openpyxl"]
        lines.append(
            f"| {r['rows']:,} | {r['file_mib']:.1f} | {ing['seconds']:.2f} | {ing['load_s']:.2f} | "
            f"{ing['store_s']:.2f} | {ing['peak_mib']:.0f} | {fx['seconds']:.2f} | "
            + (f"{op['seconds']:.2f}" if op else "not run (minutes, GBs)")
            + f" | {ing['seconds'] / fx['seconds']:.2f}× | "
            + (f"{op['seconds'] / ing['seconds']:.1f}×" if op else "—")
            + f" | {ing['seconds'] / r['rows'] * 1e6:.1f} |"
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
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

"""What column inference (loading/infer.py) adds to loading a sheet, measured in one run.

    python -m benchmarks.inference [--rows 100000] [--runs 5]

Builds a synthetic sheet in memory (no reader, no store: only load_raw) with headers the
synonym table knows, loads it with inference and with the synonym-only path that preceded it
(value profiles off, header rows matched by exact synonyms), and prints the medians and their
difference; then times profiling and assignment alone on a SystmOne-shaped sheet of the same
size, which only inference can read at all.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pandas as pd

import capa_monitor.loading as loading
from capa_monitor.loading import load_raw
from capa_monitor.loading.headers import _match, synonym_index
from capa_monitor.loading.infer import ACTIVITY_FIELDS, assign, profile_columns
from capa_monitor.loading.read import RawSheet, RawWorkbook

DIARY = ["Appt Date", "Start Time", "Clinician", "Appointment Type", "Outcome", "Duration",
         "NHS Number", "Appointment ID", "Team", "Notes"]
SYSTMONE = ["Appointment date", "Appointment duration (actual)", "Appointment duration (booked)",
            "Appointment flags", "Appointment location", "Appointment status", "Clinician",
            "Rota start date", "Rota type", "Time between booking and appointment", "Patient ID",
            "Patient Count"]
NHS = ["9990000018", "9990000026", "9990000034", "9990000042", "9990000050"]


def diary_cells(rows: int, seed: int = 7) -> pd.DataFrame:
    pick = np.random.default_rng(seed).choice
    days = pd.date_range("2025-04-01", periods=365).strftime("%d/%m/%Y").to_numpy()
    body = {
        0: pick(days, rows),
        1: pick(["09:00", "10:00", "11:30", "14:00", "15:30"], rows),
        2: pick([f"SURNAME{i}, Forename (Dr)" for i in range(40)], rows),
        3: pick(["Choice", "New Core Partnership", "Core Partnership Follow-up", "Specific"], rows),
        4: pick(["Attended", "DNA", "Cancelled by patient", "Cancelled by hospital"], rows),
        5: pick(["60", "45m", "1h 30m"], rows),
        6: pick(NHS, rows),
        7: np.char.add("A", np.arange(rows).astype(str)),
        8: pick(["North", "South"], rows),
        9: pick(["", "see notes", "phoned"], rows),
    }
    return _cells(DIARY, body)


def systmone_cells(rows: int, seed: int = 7) -> pd.DataFrame:
    pick = np.random.default_rng(seed).choice
    days = pd.date_range("2025-04-01", periods=365).strftime("%d-%b-%Y").to_numpy()
    body = {
        0: pick(days, rows),
        1: pick(["50 mins", "1h", "45m"], rows),
        2: pick(["1h 30m", "1h", "30m"], rows),
        3: pick(["Appointment Confirmed", "Appointment Confirmed, Initial Appointment", ""], rows),
        4: pick(["Main Clinic", "Outreach Base"], rows),
        5: pick(["Finished", "Did Not Attend", "Cancelled by Unit", "Booked"], rows),
        6: pick([f"SURNAME{i}, Forename (Dr)" for i in range(40)], rows),
        7: pick(days[:12], rows),
        8: pick(["CAMHS Core Partnership", "CAMHS Choice", "CAMHS Specific"], rows),
        9: pick(["2wks 1d", "3 days", "0 days", "1wk"], rows),
        10: np.char.add("P", np.arange(rows).astype(str)),
        11: pick(["1"], rows),
    }
    return _cells(SYSTMONE, body)


def _cells(headers: list[str], body: dict[int, np.ndarray]) -> pd.DataFrame:
    frame = pd.DataFrame({i: pd.array(v, dtype="str") for i, v in body.items()})
    top = pd.DataFrame([headers], columns=range(len(headers)), dtype="str")
    cells = pd.concat([top, frame], ignore_index=True).astype("str")
    return cells.where(cells != "")


@contextmanager
def synonym_only():
    """The loader as it was before inference: exact synonyms find the header and columns."""
    index = synonym_index(loading.ACTIVITY_SYNONYMS)
    with mock.patch.object(loading, "profile_columns", lambda body: []), mock.patch.object(
        loading, "header_matcher", lambda specs: lambda texts, alt: _match(texts, index, alt)
    ):
        yield


def timed(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args(argv)

    workbook = RawWorkbook("xlsx", (RawSheet("Diary", diary_cells(args.rows)),), None, "bench")

    def load() -> None:
        load_raw(workbook, pseudonym_key=b"benchmark")

    def read() -> None:
        loading.read_sheets(workbook, None)

    # Alternate the two paths run by run, so a busy machine slows both alike.
    old, new, old_read, new_read = [], [], [], []
    load()  # warm caches and imports for both paths alike
    for _ in range(args.runs):
        with synonym_only():
            old.append(timed(load, 1))
            old_read.append(timed(read, 1))
        new.append(timed(load, 1))
        new_read.append(timed(read, 1))
    median = statistics.median
    print(f"{args.rows:,}-row diary sheet, median of {args.runs} runs (paths alternated):")
    print(f"  load_raw, synonym-only path       {median(old):.3f} s")
    print(f"  load_raw, with inference          {median(new):.3f} s")
    print(f"  header + columns, synonym-only    {median(old_read):.3f} s")
    print(f"  header + columns, with inference  {median(new_read):.3f} s")
    print(f"  inference adds                    {median(new_read) - median(old_read):+.3f} s")

    cells = systmone_cells(args.rows)
    body = cells.iloc[1:]
    headers = cells.iloc[0].tolist()

    def infer() -> None:
        assign(ACTIVITY_FIELDS, headers, profile_columns(body))

    infer()
    print(f"{args.rows:,}-row SystmOne-shaped sheet: profile + assign "
          f"{timed(infer, args.runs):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Synthetic demo team and activity generator: the data the demo, the tests and the benchmarks use.

Two jobs, both deterministic (numpy ``Generator`` with fixed seeds, fixed workbook metadata):

* **The demo team** "Northfield CAMHS" (invented): 8 clinicians, activity 1 Apr – 20 Nov 2026 with
  outcomes and future bookings to 18 Dec 2026, simulated as a CAPA pull system (Choice → next free
  Core Partnership slot with any clinician → follow-ups; Specific work added after Core). The
  seed was chosen so the 2026/27 Q2 and Q3 reviews show the designed mix (tests/test_sample.py
  checks it): O'Neill green; McDonald amber; Raman red with a heavy, drifting Specific load (M3,
  M4); Reid red in Q2 (kept half his new Core slots off the booking list); Okafor leaving on
  13 Nov and taking no new Core from 12 Oct (M6); Hartley a locum with no job plan (no_target);
  Marsh job-planned from 30 Nov with no activity; Whitfield with an explicit Q3 target; lost
  slots of every M2 status; Choice → Core waits of 1–10 weeks.
  ``demo_truth()`` is the canonical frame; ``write_sample_data(folder)`` writes it in three
  export styles plus job plans:

  ============  ===================================  ==============================================
  style         file                                 canonical columns it lacks
  ============  ===================================  ==============================================
  diary         northfield_diary.xlsx                team (set at upload: "Northfield CAMHS")
  appointments  northfield_appointments.xlsx         reoffered (no re-offered marker)
  mhsds         northfield_mhsds.csv (cp1252, CRLF)  reoffered, booked_on
  ============  ===================================  ==============================================

  All three carry exactly the same rows (same slot ids, dates, start times, kinds, outcomes,
  durations, clients). Client identity: every style has the NHS number (10 plain digits, the
  client identifier to pseudonymise); the mhsds style also has ``LocalPatientId``. Exactly one NHS
  number (one row) fails the Modulus 11 check on purpose: ``DEMO_INVALID_NHS_NUMBER``. In the
  appointments style surnames are upper case (``MCDONALD, Hamish``, ``RAMAN, Priya (Dr)``) except
  on non-client rows (team meetings), keyed by admin in mixed case (``McDonald, Hamish``), so the
  source spells every name properly somewhere. Start times: diary and appointments ``HH:MM``,
  mhsds ``HH:MM:SS``. The mhsds style writes a free slot as ``AttendOrDNACode`` "Unbooked" (the
  NHS code list has no code for it) and a future booking as a blank code.

* **Benchmark data** (issue 7): ``generate_activity`` builds a large multi-team frame with numpy
  and pyarrow only, and ``write_diary_xlsx`` streams a diary-style workbook straight as
  SpreadsheetML (shared strings, date serials, no per-cell references): 1M rows in ~5 s and
  28 MB, where openpyxl's write-only mode takes minutes.

Frames from this module have the canonical columns of ``model.ACTIVITY_COLUMNS`` except that
``client_key`` is replaced by ``client_ref`` (a synthetic client reference such as ``C0000042``;
the writers turn it into an NHS number from the 999 test range, see ``nhs_numbers_for``, unless
the frame has an ``nhs_number`` column), plus a ``detail`` column (the Specific intervention,
e.g. "ADOS", or the non-client activity, e.g. "Team meeting") that the writers use for the
appointment-type text. ``source_row`` is the row in the diary style (header on row 4, first
appointment on row 5).

Run ``python -m capa_monitor.sample [FOLDER]`` to regenerate ``sample_data/`` byte for byte.

Modules: ``frames`` (what every frame shares: names, dates, columns, NHS numbers, working days),
``demo_team`` (the simulation), ``generator`` (benchmark data), ``xlsx`` (the writer),
``export_styles`` (the export shapes and ``write_sample_data``). Everything public is
imported here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from capa_monitor.sample.demo_team import (
    DEMO_CLINICIANS,
    DEMO_INVALID_NHS_NUMBER,
    demo_clients,
    demo_jobplans,
    demo_truth,
)
from capa_monitor.sample.export_styles import (
    appointments_sheet,
    demo_export_frame,
    diary_sheet,
    jobplans_sheet,
    mhsds_frame,
    write_csv,
    write_diary_xlsx,
    write_sample_data,
)
from capa_monitor.sample.frames import (
    AS_OF,
    CLIENT_REF,
    DETAIL,
    FIRST_DAY,
    FRAME_COLUMNS,
    LAST_BOOKED_DAY,
    RUN_DATE,
    SAMPLE_FILES,
    SEED,
    TEAM,
    nhs_check_digit,
    nhs_numbers_for,
    working_days,
)
from capa_monitor.sample.generator import (
    CLINICIANS_PER_TEAM,
    SLOTS_PER_CLINICIAN_DAY,
    generate_activity,
)
from capa_monitor.sample.xlsx import (
    Column,
    Sheet,
    write_xlsx,
)

__all__ = [
    "AS_OF",
    "CLIENT_REF",
    "CLINICIANS_PER_TEAM",
    "Column",
    "DEMO_CLINICIANS",
    "DEMO_INVALID_NHS_NUMBER",
    "DETAIL",
    "FIRST_DAY",
    "FRAME_COLUMNS",
    "LAST_BOOKED_DAY",
    "RUN_DATE",
    "SAMPLE_FILES",
    "SEED",
    "SLOTS_PER_CLINICIAN_DAY",
    "Sheet",
    "TEAM",
    "appointments_sheet",
    "demo_clients",
    "demo_export_frame",
    "demo_jobplans",
    "demo_truth",
    "diary_sheet",
    "generate_activity",
    "jobplans_sheet",
    "main",
    "mhsds_frame",
    "nhs_check_digit",
    "nhs_numbers_for",
    "working_days",
    "write_csv",
    "write_diary_xlsx",
    "write_sample_data",
    "write_xlsx",
]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]) if args else Path("sample_data")
    for style, path in write_sample_data(folder).items():
        print(f"{style:13} {path}")
    return 0

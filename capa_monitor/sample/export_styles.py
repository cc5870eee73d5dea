"""The three export styles a team's system might print (diary xlsx, appointments xlsx, an
MHSDS-style csv) and the job-plan sheet, written from a sample frame; ``write_sample_data``
writes the demo team's four files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from capa_monitor import model
from capa_monitor.sample.demo_team import DEMO_CLINICIANS, demo_clients, demo_jobplans, demo_truth
from capa_monitor.sample.frames import (
    CLIENT_REF,
    DETAIL,
    RUN_DATE,
    SAMPLE_FILES,
    local_ids_for,
    nhs_numbers_for,
)
from capa_monitor.sample.xlsx import Column, Sheet, write_xlsx


def _variant(frame: pd.DataFrame, every: int) -> np.ndarray:
    """A stable pseudo-random pick per slot (for wording variants such as DNA / Was not brought)."""
    hashed = pd.util.hash_pandas_object(frame[model.SLOT_ID].astype("str"), index=False)
    return (hashed.to_numpy() % np.uint64(every)).astype(np.int64) == 0


def _labelled(parts: Sequence[pd.Series | np.ndarray], label) -> pd.Series:
    """label(*values) worked out once per distinct combination of the parts, as a categorical.

    The export texts depend on a few low-cardinality columns, so this keeps 1M-row writes to
    numpy work plus a handful of Python calls. label may return None (an empty cell).
    """
    index = parts[0].index if isinstance(parts[0], pd.Series) else None
    combined = np.zeros(len(parts[0]), dtype=np.int64)
    uniques_of_part = []
    for part in parts:
        codes, uniques = pd.factorize(part, use_na_sentinel=False)
        combined = combined * len(uniques) + codes
        uniques_of_part.append(uniques)
    key_codes, keys = pd.factorize(combined)
    labels = []
    for key in keys:
        values = []
        for uniques in reversed(uniques_of_part):
            key, position = divmod(int(key), len(uniques))
            value = uniques[position]
            values.append(None if pd.isna(value) else value)
        labels.append(label(*reversed(values)))
    label_codes, label_uniques = pd.factorize(pd.Series(labels, dtype=object))
    codes = np.asarray(label_codes)[key_codes]
    categories = pd.Index(label_uniques, dtype="str")
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=index)


def _surname_first(name: str, *, upper: bool = False, title: bool = False) -> str:
    forename, _, surname = name.partition(" ")
    doctor = " (Dr)" if title and name in _DOCTORS else ""
    return f"{surname.upper() if upper else surname}, {forename}{doctor}"


_DOCTORS = frozenset(c.name for c in DEMO_CLINICIANS if c.title == "Dr")


def _nhs_column(frame: pd.DataFrame) -> pd.Series:
    if "nhs_number" in frame:
        return frame["nhs_number"].astype("str")
    return nhs_numbers_for(frame[CLIENT_REF])


def _diary_type(kind: str, detail: str | None) -> str:
    return {
        "choice": "CAPA Choice", "core_new": "Core Partnership - New",
        "core_followup": "Core Partnership Follow Up",
        "specific_new": f"Specific Partnership ({detail}) - Initial",
        "specific_followup": "Specific Partnership Review",
    }.get(kind, detail or "Team meeting")


_DIARY_OUTCOMES = {
    "attended": "Attended", "dna": "DNA", "late_not_seen": "Arrived late - not seen",
    "cancelled_by_client": "Cancelled by patient", "cancelled_by_service":
    "Cancelled by clinician", "unbooked": "Available", "booked": None,
}


def _diary_outcome(outcome: str, kind: str, alternate: bool, late: bool) -> str | None:
    if outcome == "dna" and alternate:
        return "Was not brought"
    if outcome == "attended" and late and kind != "other":
        return "Arrived late but seen"
    return _DIARY_OUTCOMES[outcome]


def diary_sheet(frame: pd.DataFrame, *, run_date: date = RUN_DATE) -> Sheet:
    """The patient-record "diary" report: title rows, header, one row per slot, a totals row."""
    kind = frame[model.KIND]
    type_text = _labelled([kind, frame[DETAIL]], _diary_type)
    outcome = _labelled([frame[model.OUTCOME], kind, _variant(frame, 2), _variant(frame, 15)],
                        _diary_outcome)
    rebooked = _labelled([frame[model.REOFFERED]],
                         lambda marked: None if marked is None else ("Y" if marked else "N"))
    columns = [Column("Clinician", "text", _labelled([frame[model.CLINICIAN]], _surname_first), 22)]
    if frame[model.TEAM].nunique() > 1:
        columns.append(Column("Team", "text", frame[model.TEAM], 20))
    columns += [
        Column("Appointment Date", "date", frame[model.DATE], 12),
        Column("Start Time", "text", frame[model.START], 8),
        Column("Duration", "number", frame[model.DURATION_MIN], 8),
        Column("Appointment Type", "text", type_text, 36),
        Column("Outcome", "text", outcome, 22),
        Column("Rebooked", "text", rebooked, 8),
        Column("Slot ID", "text", frame[model.SLOT_ID], 12),
        Column("NHS Number", "text", _nhs_column(frame), 12),
        Column("Date Booked", "date", frame[model.BOOKED_ON], 12),
    ]
    headers = [c.header for c in columns]
    totals: list[object] = [None] * len(columns)
    totals[0] = "Total"
    totals[headers.index("Duration")] = int(frame[model.DURATION_MIN].sum())
    totals[headers.index("Appointment Type")] = f"{len(frame)} appointments"
    first, last = frame[model.DATE].min(), frame[model.DATE].max()
    period = f"{first:%d/%m/%Y} to {last:%d/%m/%Y}" if len(frame) else ""
    return Sheet(
        "Diary",
        [["Clinician Diary Report"], [f"Run date: {run_date:%d/%m/%Y}   Period: {period}"], [],
         headers],
        columns,
        [totals],
    )


def write_diary_xlsx(frame: pd.DataFrame, path, *, run_date: date = RUN_DATE) -> None:
    """Write a frame (``FRAME_COLUMNS``) as a diary-style workbook; fast enough for 1M rows."""
    level = 6 if len(frame) <= 200_000 else 1  # deflate level 6 roughly triples the write time
    write_xlsx(path, [diary_sheet(frame, run_date=run_date)], title="Clinician Diary Report",
               compresslevel=level)


def _appointment_type(kind: str, detail: str | None) -> tuple[str | None, str | None]:
    if kind == "choice":
        return "Choice", "Y"
    if kind.startswith("core"):
        return "Core Partnership", "Y" if kind == "core_new" else "N"
    if kind.startswith("specific"):
        return f"Specific - {detail}", "Y" if kind == "specific_new" else "N"
    return detail or "Team meeting", None


_APPOINTMENT_OUTCOMES = {
    "attended": "Seen", "dna": "Did not attend", "late_not_seen": "Arrived late - not seen",
    "cancelled_by_client": "Patient cancelled", "cancelled_by_service": "Cancelled by service",
    "unbooked": "Unfilled", "booked": "Not yet outcomed",
}


def _text_dates(values: pd.Series, form: str) -> pd.Series:
    return pd.Series(pc.strftime(pa.array(values), format=form), index=values.index, dtype="str")


def appointments_sheet(frame: pd.DataFrame) -> Sheet:
    """The appointment report: text dates, SURNAME, Forename (Dr), an Initial appointment flag.

    Non-client rows (team meetings) are keyed by admin in mixed case ("McDonald, Hamish").
    """
    frame = frame.sort_values([model.DATE, model.START, model.CLINICIAN], kind="stable")
    kind = frame[model.KIND]
    clinician = _labelled(
        [frame[model.CLINICIAN], kind == "other"],
        lambda name, by_admin: _surname_first(name, upper=not by_admin, title=True))
    type_text = _labelled([kind, frame[DETAIL]], lambda k, d: _appointment_type(k, d)[0])
    initial = _labelled([kind, frame[DETAIL]], lambda k, d: _appointment_type(k, d)[1])
    length = _labelled([frame[model.DURATION_MIN]],
                       lambda m: None if m is None else ("1h" if m == 60 else f"{m}m"))
    columns = [
        Column("Appt Date", "text", _text_dates(frame[model.DATE], "%d-%b-%y"), 11),
        Column("Time", "text", frame[model.START], 7),
        Column("Clinician", "text", clinician, 26),
        Column("Team", "text", frame[model.TEAM], 18),
        Column("Appointment Type", "text", type_text, 26),
        Column("Initial appointment", "text", initial, 10),
        Column("Attendance", "text", _labelled([frame[model.OUTCOME]], _APPOINTMENT_OUTCOMES.get),
               22),
        Column("Length", "text", length, 7),
        Column("NHS No", "text", _nhs_column(frame), 12),
        Column("Appointment ID", "text", frame[model.SLOT_ID], 12),
        Column("Booked on", "text", _text_dates(frame[model.BOOKED_ON], "%d-%b-%y"), 11),
    ]
    return Sheet("Appointments", [[c.header for c in columns]], columns)


_ATTEND_CODES = {
    "attended": "5", "late_not_seen": "7", "cancelled_by_client": "2", "dna": "3",
    "cancelled_by_service": "4", "unbooked": "Unbooked", "booked": None,
}
_CONS_TYPES = {"choice": "01", "core_new": "01", "specific_new": "01", "core_followup": "02",
               "specific_followup": "02"}


def _activity_type(kind: str, detail: str | None) -> str:
    if kind == "choice":
        return "Choice"
    if kind.startswith("core"):
        return "Core Partnership"
    if kind.startswith("specific"):
        return f"Specific Partnership - {detail}"
    return detail or "Team meeting"


def _attend_code(outcome: str, kind: str, late: bool) -> str | None:
    if outcome == "attended" and late and kind != "other":
        return "6"  # arrived late but was seen
    return _ATTEND_CODES[outcome]


def mhsds_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The MHSDS-style extract as text columns (MHS201 care contact field names)."""
    frame = frame.sort_values(model.SLOT_ID, kind="stable")
    kind = frame[model.KIND]
    names = frame[model.CLINICIAN].astype("str")
    staff = {name: f"CP{i:04d}" for i, name in enumerate(sorted(names.unique()), start=1)}
    refs = frame[CLIENT_REF].astype("str")

    def text(values) -> pd.Series:
        return pd.Series(values, index=frame.index).astype("str")

    return pd.DataFrame({
        "CareContactId": frame[model.SLOT_ID],
        "LocalPatientId": local_ids_for(refs),
        "NHSNumber": _nhs_column(frame),
        "CareProfLocalId": text(_labelled([names], staff.get)),
        "CareProfName": names,
        "TeamName": frame[model.TEAM],
        "CareContDate": _text_dates(frame[model.DATE], "%d/%m/%Y"),
        "CareContTime": frame[model.START] + ":00",
        "ClinContDurOfCareCont": frame[model.DURATION_MIN].astype("str"),
        "ConsType": text(_labelled([kind], _CONS_TYPES.get)),
        "ActivityType": text(_labelled([kind, frame[DETAIL]], _activity_type)),
        "AttendOrDNACode": text(_labelled([frame[model.OUTCOME], kind, _variant(frame, 15)],
                                          _attend_code)),
    })


def write_csv(frame: pd.DataFrame, path) -> None:
    """Write a frame (``FRAME_COLUMNS``) as the MHSDS-style CSV: Windows-1252, CRLF line ends."""
    table = pa.Table.from_pandas(mhsds_frame(frame), preserve_index=False)
    buffer = io.BytesIO()
    try:
        options = pacsv.WriteOptions(eol="\r\n", quoting_style="none", quoting_header="none")
        pacsv.write_csv(table, buffer, options)
    except pa.ArrowInvalid:  # a value with a comma or quote: quote where needed
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(eol="\r\n", quoting_header="none"))
    Path(path).write_bytes(buffer.getvalue().decode("utf-8").encode("cp1252"))


def jobplans_sheet(plans: pd.DataFrame) -> Sheet:
    """The manager's job-plan spreadsheet (spec §4 with the headers managers use)."""
    columns = [
        Column("Name", "text", plans["clinician"], 20),
        Column("Team", "text", plans["team"], 18),
        Column("WTE", "number", plans["fte"], 6),
        Column("Choice appts per week", "number", plans["choice_per_week"], 10),
        Column("Core sessions", "number", plans["core_sessions"], 10),
        Column("Specific sessions", "number", plans["specific_sessions"], 10),
        Column("Non-clinical sessions", "number", plans["nonclinical_sessions"], 10),
        Column("Q3 target", "number", plans["q3_target"], 8),
        Column("Start date", "date", plans["available_from"], 12),
        Column("Leaving date", "date", plans["available_to"], 12),
    ]
    return Sheet("Job plans", [[c.header for c in columns]], columns)


def demo_export_frame() -> pd.DataFrame:
    """``demo_truth()`` with each client's ``nhs_number`` as the exports write it."""
    truth = demo_truth()
    nhs = truth[CLIENT_REF].map(demo_clients().set_index(CLIENT_REF)["nhs_number"])
    return truth.assign(nhs_number=nhs.astype("str"))


def write_sample_data(folder) -> dict[str, Path]:
    """Write the demo team's four files into folder; return style name → path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frame = demo_export_frame()
    paths = {style: folder / name for style, name in SAMPLE_FILES.items()}
    write_diary_xlsx(frame, paths["diary"])
    write_xlsx(paths["appointments"], [appointments_sheet(frame)], title="Appointment report")
    write_csv(frame, paths["mhsds"])
    write_xlsx(paths["jobplans"], [jobplans_sheet(demo_jobplans())], title="Job plans")
    return paths

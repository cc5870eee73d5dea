"""The sample generator: deterministic files, valid synthetic identifiers, and a demo team whose
quarterly review exercises every rule of the domain spec (§3–§5).

The design checks recompute the spec's arithmetic here from the truth frame with plain pandas
(a deliberately simple oracle, independent of capa_monitor.metrics).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import holidays
import numpy as np
import openpyxl
import pandas as pd
import pytest

from capa_monitor import model, sample

AS_OF = date(2026, 11, 20)
WINDOW = 28
Q2 = (date(2026, 7, 1), date(2026, 10, 1))
Q3 = (date(2026, 10, 1), date(2027, 1, 1))
BANK = holidays.country_holidays("GB", subdiv="ENG", years=[2026, 2027])
REPO_SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"

TRUTH = sample.demo_truth()
PLANS = sample.demo_jobplans()
CLIENTS = sample.demo_clients()


def _working_days(start: date, end_inclusive: date) -> int:
    days = pd.bdate_range(start, end_inclusive)
    return sum(1 for d in days if d.date() not in BANK)


def _target(name: str, quarter_number: int) -> float:
    plan = PLANS.set_index("clinician").loc[name]
    explicit = plan[f"q{quarter_number}_target"]
    # CAPA arithmetic with default settings: sessions × 2 × 11.25 / 7.5 = 3 × sessions
    return float(explicit) if pd.notna(explicit) else 3.0 * plan["core_sessions"]


def _status(name: str, quarter: tuple[date, date], quarter_number: int) -> str:
    """M1 status at AS_OF, by the spec's formula (delivered against pro-rata expectation)."""
    start, end = quarter
    last = min(AS_OF, end - timedelta(days=1))
    rows = TRUTH[(TRUTH.clinician == name) & (TRUTH.kind == "core_new")
                 & (TRUTH.date >= pd.Timestamp(start)) & (TRUTH.date <= pd.Timestamp(last))]
    delivered = (rows.outcome == "attended").sum()
    if name not in set(PLANS.clinician):
        return "no_target"
    plan = PLANS.set_index("clinician").loc[name]
    lo = max(start, plan.available_from.date()) if pd.notna(plan.available_from) else start
    hi = min(last, plan.available_to.date()) if pd.notna(plan.available_to) else last
    available = _working_days(lo, hi) if lo <= hi else 0
    expected = _target(name, quarter_number) * available / _working_days(start, end - timedelta(1))
    if delivered >= expected:
        return "green"
    return "amber" if delivered >= 0.8 * expected else "red"


def _lost_slot_statuses(truth: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """M2 exactly as spec §5 words it, one lost slot at a time (a slow, obvious oracle)."""
    monitored = truth[truth.kind.isin(["core_new", "choice"])]
    lost = monitored[monitored.outcome.isin(["dna", "late_not_seen", "cancelled_by_client",
                                             "unbooked"]) & (monitored.date <= pd.Timestamp(as_of))]
    lost = lost.sort_values(["date", "clinician", "slot_id"])
    candidates = monitored[~monitored.outcome.isin(["cancelled_by_service", "unbooked"])]
    candidates = candidates.sort_values(["date", "slot_id"])
    used: set[str] = set()
    statuses = []
    for slot in lost.itertuples():
        window = candidates[(candidates.kind == slot.kind) & (candidates.date > slot.date)
                            & (candidates.date <= slot.date + pd.Timedelta(days=WINDOW))
                            & ~candidates.slot_id.isin(used)]
        status = None
        if pd.notna(slot.reoffered) and slot.reoffered:
            status = "reoffered_marked"
        if status is None and pd.notna(slot.client_ref):
            same_client = window[window.client_ref == slot.client_ref]
            if len(same_client):
                used.add(same_client.slot_id.iloc[0])
                status = "reoffered_client"
        if status is None:
            replacement = window[(window.clinician == slot.clinician)
                                 & (window.booked_on >= slot.date)]
            if len(replacement):
                used.add(replacement.slot_id.iloc[0])
                status = "reoffered_replacement"
        if status is None:
            pending = pd.Timestamp(as_of) < slot.date + pd.Timedelta(days=WINDOW)
            status = "pending" if pending else "not_reoffered"
        statuses.append(status)
    return lost.assign(status=statuses)


LOST = _lost_slot_statuses(TRUTH, AS_OF)


# ---------------------------------------------------------------------------------------------
# Determinism and the committed files


def test_rebuilding_gives_identical_bytes(tmp_path):
    first = sample.write_sample_data(tmp_path / "one")
    second = sample.write_sample_data(tmp_path / "two")
    for style, path in first.items():
        assert path.read_bytes() == second[style].read_bytes(), style


def test_committed_sample_data_is_current(tmp_path):
    fresh = sample.write_sample_data(tmp_path)
    for style, name in sample.SAMPLE_FILES.items():
        assert (REPO_SAMPLE / name).read_bytes() == fresh[style].read_bytes(), name


def test_workbooks_carry_fixed_timestamps():
    with zipfile.ZipFile(REPO_SAMPLE / sample.SAMPLE_FILES["diary"]) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 11, 23, 7, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2026-11-23T07:00:00Z" in core


# ---------------------------------------------------------------------------------------------
# NHS numbers


@pytest.mark.parametrize(
    ("stem", "check"),
    [
        # 9×10+4×9+3×8+4×7+7×6+6×5+5×4+9×3+1×2 = 299; 299 mod 11 = 2; 11−2 = 9
        (943476591, 9),
        # 9×10+9×9+9×8+0+0+0+0+0+1×2 = 245; 245 mod 11 = 3; 11−3 = 8
        (999000001, 8),
        # 90+81+72+1×7+2×6+3×5+4×4+5×3+6×2 = 320; 320 mod 11 = 1; 11−1 = 10: no valid number
        (999123456, 10),
        # 90+81+72+0+0+0+0+0+0 = 243; 243 mod 11 = 1 → 10 as well
        (999000000, 10),
        # 90+81+72+0+0+0+0+0+4×2 = 251; 251 mod 11 = 9; 11−9 = 2
        (999000004, 2),
    ],
)
def test_check_digit(stem, check):
    assert sample.nhs_check_digit(np.array([stem]))[0] == check


def _mod11_valid(number: str) -> bool:
    digits = [int(c) for c in number]
    total = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == digits[9]


def test_every_demo_nhs_number_is_a_valid_test_number_except_the_deliberate_one():
    numbers = CLIENTS.nhs_number
    assert numbers.str.fullmatch(r"999\d{7}").all()
    invalid = [n for n in numbers if not _mod11_valid(n)]
    assert invalid == [sample.DEMO_INVALID_NHS_NUMBER]
    assert numbers.is_unique


def test_the_invalid_nhs_number_is_on_exactly_one_row_of_each_export():
    diary = pd.read_excel(REPO_SAMPLE / sample.SAMPLE_FILES["diary"], header=3, dtype=str)
    appointments = pd.read_excel(REPO_SAMPLE / sample.SAMPLE_FILES["appointments"], dtype=str)
    mhsds = pd.read_csv(REPO_SAMPLE / sample.SAMPLE_FILES["mhsds"], encoding="cp1252", dtype=str)
    for column in (diary["NHS Number"], appointments["NHS No"], mhsds["NHSNumber"]):
        assert (column == sample.DEMO_INVALID_NHS_NUMBER).sum() == 1
        valid = column.dropna()
        valid = valid[valid != sample.DEMO_INVALID_NHS_NUMBER]
        assert all(_mod11_valid(n) for n in valid.unique())


def test_nhs_numbers_for_refs_are_stable_and_distinct():
    refs = pd.Series(["C0000001", "C0000002", None, "C0000001"], dtype="str")
    numbers = sample.nhs_numbers_for(refs)
    assert numbers[0] == numbers[3] != numbers[1]
    assert pd.isna(numbers[2])
    assert all(_mod11_valid(n) for n in numbers.dropna())


# ---------------------------------------------------------------------------------------------
# Calendar


def test_no_appointment_on_a_weekend_or_bank_holiday():
    days = TRUTH.date.dt.date
    assert (TRUTH.date.dt.day_of_week < 5).all()
    assert not days.isin(set(BANK)).any()
    # Sanity: the period holds bank holidays the generator had to skip (4 May, 25 May, 31 Aug).
    assert {date(2026, 5, 4), date(2026, 5, 25), date(2026, 8, 31)} <= set(BANK)


def test_outcomes_stop_at_the_as_of_date_and_bookings_run_into_december():
    happened = TRUTH[TRUTH.outcome.isin(["attended", "dna", "late_not_seen"])]
    assert happened.date.max() == pd.Timestamp(AS_OF)
    future = TRUTH[TRUTH.date > pd.Timestamp(AS_OF)]
    assert set(future.outcome) <= {"booked", "unbooked", "cancelled_by_client"}
    assert TRUTH.date.max() == pd.Timestamp(2026, 12, 18)
    assert TRUTH.date.min() == pd.Timestamp(2026, 4, 1)


def test_bookings_are_made_before_the_appointment_and_by_the_run_date():
    booked = TRUTH[TRUTH.booked_on.notna()]
    assert (booked.booked_on < booked.date).all()
    assert booked.booked_on.max() <= pd.Timestamp(AS_OF)
    # a slot nobody booked has no booking date; a team meeting has none either
    assert TRUTH[TRUTH.outcome == "unbooked"].booked_on.isna().all()
    assert TRUTH[TRUTH.kind == "other"].booked_on.isna().all()


# ---------------------------------------------------------------------------------------------
# The truth frame's shape


def test_truth_frame_columns_and_types():
    assert tuple(TRUTH.columns) == sample.FRAME_COLUMNS
    assert "client_key" not in TRUTH and "nhs_number" not in TRUTH
    assert TRUTH.slot_id.is_unique
    assert set(TRUTH.kind) == {k.value for k in model.Kind}
    assert set(TRUTH.outcome) == {o.value for o in model.Outcome}
    assert str(TRUTH.duration_min.dtype) == "Int64"
    assert str(TRUTH.reoffered.dtype) == "boolean"
    assert TRUTH.source_row.tolist() == list(range(5, 5 + len(TRUTH)))
    assert TRUTH.client_ref.dropna().str.fullmatch(r"C\d{7}").all()


def test_durations_mostly_sixty_minutes_some_ninety():
    counts = TRUTH.duration_min.value_counts()
    assert set(counts.index) == {60, 90}
    assert counts[60] > 0.8 * len(TRUTH)
    assert (TRUTH[TRUTH.kind == "choice"].duration_min == 60).all()


def test_clinicians_cover_the_awkward_names():
    names = set(TRUTH.clinician)
    assert {"Aoife O'Neill", "Hamish McDonald", "Zoë Hartley", "Priya Raman"} <= names
    assert len(names | set(PLANS.clinician)) == 8


# ---------------------------------------------------------------------------------------------
# The review the demo team should produce (spec §5)

EXPECTED_STATUS = {
    # (quarter, clinician): status; Q2 is complete at the as-of date, Q3 runs to 20 Nov.
    ("Q2", "Aoife O'Neill"): "green",
    ("Q2", "Hamish McDonald"): "amber",
    ("Q2", "Priya Raman"): "red",
    ("Q2", "Callum Reid"): "red",
    ("Q2", "Rachel Okafor"): "green",
    ("Q2", "Zoë Hartley"): "no_target",
    ("Q3", "Aoife O'Neill"): "green",
    ("Q3", "Hamish McDonald"): "amber",
    ("Q3", "Priya Raman"): "red",
    ("Q3", "Rachel Okafor"): "red",
    ("Q3", "Zoë Hartley"): "no_target",
    ("Q2", "Marcus Whitfield"): "amber",
    ("Q3", "Marcus Whitfield"): "green",  # against his explicit Q3 target of 4
    ("Q3", "Callum Reid"): "green",
    ("Q3", "Ellie Marsh"): "green",  # starts 30 Nov: nothing expected by 20 Nov
}


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        # Oct 2026: 22 weekdays; 2–20 Nov: 15 → 37 (no bank holiday)
        (date(2026, 10, 1), date(2026, 11, 20), 37),
        # Q3: Oct 22 + Nov 21 + Dec 23 weekdays − 25 Dec − 28 Dec (Boxing Day substitute) = 64
        (date(2026, 10, 1), date(2026, 12, 31), 64),
        # Okafor's Q3 until she leaves: Oct 22 + 2–13 Nov 10 = 32
        (date(2026, 10, 1), date(2026, 11, 13), 32),
        # Q2: Jul 23 + Aug 21 weekdays − 31 Aug + Sep 22 = 65
        (date(2026, 7, 1), date(2026, 9, 30), 65),
    ],
)
def test_working_day_oracle(start, end, days):
    assert _working_days(start, end) == days


@pytest.mark.parametrize(("key", "status"), EXPECTED_STATUS.items(), ids=str)
def test_quarterly_status_mix(key, status):
    quarter, name = key
    bounds, number = (Q2, 2) if quarter == "Q2" else (Q3, 3)
    assert _status(name, bounds, number) == status


def test_a_clinician_with_activity_but_no_job_plan():
    assert "Zoë Hartley" in set(TRUTH.clinician)
    assert "Zoë Hartley" not in set(PLANS.clinician)


def test_a_job_planned_clinician_with_no_activity_in_q3():
    marsh = PLANS.set_index("clinician").loc["Ellie Marsh"]
    assert marsh.available_from == pd.Timestamp(2026, 11, 30)
    q3 = TRUTH[(TRUTH.date >= pd.Timestamp(Q3[0])) & (TRUTH.date < pd.Timestamp(Q3[1]))]
    assert "Ellie Marsh" not in set(q3.clinician)


def test_an_explicit_q3_target_overrides_the_arithmetic():
    whitfield = PLANS.set_index("clinician").loc["Marcus Whitfield"]
    # CAPA: 2 core sessions × 3 = 6; the plan says 4.
    assert whitfield.q3_target == 4.0 and whitfield.core_sessions == 2.0


def test_the_leaver_stops_offering_new_core_before_leaving():
    okafor = TRUTH[TRUTH.clinician == "Rachel Okafor"]
    leaving = PLANS.set_index("clinician").loc["Rachel Okafor"].available_to
    assert leaving == pd.Timestamp(2026, 11, 13)
    assert okafor.date.max() <= leaving
    # M6: the 4 complete weeks before the as-of date are Mon 19 Oct – Sun 15 Nov.
    window = okafor[(okafor.date >= pd.Timestamp(2026, 10, 19))
                    & (okafor.date <= pd.Timestamp(2026, 11, 15))]
    offered = window[(window.kind == "core_new") & (window.outcome != "cancelled_by_service")]
    # plan rate 12 per quarter ÷ 11.25 weeks ≈ 1.07/week; half of it over 4 weeks ≈ 2.1
    assert len(offered) < 0.5 * 12 / 11.25 * 4
    assert len(okafor[(okafor.kind == "core_new") & (okafor.date < pd.Timestamp(2026, 10, 1))]) > 20


def test_heavy_specific_load_over_plan():
    raman = TRUTH[(TRUTH.clinician == "Priya Raman") & (TRUTH.kind != "other")]
    minutes = raman.groupby(raman.kind.str.split("_").str[0]).duration_min.sum()
    actual_specific = minutes["specific"] / minutes.sum()
    plan = PLANS.set_index("clinician").loc["Priya Raman"]
    # Plan shares over Choice (1 a week, counted as half a session), Core and Specific sessions.
    planned_specific = plan.specific_sessions / (0.5 + plan.core_sessions + plan.specific_sessions)
    assert actual_specific - planned_specific > 0.10


def test_a_long_specific_episode_still_open():
    specific = TRUTH[TRUTH.kind.str.startswith("specific") & (TRUTH.date <= pd.Timestamp(AS_OF))]
    runs = specific.groupby(["client_ref", "clinician"]).date.agg(["count", "min", "max"])
    long_runs = runs[(runs["count"] > 12) & (runs["max"] > pd.Timestamp(AS_OF) - pd.Timedelta(weeks=8))]
    assert len(long_runs) >= 1
    assert (long_runs["max"] - long_runs["min"]).max() > pd.Timedelta(weeks=26)


@pytest.mark.parametrize("kind", ["core_new", "choice"])
@pytest.mark.parametrize(
    "status",
    ["reoffered_marked", "reoffered_client", "reoffered_replacement", "pending", "not_reoffered"],
)
def test_lost_slots_of_every_status(kind, status):
    assert (LOST[LOST.kind == kind].status == status).any()


@pytest.mark.parametrize("outcome", ["dna", "late_not_seen", "cancelled_by_client", "unbooked"])
def test_lost_core_new_slots_of_every_outcome(outcome):
    assert (LOST[LOST.kind == "core_new"].outcome == outcome).any()


def test_both_dna_and_was_not_brought_wording_in_the_diary():
    diary = pd.read_excel(REPO_SAMPLE / sample.SAMPLE_FILES["diary"], header=3, dtype=str)
    assert {"DNA", "Was not brought", "Arrived late but seen"} <= set(diary.Outcome.dropna())


def _internal_waits() -> pd.DataFrame:
    attended = TRUTH[TRUTH.outcome == "attended"]
    choice = attended[attended.kind == "choice"][["client_ref", "date", "clinician"]]
    core = attended[attended.kind == "core_new"][["client_ref", "date", "clinician"]]
    pairs = choice.merge(core, on="client_ref", suffixes=("_choice", "_core"))
    pairs = pairs[pairs.date_core > pairs.date_choice]
    pairs = pairs.sort_values("date_choice").groupby("client_ref").last()
    return pairs.assign(wait=(pairs.date_core - pairs.date_choice).dt.days)


def test_choice_to_core_waits_range_from_about_ten_to_sixty_days():
    waits = _internal_waits()
    assert len(waits) > 100
    assert 7 <= waits.wait.min() <= 14
    assert 45 <= waits.wait.max() <= 75
    handed_over = (waits.clinician_choice != waits.clinician_core).mean()
    assert 0.3 < handed_over < 0.95


# ---------------------------------------------------------------------------------------------
# The export files


def test_three_styles_carry_the_same_slots():
    diary = pd.read_excel(REPO_SAMPLE / sample.SAMPLE_FILES["diary"], header=3, dtype=str)
    diary = diary[diary["Slot ID"].notna()]
    appointments = pd.read_excel(REPO_SAMPLE / sample.SAMPLE_FILES["appointments"], dtype=str)
    mhsds = pd.read_csv(REPO_SAMPLE / sample.SAMPLE_FILES["mhsds"], encoding="cp1252", dtype=str)
    expected = sorted(TRUTH.slot_id)
    assert sorted(diary["Slot ID"]) == expected
    assert sorted(appointments["Appointment ID"]) == expected
    assert sorted(mhsds["CareContactId"]) == expected
    assert expected[0].startswith("0")  # ids keep a leading zero: they must be read as text


def test_diary_layout_title_rows_real_dates_and_totals():
    sheet = openpyxl.load_workbook(REPO_SAMPLE / sample.SAMPLE_FILES["diary"]).active
    rows = list(sheet.values)
    assert rows[0][0] == "Clinician Diary Report"
    assert rows[1][0].startswith("Run date: 23/11/2026")
    assert all(v is None for v in rows[2])
    assert rows[3][:2] == ("Clinician", "Appointment Date")
    first = rows[4]
    assert first[0] == "Hartley, Zoë" and hasattr(first[1], "year")
    assert rows[-1][0] == "Total" and rows[-1][4] == f"{len(TRUTH)} appointments"
    assert len(rows) == 4 + len(TRUTH) + 1


def test_appointments_style_text_dates_and_doctor_titles():
    sheet = openpyxl.load_workbook(REPO_SAMPLE / sample.SAMPLE_FILES["appointments"]).active
    rows = pd.DataFrame(list(sheet.values)[1:], columns=next(sheet.values))
    assert rows["Appt Date"].str.fullmatch(r"\d\d-[A-Z][a-z]{2}-26").all()
    assert "RAMAN, Priya (Dr)" in set(rows.Clinician)
    assert "MCDONALD, Hamish" in set(rows.Clinician) and "McDonald, Hamish" in set(rows.Clinician)
    assert set(rows.Length) == {"1h", "90m"}
    assert set(rows["Initial appointment"].dropna()) == {"Y", "N"}


def test_mhsds_csv_is_windows_1252_not_utf8():
    data = (REPO_SAMPLE / sample.SAMPLE_FILES["mhsds"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1252")
    assert "Zoë Hartley" in text
    assert b"\r\n" in data
    frame = pd.read_csv(io.StringIO(text), dtype=str)
    assert set(frame.ConsType.dropna()) == {"01", "02"}
    assert set(frame.AttendOrDNACode.dropna()) == {"2", "3", "4", "5", "6", "7", "Unbooked"}


def test_jobplans_workbook_matches_demo_jobplans():
    sheet = openpyxl.load_workbook(REPO_SAMPLE / sample.SAMPLE_FILES["jobplans"]).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("Name", "Team", "WTE")
    assert [r[0] for r in rows[1:]] == list(PLANS.clinician)
    okafor = next(r for r in rows if r[0] == "Rachel Okafor")
    assert okafor[9].date() == date(2026, 11, 13)


# ---------------------------------------------------------------------------------------------
# Benchmark data (issue 7)

BENCH = sample.generate_activity(5_000, teams=3, seed=7)


def test_generated_frame_has_the_requested_rows_and_columns():
    assert len(BENCH) == 5_000
    assert tuple(BENCH.columns) == sample.FRAME_COLUMNS
    assert BENCH.slot_id.is_unique
    assert BENCH.team.nunique() == 3
    assert BENCH.clinician.nunique() == 3 * sample.CLINICIANS_PER_TEAM
    # each clinician belongs to exactly one team
    assert (BENCH.groupby("clinician").team.nunique() == 1).all()


def test_generation_is_deterministic_per_seed():
    again = sample.generate_activity(5_000, teams=3, seed=7)
    pd.testing.assert_frame_equal(BENCH, again)
    other = sample.generate_activity(5_000, teams=3, seed=8)
    assert not BENCH.outcome.equals(other.outcome)


def test_generated_frame_has_every_kind_and_outcome():
    assert set(BENCH.kind) == {k.value for k in model.Kind}
    assert set(BENCH.outcome) == {o.value for o in model.Outcome}


def test_generated_frame_is_plausible():
    assert (BENCH.date.dt.day_of_week < 5).all()
    assert not BENCH.date.dt.date.isin(set(BANK)).any()
    # free slots only for monitored kinds; no client, no booking date on them
    free = BENCH[BENCH.outcome == "unbooked"]
    assert set(free.kind) <= {"choice", "core_new"}
    assert free.client_ref.isna().all() and free.booked_on.isna().all()
    # outcomes stop at the as-of date: after it only bookings, free slots, advance cancellations
    as_of = BENCH[BENCH.outcome.isin(["attended", "dna", "late_not_seen"])].date.max()
    later = BENCH[BENCH.date > as_of]
    assert len(later) and set(later.outcome) <= {"booked", "unbooked", "cancelled_by_client"}
    booked = BENCH[BENCH.booked_on.notna()]
    assert (booked.booked_on < booked.date).all() and booked.booked_on.max() <= as_of
    # the re-offered marker is set exactly on lost monitored slots up to the as-of date
    lost = (BENCH.kind.isin(["choice", "core_new"])
            & BENCH.outcome.isin(["dna", "late_not_seen", "cancelled_by_client", "unbooked"])
            & (BENCH.date <= as_of))
    assert (BENCH.reoffered.notna() == lost).all()


def test_generated_period_scales_with_rows_per_team():
    # 8 clinicians × 7 slots a day = 56 slots per team-day: 3 teams need 5000 / 168 → 30 days
    days = pd.bdate_range(BENCH.date.min(), BENCH.date.max())
    assert 28 <= sum(1 for d in days if d.date() not in BANK) <= 30


def test_too_many_teams_is_refused_with_a_sentence():
    with pytest.raises(ValueError, match="at most 112 teams"):
        sample.generate_activity(10, teams=200, seed=0)


def test_large_diary_workbook_layout(tmp_path):
    path = tmp_path / "bench.xlsx"
    sample.write_diary_xlsx(BENCH, path)
    rows = list(openpyxl.load_workbook(path, read_only=True).active.values)
    assert rows[0][0] == "Clinician Diary Report"
    assert rows[3] == ("Clinician", "Team", "Appointment Date", "Start Time", "Duration",
                       "Appointment Type", "Outcome", "Rebooked", "Slot ID", "NHS Number",
                       "Date Booked")
    assert len(rows) == 4 + 5_000 + 1 and rows[-1][0] == "Total"
    body = pd.DataFrame(rows[4:-1], columns=rows[3])
    assert body["Slot ID"].tolist() == BENCH.slot_id.tolist()
    assert body["Appointment Date"].dt.date.tolist() == BENCH.date.dt.date.tolist()
    # a missing value keeps its column: Rebooked is blank except on lost monitored slots
    assert body.Rebooked.notna().sum() == BENCH.reoffered.notna().sum()
    assert body["Date Booked"].notna().sum() == BENCH.booked_on.notna().sum()
    assert {"CAPA Choice", "Core Partnership - New", "Specific Partnership Review"} <= set(
        body["Appointment Type"])


def test_benchmark_csv_is_mhsds_style(tmp_path):
    path = tmp_path / "bench.csv"
    sample.write_csv(BENCH, path)
    frame = pd.read_csv(path, encoding="cp1252", dtype=str)
    assert len(frame) == 5_000
    assert set(frame.ConsType.dropna()) == {"01", "02"}
    assert frame.CareContDate.str.fullmatch(r"\d\d/\d\d/20\d\d").all()


@pytest.mark.parametrize(
    "text",
    ["Smith & Jones", "<script>", "a > b", " leading space", "trailing space ", "Zoë Núñez",
     "O'Neill", '"quoted"', "=1+1"],
)
def test_xlsx_writer_keeps_text_exactly(text, tmp_path):
    path = tmp_path / "text.xlsx"
    values = pd.Series([text, None, text], dtype="str")
    sheet = sample.Sheet("S", [["Header"]], [sample.Column("Header", "text", values)])
    sample.write_xlsx(path, [sheet])
    cells = [row[0] for row in openpyxl.load_workbook(path).active.values]
    assert cells == ["Header", text, None, text]

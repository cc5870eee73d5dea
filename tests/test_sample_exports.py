"""The demo team's three export styles, and variants a manager would produce from them, load to
the same canonical content as the generator's truth (issue 2, "done when")."""

from __future__ import annotations

import io
from dataclasses import replace

import pandas as pd
import pytest

from capa_monitor import model
from capa_monitor.loading import load_activity
from capa_monitor.sample import (
    CLIENT_REF,
    DEMO_INVALID_NHS_NUMBER,
    TEAM,
    Column,
    Sheet,
    appointments_sheet,
    demo_export_frame,
    demo_truth,
    diary_sheet,
    mhsds_frame,
    write_sample_data,
    write_xlsx,
)

KEY = b"sample-test-key"
# Columns each style carries (besides slot id, which all three have).
STYLE_FIELDS = {
    "diary": ["clinician", "date", "start", "kind", "outcome", "duration_min", "booked_on"],
    "appointments": ["clinician", "team", "date", "start", "kind", "outcome", "duration_min",
                     "booked_on"],
    "mhsds": ["clinician", "team", "date", "start", "kind", "outcome", "duration_min"],
}


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return demo_truth().set_index(model.SLOT_ID)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict[str, pd.DataFrame]:
    # Written afresh by the package's generator, so the files and the truth are one version.
    paths = write_sample_data(tmp_path_factory.mktemp("sample_data"))
    return {
        style: load_activity(paths[style].read_bytes(), paths[style].name, team=TEAM,
                             pseudonym_key=KEY)
        for style in STYLE_FIELDS
    }


def assert_matches_truth(frame: pd.DataFrame, truth: pd.DataFrame, fields: list[str]) -> None:
    got = frame.set_index(model.SLOT_ID)
    assert got.index.is_unique
    expected = truth.loc[got.index]
    assert len(got) == len(expected)
    for field in fields:
        left, right = got[field], expected[field]
        if left.dtype.kind == "M":
            left, right = left.dt.strftime("%Y-%m-%d"), right.dt.strftime("%Y-%m-%d")
        mismatch = ~(left.eq(right).fillna(False) | (left.isna() & right.isna()))
        assert not mismatch.any(), (
            f"{field}: {int(mismatch.sum())} differ, e.g. "
            f"{left[mismatch].head(3).tolist()} vs {right[mismatch].head(3).tolist()}"
        )
    assert_same_clients(got, expected)


def assert_same_clients(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """One pseudonym per client and one client per pseudonym; no key where no client."""
    pairs = pd.DataFrame(
        {"ref": expected[CLIENT_REF].to_numpy(), "key": got[model.CLIENT_KEY].to_numpy()}
    )
    assert (pairs["ref"].isna() == pairs["key"].isna()).all()
    pairs = pairs.dropna()
    assert (pairs.groupby("ref")["key"].nunique() == 1).all()
    assert (pairs.groupby("key")["ref"].nunique() == 1).all()


@pytest.mark.parametrize("style", list(STYLE_FIELDS))
def test_sample_style_loads_to_truth(style, loaded, truth):
    result = loaded[style]
    # every slot of the demo team, nothing rejected
    assert (result.report.accepted, result.report.rejected) == (len(truth), [])
    assert_matches_truth(result.frame, truth, STYLE_FIELDS[style])


def test_diary_title_and_totals_rows(loaded):
    report = loaded["diary"].report
    # "Clinician Diary Report", "Run date ...", a blank row, then the header on sheet row 4;
    # the totals row below the slots is dropped and counted
    assert report.header_row == 4
    assert report.dropped_detail == {"blank": 0, "totals/footer": 1}


def test_diary_rebooked_marker(loaded, truth):
    got = loaded["diary"].frame.set_index(model.SLOT_ID)[model.REOFFERED]
    expected = truth.loc[got.index, model.REOFFERED]
    marked = expected.notna()
    assert got[marked].astype(bool).tolist() == expected[marked].astype(bool).tolist()


def test_styles_agree_on_client_keys(loaded):
    keys = [
        loaded[s].frame.set_index(model.SLOT_ID)[model.CLIENT_KEY].sort_index()
        for s in STYLE_FIELDS
    ]
    for other in keys[1:]:
        pd.testing.assert_series_equal(keys[0], other, check_names=False)


@pytest.mark.parametrize("style", list(STYLE_FIELDS))
def test_the_mistyped_nhs_number_is_reported(style, loaded):
    result = loaded[style]
    (row,) = result.report.invalid_nhs_numbers
    assert DEMO_INVALID_NHS_NUMBER not in result.frame.astype("str").to_csv()
    assert row in set(result.frame[model.SOURCE_ROW])


def test_csv_encoding_reported(loaded):
    assert loaded["mhsds"].report.encoding == "cp1252"
    assert "Zoë Hartley" in loaded["mhsds"].report.clinicians


# --- variants a manager would plausibly produce ----------------------------------------------


@pytest.fixture(scope="module")
def subset() -> pd.DataFrame:
    """A few weeks of the demo team: enough of every kind and outcome, quick to write."""
    frame = demo_export_frame()
    return frame[frame[model.DATE] < "2026-05-01"].reset_index(drop=True)


COVER = Sheet("Cover", [["Northfield CAMHS activity"], ["Clinician", "Appointments"],
                        ["All", "many"]], [])


def xlsx_bytes(*sheets: Sheet) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, list(sheets), title="variant")
    return buffer.getvalue()


def reshape(sheet: Sheet, *, rename: dict[str, str], extra: bool) -> Sheet:
    """Columns reversed, headers renamed, a column the loader does not know added."""
    body = list(reversed(sheet.body))
    body = [replace(c, header=rename.get(c.header, c.header)) for c in body]
    if extra:
        body.insert(2, Column("Room", "text", pd.Series("Room 4", index=body[0].values.index)))
    header = [c.header for c in body]
    top = [*sheet.top_rows[:-1], header]
    return replace(sheet, body=body, top_rows=top, bottom_rows=())


XLSX_VARIANTS = {
    "diary-reordered-renamed-cover": (
        diary_sheet, {"Appointment Date": "Appt. date", "Clinician": "HCP"}, True, True,
    ),
    "diary-extra-column": (diary_sheet, {}, True, False),
    "appointments-renamed-cover": (
        appointments_sheet, {"Appointment Type": "Clinic type", "Attendance": "Status"}, False,
        True,
    ),
    "appointments-reordered-extra": (appointments_sheet, {}, True, False),
}


@pytest.mark.parametrize("variant", list(XLSX_VARIANTS))
def test_xlsx_variants_load_to_truth(variant, subset, truth):
    build, rename, extra, cover = XLSX_VARIANTS[variant]
    sheet = reshape(build(subset), rename=rename, extra=extra)
    data = xlsx_bytes(COVER, sheet) if cover else xlsx_bytes(sheet)
    result = load_activity(data, f"{variant}.xlsx", team=TEAM, pseudonym_key=KEY)
    assert result.report.sheet == sheet.name
    assert result.report.rejected == []
    style = variant.split("-")[0]
    assert_matches_truth(result.frame, truth, STYLE_FIELDS[style])
    if extra:
        assert "Columns not used: 'Room'." in result.report.warnings


CSV_VARIANTS = [
    # (encoding written, encoding the reader should report, delimiter)
    ("cp1252", "cp1252", ","),
    ("utf-8", "utf-8", ";"),
    ("utf-8-sig", "utf-8-sig", "\t"),
    ("utf-16", "utf-16", ","),
]


@pytest.mark.parametrize(("encoding", "reported", "delimiter"), CSV_VARIANTS)
def test_csv_variants_load_to_truth(encoding, reported, delimiter, subset, truth):
    table = mhsds_frame(subset)
    table = table[list(reversed(table.columns))].rename(columns={"CareProfName": "Staff Name"})
    table.insert(3, "Ward", "Caf\u00e9 room")  # not ASCII: the encodings really differ
    text = table.to_csv(index=False, sep=delimiter, lineterminator="\r\n")
    result = load_activity(text.encode(encoding), "variant.csv", pseudonym_key=KEY)
    assert result.report.encoding == reported
    assert result.report.columns["clinician"] == "Staff Name"
    assert_matches_truth(result.frame, truth, STYLE_FIELDS["mhsds"])

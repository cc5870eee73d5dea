"""A manager's month in a real browser (issue 5), in local mode: upload the export, confirm,
import the job plans, read the quarterly review, download the shortfall list as XLSX and read
it back; every page opens and is photographed.

Expected figures, worked out by hand from ``sample_data/northfield_diary.xlsx`` and
``northfield_jobplans.xlsx`` with the spec's default settings:

* rows: the header is on sheet row 4 and the last row is 2095, so 2095 - 4 = 2091 rows are
  read; the last is the "Total" footer ("2090 appointments"), dropped, leaving 2090 to store.
* as-of date: the latest Attended / DNA / Was not brought / Arrived late row is 20 Nov 2026,
  so the default quarter is 2026/27 Q3 (1 Oct - 31 Dec 2026).
* working days (England): Q3 has 22 (Oct) + 21 (Nov) + 23 (Dec) - 25 and 28 Dec = 64; to the
  as-of date 22 + 15 (2-20 Nov) = 37; Okafor, leaving 13 Nov, is available 22 + 10 = 32.
* target = core sessions x 2 x 11.25 / 7.5 = 3 x core sessions, unless the plan gives one.
* delivered = "Core Partnership - New" rows of 1 Oct - 20 Nov with outcome Attended or
  "Arrived late but seen" (both ``attended``, spec §3):
  O'Neill 1, 5, 14, 23, 28, 29, 30 Oct, 2, 9, 12 (two), 16 Nov = 12;
  McDonald 2, 6, 13, 20, 27 Oct, 17 Nov = 6; Raman 13, 27 Oct = 2; Okafor 5 Oct = 1;
  Hartley 6, 13, 20 Oct, 3, 10 Nov = 5; Whitfield 4; Reid 11.
* so: O'Neill 12 >= 12 x 37/64 = 6.9375, green; McDonald 6 >= 0.8 x 6.9375 = 5.55 but
  < 6.9375, amber, shortfall 0.9375; Raman target 9, expected 9 x 37/64 = 5.203125,
  2 < 4.1625, red; Okafor expected 12 x 32/64 = 6, 1 < 4.8, red; Hartley has no plan,
  no_target; Whitfield 4 >= 4 x 37/64; Reid 11 >= 6.9375; Marsh starts 30 Nov, 0 expected:
  all three green. Part 1 of the shortfall list is the amber, red and no_target rows (§6).
* part 2 holds Okafor's new Core Partnership slot 04101482 of 8 Oct ("Cancelled by patient",
  Rebooked "N"): her client (9990030367) has no later new Core slot within 28 days, she has
  no later new Core slot at all, and 8 Oct + 28 days = 5 Nov is before 20 Nov, so it is not
  pending but not re-offered (§5 M2).
"""

from __future__ import annotations

import time
from datetime import date, datetime

import openpyxl
import pytest
from browser_support import (
    REPO,
    browser_page,
    chromium_browser,
    dashboard,
    expect_no_app_error,
    screenshot,
    wait_for_app,
)

from capa_monitor.auth import LOCAL_EMAIL
from capa_monitor.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAMPLE = REPO / "sample_data" / "northfield_diary.xlsx"
JOBPLANS = REPO / "sample_data" / "northfield_jobplans.xlsx"
TEAM = "Northfield CAMHS"
ROWS_TO_STORE = 2090
PLANS_IN_FILE = 7
UNKNOWN_TYPES_DOUBT = "330 of 2090 appointment types (16%) are not recognised"
QUARTER = "2026/27 Q3"
KNOWN_CLINICIAN = "Aoife O'Neill"

#: Part 1 of the shortfall list: clinician -> (status, target, expected to date, delivered,
#: shortfall, leaving date), from the arithmetic in the module docstring.
FLAGGED = {
    "Hamish McDonald": ("slightly behind", 12, 6.9375, 6, 0.9375, None),
    "Priya Raman": ("behind", 9, 5.203125, 2, 3.203125, None),
    "Rachel Okafor": ("behind", 12, 6.0, 1, 5.0, date(2026, 11, 13)),
    "Zoë Hartley": ("no target", None, None, 5, None, None),
}
NOT_REOFFERED_SLOT = "04101482"

SHORTFALL_SHEETS = ["About", "Below target", "Not re-offered", "Next quarter diary"]
PART1_HEADERS = ("Team", "Clinician", "Status", "Why", "Also in", "Target (quarter)",
                 "Expected to date", "Delivered", "Shortfall", "Lost slots", "Not re-offered",
                 "Pending", "Start / leaving", "Leaving date")
PART2_HEADERS = ("Team", "Clinician", "Date", "Time", "Type", "Outcome", "Slot id (export)",
                 "Evidence")
#: The pages not visited above, by navigation title.
OTHER_PAGES = ("Balance & flow", "Looking ahead", "Trends", "Settings", "Audit log")
#: Most Tab presses it may take from the top of the page to the quarter picker.
MAX_TABS = 40


@pytest.fixture(scope="module")
def local_app(tmp_path_factory):
    if not SAMPLE.is_file():
        pytest.fail(f"{SAMPLE} is missing: run `python -m capa_monitor.sample sample_data`",
                    pytrace=False)
    workdir = tmp_path_factory.mktemp("flow")
    with chromium_browser() as browser, dashboard(workdir) as app:
        yield app, browser


def open_page(page, app, title: str) -> None:
    """Follow the navigation link ``title`` and wait for the page's heading."""
    page.get_by_role("navigation").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, level=1).wait_for()
    wait_for_app(page)
    expect_no_app_error(page, app.log)


def test_manager_uploads_reviews_and_downloads_the_shortfall_list(local_app, tmp_path):
    app, browser = local_app
    with browser_page(browser, "flow") as page:
        page.goto(app.url)
        wait_for_app(page)
        expect_no_app_error(page, app.log)
        page.get_by_text("Local mode — sign-in is not set up", exact=False).first.wait_for()
        screenshot(page, "flow-01-first-run")

        open_page(page, app, "Upload")
        choose_file(page, "Activity exports", SAMPLE)
        team = page.get_by_role("textbox", name="Team for rows that have none")
        team.fill(TEAM)
        team.press("Enter")
        page.get_by_text(f"Storing will keep {ROWS_TO_STORE} rows for {TEAM}").wait_for()
        expect_no_app_error(page, app.log)
        screenshot(page, "flow-02-upload-before-confirming")
        # 330 of the 2090 rows are team meetings and consultations, types no rule knows
        # (16 % > 5 %): a doubtful reading, stored once the manager has checked it.
        page.get_by_text(UNKNOWN_TYPES_DOUBT, exact=False).first.wait_for()
        page.get_by_text("I have checked").click()
        page.get_by_role("button", name="Confirm and store").click()
        page.get_by_test_id("stAlertContentSuccess").get_by_text("Stored as upload 1").wait_for()
        screenshot(page, "flow-03-upload-stored")

        open_page(page, app, "Job plans")
        page.get_by_role("tab", name="Import / export").click()
        choose_file(page, "Job-plan spreadsheet", JOBPLANS)
        page.get_by_role("button", name="Import these plans").click()
        page.get_by_text(f"Imported {PLANS_IN_FILE} job plans").wait_for()
        screenshot(page, "flow-03b-job-plans-imported")

        # The quarterly review defaults to the quarter of the latest attended or missed slot.
        open_page(page, app, "Quarterly review")
        page.get_by_text(f"{QUARTER} (01 Oct 2026 – 31 Dec 2026)").wait_for()
        page.get_by_text(f"{KNOWN_CLINICIAN} — ", exact=False).first.wait_for()
        # The delivery chart draws after the script run; wait for its title (SVG text).
        page.get_by_text("delivered against expected to date").first.wait_for()
        screenshot(page, "flow-04-quarterly-review")
        keyboard_reaches_the_quarter_picker(page, app)

        open_page(page, app, "Shortfalls")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download XLSX").click()
        download = download_info.value
        assert download.suggested_filename == "shortfalls 2026-27 Q3.xlsx"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        screenshot(page, "flow-05-shortfalls")

        book = openpyxl.load_workbook(saved, read_only=True)
        assert book.sheetnames == SHORTFALL_SHEETS
        part1 = list(book["Below target"].iter_rows(values_only=True))
        part2 = list(book["Not re-offered"].iter_rows(values_only=True))
        assert part1[0] == PART1_HEADERS
        assert part2[0] == PART2_HEADERS
        rows = {row[1]: dict(zip(PART1_HEADERS, row, strict=True)) for row in part1[1:]}
        assert set(rows) == set(FLAGGED)
        for clinician, (status, target, expected, delivered, shortfall, leaving) in (
            FLAGGED.items()
        ):
            row = rows[clinician]
            assert row["Team"] == TEAM
            assert row["Status"] == status, clinician
            assert row["Target (quarter)"] == target, clinician
            assert row["Expected to date"] == approx_or_none(expected), clinician
            assert row["Delivered"] == delivered, clinician
            assert row["Shortfall"] == approx_or_none(shortfall), clinician
            assert as_date(row["Leaving date"]) == leaving, clinician
        assert rows["Zoë Hartley"]["Why"] == "no job plan"
        slots = {row[6]: dict(zip(PART2_HEADERS, row, strict=True)) for row in part2[1:]}
        okafor_slot = slots[NOT_REOFFERED_SLOT]
        assert okafor_slot["Clinician"] == "Rachel Okafor"
        assert as_date(okafor_slot["Date"]) == date(2026, 10, 8)
        assert okafor_slot["Type"] == "new Core Partnership"
        assert okafor_slot["Outcome"] == "cancelled by family"
        assert download_audited(app.database_url) == [LOCAL_EMAIL]

        # The review page's pack: made when clicked, with the earlier quarters it needs read
        # then (the page itself reads only its quarter's window).
        open_page(page, app, "Quarterly review")
        with page.expect_download(timeout=60_000) as pack_info:
            page.get_by_role("button", name="Download the review pack (PDF)").click()
        pack = tmp_path / pack_info.value.suggested_filename
        pack_info.value.save_as(pack)
        assert pack.name == "review pack 2026-27 Q3.pdf"
        assert pack.read_bytes().startswith(b"%PDF")
        assert download_audited(app.database_url) == [LOCAL_EMAIL, LOCAL_EMAIL]

        # Every other page opens on this data without an error, with a picture of each.
        for number, title in enumerate(OTHER_PAGES, start=6):
            open_page(page, app, title)
            screenshot(page, f"flow-{number:02d}-{title}")


def choose_file(page, uploader_label: str, path) -> None:
    """Pick ``path`` in the uploader labelled ``uploader_label``, through its file chooser."""
    with page.expect_file_chooser() as chooser:
        # exact: the hidden file input is also a button, named "file upload"
        page.get_by_label(uploader_label).get_by_role("button", name="Upload",
                                                      exact=True).click()
    chooser.value.set_files(path)


def approx_or_none(expected):
    return None if expected is None else pytest.approx(expected)


def as_date(value):
    return value.date() if isinstance(value, datetime) else value


def download_audited(database_url: str) -> list[str]:
    """Users of the shortfall downloads in the audit log (the click's callback writes it)."""
    store = Store.open(database_url)
    deadline = time.monotonic() + 10
    while True:
        audit = store.audit()
        users = audit.loc[audit["action"] == "download", "user"].tolist()
        if users or time.monotonic() > deadline:
            return users
        time.sleep(0.25)


def keyboard_reaches_the_quarter_picker(page, app) -> None:
    """On a fresh load of the review (the default page), Tab from the top of the document
    reaches the quarter picker and the arrow keys open it."""
    page.goto(app.url)
    wait_for_app(page)
    quarter = page.get_by_role("combobox", name="Quarter")
    quarter.wait_for()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if quarter.evaluate("element => element === document.activeElement"):
            break
    else:
        focused = page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)")
        pytest.fail(f"{MAX_TABS} Tab presses never reached the quarter picker; focus: {focused}")
    page.keyboard.press("ArrowDown")
    page.get_by_role("option", name=QUARTER).first.wait_for()
    screenshot(page, "flow-04b-quarter-picker-by-keyboard")
    page.keyboard.press("Escape")

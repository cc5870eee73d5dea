"""A manager's month in a real browser (issue 5), in local mode: upload the export, confirm,
read the quarterly review, download the shortfall list as XLSX and read it back.

Expected figures, worked out by hand from ``sample_data/northfield_diary.xlsx``:

* rows: the header is on sheet row 4 and the last row is 2095, so 2095 - 4 = 2091 rows are
  read; the last is the "Total" footer ("2090 appointments"), dropped, leaving 2090 to store.
* as-of date: the latest Attended / DNA / Was not brought / Arrived late row is 20 Nov 2026,
  so the default quarter is 2026/27 Q3 (1 Oct - 31 Dec 2026).
* Aoife O'Neill ("O'Neill, Aoife"), "Core Partnership - New" rows dated 1 Oct - 20 Nov 2026
  whose outcome is Attended or "Arrived late but seen" (both ``attended``, spec §3): 1, 5, 14,
  23, 28, 29, 30 Oct and 2, 9, 12 (two), 16 Nov = 12 delivered (the DNA / Was not brought
  rows of 12, 15, 19 and 26 Oct are lost slots, not deliveries).
* No job plans are loaded, so every clinician with activity has status ``no_target`` and is
  listed in part 1 of the shortfall list as "No job plan" with no target (spec §5, §6).
"""

from __future__ import annotations

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

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAMPLE = REPO / "sample_data" / "northfield_diary.xlsx"
TEAM = "Northfield CAMHS"
ROWS_TO_STORE = 2090
QUARTER = "2026/27 Q3"
KNOWN_CLINICIAN = "Aoife O'Neill"
KNOWN_DELIVERED = 12
#: The seven clinicians in the diary, names normalised ("Hartley, Zoë" -> "Zoë Hartley").
CLINICIANS = {"Zoë Hartley", "Hamish McDonald", "Aoife O'Neill", "Rachel Okafor",
              "Priya Raman", "Callum Reid", "Marcus Whitfield"}

SHORTFALL_SHEETS = ["About", "Below target", "Not re-offered"]
PART1_HEADERS = ("Team", "Clinician", "Status", "Target (quarter)", "Expected to date",
                 "Delivered", "Shortfall", "Lost slots", "Not re-offered", "Pending",
                 "Leaving date")
PART2_HEADERS = ("Team", "Clinician", "Date", "Kind", "Outcome", "Slot id", "Evidence")
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
        page.get_by_text("Local mode:", exact=False).first.wait_for()
        screenshot(page, "flow-01-first-run")

        # Upload: choose the file as a user does (the uploader's button opens a file chooser).
        open_page(page, app, "Upload")
        with page.expect_file_chooser() as chooser:
            page.get_by_label("Activity exports").get_by_role("button", name="Upload",
                                                              exact=True).click()
        chooser.value.set_files(SAMPLE)
        team = page.get_by_role("textbox", name="Team for rows that have none")
        team.fill(TEAM)
        team.press("Enter")
        page.get_by_text(f"Storing will keep {ROWS_TO_STORE} rows for {TEAM}").wait_for()
        expect_no_app_error(page, app.log)
        screenshot(page, "flow-02-upload-before-confirming")
        page.get_by_role("button", name="Confirm and store").click()
        page.get_by_text("Stored as upload 1").wait_for()
        screenshot(page, "flow-03-upload-stored")

        # The quarterly review defaults to the quarter of the latest attended or missed slot.
        open_page(page, app, "Quarterly review")
        page.get_by_text(f"{QUARTER} (01 Oct 2026 – 31 Dec 2026)").wait_for()
        page.get_by_text(f"{KNOWN_CLINICIAN} — ", exact=False).first.wait_for()
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
        assert set(rows) == CLINICIANS
        known = rows[KNOWN_CLINICIAN]
        assert known["Team"] == TEAM
        assert known["Status"] == "No job plan"
        assert known["Target (quarter)"] is None
        assert known["Delivered"] == KNOWN_DELIVERED


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

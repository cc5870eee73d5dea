"""Access by team in a real browser through a real OIDC sign-in (issue 14).

oidc-provider-mock runs on loopback; the store holds two teams before the app starts:

* upload 1 ``north.csv``: Ann Able, CAMHS North, new Core Partnerships in July 2026;
* upload 2 ``south.csv``: Ben Baker, CAMHS South, the same;
* upload 3 ``trust.csv``: one August slot of each, in one file (both teams);
* job plans for both; Lee Lead on the access list as team manager of CAMHS North.

People: Ada (admin by configuration), Amira (team member of North by the app role
``CAPA.North.Member``, mapped in ``[capa.token_roles]``), Lee (team manager of North by the
access list), Rosa (service lead by the built-in ``service_lead`` app role), Nia (nobody has
given her access yet). What each may see and do is the issue's table; every refused attempt
ends up in the audit log.
"""

from __future__ import annotations

import re
import time

import pytest
from browser_support import (
    auth_secrets,
    browser_page,
    chromium_browser,
    dashboard,
    expect_no_app_error,
    free_port,
    oidc_provider,
    screenshot,
    wait_for_app,
)
from conftest import make_activity, make_load_result, plans_frame
from test_browser_flow import choose_file, open_page
from test_browser_signin import navigation_links, sign_in

from capa_monitor.store import Store, access_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NORTH, SOUTH = "CAMHS North", "CAMHS South"
ADMIN = {"sub": "ada-admin", "email": "ada.admin@northfield.example", "name": "Ada Admin"}
MEMBER = {"sub": "amira-member", "email": "amira.haddad@northfield.example",
          "name": "Amira Haddad", "roles": ["CAPA.North.Member"]}
MANAGER = {"sub": "lee-manager", "email": "lee.lead@northfield.example", "name": "Lee Lead"}
LEAD = {"sub": "rosa-lead", "email": "rosa.okafor@northfield.example", "name": "Rosa Okafor",
        "roles": ["service_lead"]}
NEWCOMER = {"sub": "nia-newcomer", "email": "nia.new@northfield.example",
            "name": "Nia Newcomer"}
TOKEN_ROLES = f'\n[capa.token_roles]\n"CAPA.North.Member" = "team_member:{NORTH}"\n'

# NHS numbers from the 999 test range with valid check digits (privacy.py).
CLIENTS = ["9990000018", "9990000026", "9990000034", "9990000042", "9990000050", "9990000069"]
# Lee's September file: two North rows and one South row (the South row is refused).
SEPTEMBER = (
    "RiO ID,NHS Number,Appointment ID,Appointment Date,Start Time,Clinician,Team,"
    "Appointment Type,Outcome\n"
    f"R1,{CLIENTS[0]},A200,02/09/2026,09:30,Ann Able,{NORTH},Core Partnership - New,Attended\n"
    f"R2,{CLIENTS[1]},A201,09/09/2026,09:30,Ann Able,{NORTH},Core Partnership - New,Attended\n"
    f"R3,{CLIENTS[2]},A202,03/09/2026,09:30,Ben Baker,{SOUTH},Core Partnership - New,Attended\n"
)


def _rows(clinician: str, team: str, days: list[int], month: int, client: int) -> list[dict]:
    return [{"slot_id": f"{team[-5:]}-{month}-{day}", "clinician": clinician, "team": team,
             "date": f"2026-{month:02d}-{day:02d}", "start": "09:30",
             "client_key": f"k{client + i}"} for i, day in enumerate(days)]


def fill(url: str) -> None:
    store = Store.open(url)
    for name, rows in (
        ("north.csv", _rows("Ann Able", NORTH, [1, 8, 15], 7, 0)),
        ("south.csv", _rows("Ben Baker", SOUTH, [2, 9, 16], 7, 10)),
        ("trust.csv", _rows("Ann Able", NORTH, [5], 8, 20) + _rows("Ben Baker", SOUTH, [6], 8, 30)),
    ):
        store.ingest(make_load_result(make_activity(rows), file_name=name), user="setup")
    store.save_jobplans(plans_frame([
        {"clinician": "Ann Able", "team": NORTH, "core_sessions": 2.0},
        {"clinician": "Ben Baker", "team": SOUTH, "core_sessions": 2.0},
    ]), user="setup", source="test")
    access_store.grant(store, MANAGER["email"], "team_manager", frozenset({NORTH}), by="setup")
    store.close()


@pytest.fixture(scope="module")
def two_teams_app(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("access")
    fill(f"sqlite:///{workdir / 'capa.sqlite'}")  # the store the dashboard fixture uses
    app_port = free_port()
    with (
        chromium_browser() as browser,
        oidc_provider([ADMIN, MEMBER, MANAGER, LEAD, NEWCOMER], workdir) as provider,
        dashboard(workdir, port=app_port,
                  secrets=auth_secrets(app_port, provider, [ADMIN["email"]]) + TOKEN_ROLES) as app,
    ):
        yield app, browser


def go(page, app, address: str) -> None:
    page.goto(f"{app.url}/{address}")
    wait_for_app(page)
    expect_no_app_error(page, app.log)


def labels(page) -> set[str]:
    return {re.sub(r"^\W+", "", link.strip().splitlines()[-1]).strip()
            for link in navigation_links(page)}


def review_clinicians(page) -> list[str]:
    """The clinicians of the review shown, from its drill-down picker (the tables are drawn
    on a canvas, so their text is not in the page)."""
    page.get_by_role("heading", name="Quarterly review", level=1).wait_for()
    picker = page.get_by_role("combobox", name="Clinician")
    picker.click()
    page.get_by_role("option").first.wait_for()
    names = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    return names


def team_options(page) -> list[str]:
    """The team picker's options, opened as a reader would."""
    page.get_by_test_id("stMultiSelect").first.click()
    page.get_by_role("option").first.wait_for()
    options = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    return [o for o in options if o != "Select all"]  # Streamlit's own, above two or more


def refused(page, words: str) -> None:
    page.get_by_text(words, exact=False).first.wait_for()
    assert page.locator("input[type=file]").count() == 0


def test_team_member_sees_only_their_teams_clinicians(two_teams_app):
    app, browser = two_teams_app
    with browser_page(browser, "access-member") as page:
        sign_in(page, app, MEMBER)
        assert labels(page).isdisjoint({"Upload", "Shortfalls", "Job plans", "Settings",
                                         "Audit log", "Access"})
        go(page, app, "review")
        assert review_clinicians(page) == ["Ann Able"]
        assert team_options(page) == [NORTH]
        assert page.get_by_text("Ben Baker").count() == 0
        screenshot(page, "access-01-member-review")
        # A query parameter naming the other team changes nothing.
        go(page, app, f"review?teams={SOUTH.replace(' ', '+')}&team={SOUTH.replace(' ', '+')}")
        assert review_clinicians(page) == ["Ann Able"]
        # Pages by their address: each refuses, saying who she is and what she may do.
        go(page, app, "upload")
        refused(page, "You may not upload: signed in as Amira Haddad, you are team member "
                f"for {NORTH}")
        go(page, app, "audit")
        refused(page, "You may not read the audit log")
        screenshot(page, "access-02-member-refused")


def test_manager_of_north_cannot_change_or_download_south(two_teams_app, tmp_path):
    app, browser = two_teams_app
    september = tmp_path / "september.csv"
    september.write_text(SEPTEMBER, encoding="utf-8")
    with browser_page(browser, "access-manager") as page:
        sign_in(page, app, MANAGER)
        shown = labels(page)
        assert {"Upload", "Shortfalls", "Job plans", "Audit log"} <= shown
        assert shown.isdisjoint({"Settings", "Access"})

        open_page(page, app, "Upload")
        history = page.get_by_test_id("stDataFrame").first
        history.wait_for()
        # South's own upload is not listed (nor named anywhere on the page).
        assert page.get_by_text("south.csv").count() == 0
        page.get_by_role("combobox", name="Remove an upload", exact=False).click()
        removable = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
        assert removable == ["upload 3: trust.csv", "upload 1: north.csv"]
        page.get_by_role("option", name="upload 3: trust.csv").click()
        page.get_by_text("Upload 3 also holds rows of a team outside yours, so you may not "
                         "remove it: ask an admin.").wait_for()
        screenshot(page, "access-03-manager-remove-refused")

        # His September file has a South row: it is refused, the North rows are stored.
        choose_file(page, "Activity exports", september)
        page.get_by_text(f"Not stored, outside your teams: {SOUTH} (1 row).").wait_for()
        page.get_by_text("Storing will keep **2**", exact=False).or_(
            page.get_by_text("Storing will keep 2", exact=False)).first.wait_for()
        screenshot(page, "access-04-manager-upload-two-teams")
        page.get_by_role("button", name="Confirm and store").click()
        page.get_by_test_id("stAlertContentSuccess").get_by_text("Stored as upload 4").wait_for()

        open_page(page, app, "Shortfalls")
        assert team_options(page) == [NORTH]
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        shortfalls = download.value.path().read_text(encoding="utf-8-sig")
        assert "Ben Baker" not in shortfalls and SOUTH not in shortfalls

        go(page, app, "settings_page")
        refused(page, "You may not change the settings")
        go(page, app, "access")
        refused(page, "You may not change who has access")
    stored = Store.open(app.database_url)
    september_rows = stored.activity(teams=[SOUTH])
    assert (september_rows["date"].dt.month == 9).sum() == 0  # the South row was not stored
    assert (stored.activity(teams=[NORTH])["date"].dt.month == 9).sum() == 2


def test_service_lead_reads_both_teams_and_changes_nothing(two_teams_app):
    app, browser = two_teams_app
    with browser_page(browser, "access-lead") as page:
        sign_in(page, app, LEAD)
        shown = labels(page)
        assert {"Shortfalls", "Audit log"} <= shown
        assert shown.isdisjoint({"Upload", "Job plans", "Settings", "Access"})
        go(page, app, "review")
        assert review_clinicians(page) == ["Ann Able", "Ben Baker"]
        assert team_options(page) == [NORTH, SOUTH]
        screenshot(page, "access-05-service-lead-review")
        go(page, app, "upload")
        refused(page, "You may not upload: signed in as Rosa Okafor, you are service lead "
                "for every team")


def test_admin_grants_a_role_and_the_grantees_next_page_load_shows_it(two_teams_app):
    app, browser = two_teams_app
    with browser_page(browser, "access-newcomer") as newcomer, \
            browser_page(browser, "access-admin") as admin:
        sign_in(newcomer, app, NEWCOMER)
        newcomer.get_by_text("but not on the access list yet", exact=False).wait_for()
        assert newcomer.get_by_role("navigation").count() == 0

        sign_in(admin, app, ADMIN)
        open_page(admin, app, "Access")
        admin.get_by_label("Email (as they sign in)").fill(NEWCOMER["email"])
        admin.get_by_role("combobox", name="Role").click()
        admin.get_by_role("option", name="team member", exact=False).click()
        admin.get_by_test_id("stMultiSelect").filter(has_text="Teams").click()
        admin.get_by_role("option", name=SOUTH).click()
        admin.keyboard.press("Escape")
        admin.get_by_role("button", name="Give access").click()
        admin.get_by_text(f"{NEWCOMER['email']} is now team member for {SOUTH}.").wait_for()
        screenshot(admin, "access-06-admin-granted")

        go(newcomer, app, "review")  # her next page load
        assert review_clinicians(newcomer) == ["Ben Baker"]
        screenshot(newcomer, "access-07-newcomer-after-grant")


def test_every_refused_attempt_is_in_the_audit_log(two_teams_app):
    app, browser = two_teams_app
    log = Store.open(app.database_url).audit()
    refusals = log[log["action"] == "refused"]
    by_person = refusals.groupby("user").size().to_dict()
    # Amira: the upload and audit pages; Lee: the South row of his file, the settings and
    # access pages (his look at removing upload 3 was a preview, refused but no attempt);
    # Rosa: the upload page; Nia: her sign-in before she was given access.
    assert by_person == {MEMBER["email"]: 2, MANAGER["email"]: 3, LEAD["email"]: 1,
                         NEWCOMER["email"]: 1}
    downloads = log[log["action"] == "download"]
    assert downloads["details"].str.contains(NORTH).all()
    assert not downloads["details"].str.contains(SOUTH).any()
    assert "access granted" in set(log["action"])
    assert "review viewed" in set(log["action"])
    with browser_page(browser, "access-audit") as page:
        sign_in(page, app, ADMIN)
        open_page(page, app, "Audit log")
        # The table is drawn on a canvas; its action filter lists what the log holds.
        page.get_by_test_id("stMultiSelect").filter(has_text="Actions").click()
        page.get_by_role("option", name="Refused attempt").click()
        page.keyboard.press("Escape")
        page.get_by_text("7 of ", exact=False).first.wait_for()  # the seven refusals
        screenshot(page, "access-08-audit-refusals")




@pytest.fixture
def impatient_app(two_teams_app, tmp_path):
    """An app that asks to sign in again after 6 seconds without a page run (the module's
    browser: Playwright runs one at a time)."""
    browser = two_teams_app[1]
    app_port = free_port()
    with (
        oidc_provider([ADMIN], tmp_path) as provider,
        dashboard(tmp_path, port=app_port,
                  secrets=auth_secrets(app_port, provider, [ADMIN["email"]]).replace(
                      "[capa]\n", "[capa]\nidle_timeout_minutes = 0.1\n")) as app,
    ):
        yield app, browser


def test_an_idle_session_is_asked_to_sign_in_again(impatient_app):
    app, browser = impatient_app
    with browser_page(browser, "access-idle") as page:
        sign_in(page, app, ADMIN)
        page.get_by_role("navigation").wait_for()
        time.sleep(8)
        go(page, app, "review")
        page.get_by_text("You have been away for more than 0.1 minutes, so please sign in "
                         "again.").wait_for()
        assert page.get_by_role("navigation").count() == 0
        screenshot(page, "access-09-idle")
        page.get_by_role("button", name="Sign in again").click()
        page.get_by_role("button", name="End session").click()
        page.get_by_role("button", name="Sign in").wait_for()

"""Every page and role through AppTest: local mode's banner, the page list by role, the team role
refused on manager pages even when reached directly, sign-in required when configured, and each
page rendering its content (or saying what to do) on an empty and on a filled store.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from conftest import DASHBOARD, VIEWS, fill_store, plans_frame, table_with, visit
from streamlit.testing.v1 import AppTest

from capa_monitor.sample import demo_jobplans
from capa_monitor.settings import Settings
from capa_monitor.store import Store
from capa_monitor.views.audit import action_words, details_text, when_text
from capa_monitor.views.settings_page import describe, setting_text
from capa_monitor.views.settings_page import problems as settings_problems

ROOT = DASHBOARD.parent
MANAGER_PAGES = ("upload", "shortfalls", "jobplans", "settings_page", "audit", "access")
EVERYONE_PAGES = ("review", "balance", "trends")
PAGE_TITLES = {
    "review": "Quarterly review",
    "balance": "Balance & flow",
    "trends": "Trends",
    "upload": "Upload",
    "shortfalls": "Shortfalls",
    "jobplans": "Job plans",
    "settings_page": "Settings",
    "audit": "Audit log",
    "access": "Access",
}
AUTH_SECRETS = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "not-a-secret",
    "client_id": "capa",
    "client_secret": "not-a-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
MANAGER_EMAIL = "lead@example.org"
SIGNED_IN = {
    "manager": {"is_logged_in": True, "email": MANAGER_EMAIL, "name": "Lee Lead"},
    # a team member of North by an app role the trust maps (issue 14)
    "team": {"is_logged_in": True, "email": "tam@example.org", "name": "Tam Team",
             "roles": ["CAPA.North.Member"]},
}
# A team of two over three weeks of July 2026: enough for every page to have something to show.
ROWS = [
    {"clinician": "Ann Able", "date": "2026-07-01", "kind": "choice", "client_key": "c1"},
    {"clinician": "Ben Baker", "date": "2026-07-08", "kind": "core_new", "client_key": "c1"},
    {"clinician": "Ann Able", "date": "2026-07-09", "kind": "core_new", "outcome": "dna",
     "client_key": "c2"},
    {"clinician": "Ann Able", "date": "2026-07-10", "kind": "specific_new", "client_key": "c3",
     "duration_min": 90},
    {"clinician": "Ann Able", "date": "2026-07-20", "kind": "core_new", "client_key": "c4"},
    {"clinician": "Ann Able", "date": "2026-07-02", "kind": "choice", "client_key": "c5"},
]
PLANS = plans_frame(
    [{"clinician": "Ann Able", "team": "North", "core_sessions": 2.0, "specific_sessions": 1.0,
      "choice_per_week": 2.0}]
)


@pytest.fixture
def filled(db_url) -> str:
    fill_store(db_url, ROWS, PLANS)
    return db_url


def app(role: str | None = None, script: Path = DASHBOARD) -> AppTest:
    """The app in local mode (role None) or signed in through OIDC with a role."""
    at = AppTest.from_file(str(script), default_timeout=60)
    if role is not None:
        at.secrets["auth"] = AUTH_SECRETS
        at.secrets["capa"] = {"manager_emails": [MANAGER_EMAIL],
                              "token_roles": {"CAPA.North.Member": "team_member:North"}}
        at.user = SIGNED_IN[role]
    return at


def test_local_mode_shows_its_banner_and_a_manager_page_list(filled):
    at = app().run()
    banner = at.warning[0].value
    assert banner.startswith("Local mode — sign-in is not set up: this copy runs for one person "
                             "on this computer only")
    assert "secrets.toml" not in banner  # words for a manager; the file is for whoever sets up
    assert "Signed in as **Local admin** (admin for every team)" in [
        c.value for c in at.sidebar.caption]
    setup = at.sidebar.expander[0]
    assert setup.label == "Setting up sign-in"
    shown = "\n".join(m.value for m in setup.markdown)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert shown and shown in readme and "secrets.toml" in shown
    visit(at, "upload")  # a manager page is in the navigation


def test_sign_in_is_required_when_configured(filled):
    at = app("manager")
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.title or at.title[0].value == "CAPA Monitor"


@pytest.mark.parametrize("page", EVERYONE_PAGES)
def test_team_role_sees_the_review_pages(filled, page):
    at = visit(app("team").run(), page)
    assert at.title[0].value == PAGE_TITLES[page]
    assert not at.error
    assert not [w for w in at.warning if w.value.startswith("Local mode")]
    assert not at.sidebar.expander  # no set-up help once sign-in is set up


@pytest.mark.parametrize("page", MANAGER_PAGES)
def test_a_manager_page_by_its_address_refuses_the_team_role_and_is_audited(filled, page):
    # Hidden from a team member's navigation, the page is still registered so that its
    # address reaches its own refusal, which the audit log keeps (issue 14).
    at = app("team").run()
    at.switch_page(f"{VIEWS}/{page}.py").run()
    assert at.error[0].value.startswith("You may not ")
    assert [t.value for t in at.title] == []
    refused = Store.open(filled).audit().query("action == 'refused'")
    assert len(refused) == 1 and refused["user"].iloc[0] == "tam@example.org"


@pytest.mark.parametrize("page", MANAGER_PAGES)
def test_a_manager_page_reached_directly_refuses_the_team_role(filled, page):
    at = app("team", ROOT / VIEWS / f"{page}.py").run()
    assert len(at.error) == 1
    assert at.error[0].value.startswith("You may not ")
    assert "signed in as Tam Team, you are team member for North" in at.error[0].value
    assert not at.title  # nothing of the page itself was drawn


@pytest.mark.parametrize("page", MANAGER_PAGES + EVERYONE_PAGES)
def test_a_signed_in_manager_reaches_every_page(filled, page):
    at = visit(app("manager").run(), page)
    assert at.title[0].value == PAGE_TITLES[page]
    assert not at.error


@pytest.mark.parametrize("page", EVERYONE_PAGES + ("shortfalls",))
def test_review_pages_on_an_empty_store_say_what_to_do(db_url, page):
    at = visit(app().run(), page)
    assert "No activity has been uploaded yet" in at.info[0].value


def test_balance_and_flow_shows_the_four_sections(filled):
    at = visit(app().run(), "balance")
    assert [h.value for h in at.header] == [
        "Core / Specific balance", "Specific drift", "Internal wait and handover",
        "Drop-off alerts",
    ]
    # Ben took over c1 from Ann's Choice 7 days later: one completed wait, a handover.
    summary = table_with(at, "handover_rate")
    everyone = summary.set_index("team").loc["All teams"]
    assert (everyone["n"], everyone["median"], everyone["handover_rate"]) == (1, 7.0, 100.0)


def test_clients_still_waiting_past_the_first_threshold_are_listed(filled):
    at = visit(app().run(), "balance")
    # As of 20 Jul, c5 (Choice on 2 Jul, no Core Partnership yet) has waited 18 days: not listed.
    assert not [s for s in at.subheader if s.value.startswith("Seen at Choice")]
    at.toggle(key="balance_as_of_manual").set_value(True).run()
    at.date_input(key="balance_as_of").set_value(pd.Timestamp("2026-08-10").date()).run()
    # 2 Jul → 10 Aug is 39 days > 28.
    assert [s.value for s in at.subheader if s.value.startswith("Seen at Choice")] == [
        "Seen at Choice, still waiting after 28 days (1)"
    ]
    listed = next(t.value for t in at.dataframe if "choice_clinician" in t.value.columns
                  and "client_key" not in t.value.columns)
    assert listed[["choice_clinician", "wait_days"]].values.tolist() == [["Ann Able", 39]]


def test_trends_label_trial_limits(filled):
    at = visit(app().run(), "trends")
    assert [h.value for h in at.header] == [
        "New Core Partnerships per week", "DNA/WNB rate per month"
    ]
    # Complete weeks from Mon 6 Jul to Sun 19 Jul (as of 20 Jul): 2 points < 12, trial limits.
    assert any(w.value.startswith("Trial limits") for w in at.warning)


def test_settings_are_saved_to_the_store_and_audited(filled):
    at = visit(app().run(), "settings_page")
    at.number_input(key="settings_reoffer_window_days").set_value(42)
    next(b for b in at.button if b.label == "Save settings").click().run()
    assert at.success[0].value == "Settings saved."
    store = Store.open(filled)
    assert store.settings().reoffer_window_days == 42
    # Every page now states the new window.
    at = visit(at, "review")
    assert "within 42 days" in at.caption[0].value


def test_audit_log_lists_what_happened_with_its_time_in_words(filled):
    store = Store.open(filled)
    store.save_settings(dataclasses.replace(store.settings(), reoffer_window_days=42),
                        user="lead@example.org")
    at = visit(app().run(), "audit")
    log = at.dataframe[0].value
    assert list(log.columns) == ["When", "Who", "What", "Details", "Period", "Rows"]
    # Newest first: the review the app opened on (issue 14: views are audited), the settings
    # change, then the job plans, then the upload.
    assert log["What"].tolist() == ["Review viewed", "Settings changed", "Job plans changed",
                                    "Upload"]
    assert log["Details"].iloc[1] == "Re-offer window: 42 days"
    upload = log.iloc[3]
    assert upload["Details"] == (
        "file north.xlsx; upload 1; teams North; rows already stored replaced")
    assert upload["Period"] == "01/07/2026 to 20/07/2026"
    # Stored UTC, shown as a date and a time of day ("Tue 1 Dec 2026, 21:17").
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}", upload["When"])


def test_audit_details_of_an_overlapping_upload_and_a_removal_are_words():
    upload = json.dumps({"file_name": "mhsds_north.csv", "upload_id": 2, "teams": ["North"],
                         "rejected": 0, "demo": False, "on_overlap": "replace",
                         "already_stored": {"1": 5}, "differing": {"1": 1},
                         "kept_as_history": 0, "source_sha256": "ab" * 32})
    assert details_text("upload", upload) == (
        "file mhsds_north.csv; upload 2; teams North; already stored: 5 rows of upload 1; "
        "of them differing: 1 row of upload 1; rows already stored replaced")
    removed = json.dumps({"upload_id": 2, "file_name": "mhsds_north.csv", "teams": ["North"],
                          "back": {"1": 5}, "demo": False})
    assert details_text("upload removed", removed) == (
        "file mhsds_north.csv; upload 2; teams North; counting again: 5 rows of upload 1")
    viewed = json.dumps({"as_of": "2026-11-20", "page": "review", "quarter": "2026/27 Q3"})
    assert details_text("review viewed", viewed) == "as of 20 Nov 2026; page review; quarter 2026/27 Q3"
    assert action_words("supersede") == "Rows replaced by a later upload"
    assert action_words("upload removed") == "Upload removed"


@pytest.mark.parametrize(
    ("at", "zone", "shown"),
    [
        # 23:30 UTC on 30 Jun is 00:30 on 1 Jul in British Summer Time.
        (datetime(2026, 6, 30, 23, 30), "Europe/London", "Wed 1 Jul 2026, 00:30"),
        # In December UK time is UTC.
        (datetime(2026, 12, 1, 9, 5), "Europe/London", "Tue 1 Dec 2026, 09:05"),
        (datetime(2026, 12, 1, 9, 5), "America/New_York", "Tue 1 Dec 2026, 04:05"),
    ],
)
def test_audit_times_are_local_words(at, zone, shown):
    assert when_text(pd.Timestamp(at), ZoneInfo(zone)) == shown


def test_job_plans_show_targets_beside_the_plans(filled):
    at = visit(app().run(), "jobplans")
    targets = table_with(at, "core_target")
    # Ann: 2 core sessions × 2 × 11.25 ÷ 7.5 = 6.0; Choice 2 a week × 11.25 = 22.5.
    assert targets[["clinician", "core_target", "choice_target"]].values.tolist() == [
        ["Ann Able", 6.0, 22.5]
    ]


def test_first_run_welcomes_and_loads_the_demo_team_in_one_click(db_url):
    at = app().run()
    assert at.title[0].value == "Welcome to CAPA Monitor"
    assert not at.exception
    at.button(key="welcome_load_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # The store is no longer empty: the review is the default page, badged as demo.
    at = app().run()
    assert at.title[0].value == "Quarterly review"
    # st.badge is drawn as badge markdown.
    assert [m.value for m in at.sidebar.markdown if "badge[" in m.value] == [
        ":orange-badge[:material/science: Demo data]"
    ]
    stored = Store.open(db_url)
    assert stored.uploads()["demo"].tolist() == [True]
    # The sample's job-plan file: every planned clinician of the demo team.
    assert sorted(stored.jobplans()["clinician"]) == sorted(demo_jobplans()["clinician"])

    at = visit(at, "upload")
    at.button(key="upload_remove_demo").click().run()
    assert at.success[0].value == "Demo data removed (1 uploads)."
    assert Store.open(db_url).date_bounds() is None


def test_a_team_member_on_an_empty_store_is_told_who_uploads(db_url):
    at = app("team").run()
    assert at.title[0].value == "Welcome to CAPA Monitor"
    assert "Your team manager uploads the monthly export" in at.info[0].value
    assert not [b for b in at.button if b.key == "welcome_load_demo"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"monitored_kinds": ("core_new", "core")},
         ["unknown kinds core; use choice, core_new, core_followup, specific_new, "
          "specific_followup, other."]),
        ({"amber_ratio": 1.1}, ["the slightly-behind share must not be above the on-track share."]),
        ({"wait_thresholds_days": ()}, ["give at least one wait threshold."]),
        ({"balance_low": 1.2}, ["capacity cannot be in balance from a share above the one it "
                                "is in balance up to."]),
        ({"holiday_subdiv": "XYZ"},
         ["no public holidays are known for GB-XYZ; use a code like GB and ENG."]),
    ],
    ids=["defaults", "unknown kind", "amber above green", "no thresholds", "balance band",
         "unknown region"],
)
def test_settings_checks(changes, expected):
    assert settings_problems(dataclasses.replace(Settings(), **changes)) == expected


def rules_shown(at: AppTest) -> pd.Series:
    """The settings page's rules table (a static table, indexed by rule): the value now."""
    return next(t.value for t in at.table if "Now" in t.value.columns)["Now"]


def test_settings_are_shown_by_their_meaning_and_unit(filled):
    at = visit(app().run(), "settings_page")
    rules = rules_shown(at)
    assert rules["Re-offer window"] == "28 days"
    assert rules["Public holidays of"] == "England & Wales"
    assert rules["The financial year starts in"] == "April"
    assert rules["On track from"] == "100 % of expected to date"
    assert rules["Slightly behind from"] == "80 % of expected to date"
    assert rules["Lost slots are watched for"] == "new Core Partnership, Choice"
    assert rules["Waits are counted past"] == "28 and 42 days"
    region = at.selectbox(key="settings_holiday_region")
    assert region.options == ["England & Wales", "Scotland", "Northern Ireland"]
    assert at.number_input(key="settings_green_ratio").value == 100.0


def test_a_region_and_a_percentage_chosen_in_words_are_saved_as_codes(filled):
    at = visit(app().run(), "settings_page")
    at.selectbox(key="settings_holiday_region").set_value(("GB", "SCT"))
    at.number_input(key="settings_amber_ratio").set_value(75.0)
    next(b for b in at.button if b.label == "Save settings").click().run()
    assert at.success[0].value == "Settings saved."
    saved = Store.open(filled).settings()
    assert (saved.holiday_country, saved.holiday_subdiv, saved.amber_ratio) == ("GB", "SCT", 0.75)
    # The summary drawn in the same run already shows the saved rules.
    rules = rules_shown(at)
    assert (rules["Public holidays of"], rules["Slightly behind from"]) == (
        "Scotland", "75 % of expected to date")


def test_a_stored_region_the_page_does_not_name_keeps_its_code(filled):
    store = Store.open(filled)
    store.save_settings(dataclasses.replace(store.settings(), holiday_subdiv="WLS"),
                        user="setup@example.org")
    at = visit(app().run(), "settings_page")
    assert at.selectbox(key="settings_holiday_region").value == ("GB", "WLS")
    assert rules_shown(at)["Public holidays of"] == "Wales"
    assert describe(dataclasses.replace(Settings(), holiday_subdiv="XYZ")).set_index(
        "Rule")["Now"]["Public holidays of"] == "GB-XYZ"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("reoffer_window_days", 28, "28 days"),
        ("fy_first_month", 1, "January"),
        ("green_ratio", 0.95, "95 % of expected to date"),
        ("dropoff_fraction", 0.5, "50 % of the planned weekly rate"),
        ("wait_thresholds_days", (28,), "28 days"),
        ("wait_thresholds_days", (14, 28, 42), "14, 28 and 42 days"),
        ("monitored_kinds", ("core_new",), "new Core Partnership"),
        ("usable_weeks_per_quarter", 11.25, "11.25 weeks"),
        ("drift_gap_weeks", 1, "1 week"),
        ("wait_thresholds_days", (1,), "1 day"),
        ("specific_margin_points", 1.0, "1 percentage point"),
        ("balance_high", 1.1, "110 % of demand"),
        ("specific_interventions", ("ADOS", "ADI-R"), "ADOS, ADI-R"),
    ],
)
def test_setting_values_in_words(name, value, shown):
    assert setting_text(name, value) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://capa:secret@127.0.0.1:1/capa",
         "postgresql+psycopg://capa:***@127.0.0.1:1/capa"),
        ("not a url", "set in CAPA_DATABASE_URL (it is not a database URL)"),
    ],
    ids=["server down", "not a URL"],
)
def test_an_unreachable_database_is_one_clear_sentence_without_its_password(
    db_url, monkeypatch, url, shown
):
    monkeypatch.setenv("CAPA_DATABASE_URL", url)
    at = app().run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert message.startswith(f"The database {shown} cannot be opened")
    assert "secret" not in message

"""Sign-in through a real OIDC provider in a real browser (issues 5 and 14): managers and team
members.

oidc-provider-mock runs on loopback with three predefined users; the dashboard's secrets point
``st.login`` at it. A manager of issue 5 (by listed email, or by the ``manager`` app role in the
ID token: both admins now) has Upload in the navigation; a team member (the ``clinician`` app
role, mapped to a team in ``[capa.token_roles]``) does not, and opening the Upload URL directly
shows the page's refusal, not the upload page.
"""

from __future__ import annotations

import re

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

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MANAGER_BY_EMAIL = {"sub": "lee-lead", "email": "lee.lead@northfield.example",
                    "name": "Lee Lead"}
MANAGER_BY_CLAIM = {"sub": "rosa-service-lead", "email": "rosa.okafor@northfield.example",
                    "name": "Rosa Okafor", "roles": ["manager"]}
TEAM_MEMBER = {"sub": "amira-clinician", "email": "amira.clinician@northfield.example",
               "name": "Amira Haddad", "roles": ["clinician"]}
MANAGER_EMAILS = ("Lee.Lead@northfield.example",)
TOKEN_ROLES = '\n[capa.token_roles]\n"clinician" = "team_member:CAMHS North"\n'

#: Pages in the navigation by role (issue 5: team sees review, balance & flow, trends only).
MANAGER_ONLY_PAGES = ("Upload", "Shortfalls", "Job plans", "Settings", "Audit log")


@pytest.fixture(scope="module")
def signed_in_app(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("signin")
    app_port = free_port()
    with (
        chromium_browser() as browser,  # first: a missing Chromium fails before servers start
        oidc_provider([MANAGER_BY_EMAIL, MANAGER_BY_CLAIM, TEAM_MEMBER], workdir) as provider,
        dashboard(workdir, port=app_port,
                  secrets=auth_secrets(app_port, provider, MANAGER_EMAILS) + TOKEN_ROLES) as app,
    ):
        yield app, browser


def sign_in(page, app, user):
    """Open the app signed out and sign in at the provider as ``user``."""
    page.goto(app.url)
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").click()
    # The provider's authorize page: one button per predefined user, named by its subject.
    page.get_by_role("button", name=user["sub"], exact=True).click()
    page.wait_for_url(f"{app.url}/**")
    wait_for_app(page)
    expect_no_app_error(page, app.log)


def navigation_links(page):
    page.get_by_role("navigation").wait_for()
    return set(page.get_by_role("navigation").get_by_role("link").all_inner_texts())


def test_signed_out_visitor_sees_only_the_sign_in_screen(signed_in_app):
    app, browser = signed_in_app
    with browser_page(browser, "signin-signed-out") as page:
        page.goto(f"{app.url}/upload")
        wait_for_app(page)
        expect_no_app_error(page, app.log)
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.get_by_text("Sign in with your organisation account").is_visible()
        assert page.get_by_role("navigation").count() == 0
        screenshot(page, "signin-01-signed-out")


@pytest.mark.parametrize(
    ("user", "shot"),
    [(MANAGER_BY_EMAIL, "signin-02-manager-by-email"),
     (MANAGER_BY_CLAIM, "signin-03-manager-by-roles-claim")],
    ids=["listed-email", "roles-claim"],
)
def test_manager_signs_in_and_can_upload(signed_in_app, user, shot):
    app, browser = signed_in_app
    with browser_page(browser, shot) as page:
        sign_in(page, app, user)
        links = navigation_links(page)
        assert set(MANAGER_ONLY_PAGES) <= {_label(link) for link in links}
        assert page.get_by_text("Local mode").count() == 0
        screenshot(page, shot)

        page.get_by_role("navigation").get_by_role("link", name="Upload").click()
        page.get_by_role("heading", name="Upload", exact=True, level=1).wait_for()
        wait_for_app(page)
        expect_no_app_error(page, app.log)
        page.get_by_text("Activity exports").wait_for()
        screenshot(page, f"{shot}-upload")


def test_team_member_cannot_reach_upload_and_can_sign_out(signed_in_app):
    app, browser = signed_in_app
    with browser_page(browser, "signin-team-member") as page:
        sign_in(page, app, TEAM_MEMBER)
        labels = {_label(link) for link in navigation_links(page)}
        assert "Quarterly review" in labels or "Welcome" in labels
        assert labels.isdisjoint(MANAGER_ONLY_PAGES)
        screenshot(page, "signin-04-team-member")

        # Typing the Upload address: the page is hidden from this user's navigation and
        # refuses by role (audited); the upload controls never render.
        page.goto(f"{app.url}/upload")
        wait_for_app(page)
        expect_no_app_error(page, app.log)
        page.get_by_text("You may not upload", exact=False).first.wait_for()
        assert page.get_by_role("heading", name="Upload", exact=True).count() == 0
        assert page.locator("input[type=file]").count() == 0
        screenshot(page, "signin-05-team-member-upload-url")

        # Signing out clears Streamlit's identity cookie and ends the session at the provider
        # (its end-session page asks for a click), then the app is signed out again.
        page.goto(app.url)
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="End session").click()
        page.get_by_role("button", name="Sign in").wait_for()
        page.goto(app.url)
        wait_for_app(page)
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.get_by_role("navigation").count() == 0


def _label(link_text: str) -> str:
    # A navigation link's text may start with its icon (an emoji); the title follows it.
    return re.sub(r"^\W+", "", link_text.strip().splitlines()[-1]).strip()

"""Sign-in and roles (issue 5): the pure role and loopback rules, then the gate under AppTest."""

from __future__ import annotations

import pytest
import streamlit
from streamlit import config as st_config
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest

from capa_monitor.auth import MANAGER, TEAM, role_for, serves_loopback_only

MANAGERS = ("lead@northfield.example", "Deputy.Lead@Northfield.example")


@pytest.mark.parametrize(
    ("email", "claims", "expected"),
    [
        # listed email, compared case-insensitively and ignoring surrounding spaces
        ("lead@northfield.example", {}, MANAGER),
        ("LEAD@Northfield.Example", {}, MANAGER),
        (" deputy.lead@northfield.example ", {}, MANAGER),
        # a roles claim naming manager, as a list (Entra ID app roles) or a string
        ("amira.clinician@northfield.example", {"roles": ["clinician", "manager"]}, MANAGER),
        ("amira.clinician@northfield.example", {"roles": ["Manager"]}, MANAGER),
        ("amira.clinician@northfield.example", {"roles": "clinician manager"}, MANAGER),
        ("amira.clinician@northfield.example", {"roles": "clinician,manager"}, MANAGER),
        (None, {"roles": ["manager"]}, MANAGER),
        # everyone else signed in is team
        ("amira.clinician@northfield.example", {}, TEAM),
        ("amira.clinician@northfield.example", {"roles": ["clinician"]}, TEAM),
        ("amira.clinician@northfield.example", {"roles": "managers"}, TEAM),
        ("amira.clinician@northfield.example", {"roles": ["team-manager"]}, TEAM),
        ("amira.clinician@northfield.example", {"roles": None}, TEAM),
        ("amira.clinician@northfield.example", {"roles": 7}, TEAM),
        # a listed email the provider says is unverified does not count; a verified one does
        ("lead@northfield.example", {"email_verified": False}, TEAM),
        ("lead@northfield.example", {"email_verified": "false"}, TEAM),
        ("lead@northfield.example", {"email_verified": True}, MANAGER),
        ("lead@northfield.example", {"email_verified": False, "roles": ["manager"]}, MANAGER),
        # a near miss on the email is not a match
        ("lead@northfield.example.evil", {}, TEAM),
        (None, {}, TEAM),
        ("", {}, TEAM),
    ],
)
def test_role_for(email, claims, expected):
    assert role_for(email, claims, MANAGERS) == expected


@pytest.mark.parametrize("blank_listing", [[""], ["  "], []])
def test_blank_manager_entries_make_nobody_a_manager(blank_listing):
    assert role_for("", {}, blank_listing) == TEAM
    assert role_for(None, {}, blank_listing) == TEAM


@pytest.mark.parametrize(
    ("server_address", "client_ip", "expected"),
    [
        ("127.0.0.1", None, True),  # st.context.ip_address is None for a loopback client
        ("127.0.0.1", "127.0.0.1", True),
        ("::1", None, True),
        ("[::1]", None, True),
        ("localhost", None, True),
        ("127.0.0.2", None, True),  # all of 127.0.0.0/8 is loopback
        ("127.0.0.1", "::ffff:127.0.0.1", True),
        # unset address: Streamlit listens on every interface
        (None, None, False),
        ("", None, False),
        ("0.0.0.0", None, False),
        ("::", None, False),
        ("192.168.1.20", None, False),
        ("capa.northfield.example", None, False),
        # a remote client (behind a proxy forwarding from elsewhere) is refused too
        ("127.0.0.1", "10.0.0.7", False),
        ("127.0.0.1", "2001:db8::1", False),
    ],
)
def test_serves_loopback_only(server_address, client_ip, expected):
    assert serves_loopback_only(server_address, client_ip) is expected


# --- The gate inside a Streamlit run (AppTest stands in the signed-in user). ---

GATE_SCRIPT = """
import streamlit as st
from capa_monitor import auth

user = auth.current_user()
auth.local_mode_banner(user)
st.write(f"user={user.email} role={user.role} local={user.local}")
auth.require_role(user, "manager")
st.write("manager page body")
"""

AUTH_SECRETS = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "capa-monitor",
    "client_secret": "test-client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.fixture
def server_address():
    """Set ``server.address`` for one test and put the old value back."""
    previous = st_config.get_option("server.address")

    def set_address(value):
        st_config.set_option("server.address", value)

    yield set_address
    st_config.set_option("server.address", previous)


def run_gate(*, secrets=None, user=None, env_managers=None, monkeypatch=None):
    if env_managers is not None:
        monkeypatch.setenv("CAPA_MANAGER_EMAILS", env_managers)
    at = AppTest.from_string(GATE_SCRIPT)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    if user is not None:
        at.user = user
    return at.run()


def texts(at):
    return [element.value for element in at.markdown]


def test_local_mode_on_loopback_is_a_manager_with_a_banner(server_address):
    server_address("127.0.0.1")
    at = run_gate()
    assert not at.exception
    assert at.warning[0].value.startswith("Local mode")
    assert texts(at) == ["user=local@localhost role=manager local=True", "manager page body"]


def test_local_mode_refuses_to_serve_on_every_interface(server_address):
    server_address("0.0.0.0")
    at = run_gate()
    assert not at.exception
    assert "serves only this computer" in at.error[0].value
    assert texts(at) == []


def test_signed_out_user_sees_the_sign_in_screen_only(monkeypatch):
    at = run_gate(secrets={"auth": AUTH_SECRETS}, user={"is_logged_in": False})
    assert not at.exception
    assert [button.label for button in at.button] == ["Sign in"]
    assert texts(at)[-1] == "Sign in with your organisation account to see your team's figures."
    assert not any(text.startswith("user=") for text in texts(at))


def test_named_providers_get_one_button_each():
    secrets = {"auth": {"redirect_uri": AUTH_SECRETS["redirect_uri"],
                        "cookie_secret": "x",
                        "entra": {k: AUTH_SECRETS[k] for k in
                                  ("client_id", "client_secret", "server_metadata_url")}}}
    at = run_gate(secrets=secrets, user={"is_logged_in": False})
    assert [button.label for button in at.button] == ["Sign in with entra"]


@pytest.mark.parametrize(
    ("user", "secrets_managers", "env_managers", "expected_role"),
    [
        ({"email": "lead@northfield.example"}, ["lead@northfield.example"], "", MANAGER),
        ({"email": "lead@northfield.example"}, [], "x@y.example, lead@northfield.example", MANAGER),
        ({"email": "amira@northfield.example", "roles": ["manager"]}, [], "", MANAGER),
        ({"email": "amira@northfield.example"}, ["lead@northfield.example"], "", TEAM),
    ],
)
def test_signed_in_role_from_secrets_env_or_claim(
    monkeypatch, user, secrets_managers, env_managers, expected_role
):
    secrets = {"auth": AUTH_SECRETS, "capa": {"manager_emails": secrets_managers}}
    at = run_gate(secrets=secrets, user={"is_logged_in": True, "name": "Someone", **user},
                  env_managers=env_managers, monkeypatch=monkeypatch)
    assert not at.exception
    assert not at.warning  # no local-mode banner when signed in
    assert texts(at)[0] == f"user={user['email']} role={expected_role} local=False"
    if expected_role == MANAGER:
        assert texts(at)[1] == "manager page body"
        assert not at.error
    else:
        assert texts(at)[1:] == []
        assert at.error[0].value.startswith("This page is for the manager role")


def test_unreadable_secrets_file_stops_instead_of_falling_back_to_local_mode(
    tmp_path, monkeypatch, server_address
):
    server_address("127.0.0.1")
    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth]\nredirect_uri = "http://127.0.0.1:8501/oauth2callback\n')
    previous_files = st_config.get_option("secrets.files")
    st_config.set_option("secrets.files", [str(broken)])
    # A fresh Secrets object reads the file named above (the shared one may have cached).
    monkeypatch.setattr(streamlit, "secrets", Secrets())
    try:
        at = AppTest.from_string(GATE_SCRIPT).run()
    finally:
        st_config.set_option("secrets.files", previous_files)
    assert not at.exception
    assert "secrets file (.streamlit/secrets.toml) could not be read" in at.error[0].value
    assert not at.warning  # no local-mode banner
    assert texts(at) == []

"""Sign-in and roles (issue 5): the pure role and loopback rules, then the gate under AppTest."""

from __future__ import annotations

import pytest
import streamlit
from streamlit import config as st_config
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest

from capa_monitor.auth import idle_expired, serves_loopback_only


@pytest.mark.parametrize(
    ("last_seen", "now", "timeout", "expected"),
    [
        (None, 10_000.0, 30, False),  # first page run of this person
        (0.0, 30 * 60.0, 30, False),  # exactly 30 minutes: not yet
        (0.0, 30 * 60.0 + 1, 30, True),
        (0.0, 10 * 3600.0, 0, False),  # 0: no timeout
        (100.0, 100.0 + 5 * 60 + 1, 5, True),
    ],
)
def test_idle_expired(last_seen, now, timeout, expected):
    assert idle_expired(last_seen, now, timeout) is expected


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
st.write(f"user={user.email} role={user.scope.role} local={user.local}")
if user.scope.can("edit_settings"):
    st.write("admin page body")
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


def run_gate(*, secrets=None, user=None):
    at = AppTest.from_string(GATE_SCRIPT)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    if user is not None:
        at.user = user
    return at.run()


def texts(at):
    return [element.value for element in at.markdown]


def test_local_mode_on_loopback_is_one_admin_with_a_banner(server_address):
    server_address("127.0.0.1")
    at = run_gate()
    assert not at.exception
    assert at.warning[0].value.startswith("Local mode")
    assert texts(at) == ["user=local@localhost role=admin local=True", "admin page body"]


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
    ("user", "capa", "env", "expected_role"),
    [
        # issue 5's manager list and app role keep working: those people are admins
        ({"email": "lead@northfield.example"}, {"manager_emails": ["lead@northfield.example"]},
         {}, "admin"),
        ({"email": "lead@northfield.example"}, {},
         {"CAPA_MANAGER_EMAILS": "x@y.example, lead@northfield.example"}, "admin"),
        ({"email": "amira@northfield.example", "roles": ["manager"]}, {}, {}, "admin"),
        ({"email": "ada@northfield.example"}, {"admin_emails": "ada@northfield.example"}, {},
         "admin"),
        ({"email": "ada@northfield.example"}, {}, {"CAPA_ADMIN_EMAILS": "ada@northfield.example"},
         "admin"),
        # a token claim mapped by [capa.token_roles]
        ({"email": "amira@northfield.example", "roles": ["CAPA.North.Member"]},
         {"token_roles": {"CAPA.North.Member": "team_member:North"}}, {}, "team_member"),
        # anyone else signed in has no access until given some
        ({"email": "amira@northfield.example"}, {"manager_emails": ["lead@northfield.example"]},
         {}, "None"),
    ],
)
def test_signed_in_role_from_configuration_or_token(monkeypatch, tmp_path, user, capa, env,
                                                     expected_role):
    monkeypatch.setenv("CAPA_DATABASE_URL", f"sqlite:///{tmp_path / 'capa.sqlite'}")
    for name in ("CAPA_ADMIN_EMAILS", "CAPA_MANAGER_EMAILS"):
        monkeypatch.setenv(name, env.get(name, ""))
    at = run_gate(secrets={"auth": AUTH_SECRETS, "capa": capa},
                  user={"is_logged_in": True, "name": "Someone", **user})
    assert not at.exception
    assert not at.warning  # no local-mode banner when signed in
    assert texts(at)[0] == f"user={user['email']} role={expected_role} local=False"
    assert (texts(at)[1:] == ["admin page body"]) is (expected_role == "admin")


def test_idle_session_is_asked_to_sign_in_again(monkeypatch, tmp_path):
    from capa_monitor import auth

    monkeypatch.setenv("CAPA_DATABASE_URL", f"sqlite:///{tmp_path / 'capa.sqlite'}")
    person = {"is_logged_in": True, "name": "Idle Person", "sub": "idle-person-test",
              "email": "idle@northfield.example"}
    secrets = {"auth": AUTH_SECRETS, "capa": {"admin_emails": ["idle@northfield.example"],
                                              "idle_timeout_minutes": 30}}
    assert texts(run_gate(secrets=secrets, user=person))[0].startswith("user=idle@")
    auth._last_seen()["idle-person-test"] -= 31 * 60  # as if the last page run was 31 min ago
    at = run_gate(secrets=secrets, user=person)
    assert "away for more than 30 minutes, so please sign in again" in at.info[0].value
    assert [b.label for b in at.button] == ["Sign in again"]
    assert not any(text.startswith("user=") for text in texts(at))


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


def test_access_list_entry_applies_on_the_next_run(monkeypatch, tmp_path):
    from capa_monitor.store import Store, access_store

    url = f"sqlite:///{tmp_path / 'capa.sqlite'}"
    monkeypatch.setenv("CAPA_DATABASE_URL", url)
    person = {"is_logged_in": True, "name": "Lee", "email": "Lee@Northfield.example"}
    secrets = {"auth": AUTH_SECRETS, "capa": {"admin_emails": ["ada@northfield.example"]}}
    assert texts(run_gate(secrets=secrets, user=person))[0].endswith("role=None local=False")
    store = Store.open(url)
    access_store.grant(store, "lee@northfield.example", "team_manager", frozenset({"North"}),
                       by="ada@northfield.example")
    store.close()
    at = run_gate(secrets=secrets, user=person)
    assert texts(at) == ["user=Lee@Northfield.example role=team_manager local=False"]

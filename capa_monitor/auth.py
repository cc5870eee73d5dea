"""Who is using the app and what they may do: OIDC sign-in through ``st.login``, or local mode.

Two ways to run (issues 5 and 14):

* **Signed in.** When ``.streamlit/secrets.toml`` has an ``[auth]`` section, ``st.login``
  (OpenID Connect, e.g. Entra ID) is required before any page shows. What a signed-in person
  may do is their ``access.Scope`` (role and teams), from ``access.resolve``: an admin named
  in configuration (``[capa] admin_emails = [...]`` or the older ``manager_emails``, and env
  ``CAPA_ADMIN_EMAILS`` / ``CAPA_MANAGER_EMAILS``, comma separated); else their entry on the
  access list in the store; else their ID token's ``roles``/``groups`` claims through the
  ``[capa.token_roles]`` mapping (claim value -> ``"role"`` or ``"role:Team A,Team B"``);
  else no access. ``manager_emails`` and the ``manager`` app role of issue 5 mean admin:
  those people had the settings and every team before, so nothing they did stops working.
* **Local mode.** With no ``[auth]``: one local admin, a visible banner, and the app refuses
  to serve unless Streamlit listens on a loopback address (``server.address``) and the
  browser connects from one. Ship ``[server] address = "127.0.0.1"`` in config.toml so that
  ``streamlit run dashboard.py`` works out of the box; a shared deployment configures
  ``[auth]`` and may then listen anywhere.

Idle timeout: a signed-in person with no page run for ``[capa] idle_timeout_minutes``
(default 30; env ``CAPA_IDLE_TIMEOUT_MINUTES``; 0 turns it off) is asked to sign in again.
Their last page run is kept in this server process, so it spans their tabs and reloads.

Use from ``dashboard.py`` and the pages::

    user = auth.current_user()          # shows the sign-in screen and stops when needed
    if user is None:                    # only outside a script run (bare mode)
        return
    auth.local_mode_banner(user)
    user.scope.can(access.UPLOAD)       # build the page list from the scope

Streamlit 1.67 names (checked against the installed source): ``st.login(provider=None)``,
``st.logout()``, ``st.user`` (a read-only Mapping: ``st.user.get("is_logged_in")``,
``st.user.to_dict()``; ``experimental_user`` is gone), ``st.context.ip_address`` (``None``
for a loopback client). Sign out: ``if st.sidebar.button("Sign out"): st.logout()``.

AppTest (for the role tests) can stand in a signed-in user without a provider::

    at = AppTest.from_file("dashboard.py")
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback",
                          "cookie_secret": "x", "client_id": "x", "client_secret": "x",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.secrets["capa"] = {"admin_emails": ["lead@example.org"]}
    at.user = {"is_logged_in": True, "email": "lead@example.org", "name": "Lee Lead"}
    # others: another email (on the access list or not), or at.user["roles"] = [...];
    # signed out: at.user = {"is_logged_in": False} -> the "Sign in" button, then stop.

``at.secrets`` replaces ``st.secrets`` for the run, which is what this module reads; ``at.user``
becomes ``st.user``. Local mode under AppTest: leave ``at.secrets`` without ``auth`` and have
``server.address`` be loopback (config.toml as above, or ``streamlit.config.set_option(
"server.address", "127.0.0.1")`` in a fixture); the banner is an ``st.warning`` whose text
starts with "Local mode".
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from capa_monitor.access import ACTION_WORDS, ADMIN, ROLE_WORDS, Scope, resolve
from capa_monitor.errors import CapaError

#: Env vars with extra admin emails, comma (or space / semicolon) separated.
ADMIN_EMAILS_ENV = "CAPA_ADMIN_EMAILS"
MANAGER_EMAILS_ENV = "CAPA_MANAGER_EMAILS"  # issue 5's name: those people are admins now
IDLE_TIMEOUT_ENV = "CAPA_IDLE_TIMEOUT_MINUTES"
DEFAULT_IDLE_MINUTES = 30.0
LOCAL_EMAIL = "local@localhost"
LOCAL_NAME = "Local admin"

_LIST_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class User:
    email: str
    name: str
    scope: Scope
    local: bool  # True in local mode (no sign-in configured)

    @property
    def role(self) -> str:
        """The role in words ("team manager"; "no access" when not on the list)."""
        return ROLE_WORDS.get(self.scope.role or "", "no access")


def serves_loopback_only(server_address: str | None, client_ip: str | None) -> bool:
    """True when Streamlit listens on a loopback address and the client is not remote.

    An unset ``server.address`` means Streamlit listens on every interface, so it is not
    loopback. ``client_ip`` is ``st.context.ip_address``: ``None`` for a loopback client.
    """
    return _is_loopback(server_address) and (client_ip is None or _is_loopback(client_ip))


def auth_configured() -> bool:
    """True when secrets have an ``[auth]`` section, so sign-in is required."""
    return "auth" in _secrets()


def admin_emails() -> list[str]:
    """Admin emails from secrets (``[capa] admin_emails`` and ``manager_emails``) and env."""
    capa = _secrets().get("capa", {})
    found: list[str] = []
    for key in ("admin_emails", "manager_emails"):
        listed = capa.get(key, [])
        found += _LIST_SEPARATORS.split(listed) if isinstance(listed, str) else list(listed)
    for env in (ADMIN_EMAILS_ENV, MANAGER_EMAILS_ENV):
        found += _LIST_SEPARATORS.split(os.environ.get(env, ""))
    return [str(email) for email in found if email]


def token_roles() -> dict[str, str]:
    """``[capa.token_roles]``: ID-token claim value (app role or group id) -> "role[:teams]"."""
    mapping = _secrets().get("capa", {}).get("token_roles", {})
    return {str(key): str(value) for key, value in dict(mapping).items()}


def idle_timeout_minutes() -> float:
    """Minutes without a page run before sign-in is asked again (0: never)."""
    value = os.environ.get(IDLE_TIMEOUT_ENV) or _secrets().get("capa", {}).get(
        "idle_timeout_minutes", DEFAULT_IDLE_MINUTES)
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return DEFAULT_IDLE_MINUTES


def idle_expired(last_seen: float | None, now: float, timeout_minutes: float) -> bool:
    """True when the last page run was longer ago than the timeout (never without one)."""
    return (bool(timeout_minutes) and last_seen is not None
            and now - last_seen > timeout_minutes * 60)


def current_user() -> User | None:
    """The user of this session; shows the sign-in screen and stops the run if needed.

    Local mode also stops here, with an error, when not served on loopback only; so does an
    idle session, asking to sign in again. Returns ``None`` only where ``st.stop`` cannot stop
    (no script run, i.e. bare mode).
    """
    if not auth_configured():
        if not _serving_loopback_only():
            _refuse_non_loopback()
            return None
        return User(email=LOCAL_EMAIL, name=LOCAL_NAME,
                    scope=Scope(LOCAL_EMAIL, ADMIN, None, source="local mode"), local=True)

    if not st.user.get("is_logged_in", False):
        _sign_in_screen()
        return None
    claims = st.user.to_dict()
    email = str(claims.get("email") or "")
    name = str(claims.get("name") or email or claims.get("preferred_username")
               or claims.get("sub") or "Signed-in user")
    if _idle(str(claims.get("sub") or email or name)):
        return None
    scope = resolve(email, claims, admin_emails=admin_emails(), entry=_listed(email),
                    mapping=token_roles())
    return User(email=email or name, name=name, scope=scope, local=False)


def refusal(user: User, action: str) -> str:
    """Why ``user`` may not ``action``, in words naming only their own access."""
    return (f"You may not {ACTION_WORDS[action]}: signed in as {user.name}, "
            f"{user.scope.describe()}. Ask your admin if you need it.")


@st.cache_resource(show_spinner=False)
def _last_seen() -> dict[str, float]:
    """Person -> time of their last page run, shared by this server's sessions."""
    return {}


def _idle(person: str) -> bool:
    """Ask to sign in again (and stop) after the idle timeout; else note this page run."""
    seen, now, timeout = _last_seen(), time.time(), idle_timeout_minutes()
    if not idle_expired(seen.get(person), now, timeout):
        seen[person] = now
        return False
    st.title("CAPA Monitor")
    st.info(f"You have been away for more than {timeout:g} minutes, so please sign in again.",
            icon=":material/lock_clock:")
    if st.button("Sign in again", type="primary", key="auth_sign_in_again"):
        seen.pop(person, None)
        st.logout()
    st.stop()
    return True


def _listed(email: str) -> Scope | None:
    """The person's access-list entry; None when the store cannot be read (the dashboard
    then says so)."""
    from sqlalchemy.exc import SQLAlchemyError

    from capa_monitor.store import access_store
    from capa_monitor.views import data

    try:
        return access_store.entry(data.store(), email)
    except (CapaError, SQLAlchemyError):
        return None


def local_mode_banner(user: User) -> None:
    """In local mode: refuse off loopback, else show a banner saying who the app thinks you are."""
    if not user.local:
        return
    if not _serving_loopback_only():
        _refuse_non_loopback()
        return
    st.warning(
        "Local mode — sign-in is not set up: this copy runs for one person on this computer "
        "only, as its admin. To share it with your team, ask whoever looks after it "
        "to set up sign-in (“Sign-in” in the README, shown under **Setting up sign-in** in "
        "the sidebar).",
        icon=":material/computer:",
    )


def _serving_loopback_only() -> bool:
    client_ip = st.context.ip_address
    # A real server gives str or None; AppTest's stand-in runtime gives a mock, which says
    # nothing about the client, so only the listening address decides there.
    if not isinstance(client_ip, str):
        client_ip = None
    return serves_loopback_only(st.get_option("server.address"), client_ip)


def _refuse_non_loopback() -> None:
    st.error(
        "Local mode (no sign-in configured) serves only this computer: start it with "
        "--server.address 127.0.0.1, or configure sign-in ([auth] in .streamlit/secrets.toml)."
    )
    st.stop()


def _sign_in_screen() -> None:
    st.title("CAPA Monitor")
    st.write("Sign in with your organisation account to see your team's figures.")
    providers = _named_providers()
    if not providers and st.button("Sign in", type="primary"):
        st.login()
    for provider in providers:
        if st.button(f"Sign in with {provider}", key=f"auth_sign_in_{provider}"):
            st.login(provider)
    st.stop()


def _named_providers() -> list[str]:
    """Provider names of ``[auth.<name>]`` sections; empty when ``[auth]`` holds one provider."""
    section = _secrets().get("auth", {})
    if "client_id" in section:
        return []
    return [name for name, value in section.items() if isinstance(value, Mapping)]


def _secrets() -> Mapping:
    try:
        return {key: st.secrets[key] for key in st.secrets}
    except FileNotFoundError:
        # Streamlit raises the same error for "no secrets file" (the ordinary local-mode case)
        # and for a file it cannot parse; the latter must not quietly drop sign-in.
        if any(Path(path).is_file() for path in st.get_option("secrets.files")):
            st.error(
                "The secrets file (.streamlit/secrets.toml) could not be read, so sign-in "
                "cannot be set up: check its TOML syntax."
            )
            st.stop()
        return {}


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    host = address.strip().strip("[]")
    if host.casefold() == "localhost":
        return True
    try:
        parsed = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(parsed, "ipv4_mapped", None)
    return (mapped or parsed).is_loopback

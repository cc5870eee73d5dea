"""Who is using the app and what they may do: OIDC sign-in through ``st.login``, or local mode.

Two ways to run (issue 5):

* **Signed in.** When ``.streamlit/secrets.toml`` has an ``[auth]`` section, ``st.login``
  (OpenID Connect, e.g. Entra ID) is required before any page shows. A signed-in user is a
  ``manager`` when their email is in the configured manager list (``[capa] manager_emails =
  [...]`` in secrets and/or env ``CAPA_MANAGER_EMAILS``, comma separated) or their ID token
  has a ``roles`` claim containing ``manager``; everyone else signed in is ``team``. With
  Entra ID prefer an app role "manager" (the ``roles`` claim): its ``email`` claim is optional.
* **Local mode.** With no ``[auth]``: one local manager, a visible banner, and the app refuses
  to serve unless Streamlit listens on a loopback address (``server.address``) and the
  browser connects from one. Ship ``[server] address = "127.0.0.1"`` in config.toml so that
  ``streamlit run dashboard.py`` works out of the box; a shared deployment configures
  ``[auth]`` and may then listen anywhere.

Use from ``dashboard.py`` and the pages::

    user = auth.current_user()          # shows the sign-in screen and stops when needed
    if user is None:                    # only outside a script run (bare mode)
        return
    auth.local_mode_banner(user)
    ...                                 # build the page list from user.role
    auth.require_role(user, "manager")  # first line of a manager-only page

Streamlit 1.67 names (checked against the installed source): ``st.login(provider=None)``,
``st.logout()``, ``st.user`` (a read-only Mapping: ``st.user.get("is_logged_in")``,
``st.user.to_dict()``; ``experimental_user`` is gone), ``st.context.ip_address`` (``None``
for a loopback client). Sign out: ``if st.sidebar.button("Sign out"): st.logout()``.

AppTest (for the role tests) can stand in a signed-in user without a provider::

    at = AppTest.from_file("dashboard.py")
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback",
                          "cookie_secret": "x", "client_id": "x", "client_secret": "x",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.secrets["capa"] = {"manager_emails": ["lead@example.org"]}
    at.user = {"is_logged_in": True, "email": "lead@example.org", "name": "Lee Lead"}
    # team member: another email, or at.user["roles"] = ["clinician"]; signed out:
    # at.user = {"is_logged_in": False} -> the sign-in screen ("Sign in" button), then stop.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

MANAGER = "manager"
TEAM = "team"
ROLES = (MANAGER, TEAM)

#: Env var with extra manager emails, comma (or space / semicolon) separated.
MANAGER_EMAILS_ENV = "CAPA_MANAGER_EMAILS"
LOCAL_EMAIL = "local@localhost"
LOCAL_NAME = "Local manager"

_LIST_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class User:
    email: str
    name: str
    role: str  # MANAGER or TEAM
    local: bool  # True in local mode (no sign-in configured)


def role_for(email: str | None, claims: Mapping, manager_emails: Iterable[str]) -> str:
    """The role of a signed-in user: manager by listed email or by a ``roles`` claim, else team.

    Emails compare case-insensitively, and count only when the provider has not said the
    address is unverified (``email_verified`` false: anyone could have typed it). ``roles``
    may be a list (Entra ID app roles) or a space/comma separated string, and matches
    ``manager`` case-insensitively.
    """
    managers = {_email_key(listed) for listed in manager_emails} - {""}
    email_trusted = claims.get("email_verified") not in (False, "false", "False")
    if email and email_trusted and _email_key(email) in managers:
        return MANAGER
    if MANAGER in _claimed_roles(claims.get("roles")):
        return MANAGER
    return TEAM


def serves_loopback_only(server_address: str | None, client_ip: str | None) -> bool:
    """True when Streamlit listens on a loopback address and the client is not remote.

    An unset ``server.address`` means Streamlit listens on every interface, so it is not
    loopback. ``client_ip`` is ``st.context.ip_address``: ``None`` for a loopback client.
    """
    return _is_loopback(server_address) and (client_ip is None or _is_loopback(client_ip))


def auth_configured() -> bool:
    """True when secrets have an ``[auth]`` section, so sign-in is required."""
    return "auth" in _secrets()


def manager_emails() -> list[str]:
    """Manager emails from secrets (``[capa] manager_emails``) and ``$CAPA_MANAGER_EMAILS``."""
    configured = _secrets().get("capa", {}).get("manager_emails", [])
    if isinstance(configured, str):
        configured = _LIST_SEPARATORS.split(configured)
    from_env = _LIST_SEPARATORS.split(os.environ.get(MANAGER_EMAILS_ENV, ""))
    return [email for email in [*configured, *from_env] if email]


def current_user() -> User | None:
    """The user of this session; shows the sign-in screen and stops the run if needed.

    Local mode also stops here, with an error, when not served on loopback only. Returns
    ``None`` only where ``st.stop`` cannot stop (no script run, i.e. bare mode).
    """
    if not auth_configured():
        if not _serving_loopback_only():
            _refuse_non_loopback()
            return None
        return User(email=LOCAL_EMAIL, name=LOCAL_NAME, role=MANAGER, local=True)

    if not st.user.get("is_logged_in", False):
        _sign_in_screen()
        return None
    claims = st.user.to_dict()
    email = str(claims.get("email") or "")
    name = str(claims.get("name") or email or claims.get("preferred_username")
               or claims.get("sub") or "Signed-in user")
    return User(email=email, name=name, role=role_for(email, claims, manager_emails()),
                local=False)


def require_role(user: User, *roles: str) -> None:
    """Stop the page with a refusal unless ``user`` has one of ``roles``."""
    if user.role in roles:
        return
    wanted = " or ".join(roles)
    st.error(
        f"This page is for the {wanted} role; you are signed in as {user.name} with the "
        f"{user.role} role. Ask your team manager if you need it."
    )
    st.stop()


def local_mode_banner(user: User) -> None:
    """In local mode: refuse off loopback, else show a banner saying who the app thinks you are."""
    if not user.local:
        return
    if not _serving_loopback_only():
        _refuse_non_loopback()
        return
    st.warning(
        "Local mode — sign-in is not set up: this copy runs for one person on this computer "
        "only, as the team manager. To share it with your team, ask whoever looks after it "
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


def _email_key(email: str) -> str:
    return email.strip().casefold()


def _claimed_roles(value: object) -> set[str]:
    if isinstance(value, str):
        names: Iterable[object] = _LIST_SEPARATORS.split(value)
    elif isinstance(value, Iterable):
        names = value
    else:
        return set()
    return {str(name).strip().casefold() for name in names} - {""}


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

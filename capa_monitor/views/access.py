"""Access page (admin): who may see and change which teams (issue 14). Grants and revokes go
through store.access_store, audited; the grantee's next page load reflects them.
"""

from __future__ import annotations

import streamlit as st

from capa_monitor import access, auth
from capa_monitor.errors import CapaError
from capa_monitor.store import access_store
from capa_monitor.views import common, data

ROLE_HELP = {
    access.ADMIN: "settings, the access list and every team",
    access.SERVICE_LEAD: "reads, compares and downloads every team or the teams named; "
    "changes nothing",
    access.TEAM_MANAGER: "for the teams named: uploads, restores, removals, job plans, downloads",
    access.TEAM_MEMBER: "reads the review pages of the teams named",
}
FLASH_KEY = "access_flash"


def grant_form(user: auth.User, team_options: list[str]) -> None:
    with st.form("access_grant", clear_on_submit=True):
        st.subheader("Give access")
        email = st.text_input("Email (as they sign in)", key="access_email")
        role = st.selectbox("Role", access.ROLES, format_func=lambda r: (
            f"{access.ROLE_WORDS[r]} — {ROLE_HELP[r]}"), key="access_role")
        teams = st.multiselect(
            "Teams", team_options, accept_new_options=True, key="access_teams",
            placeholder="Every team (admin, service lead); a team manager or member needs some",
            help="A team not in the store yet can be typed in.")
        submitted = st.form_submit_button("Give access", type="primary", key="access_grant_go")
    if not submitted:
        return
    try:
        scope = access_store.grant(data.store(), email, role, access.parse_teams(teams),
                                   by=user.email)
    except CapaError as exc:
        st.error(str(exc))
        return
    st.session_state[FLASH_KEY] = (f"{scope.email} is now {access.ROLE_WORDS[scope.role]} for "
                                   f"{scope.describe().split(' for ', 1)[1]}.")
    st.rerun()


def revoke_form(user: auth.User, emails: list[str]) -> None:
    if not emails:
        return
    with st.form("access_revoke"):
        st.subheader("Take access away")
        email = st.selectbox("Person", emails, key="access_revoke_email")
        submitted = st.form_submit_button("Take access away", key="access_revoke_go")
    if submitted and access_store.revoke(data.store(), email, by=user.email):
        st.session_state[FLASH_KEY] = (f"{email} is off the access list (a role from their "
                                       "sign-in token or from configuration still applies).")
        st.rerun()


def render() -> None:
    user = common.page_user(access.MANAGE_ACCESS)
    st.title("Access")
    if flash := st.session_state.pop(FLASH_KEY, None):
        st.success(flash)
    st.write("Who may see and change which teams. A change applies from the person's next "
             "page load; every change is in the audit log.")
    admins = auth.admin_emails()
    if admins:
        st.caption("Admins named in configuration (always admins): " + ", ".join(admins) + ".")
    if mapping := auth.token_roles():
        st.caption("Roles from sign-in tokens ([capa.token_roles], for people not listed "
                   "below): " + "; ".join(f"{value} → {role}" for value, role in mapping.items())
                   + ".")
    listed = access_store.frame(data.store())
    if listed.empty:
        st.info("Nobody is on the access list yet.")
    else:
        shown = listed.assign(role=listed["role"].map(access.ROLE_WORDS))
        common.table(shown, "access_list")
    team_options = data.teams(data.database_url(), data.store().data_version())
    grant_col, revoke_col = st.columns(2)
    with grant_col:
        grant_form(user, team_options)
    with revoke_col:
        revoke_form(user, listed["email"].tolist())


if __name__ == "__main__":
    render()

"""CAPA Monitor's Streamlit entrypoint: page setup, sign-in, and the page list for the user's role.

Run with `streamlit run dashboard.py` (see scripts/run.sh). Pages live in capa_monitor/views/.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from capa_monitor import access, auth
from capa_monitor.errors import CapaError
from capa_monitor.loading.read import warm_up
from capa_monitor.views import common, data

VIEWS = Path(__file__).resolve().parent / "capa_monitor" / "views"

st.set_page_config(page_title="CAPA Monitor", page_icon="📋", layout="wide")

user = auth.current_user()
if user is None:  # auth.py has shown the sign-in screen
    st.stop()
auth.local_mode_banner(user)  # only in local mode
README = Path(__file__).resolve().parent / "README.md"


@st.cache_data(show_spinner=False)
def readme_section(title: str) -> str:
    """One `## title` section of the README, for whoever sets the app up."""
    text = README.read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[-1].split("\n## ", 1)[0].strip()


if user.local:
    with st.sidebar.expander("Setting up sign-in"):
        st.markdown(readme_section("Sign-in"))
        st.caption("From “Sign-in” in README.md, beside dashboard.py.")
common.init_session_state()

try:
    url, version = data.database_url(), data.store().data_version()
except (CapaError, SQLAlchemyError) as exc:
    st.error(data.unreachable_message(exc))
    st.stop()
empty_store = data.date_bounds(url, version) is None and data.jobplans(url, version).empty
scope = user.scope
if scope.role is None:  # signed in, but nobody has given them access yet
    common.scoped_store(user).refused(access.AccessDenied(
        auth.refusal(user, access.VIEW_REVIEW), action=access.VIEW_REVIEW), what="sign-in")
    st.title("CAPA Monitor")
    st.info(f"You are signed in as {user.name}, but not on the access list yet: ask your "
            "admin to give you access to your team.")
    common.sidebar(user)
    st.stop()


@st.cache_resource(show_spinner=False)
def start_reader() -> bool:
    """Start the sandboxed file reader once per server, so a first upload does not wait for it."""
    warm_up()
    return True


if scope.can(access.UPLOAD):
    start_reader()


def page(file: str, title: str, icon: str, visibility: str = "visible") -> st.Page:
    """A page at its own address (/review, /upload, ...), so a bookmark of it opens it."""
    return st.Page(VIEWS / file, title=title, icon=icon, url_path=Path(file).stem,
                   visibility=visibility)


everyone = [
    page("review.py", "Quarterly review", "📊"),
    page("balance.py", "Balance & flow", "⚖️"),
    page("ahead.py", "Looking ahead", "🔭"),
    page("trends.py", "Trends", "📈"),
]
if empty_store:
    everyone.insert(0, page("welcome.py", "Welcome", "👋"))
#: Pages by the action they need. One the person may not use is still registered, hidden,
#: so its address reaches the page's own refusal (audited) rather than "Page not found".
MANAGE = (
    ("upload.py", "Upload", "⬆️", access.UPLOAD),
    ("shortfalls.py", "Shortfalls", "📋", access.DOWNLOAD),
    ("jobplans.py", "Job plans", "🗓️", access.EDIT_JOBPLANS),
    ("settings_page.py", "Settings", "⚙️", access.EDIT_SETTINGS),
    ("audit.py", "Audit log", "🧾", access.VIEW_AUDIT),
    ("access.py", "Access", "🔑", access.MANAGE_ACCESS),
)
manage = [page(file, title, icon) for file, title, icon, action in MANAGE if scope.can(action)]
hidden = [page(file, title, icon, "hidden") for file, title, icon, action in MANAGE
          if not scope.can(action)]
first_page = everyone[0]


def home() -> None:
    """The app's root address: go on to the first page at its own address.

    Streamlit serves its default page at "/" and nowhere else, so a default page of its own
    would make a bookmarked /review "Page not found"; this hidden one only forwards.
    """
    st.switch_page(first_page)


root = st.Page(home, title=first_page.title, icon=first_page.icon, url_path="home",
               default=True, visibility="hidden")
sections = {"Review": [*everyone, root, *hidden]}
if manage:
    sections["Manage"] = manage
current = st.navigation(sections)
common.sidebar(user)
current.run()

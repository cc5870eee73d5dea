"""Welcome page, shown while the store is empty: the two ways in — upload your own export, or
load the invented demo team in one click (badged as demo everywhere, removable).
"""

from __future__ import annotations

import streamlit as st

from capa_monitor import access
from capa_monitor.demo import load_demo
from capa_monitor.errors import CapaError
from capa_monitor.views import common, data


def render() -> None:
    user = common.page_user()
    st.title("Welcome to CAPA Monitor")
    st.write(
        "CAPA Monitor counts each clinician's new Core Partnerships against their job plan, "
        "quarter by quarter, and shows whether DNA/WNB and unbooked slots were offered again."
    )
    if not (user.scope.every_team and user.scope.can(access.UPLOAD)):
        st.info("No activity has been uploaded yet. Your team manager uploads the monthly "
                "export; the review appears here once they have.")
        return
    upload_col, demo_col = st.columns(2)
    with upload_col:
        st.subheader("Upload your export")
        st.write("The monthly activity report from your patient record system (xlsx or csv), "
                 "then your team's job plans.")
        st.page_link("capa_monitor/views/upload.py", label="Go to Upload", icon="⬆️")
    with demo_col:
        st.subheader("Try the demo team")
        st.write("An invented team of eight clinicians over two quarters. It is marked as demo "
                 "on every page and can be removed in one click.")
        st.caption("Where to look ahead: **Looking ahead**, 2026/27 Q3 as of 20 Nov 2026 — who "
                   "is on course for the quarter's end and who needs more slots, nobody with "
                   "2026/27 Q4's new Core Partnership slots in the diary yet, capacity short of "
                   "demand while the internal wait grows, and a what-if to try: move Priya "
                   "Raman's 2 Specific sessions to Core.")
        if st.button("Load the demo team", type="primary", key="welcome_load_demo"):
            try:
                with st.spinner("Loading the demo team…"):
                    load_demo(data.store(), user=user.email)
            except CapaError as exc:
                st.error(str(exc))
            else:
                st.rerun()


if __name__ == "__main__":
    render()

"""Audit log page (manager): who uploaded, replaced, restored, changed job plans or downloaded
what, and when — newest first, filterable by action.
"""

from __future__ import annotations

import streamlit as st

from capa_monitor.views import common, data


def render() -> None:
    common.page_user("manager")
    st.title("Audit log")
    log = data.store().audit()
    if log.empty:
        st.info("Nothing has been recorded yet: uploads, restores, job-plan changes and "
                "downloads appear here as they happen.")
        return
    actions = sorted(log["action"].dropna().astype(str).unique())
    chosen = st.multiselect("Actions", actions, placeholder="All actions", key="audit_actions")
    shown = log[log["action"].isin(chosen)] if chosen else log
    st.caption(f"{len(shown)} of {len(log)} entries.")
    common.table(shown, "audit_table")


if __name__ == "__main__":
    render()

"""Trends page (everyone): XmR charts in the NHS "Making Data Count" style (M7) — weekly new
Core Partnerships and the monthly DNA/WNB rate — with special causes and trial limits labelled.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from capa_monitor.charts import xmr_chart
from capa_monitor.views import common


def special_causes(xmr: pd.DataFrame) -> pd.DataFrame:
    return xmr[xmr["special_cause"].fillna(False).astype(bool)][["period", "value", "rule"]]


def show_chart(title: str, y_label: str, xmr: pd.DataFrame, unit: str, key: str,
               min_points: int) -> None:
    st.header(title)
    if xmr.empty:
        st.info(f"Not enough complete {unit}s of data yet for this chart.")
        return
    if bool(xmr["trial"].any()):
        st.warning(
            f"Trial limits: only {len(xmr)} {unit}s so far; limits settle at {min_points}.",
            icon=":material/info:",
        )
    st.plotly_chart(xmr_chart(xmr, title, y_label), key=f"trends_{key}_chart")
    if bool(xmr["lcl_clipped"].any()):
        st.caption(
            f"The lower process limit is drawn at {xmr['lcl'].iloc[0]:g}: mean − 2.66 × the mean "
            f"moving range would be below it, and a {unit}'s {y_label} cannot go below zero."
        )
    causes = special_causes(xmr)
    if causes.empty:
        st.caption("No special cause: the variation is what this process usually shows.")
    else:
        st.caption(f"Special cause at {len(causes)} {unit}(s):")
        common.table(causes, f"trends_{key}_causes")


def render() -> None:
    opened = common.open_review("trends", "Trends")
    if opened is None:
        return
    _, result = opened
    st.caption(
        "Centre line = mean; limits = mean ± 2.66 × the mean moving range. A special cause is "
        "a point outside the limits, 7 in a row on one side of the mean, 7 rising or falling, "
        "or 2 of 3 close to a limit."
    )
    minimum = result.settings.spc_min_points
    show_chart("New Core Partnerships per week", "new Core Partnerships", result.spc_weekly,
               "week", "weekly", minimum)
    show_chart("DNA/WNB rate per month", "DNA/WNB rate (%)", result.spc_dna, "month", "dna",
               minimum)


if __name__ == "__main__":
    render()

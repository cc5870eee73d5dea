"""Plotly figure builders for the review pages: each takes a metrics frame, returns a figure.

No Streamlit here, so every chart can be tested on its own. Colours are the Okabe–Ito
colour-blind-safe palette in mid tones that read on light and dark backgrounds; no
background is set, so the app's theme decides it. Colour never carries meaning alone: status
words are printed on the bars and special-cause points have their own marker shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from capa_monitor.metrics.balance import GROUPS
from capa_monitor.metrics.words import STATUS_WORDS
from capa_monitor.settings import DEFAULT_SETTINGS

# Okabe–Ito palette
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#999999"

STATUS_COLOURS = {
    "green": BLUISH_GREEN,
    "amber": ORANGE,
    "red": VERMILLION,
    "no_target": GREY,
}
GROUP_COLOURS = {"choice": SKY_BLUE, "core": BLUE, "specific": ORANGE}
GROUP_NAMES = {"choice": "Choice", "core": "Core", "specific": "Specific"}
TRIAL_SUFFIX = " (Trial limits)"
SPECIAL_CAUSE_SYMBOL = "diamond"
ROW_HEIGHT = 34
# legend in one row between the title and the plot, so it never covers an axis title
LEGEND_ON_TOP = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "traceorder": "normal"}
TOP_MARGIN = 100


def delivery_chart(clinicians_df: pd.DataFrame) -> go.Figure:
    """New Core Partnerships per clinician: delivered vs expected to date, full target marked.

    Takes the review's `clinicians` frame (clinician, delivered, expected_to_date, target,
    status). The delivered bar is coloured by status and labelled with the status word.
    Built from one spec of plain lists: every switch of the review draws it, and trace by
    trace through pandas it cost 11 ms of the 3.
    """
    names = clinicians_df["clinician"].astype("str").tolist()
    statuses = clinicians_df["status"].astype("str").tolist()
    words = [STATUS_WORDS.get(status, status) for status in statuses]
    delivered = clinicians_df["delivered"].to_numpy(dtype="float64")
    expected = clinicians_df["expected_to_date"].to_numpy(dtype="float64")
    target = clinicians_df["target"].to_numpy(dtype="float64")
    hover = [
        f"<b>{n}</b><br>Delivered: {d:.0f}<br>Expected to date: {_number(e)}"
        f"<br>Quarter target: {_number(t)}<br>Status: {w}"
        for n, d, e, t, w in zip(names, delivered, expected, target, words, strict=True)
    ]
    common = {"y": names, "hovertext": hover, "hoverinfo": "text"}
    return go.Figure({
        "data": [
            {"type": "bar", "name": "Expected to date", "x": expected, "orientation": "h",
             "marker": {"color": SKY_BLUE, "opacity": 0.55}, **common},
            {"type": "bar", "name": "Delivered", "x": delivered, "orientation": "h",
             "marker": {"color": [STATUS_COLOURS.get(status, GREY) for status in statuses]},
             "text": [f"{int(d)} · {w}" for d, w in zip(delivered, words, strict=True)],
             "textposition": "outside", "cliponaxis": False, **common},
            {"type": "scatter", "name": "Quarter target", "x": target, "mode": "markers",
             "marker": {"symbol": "line-ns-open", "size": 22,
                        "line": {"width": 3, "color": REDDISH_PURPLE},
                        "color": REDDISH_PURPLE}, **common},
        ],
        "layout": {
            "title": {"text": "New Core Partnerships: delivered against expected to date"},
            "barmode": "group",
            "xaxis": {"title": {"text": "New Core Partnerships"}},
            "yaxis": {"autorange": "reversed", "title": None},
            "height": _height(len(names)),
            "legend": LEGEND_ON_TOP,
            "margin": {"r": 120, "t": TOP_MARGIN},
        },
    })


def xmr_chart(xmr_df: pd.DataFrame, title: str, y_label: str) -> go.Figure:
    """XmR chart in the Making Data Count style from a `metrics.spc.xmr` frame.

    Values as a line with points, the mean solid, the process limits dashed; special-cause
    points drawn again as larger orange diamonds with the rule in their hover text. With
    trial limits the title says so; a limit held at a bound the measure cannot pass (a count
    below zero) says so in its legend name.
    """
    trial = bool(len(xmr_df)) and bool(xmr_df["trial"].iloc[0])
    periods = xmr_df["period"]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            name=y_label,
            x=periods,
            y=xmr_df["value"],
            mode="lines+markers",
            line={"color": GREY, "width": 2},
            marker={"color": BLUE, "size": 7, "symbol": "circle"},
            hovertemplate="%{x}<br>%{y:.3g}<extra></extra>",
        )
    )
    for column, name, dash in (
        ("mean", "Mean", "solid"),
        ("ucl", _limit_name("Upper process limit", xmr_df, "ucl"), "dash"),
        ("lcl", _limit_name("Lower process limit", xmr_df, "lcl"), "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                name=name,
                x=periods,
                y=xmr_df[column],
                mode="lines",
                line={"color": BLUE if column == "mean" else REDDISH_PURPLE, "dash": dash},
                hovertemplate=f"{name}: %{{y:.3g}}<extra></extra>",
            )
        )
    special = xmr_df[xmr_df["special_cause"].fillna(False).astype(bool)]
    if len(special):
        fig.add_trace(
            go.Scatter(
                name="Special cause",
                x=special["period"],
                y=special["value"],
                mode="markers",
                marker={
                    "color": ORANGE,
                    "size": 13,
                    "symbol": SPECIAL_CAUSE_SYMBOL,
                    "line": {"width": 1, "color": VERMILLION},
                },
                text=special["rule"],
                hovertemplate="%{x}<br>%{y:.3g}<br>Special cause: %{text}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title + (TRIAL_SUFFIX if trial else ""),
        yaxis_title=y_label,
        legend=LEGEND_ON_TOP,
        hovermode="closest",
        margin={"t": TOP_MARGIN},
    )
    return fig


def balance_chart(per_clinician_df: pd.DataFrame) -> go.Figure:
    """Stacked shares of clinical time (Choice / Core / Specific) per clinician, plan marked.

    Takes `metrics.balance` per-clinician frame; clinicians with no clinical time are left
    out. Flagged clinicians get "Specific above plan" printed after their bar.
    """
    frame = per_clinician_df[per_clinician_df["clinical_minutes"] > 0].reset_index(drop=True)
    names = frame["clinician"].astype("str")
    fig = go.Figure()
    for group in GROUPS:
        share = frame[f"{group}_share"].astype("float64")
        plan = frame[f"plan_{group}_share"].astype("float64")
        fig.add_trace(
            go.Bar(
                name=GROUP_NAMES[group],
                y=names,
                x=share,
                orientation="h",
                marker={"color": GROUP_COLOURS[group]},
                text=[f"{s:.0f}%" for s in share],
                textposition="inside",
                hovertext=[
                    f"<b>{n}</b><br>{GROUP_NAMES[group]}: {s:.1f}% of clinical time"
                    f"<br>Planned: {_percent(p)}"
                    for n, s, p in zip(names, share, plan, strict=True)
                ],
                hoverinfo="text",
            )
        )
    planned_specific_edge = 100.0 - frame["plan_specific_share"].astype("float64")
    fig.add_trace(
        go.Scatter(
            name="Planned Specific share starts here",
            y=names,
            x=planned_specific_edge,
            mode="markers",
            # drawn on top of the bars: dark with a light rim reads on every bar colour
            marker={
                "symbol": "diamond-tall",
                "size": 16,
                "color": "#222222",
                "line": {"width": 1.5, "color": "#FFFFFF"},
            },
            hovertext=[
                f"<b>{n}</b><br>Planned Specific: {_percent(100 - e)}"
                for n, e in zip(names, planned_specific_edge, strict=True)
            ],
            hoverinfo="text",
        )
    )
    flagged = frame["flagged"].fillna(False).astype(bool)
    fig.add_trace(
        go.Scatter(
            name="Flag",
            y=names[flagged],
            x=np.full(int(flagged.sum()), 100.0),
            mode="text",
            text=[
                f"Specific above plan (+{e:.0f} points)"
                for e in frame.loc[flagged, "specific_excess_points"]
            ],
            textposition="middle right",
            showlegend=False,
            hoverinfo="skip",
            cliponaxis=False,
        )
    )
    fig.update_layout(
        title="Share of clinical time: Choice, Core and Specific",
        barmode="stack",
        xaxis={"title": "% of attended clinical minutes", "range": [0, 100]},
        yaxis={"autorange": "reversed", "title": None},
        height=_height(len(frame)),
        legend=LEGEND_ON_TOP,
        margin={"r": 220, "t": TOP_MARGIN},
    )
    return fig


def wait_chart(
    waits_df: pd.DataFrame,
    thresholds: Sequence[int] = DEFAULT_SETTINGS.wait_thresholds_days,
) -> go.Figure:
    """Distribution of internal waits (days, Choice to first Core Partnership).

    Takes a `metrics.flow.internal_waits` frame: completed waits and clients still waiting
    (wait so far) as two overlaid histograms, threshold days as dashed vertical lines.
    """
    waiting = waits_df["waiting"].fillna(False).astype(bool)
    fig = go.Figure()
    for name, rows, colour, pattern in (
        ("Seen at Core Partnership", waits_df[~waiting], BLUE, ""),
        ("Still waiting (so far)", waits_df[waiting], ORANGE, "/"),
    ):
        fig.add_trace(
            go.Histogram(
                name=f"{name} ({len(rows)})",
                x=rows["wait_days"],
                xbins={"start": 0, "size": 7},
                marker={"color": colour, "pattern": {"shape": pattern}},
                opacity=0.75,
                hovertemplate="%{x} days: %{y} clients<extra></extra>",
            )
        )
    for days in thresholds:
        fig.add_vline(
            x=days,
            line={"dash": "dash", "color": GREY},
            annotation_text=f"{days} days",
            annotation_position="top",
        )
    fig.update_layout(
        title="Internal wait from Choice to first Core Partnership",
        barmode="overlay",
        xaxis_title="Days waited (weekly bins)",
        yaxis_title="Clients",
        legend=LEGEND_ON_TOP,
        margin={"t": TOP_MARGIN},
    )
    return fig


def capacity_chart(capacity_df: pd.DataFrame) -> go.Figure:
    """L3: demand and capacity for new Core Partnerships per quarter, side by side.

    Takes a `metrics.capacity.capacity_by_quarter` frame. Under each quarter its balance in
    words ("capacity short by 40 new Core Partnerships a quarter"), so the gap never rests on
    colour; a forecast quarter's bars are hatched and say so.
    """
    forecast = (capacity_df["basis"] == "forecast").to_numpy()
    labels = [
        f"<b>{quarter}</b>{' (forecast)' if ahead else ''}<br>"
        + words.replace(" new Core", "<br>new Core")
        for quarter, words, ahead in zip(capacity_df["quarter"], capacity_df["balance_words"],
                                         forecast, strict=True)
    ]
    fig = go.Figure()
    for column, name, colour in (("demand", "Demand", ORANGE),
                                 ("capacity", "Capacity (job plans)", BLUE)):
        values = capacity_df[column].astype("float64")
        fig.add_trace(
            go.Bar(
                name=name,
                x=labels,
                y=values,
                marker={"color": colour, "pattern": {"shape": ["/" if f else "" for f in forecast]}},
                text=[f"{v:.0f}" for v in values],
                textposition="outside",
                hovertemplate=f"{name}: %{{y:.1f}} a quarter<extra></extra>",
            )
        )
    fig.update_layout(
        title="New Core Partnerships a quarter: demand and capacity",
        barmode="group",
        yaxis_title="New Core Partnerships a quarter",
        legend=LEGEND_ON_TOP,
        margin={"t": TOP_MARGIN},
    )
    return fig


def _limit_name(name: str, xmr_df: pd.DataFrame, column: str) -> str:
    if not (len(xmr_df) and bool(xmr_df[f"{column}_clipped"].iloc[0])):
        return name
    bound = float(xmr_df[column].iloc[0])
    side = "below" if column == "lcl" else "above"
    return f"{name} (held at {bound:g}: values cannot go {side} {bound:g})"


def _height(rows: int) -> int:
    return max(300, 120 + ROW_HEIGHT * rows)


def _number(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.1f}"


def _percent(value: float) -> str:
    return "no job plan" if pd.isna(value) else f"{value:.1f}%"

"""The review pack's charts as PNG images, drawn with matplotlib (no browser, no display).

The same pictures as the pages' Plotly charts (charts.py), in the same colour-blind-safe
palette, with words on the bars so colour never carries meaning alone. Each builder takes a
metrics frame and returns PNG bytes.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd

# A bare Figure draws with the Agg canvas: no pyplot, no display, safe in the app's threads.
from matplotlib.figure import Figure

from capa_monitor.charts import (
    BLUE,
    GREY,
    ORANGE,
    REDDISH_PURPLE,
    SKY_BLUE,
    STATUS_COLOURS,
    VERMILLION,
)
from capa_monitor.metrics.words import STATUS_WORDS

DPI = 200
WIDTH_IN = 7.0  # the A4 text width at 18 mm margins is about 6.8 inches
FONT = {"font.family": "DejaVu Sans", "font.size": 8}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _figure(height_in: float) -> tuple[Figure, object]:
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(WIDTH_IN, height_in))
        ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def delivery_png(clinicians: pd.DataFrame) -> bytes:
    """Delivered (bar, coloured and labelled by status), expected to date and full target per
    clinician, as the review page's delivery chart."""
    frame = clinicians.iloc[::-1].reset_index(drop=True)
    with matplotlib.rc_context(FONT):
        fig, ax = _figure(0.35 * len(frame) + 0.9)
        y = np.arange(len(frame))
        expected = frame["expected_to_date"].astype("float64").fillna(0)
        delivered = frame["delivered"].astype("float64")
        ax.barh(y + 0.18, expected, height=0.36, color=SKY_BLUE, alpha=0.55,
                label="Expected to date")
        colours = [STATUS_COLOURS.get(s, GREY) for s in frame["status"]]
        ax.barh(y - 0.18, delivered, height=0.36, color=colours,
                label="Delivered (colour: status, in words beside)")
        target = frame["target"].astype("float64")
        ax.scatter(target, y, marker="|", s=220, color="black", label="Quarter target", zorder=3)
        right = np.fmax(delivered, target.fillna(0))
        for row, (count, end, status) in enumerate(zip(delivered, right, frame["status"],
                                                       strict=True)):
            ax.text(end + 0.3, row - 0.18, f"{count:.0f} · {STATUS_WORDS.get(status, status)}",
                    va="center", fontsize=7)
        ax.set_yticks(y, frame["clinician"].astype(str))
        ax.set_xlabel("New Core Partnerships")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
        return _png(fig)


def xmr_png(xmr: pd.DataFrame, title: str, y_label: str) -> bytes:
    """An XmR chart (Making Data Count): values, mean, process limits; special-cause points as
    orange diamonds; trial limits said in the title."""
    with matplotlib.rc_context(FONT):
        fig, ax = _figure(2.6)
        trial = bool(len(xmr)) and bool(xmr["trial"].iloc[0])
        periods = pd.to_datetime(xmr["period"])
        ax.plot(periods, xmr["value"], color=GREY, marker="o", markersize=3,
                markerfacecolor=BLUE, markeredgecolor=BLUE, label=y_label)
        ax.plot(periods, xmr["mean"], color=BLUE, label="Mean")
        ax.plot(periods, xmr["ucl"], color=REDDISH_PURPLE, linestyle="--",
                label="Process limits")
        ax.plot(periods, xmr["lcl"], color=REDDISH_PURPLE, linestyle="--")
        special = xmr[xmr["special_cause"].fillna(False).astype(bool)]
        if len(special):
            ax.scatter(pd.to_datetime(special["period"]), special["value"], marker="D", s=30,
                       color=ORANGE, edgecolors=VERMILLION, zorder=3, label="Special cause")
        ax.set_ylabel(y_label)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4, frameon=False,
                  title=title + (" (trial limits)" if trial else ""), alignment="left")
        fig.autofmt_xdate()
        return _png(fig)


def capacity_png(capacity: pd.DataFrame) -> bytes:
    """L3 per quarter: demand and capacity for new Core Partnerships side by side, the balance
    in words under each quarter; a forecast quarter's bars are hatched."""
    with matplotlib.rc_context(FONT):
        fig, ax = _figure(3.0)
        x = np.arange(len(capacity))
        forecast = (capacity["basis"] == "forecast").to_numpy()
        hatch = ["//" if f else "" for f in forecast]
        for offset, column, colour, name in ((-0.2, "demand", ORANGE, "Demand"),
                                             (0.2, "capacity", BLUE, "Capacity (job plans)")):
            bars = ax.bar(x + offset, capacity[column], width=0.38, color=colour, label=name,
                          edgecolor="white")
            for bar, pattern in zip(bars, hatch, strict=True):
                bar.set_hatch(pattern)
            for position, value in zip(x + offset, capacity[column], strict=True):
                ax.text(position, value, f"{value:.0f}", ha="center", va="bottom", fontsize=7)
        labels = [f"{q}{' (forecast)' if f else ''}\n{_short(w)}"
                  for q, w, f in zip(capacity["quarter"], capacity["balance_words"], forecast,
                                     strict=True)]
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_ylabel("New Core Partnerships a quarter")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
        return _png(fig)


def _short(words: str) -> str:
    """Balance words on lines of their own under a bar."""
    for part in (" new Core Partnership", " a quarter"):
        words = words.replace(part, "\n" + part.strip())
    return words

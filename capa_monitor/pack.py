"""L5 (domain spec §8): the quarterly review pack, one A4 PDF for the team's review meeting.

The same words and figures as the pages (metrics.words, the outlook's L1–L3 words), laid out
with ReportLab's platypus: tables that split over pages with their header row repeated,
headings kept with what follows, charts as PNG images drawn by matplotlib (pack_charts), so
no browser is involved. No client identifier appears: slots are named by date, time,
clinician and type (and the export's slot id), drift episodes by clinician and dates.

ReportLab over fpdf2 (both well kept): measured here on a 200-row wrapped table plus a chart,
ReportLab built in 0.17 s against fpdf2's 1.0–2.1 s, and its flowables do the page breaking a
long shortfall list needs. The font is DejaVu Sans, shipped inside matplotlib, so "–", "≥" and
accented names print everywhere.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import matplotlib
import pandas as pd
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from capa_monitor import pack_charts
from capa_monitor.metrics import words
from capa_monitor.metrics.ahead import whole_slots
from capa_monitor.metrics.capacity import rule_of_thumb
from capa_monitor.metrics.flow import ALL_TEAMS
from capa_monitor.metrics.lookahead import Outlook
from capa_monitor.metrics.review import Review

FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
MARGIN = 16 * mm
TEXT_WIDTH = A4[0] - 2 * MARGIN
#: Tallest picture: a page's frame less room for its heading and caption.
MAX_IMAGE_HEIGHT = A4[1] - 2 * MARGIN - 60 * mm
#: Above this many clinicians the delivery chart would be unreadable; the table says it all.
CHART_CLINICIANS = 40
_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(_FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(_FONT_DIR / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11, alignment=TA_LEFT,
                          spaceAfter=3)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=17, leading=21,
                                spaceAfter=4),
        "h1": ParagraphStyle("h1", parent=base, fontName=BOLD, fontSize=12, leading=15,
                             spaceBefore=9, spaceAfter=4),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=9,
                                textColor=colors.HexColor("#444444")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7, leading=8.5, spaceAfter=0),
        "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=7, leading=8.5,
                               spaceAfter=0),
    }


def _esc(value) -> str:
    """Text for a Paragraph (its mini-markup would read <, > and & otherwise)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _num(value, digits: int = 1) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"


def _day(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%d %b %Y}"


class _Pack:
    """Builds the story (list of flowables) section by section."""

    def __init__(self, result: Review, look: Outlook) -> None:
        self.result, self.look = result, look
        self.s = _styles()
        self.story: list[Flowable] = []

    def para(self, text: str, style: str = "body") -> None:
        self.story.append(Paragraph(text, self.s[style]))

    def heading(self, text: str, then: list[Flowable] | None = None) -> None:
        """A heading kept on the page of what follows it."""
        self.story.append(KeepTogether([Paragraph(_esc(text), self.s["h1"]), *(then or [])]))

    def table(self, header: list[str], rows: list[list], widths: list[float]) -> Table:
        cells = [[Paragraph(_esc(h), self.s["head"]) for h in header]]
        cells += [[Paragraph(_esc(v), self.s["cell"]) for v in row] for row in rows]
        scale = TEXT_WIDTH / sum(widths)
        table = Table(cells, colWidths=[w * scale for w in widths], repeatRows=1)
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#BBBBBB")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]))
        return table

    def image(self, png: bytes, width: float = TEXT_WIDTH) -> Image:
        picture = Image(io.BytesIO(png))
        height = picture.drawHeight * width / picture.drawWidth
        if height > MAX_IMAGE_HEIGHT:  # keep it on one page, in proportion
            width, height = width * MAX_IMAGE_HEIGHT / height, MAX_IMAGE_HEIGHT
        picture.drawWidth, picture.drawHeight = width, height
        return picture

    # -- sections ------------------------------------------------------------------------

    def cover(self) -> None:
        r, s = self.result, self.result.settings
        self.para(f"Quarterly review pack: {_esc(r.teams_label)}", "title")
        source = ("as given" if r.as_of_source == "given"
                  else "the latest attended or missed appointment")
        self.para(f"<b>{r.quarter.label}</b> ({_day(r.quarter.start)} – "
                  f"{_day(r.quarter.last_day)}), as of <b>{_day(r.as_of)}</b> ({source}).")
        region = s.holiday_country + (f"-{s.holiday_subdiv}" if s.holiday_subdiv else "")
        self.para(
            f"Rules: targets are the job plan's figure, else core half-days × "
            f"{s.appointments_per_half_day:g} × {s.usable_weeks_per_quarter:g} weeks ÷ "
            f"{s.appointments_per_core_partnership:g}; no Core time and no figure: no target; "
            f"expected to date pro rata over working days ({region} holidays). On track at ≥ "
            f"{s.green_ratio:.0%} of expected, slightly behind at ≥ {s.amber_ratio:.0%}, behind "
            f"below. Lost slots count as re-offered within {s.reoffer_window_days} days. "
            f"Projections take each clinician's non-attendance over the last "
            f"{s.nonattendance_weeks} weeks (the team's below {s.nonattendance_min_slots} "
            f"slots); next quarter's diary is checked from {s.diary_lead_weeks} weeks ahead, "
            f"short below {s.diary_ready_fraction:.0%} of target; capacity is in balance at "
            f"{s.balance_low:.0%}–{s.balance_high:.0%} of demand.", "small")
        self.para("No client identifiers: slots are named by date, time, clinician and type.",
                  "small")

    def totals(self) -> None:
        r, look = self.result, self.look
        head = r.headline
        lines = [
            f"New Core Partnerships by clinicians with a target: <b>{head.delivered}</b> "
            f"delivered of {head.expected:.1f} expected to date (quarter target "
            f"{head.target:.1f}); {head.behind} of {head.with_target} behind, "
            f"{head.slightly_behind} slightly behind.",
            *(_esc(line[0].upper() + line[1:]) + "." for line in head.apart()),
        ]
        banner = words.no_core_time_banner(head.no_core_time, r.quarter.label)
        if banner:
            lines.append(_esc(banner))
        lost = r.lost_slots
        lines.append(f"Lost slots in the quarter: {len(lost)}; "
                     f"{int((lost['status'] == 'not_reoffered').sum())} not re-offered, "
                     f"{int((lost['status'] == 'pending').sum())} pending.")
        clinicians = look.clinicians
        projected = clinicians["projection_words"].dropna()
        if len(projected):
            short = projected[projected != "on course"]
            lines.append(f"Projected quarter end: {len(projected) - len(short)} of "
                         f"{len(projected)} clinicians on course"
                         + (f"; {len(short)} need{'s' if len(short) == 1 else ''} more slots "
                            f"({sum(map(whole_slots, clinicians.loc[short.index, 'to_find']))}"
                            " in all)." if len(short) else "."))
        if look.diary is not None:
            diary = look.diary
            if diary.checked:
                flagged = diary.flagged
                lines.append(f"{diary.quarter.label} diary: {len(flagged)} of "
                             f"{len(diary.clinicians)} clinicians short, "
                             f"{int(flagged['slots_missing'].sum())} slots missing.")
            else:
                lines.append(f"{diary.quarter.label} diary: checked from "
                             f"{_day(diary.ready_at)}.")
        row = look.current_capacity
        lines.append(
            f"Capacity against demand this quarter: capacity {row['capacity']:.1f}, demand "
            f"{row['demand']:.1f} new Core Partnerships: <b>{_esc(row['balance_words'])}</b>; "
            f"internal wait {_esc(row['wait_words'])}.")
        self.heading("Team totals", [Paragraph(line, self.s["body"]) for line in lines[:1]])
        for line in lines[1:]:
            self.para(line)
        if 0 < len(r.clinicians) <= CHART_CLINICIANS:
            self.story.append(self.image(pack_charts.delivery_png(r.clinicians),
                                         width=TEXT_WIDTH * 0.85))
        elif len(r.clinicians):
            self.para(f"The delivery chart is left out for {len(r.clinicians)} clinicians; each "
                      "clinician's figures follow.", "small")

    def clinicians(self) -> None:
        c = self.look.clinicians
        lines = []
        for row in c.itertuples(index=False):
            status = words.STATUS_WORDS.get(row.status, row.status)
            also = f"also in {row.also_in}" if isinstance(row.also_in, str) else None
            note = "; ".join(part for part in (row.status_reason, row.availability, also)
                             if isinstance(part, str) and part)
            done = (f"delivered {row.delivered} of {_num(row.expected_to_date)} expected to "
                    f"date (quarter target {_num(row.target)})" if not pd.isna(row.target)
                    else f"delivered {row.delivered} new Core Partnerships")
            text = (f"<b>{_esc(row.clinician)}</b> — {status}"
                    + (f" ({_esc(note)})" if note else "") + f": {done}; {row.lost} lost slot"
                    f"{'' if row.lost == 1 else 's'}, {row.not_reoffered} not re-offered, "
                    f"{row.pending} pending.")
            if isinstance(row.projection_words, str):
                text += (f" Projected {_num(row.projected)}: <b>{_esc(row.projection_words)}</b>"
                         f" ({row.booked_ahead} booked, {row.free_ahead} free slots ahead).")
            if isinstance(row.diary_words, str):
                text += f" Next quarter: {_esc(row.diary_words)}."
            lines.append(Paragraph(text, self.s["body"]))
        self.heading("Each clinician", lines[:1])
        self.story.extend(lines[1:])
        rows = [[row.clinician, words.STATUS_WORDS.get(row.status, row.status), row.delivered,
                 _num(row.expected_to_date), _num(row.target), _num(row.projected),
                 row.projection_words, row.diary_words]
                for row in c.itertuples(index=False)]
        self.story.append(Spacer(1, 4))
        self.story.append(self.table(
            ["Clinician", "Status", "Delivered", "Expected", "Target", "Projected",
             "Quarter end", "Next quarter's diary"],
            rows, [18, 11, 10, 10, 8, 10, 14, 26]))

    def lost_slots(self) -> None:
        lost = self.result.lost_slots
        missed = lost[lost["status"] == "not_reoffered"]
        if missed.empty:
            self.heading("Lost slots not re-offered",
                         [Paragraph("None: every lost slot so far was offered again or is "
                                    "still within the re-offer window.", self.s["body"])])
            return
        rows = [[slot, words.OUTCOME_WORDS.get(outcome, outcome), evidence]
                for slot, outcome, evidence in zip(missed["slot"], missed["outcome"],
                                                   missed["evidence"], strict=True)]
        self.heading(f"Lost slots not re-offered ({len(missed)})")
        self.story.append(self.table(["Slot", "Outcome", "Evidence"], rows, [45, 15, 40]))

    def balance(self) -> None:
        r = self.result
        s = r.settings
        intro = Paragraph(
            f"Share of attended clinical time against the job plan's shares; flagged when the "
            f"Specific share is more than {s.specific_margin_points:g} points above plan.",
            self.s["body"])
        frames = [frame for frame in (r.balance_teams, r.balance) if not frame.empty]
        if not frames:
            self.heading("Core / Specific balance", [intro, Paragraph(
                "No attended Choice, Core or Specific appointments in this quarter yet.",
                self.s["body"])])
            return
        self.heading("Core / Specific balance", [intro])
        rows = []
        for frame in frames:
            who = frame["clinician"] if "clinician" in frame else frame["team"]
            for name, row in zip(who, frame.itertuples(index=False), strict=True):
                rows.append([name, "flagged" if row.flagged else "ok",
                             _num(row.clinical_minutes / 60, 0), _num(row.choice_share, 0),
                             _num(row.core_share, 0), _num(row.specific_share, 0),
                             _num(row.plan_choice_share, 0), _num(row.plan_core_share, 0),
                             _num(row.plan_specific_share, 0),
                             _num(row.specific_excess_points, 0)])
        self.story.append(self.table(
            ["Team / clinician", "Flag", "Clinical hours", "Choice %", "Core %", "Specific %",
             "Plan Choice %", "Plan Core %", "Plan Specific %", "Specific over plan"],
            rows, [20, 8, 9, 9, 8, 10, 9, 9, 10, 9]))

    def drift(self) -> None:
        r = self.result
        s = r.settings
        flagged = r.drift[r.drift["flagged"].astype(bool)]
        intro = Paragraph(
            f"Open Specific episodes over {s.drift_max_sessions} sessions or "
            f"{s.drift_max_weeks} weeks (a gap of {s.drift_gap_weeks} weeks ends an episode).",
            self.s["body"])
        if flagged.empty:
            self.heading("Specific drift", [intro, Paragraph(
                "No Specific episode has drifted past the limits.", self.s["body"])])
            return
        self.heading("Specific drift", [intro])
        rows = [[row.clinician, _day(row.first_date), _day(row.last_date), row.sessions,
                 _num(row.weeks, 0), row.reason] for row in flagged.itertuples(index=False)]
        self.story.append(self.table(
            ["Clinician", "First session", "Last session", "Sessions", "Weeks", "Why flagged"],
            rows, [20, 13, 13, 10, 8, 36]))

    def flow_and_capacity(self) -> None:
        r, look = self.result, self.look
        s = r.settings
        everyone = r.flow_summary[r.flow_summary["team"] == ALL_TEAMS]
        lines = []
        if len(everyone) and everyone["n"].iloc[0]:
            row = everyone.iloc[0]
            first = s.wait_thresholds_days[0]
            within = ", ".join(f"{row[f'pct_within_{d}']:.0f}% within {d} days"
                               for d in s.wait_thresholds_days)
            lines.append(
                f"Internal wait from Choice to Core Partnership: median {row['median']:.0f} "
                f"days, 90th percentile {row['p90']:.0f} days over {row['n']} completed waits; "
                f"{within}; {row['still_waiting']} still waiting "
                f"({row[f'still_waiting_over_{first}']} past {first} days); handover "
                f"{row['handover_rate']:.0f}%.")
        else:
            lines.append("No client has gone from Choice to Core Partnership in this quarter "
                         "yet.")
        lines.append(_esc(look.conversion.words(s)) + ".")
        lines.append(_esc(rule_of_thumb(look.current_capacity["choice"])))
        self.heading("Internal wait, capacity and demand",
                     [Paragraph(line, self.s["body"]) for line in lines])
        cap = look.capacity
        rows = [[row.quarter, row.basis, _num(row.choice, 0), _num(row.demand),
                 _num(row.capacity), _num(row.balance, 2), row.balance_words, row.wait_words]
                for row in cap.itertuples(index=False)]
        self.story.append(self.table(
            ["Quarter", "Basis", "Choice seen", "Demand", "Capacity", "Capacity ÷ demand",
             "Balance", "Internal wait"],
            rows, [11, 11, 9, 9, 10, 10, 24, 23]))
        self.story.append(Spacer(1, 4))
        self.story.append(self.image(pack_charts.capacity_png(cap)))

    def trend(self) -> None:
        r = self.result
        weekly = r.spc_weekly
        if weekly.empty:
            return
        special = weekly[weekly["special_cause"].fillna(False).astype(bool)]
        lines = [Paragraph(
            "Team new Core Partnerships per week (weeks commencing Monday), Making Data Count "
            "style: mean ± 2.66 × mean moving range.", self.s["body"])]
        if len(special):
            lines.append(Paragraph(
                "Special cause: " + _esc("; ".join(
                    f"w/c {_day(p)} ({rule})" for p, rule in zip(special["period"],
                                                                 special["rule"], strict=True))),
                self.s["body"]))
        self.heading("Trend", [*lines, self.image(pack_charts.xmr_png(
            weekly, "New Core Partnerships per week", "New Core Partnerships"))])


def pack_pdf(result: Review, look: Outlook, *, made_on: date | None = None) -> bytes:
    """The review pack as PDF bytes (A4 portrait)."""
    _fonts()
    pack = _Pack(result, look)
    pack.cover()
    pack.totals()
    pack.clinicians()
    pack.lost_slots()
    pack.balance()
    pack.drift()
    pack.flow_and_capacity()
    pack.trend()
    buffer = io.BytesIO()
    title = f"Quarterly review pack: {result.teams_label}, {result.quarter.label}"
    footer = (f"CAPA Monitor · {result.teams_label} · {result.quarter.label} as of "
              f"{_day(result.as_of)}" + (f" · made {_day(made_on)}" if made_on else ""))

    def page_footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(MARGIN, 9 * mm, footer)
        canvas.drawRightString(A4[0] - MARGIN, 9 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm, title=title,
                            author="CAPA Monitor", subject=title, creator="CAPA Monitor")
    doc.build(pack.story, onFirstPage=page_footer, onLaterPages=page_footer)
    return buffer.getvalue()

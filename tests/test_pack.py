"""§8 L5: the quarterly review pack renders as A4 pages (pdftoppm) and says what the pages say
(pdftotext), with no client identifier; `python -m capa_monitor pack` writes it and audits it.

Fixture: team North, 2026/27 Q3 as of Fri 20 Nov 2026. Aisha Khan (5 Core sessions, target 15):
10 attended and 2 DNA/WNB in October (no later slot for either family: not re-offered once the
28-day window has passed), 8 booked in December, 13 slots in the Q4 diary. Ben Cole (3 sessions,
target 9): 2 attended, 5 booked: behind. Five Choice appointments seen.
L1 by hand: Aisha's own rate 2/12 → 10 + 8 × 5/6 = 16.7 ≥ 15: on course. Ben has 2 slots
(< 10): the team's rate 2/14 → 2 + 5 × 6/7 = 6.3, 9 − 6.3 = 2.7: needs 3 more slots.
L2: Aisha 13 of 15 ≥ 12: ready; Ben nothing in the Q4 diary: 9 missing.
"""

import json
import shutil
import struct
import subprocess
from datetime import date

import pandas as pd
import pytest
from conftest import make_activity, make_load_result

import capa_monitor.cli as cli
from capa_monitor.metrics.lookahead import outlook
from capa_monitor.metrics.review import review
from capa_monitor.pack import pack_pdf
from capa_monitor.periods import Quarter
from capa_monitor.store import Store

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed: scripts/test.sh installs it",
)

Q3 = Quarter(2026, 3)
AS_OF = date(2026, 11, 20)
SECRET = "CLIENTKEY"  # every client key starts with this: none may reach the pack


def rows(clinician, day, outcome, count=1, kind="core_new", **extra):
    return [{"clinician": clinician, "team": "North", "date": day, "kind": kind,
             "outcome": outcome, "start": "10:00", **extra} for _ in range(count)]


def activity():
    found = (
        rows("Aisha Khan", "2026-10-05", "attended", 10)
        + rows("Aisha Khan", "2026-10-12", "dna", slot_id="APT-0099")
        + rows("Aisha Khan", "2026-10-13", "dna", slot_id="APT-0100")
        + rows("Aisha Khan", "2026-12-07", "booked", 8)
        + rows("Aisha Khan", "2027-01-11", "booked", 13)
        + rows("Ben Cole", "2026-10-06", "attended", 2)
        + rows("Ben Cole", "2026-12-01", "booked", 5)
        + rows("Ben Cole", "2026-10-01", "attended", 5, kind="choice")
    )
    for number, row in enumerate(found):
        row["client_key"] = f"{SECRET}{number:04d}"
    return make_activity(found)


PLANS = pd.DataFrame({"clinician": ["Aisha Khan", "Ben Cole"], "team": ["North", "North"],
                      "core_sessions": [5.0, 3.0], "choice_per_week": [2.0, 2.0]})


def pdf_text(path) -> str:
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    # -raw: in the order drawn, so a table cell's wrapped lines stay together; one line of words
    return " ".join(text.split())


def png_pages(path, folder) -> list[tuple[int, int]]:
    """Render at 50 dpi; each page's (width, height) in pixels from its PNG header."""
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(folder / "page")], check=True)
    sizes = []
    for page in sorted(folder.glob("page-*.png")):
        header = page.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        sizes.append(struct.unpack(">II", header[16:24]))
    return sizes


@pytest.fixture(scope="module")
def pack_file(tmp_path_factory):
    frame = activity()
    result = review(frame, PLANS, Q3, as_of=AS_OF, teams=["North"])
    path = tmp_path_factory.mktemp("pack") / "pack.pdf"
    path.write_bytes(pack_pdf(result, outlook(frame, PLANS, result)))
    return path


def test_the_pack_is_a4_pages_that_render(pack_file, tmp_path):
    sizes = png_pages(pack_file, tmp_path)
    assert 2 <= len(sizes) <= 4
    # A4 is 8.27 × 11.69 inches: 413 × 585 pixels at 50 dpi
    assert all(abs(w - 413) <= 1 and abs(h - 585) <= 1 for w, h in sizes)


def test_the_pack_says_what_the_pages_say(pack_file):
    text = pdf_text(pack_file)
    for expected in (
        "Quarterly review pack: North",
        "2026/27 Q3 (01 Oct 2026 – 31 Dec 2026), as of 20 Nov 2026 (as given)",
        # team totals: 12 delivered of 15 × 37/64 + 9 × 37/64 = 13.9 expected
        "12 delivered of 13.9 expected to date (quarter target 24.0); 1 of 2 behind, 0 slightly behind",
        "Lost slots in the quarter: 2; 2 not re-offered, 0 pending.",
        "Projected quarter end: 1 of 2 clinicians on course; 1 needs more slots (3 in all).",
        "2026/27 Q4 diary: 1 of 2 clinicians short, 9 slots missing.",
        # each clinician in words, with L1 and L2
        "Aisha Khan — on track: delivered 10 of 8.7 expected to date (quarter target 15.0); "
        "2 lost slots, 2 not re-offered, 0 pending",
        "Projected 16.7: on course (8 booked, 0 free slots ahead)",
        "diary ready (13 of 15 in the 2026/27 Q4 diary)",
        "Ben Cole — behind: delivered 2 of 5.2 expected",  # 2 < 0.8 × 5.2
        "Projected 6.3: needs 3 more slots (5 booked, 0 free slots ahead)",
        "no slots in the 2026/27 Q4 diary yet: 9 slots missing",
        # lost slots by date, time, clinician and type, with the export's id
        "Mon 12 Oct 2026 10:00, Aisha Khan, new Core Partnership (slot APT-0099)",
        "Internal wait, capacity and demand",
        "Trend",
    ):
        assert expected in text, expected
    assert SECRET not in text


def test_pack_command_writes_the_pdf_and_audits_it(sqlite_url, tmp_path, capsys):
    store = Store.open(sqlite_url)
    store.ingest(make_load_result(activity()), user="manager@example.org")
    store.save_jobplans(PLANS, user="manager@example.org", source="test")
    out = tmp_path / "north.pdf"
    code = cli.main(["--db", sqlite_url, "pack", "--quarter", "2026/27 Q3", "--team", "North",
                     "--as-of", "2026-11-20", "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().out.startswith(f"Wrote {out}: the 2026/27 Q3 review pack for North")
    assert "needs 3 more slots" in pdf_text(out)
    downloads = store.audit().query("action == 'download'")
    details = downloads["details"].iloc[-1]
    details = json.loads(details) if isinstance(details, str) else details
    assert (details["what"], details["quarter"], details["file"]) == (
        "review pack", "2026/27 Q3", "north.pdf")


def test_pack_command_refuses_another_file_type(sqlite_url, tmp_path, capsys):
    code = cli.main(["--db", sqlite_url, "pack", "--quarter", "2026/27 Q3",
                     "--out", str(tmp_path / "pack.docx")])
    assert code == 1
    assert capsys.readouterr().err == "error: --out must end in .pdf, not 'pack.docx'.\n"


def test_a_service_wide_pack_leaves_the_delivery_chart_out_and_still_renders(tmp_path):
    # 41 clinicians: one bar each would be unreadable on a page, so the chart is left out
    frame = make_activity([{"clinician": f"Clin {n:02d}", "team": "North", "date": "2026-10-05",
                            "kind": "core_new", "outcome": "attended"} for n in range(41)])
    plans = pd.DataFrame({"clinician": [f"Clin {n:02d}" for n in range(41)], "team": "North",
                          "core_sessions": 1.0})
    result = review(frame, plans, Q3, as_of=AS_OF)
    path = tmp_path / "wide.pdf"
    path.write_bytes(pack_pdf(result, outlook(frame, plans, result)))
    text = pdf_text(path)
    assert "The delivery chart is left out for 41 clinicians" in text
    assert "Clin 40 — " in text
    assert len(png_pages(path, tmp_path)) >= 3

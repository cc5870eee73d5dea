"""The Looking ahead page through AppTest: L1–L3 in words beside any colour, and a what-if that
is only saved when the manager saves it (then as an ordinary, audited job-plan change).

Store: team North, as of Fri 20 Nov 2026 (Ben Cole's Choice that day is the latest seen).
Aisha Khan (5 Core sessions, target 15): 10 attended, 2 DNA/WNB, 8 booked ahead, 13 slots in
the Q4 diary: projected 10 + 8 × 5/6 = 16.7, on course; diary ready (13 ≥ 0.8 × 15).
Ben Cole (3 sessions, target 9): 2 attended, 5 booked; too few slots of his own, so the team's
rate 2/14: 2 + 5 × 6/7 = 6.3, needs 3 more slots; nothing in the Q4 diary: 9 missing.
L3, Q3: 6 Choice seen in 37 of 64 working days → 10.38 × 0.67 (fewer than 30 clients) = 6.95
demand against 24 capacity: spare capacity 17.
"""

from __future__ import annotations

import hashlib

import pytest
from conftest import DASHBOARD, VIEWS, fill_store, plans_frame, table_with
from streamlit.testing.v1 import AppTest

from capa_monitor.auth import LOCAL_EMAIL
from capa_monitor.store import Store


def rows(clinician, day, outcome, count=1, kind="core_new"):
    return [{"clinician": clinician, "date": day, "kind": kind, "outcome": outcome,
             "client_key": f"k-{clinician[0]}-{day}-{n}"} for n in range(count)]


ROWS = (
    rows("Aisha Khan", "2026-10-05", "attended", 10) + rows("Aisha Khan", "2026-10-12", "dna", 2)
    + rows("Aisha Khan", "2026-12-07", "booked", 8) + rows("Aisha Khan", "2027-01-11", "booked", 13)
    + rows("Ben Cole", "2026-10-06", "attended", 2) + rows("Ben Cole", "2026-12-01", "booked", 5)
    + rows("Ben Cole", "2026-10-01", "attended", 5, kind="choice")
    + rows("Ben Cole", "2026-11-20", "attended", kind="choice")
)
PLANS = plans_frame([
    {"clinician": "Aisha Khan", "team": "North", "core_sessions": 5.0, "choice_per_week": 2.0},
    {"clinician": "Ben Cole", "team": "North", "core_sessions": 3.0, "choice_per_week": 2.0},
])


@pytest.fixture
def filled(db_url) -> str:
    fill_store(db_url, ROWS, PLANS)
    return db_url


def ahead(role: str | None = None) -> AppTest:
    at = AppTest.from_file(str(DASHBOARD), default_timeout=60)
    if role == "team":
        at.secrets["auth"] = {
            "redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x",
            "client_id": "capa", "client_secret": "x",
            "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
        at.secrets["capa"] = {"manager_emails": ["lead@example.org"]}
        at.user = {"is_logged_in": True, "email": "tam@example.org", "name": "Tam Team"}
    at.run()
    at.switch_page(f"{VIEWS}/ahead.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_reads_l1_to_l3_in_words(filled):
    at = ahead()
    assert at.title[0].value == "Looking ahead"
    assert [h.value for h in at.header] == [
        "This quarter's end", "2026/27 Q4 diary", "Capacity against demand", "What if…"]
    ends = table_with(at, "end_word").set_index("clinician")
    assert ends.loc["Aisha Khan", "end_word"] == "✅ on course"
    assert ends.loc["Ben Cole", "end_word"] == "⚠️ needs 3 more slots"
    assert ends.loc["Ben Cole", "booked_ahead"] == 5
    diary = table_with(at, "diary_word").set_index("clinician")
    assert diary.loc["Ben Cole", "diary_word"] == (
        "⚠️ no slots in the 2026/27 Q4 diary yet: 9 slots missing")
    assert diary.loc["Aisha Khan", "diary_word"] == (
        "✅ diary ready (13 of 15 in the 2026/27 Q4 diary)")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["On course"] == "1 of 2"
    assert metrics["Slots still to find"] == "3"
    assert metrics["Clinicians short"] == "1 of 2"
    assert metrics["Slots missing"] == "9"
    assert metrics["2026/27 Q3"] == "spare capacity 17 new Core Partnerships a quarter"


def test_a_team_member_sees_no_what_if(filled):
    at = ahead("team")
    assert "What if…" not in [h.value for h in at.header]


def test_a_what_if_is_tried_then_saved_as_an_audited_plan_change(filled):
    at = ahead()
    at.segmented_control(key="ahead_whatif_kind").set_value("Move sessions").run()
    at.selectbox(key="ahead_whatif_2_clinician").set_value("Aisha Khan")
    at.number_input(key="ahead_whatif_2_sessions").set_value(2.0)
    at.selectbox(key="ahead_whatif_2_from").set_value("core")
    at.selectbox(key="ahead_whatif_2_to").set_value("choice")
    next(b for b in at.button if b.label == "Add to the trial").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "1. Aisha Khan: 2 Core sessions a week move to Choice" in [m.value for m in at.markdown]
    team = table_with(at, "capacity_after").set_index("quarter")
    # Aisha 5 → 3 Core sessions: 15 → 9; with Ben's 9, capacity 24 → 18
    assert team.loc["2026/27 Q3", ["capacity_before", "capacity_after"]].tolist() == [24, 18]
    assert Store.open(filled).jobplans().set_index("clinician").loc["Aisha Khan",
                                                                    "core_sessions"] == 5

    at.button(key="ahead_whatif_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value == "Saved 1 job plan: Aisha Khan: 2 Core sessions a week move to Choice."
    store = Store.open(filled)
    aisha = store.jobplans().set_index("clinician").loc["Aisha Khan"]
    assert (aisha["core_sessions"], aisha["choice_per_week"]) == (3, 6)  # 2 + 2 × 2 appointments
    history = store.jobplan_history()
    assert "what-if: Aisha Khan: 2 Core sessions a week move to Choice" in history["source"].tolist()
    changed = store.audit().query("action == 'job plans changed'")
    assert changed["user"].iloc[-1] == LOCAL_EMAIL  # local mode's manager
    assert "what-if" in str(changed["details"].iloc[-1])


def test_the_review_pack_is_made_when_asked_for_and_audited(filled):
    from capa_monitor.metrics.lookahead import outlook
    from capa_monitor.metrics.review import review
    from capa_monitor.periods import Quarter
    from capa_monitor.views.ahead import made_pack

    at = ahead()
    assert at.get("download_button")[0].proto.label == "Download the review pack (PDF)"
    store = Store.open(filled)
    result = review(store.activity(), store.jobplans(), Quarter(2026, 3))
    pdf = made_pack(result, outlook(store.activity(), store.jobplans(), result), LOCAL_EMAIL)
    assert pdf.startswith(b"%PDF")
    download = store.audit().query("action == 'download'").iloc[-1]
    assert download["user"] == LOCAL_EMAIL
    assert "review pack" in str(download["details"])
    assert hashlib.sha256(pdf).hexdigest() in str(download["details"]) + str(
        download["file_sha256"])


def test_the_review_page_shows_l1_and_l2_per_clinician_and_offers_the_pack(filled):
    at = AppTest.from_file(str(DASHBOARD), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Looking ahead" in [s.value for s in at.subheader]
    ahead_rows = table_with(at, "diary_word").set_index("clinician")
    assert ahead_rows.loc["Ben Cole", "end_word"] == "⚠️ needs 3 more slots"
    assert ahead_rows.loc["Ben Cole", "diary_word"] == (
        "⚠️ no slots in the 2026/27 Q4 diary yet: 9 slots missing")
    assert ahead_rows.loc["Aisha Khan", "projected"] == pytest.approx(10 + 8 * 5 / 6)
    assert [b.proto.label for b in at.get("download_button")] == ["Download the review pack (PDF)"]

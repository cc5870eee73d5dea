"""The access list and the store as one person may use it (issue 14): grants audited, reads
filtered to the person's teams, writes of other teams refused and the refusals audited."""

from __future__ import annotations

import json

import pytest
from conftest import make_activity, make_load_result, plans_frame

from capa_monitor.access import ADMIN, SERVICE_LEAD, TEAM_MANAGER, TEAM_MEMBER, AccessDenied, Scope
from capa_monitor.errors import CapaError
from capa_monitor.store import SKIP, Store, access_store
from capa_monitor.store.scoped import ScopedStore

ADA = "ada@northfield.example"
LEE = "lee.lead@northfield.example"

NORTH_JULY = [
    {"slot_id": "n1", "clinician": "Ann Able", "team": "North", "date": "2026-07-01"},
    {"slot_id": "n2", "clinician": "Ann Able", "team": "North", "date": "2026-07-15"},
]
SOUTH_JULY = [
    {"slot_id": "s1", "clinician": "Ben Baker", "team": "South", "date": "2026-07-02"},
]
MANAGER_NORTH = Scope(LEE, TEAM_MANAGER, frozenset({"North"}))


def load(rows, name):
    return make_load_result(make_activity(rows), file_name=name)


@pytest.fixture
def two_teams(store):
    """Upload 1: North's July; upload 2: South's July (stored by the admin)."""
    store.ingest(load(NORTH_JULY, "north-july.xlsx"), user=ADA)
    store.ingest(load(SOUTH_JULY, "south-july.xlsx"), user=ADA)
    return store


def refusals(store):
    """The refused attempts' details, with the audit log's rows column as "rows"."""
    log = store.audit()
    log = log[log["action"] == "refused"]
    return [{**json.loads(d), "rows": r} for d, r in zip(log["details"], log["rows"], strict=True)]


def test_grant_replace_list_and_revoke_are_audited(store):
    access_store.grant(store, " Lee.Lead@Northfield.example ", TEAM_MEMBER,
                       frozenset({"North"}), by=ADA)
    assert access_store.entry(store, LEE) == Scope("Lee.Lead@Northfield.example", TEAM_MEMBER,
                                                   frozenset({"North"}), "access list")
    access_store.grant(store, LEE, TEAM_MANAGER, frozenset({"South", "North"}), by=ADA)
    listed = access_store.frame(store)
    assert listed[["email", "role", "teams", "granted_by"]].values.tolist() == [
        [LEE, TEAM_MANAGER, "North, South", ADA]]
    assert access_store.revoke(store, LEE, by=ADA) is True
    assert access_store.entry(store, LEE) is None
    assert access_store.revoke(store, LEE, by=ADA) is False

    log = store.audit()
    changes = log[log["action"].str.startswith("access")]
    assert changes["action"].tolist() == ["access granted", "access granted", "access revoked"]
    assert changes["user"].tolist() == [ADA, ADA, ADA]
    second = json.loads(changes["details"].iloc[1])
    assert (second["role"], second["teams"], second["before"]) == (
        TEAM_MANAGER, ["North", "South"], "team_member for North")


@pytest.mark.parametrize(
    ("email", "role", "teams", "message"),
    [
        ("not-an-email", TEAM_MEMBER, frozenset({"North"}), "not an email address"),
        (LEE, "manager", None, "Unknown role"),
        (LEE, TEAM_MANAGER, None, "needs their teams"),
    ],
)
def test_grant_refuses_bad_input(store, email, role, teams, message):
    with pytest.raises(CapaError, match=message):
        access_store.grant(store, email, role, teams, by=ADA)
    assert access_store.frame(store).empty


def test_admin_grant_holds_every_team(store):
    assert access_store.grant(store, LEE, ADMIN, frozenset({"North"}), by=ADA).teams is None
    assert access_store.grant(store, LEE, SERVICE_LEAD, None, by=ADA).teams is None


def test_manager_sees_only_their_teams_uploads(two_teams):
    seen = ScopedStore(two_teams, MANAGER_NORTH, LEE).uploads()
    assert seen["file_name"].tolist() == ["north-july.xlsx"]
    assert seen["teams"].tolist() == ["North"]


def test_upload_holding_two_teams_is_labelled_with_the_viewers_team_only(store):
    store.ingest(load(NORTH_JULY + SOUTH_JULY, "trust-july.xlsx"), user=ADA)
    seen = ScopedStore(store, MANAGER_NORTH, LEE).uploads()
    assert seen["teams"].tolist() == ["North"]


@pytest.mark.parametrize("verb", ["plan_restore", "restore", "plan_remove", "remove_upload"])
def test_manager_cannot_restore_or_remove_another_teams_upload(two_teams, verb):
    scoped = ScopedStore(two_teams, MANAGER_NORTH, LEE)
    call = getattr(scoped, verb)
    kwargs = {"user": LEE} if not verb.startswith("plan") else {}
    with pytest.raises(AccessDenied) as refused:
        call(2, **kwargs)
    # Upload 2 is South's: the refusal does not even say it exists, nor name South.
    assert str(refused.value) == "There is no upload 2 among your teams' uploads."
    assert two_teams.uploads().set_index("upload_id").loc[2, "rows_active"] == 1
    # The attempt is audited; a preview (shown on every page run) is not.
    if verb.startswith("plan"):
        assert refusals(two_teams) == []
    else:
        (entry,) = refusals(two_teams)
        assert (entry["attempted"], entry["upload_id"]) == (verb.replace("_upload", ""), 2)


def test_manager_can_remove_their_own_teams_upload(two_teams):
    ScopedStore(two_teams, MANAGER_NORTH, LEE).remove_upload(1, user=LEE)
    assert two_teams.uploads()["upload_id"].tolist() == [2]


def test_upload_of_two_teams_stores_only_the_managers_team_and_says_which_was_refused(store):
    scoped = ScopedStore(store, MANAGER_NORTH, LEE)
    result = load(NORTH_JULY + SOUTH_JULY, "trust-july.xlsx")
    assert scoped.refused_rows(result) == {"South": 1}
    scoped.ingest(result, user=LEE)
    assert sorted(store.activity()["slot_id"]) == ["n1", "n2"]
    (entry,) = refusals(store)
    assert entry["teams"] == ["South"] and entry["rows"] == 1
    assert entry["reason"] == "Rows for South were not stored: you are team manager for North."


def test_upload_with_no_row_of_the_managers_teams_is_refused(store):
    with pytest.raises(AccessDenied, match=r"None of this file's rows are for your teams \(South\)"):
        ScopedStore(store, MANAGER_NORTH, LEE).ingest(load(SOUTH_JULY, "south.xlsx"), user=LEE)
    assert store.uploads().empty
    assert len(refusals(store)) == 1


def test_manager_cannot_supersede_slots_stored_in_another_teams_upload(store):
    # The trust-wide July upload holds North's and South's rows; North's manager re-sends
    # North's July with the same slots: replacing would touch an upload holding South's rows.
    store.ingest(load(NORTH_JULY + SOUTH_JULY, "trust-july.xlsx"), user=ADA)
    scoped = ScopedStore(store, MANAGER_NORTH, LEE)
    again = [{**row, "outcome": "dna"} for row in NORTH_JULY]
    with pytest.raises(AccessDenied, match="2 rows of this file are slots already stored"):
        scoped.ingest(load(again, "north-july-v2.xlsx"), user=LEE)
    assert len(store.uploads()) == 1
    # Keeping the stored copies (skip) touches nothing of South's, so it is allowed.
    scoped.ingest(load(again, "north-july-v2.xlsx"), user=LEE, on_overlap=SKIP)
    assert len(store.uploads()) == 2


def test_job_plans_of_another_team_are_neither_read_nor_changed(store):
    store.save_jobplans(plans_frame([
        {"clinician": "Ann Able", "team": "North", "core_sessions": 4},
        {"clinician": "Ben Baker", "team": "South", "core_sessions": 2},
    ]), user=ADA, source="plans.xlsx")
    scoped = ScopedStore(store, MANAGER_NORTH, LEE)
    assert scoped.jobplans()["clinician"].tolist() == ["Ann Able"]
    # Moving Ben (South) into North, or saving a South plan: both touch South.
    for plan in ({"clinician": "Ben Baker", "team": "North", "core_sessions": 3},
                 {"clinician": "Cy Cole", "team": "South", "core_sessions": 3}):
        with pytest.raises(AccessDenied, match="change job plans for South"):
            scoped.save_jobplans(plans_frame([plan]), user=LEE, source="app")
    with pytest.raises(AccessDenied):
        scoped.remove_jobplans(["Ben Baker"], user=LEE, source="app")
    assert scoped.save_jobplans(plans_frame([{"clinician": "Ann Able", "team": "North",
                                              "core_sessions": 5}]), user=LEE, source="app") == 1
    assert store.jobplans()["core_sessions"].tolist() == [5.0, 2.0]
    assert len(refusals(store)) == 3


def test_audit_log_is_filtered_by_scope(two_teams):
    access_store.grant(two_teams, LEE, TEAM_MANAGER, frozenset({"North"}), by=ADA)
    two_teams.record("download", user=ADA, what="shortfall list", teams=["South"])
    two_teams.record("download", user=ADA, what="shortfall list", teams=["North"])
    manager = ScopedStore(two_teams, MANAGER_NORTH, LEE).audit()
    # North's upload (by its upload id) and North's download; not South's, not the grant.
    assert manager["action"].tolist() == ["upload", "download"]
    assert json.loads(manager["details"].iloc[0])["file_name"] == "north-july.xlsx"
    admin = ScopedStore(two_teams, Scope(ADA, ADMIN, None), ADA).audit()
    assert len(admin) == len(two_teams.audit())
    member = ScopedStore(two_teams, Scope(LEE, TEAM_MEMBER, frozenset({"North"})), LEE)
    with pytest.raises(AccessDenied):
        member.audit()
    assert refusals(two_teams)[-1]["what"] == "audit log"


def test_download_of_another_team_is_refused_and_audited(two_teams):
    scoped = ScopedStore(two_teams, MANAGER_NORTH, LEE)
    with pytest.raises(AccessDenied, match="download for South"):
        scoped.record("download", user=LEE, what="shortfall list", teams=["South"])
    scoped.record("download", user=LEE, what="shortfall list", teams=["North"])
    log = two_teams.audit()
    assert log["action"].tolist()[-2:] == ["refused", "download"]


def test_settings_are_the_admins(store):
    with pytest.raises(AccessDenied, match="change the settings"):
        ScopedStore(store, MANAGER_NORTH, LEE).save_settings(store.settings(), user=LEE)


# --- the CLI: access grant | revoke | list ----------------------------------------------------


def cli(store_url, *argv, monkeypatch, capsys):
    from capa_monitor.cli import main

    monkeypatch.setenv("CAPA_USER", ADA)
    code = main(["--db", store_url, "access", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_grant_list_revoke(store_url, monkeypatch, capsys):
    code, out, _ = cli(store_url, "grant", LEE, "--role", "team_manager", "--teams",
                       "North, South", monkeypatch=monkeypatch, capsys=capsys)
    assert (code, out) == (0, f"{LEE} is now team_manager for North, South.\n")
    code, out, _ = cli(store_url, "list", "--format", "json", monkeypatch=monkeypatch,
                       capsys=capsys)
    (listed,) = json.loads(out)
    assert {k: listed[k] for k in ("email", "role", "teams", "granted_by")} == {
        "email": LEE, "role": "team_manager", "teams": "North, South", "granted_by": ADA}
    code, out, _ = cli(store_url, "revoke", LEE, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and out.startswith(f"{LEE} is off the access list")
    code, _, err = cli(store_url, "revoke", LEE, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "is not on the access list" in err
    code, _, err = cli(store_url, "grant", LEE, "--role", "team_member",
                       monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and err == 'error: A team member needs their teams: give --teams "A,B".\n'
    code, out, _ = cli(store_url, "list", monkeypatch=monkeypatch, capsys=capsys)
    assert out.startswith("The access list is empty")


def test_manager_cannot_remove_an_upload_that_also_holds_another_teams_rows(store):
    store.ingest(load(NORTH_JULY + SOUTH_JULY, "trust-july.xlsx"), user=ADA)
    scoped = ScopedStore(store, MANAGER_NORTH, LEE)
    assert scoped.uploads()["upload_id"].tolist() == [1]  # he sees it: it holds North's rows
    with pytest.raises(AccessDenied, match="^Upload 1 also holds rows of a team outside yours, "
                       "so you may not remove it: ask an admin.$"):
        scoped.remove_upload(1, user=LEE)
    assert len(store.activity()) == 3
    assert refusals(store)[0]["attempted"] == "remove"


def test_removing_his_own_upload_may_not_bring_back_another_teams_rows(store):
    # The trust-wide July upload (North and South) is replaced, for North's slots, by North's
    # own file; removing North's file would bring rows of the trust-wide upload back.
    store.ingest(load(NORTH_JULY + SOUTH_JULY, "trust-july.xlsx"), user=ADA)
    store.ingest(load(NORTH_JULY, "north-july.xlsx"), user=ADA)
    scoped = ScopedStore(store, MANAGER_NORTH, LEE)
    with pytest.raises(AccessDenied, match="That would change 2 rows of an upload that holds "
                       "another team's rows"):
        scoped.remove_upload(2, user=LEE)
    assert store.uploads().set_index("upload_id").loc[2, "rows_active"] == 2


# --- the admin's Access page ------------------------------------------------------------------


def test_access_page_grants_and_revokes_with_audit(db_url):
    from conftest import DASHBOARD, visit
    from streamlit.testing.v1 import AppTest

    at = visit(AppTest.from_file(str(DASHBOARD), default_timeout=60).run(), "access")  # local
    assert at.title[0].value == "Access"
    assert at.info[0].value == "Nobody is on the access list yet."
    at.text_input(key="access_email").input(LEE)
    at.selectbox(key="access_role").select(TEAM_MANAGER)
    at.multiselect(key="access_teams").select("North")
    at.button(key="access_grant_go").click().run()
    assert at.success[0].value == f"{LEE} is now team manager for North."
    store = Store.open(db_url)
    assert access_store.entry(store, LEE) == Scope(LEE, TEAM_MANAGER, frozenset({"North"}),
                                                   "access list")
    at.selectbox(key="access_revoke_email").select(LEE)
    at.button(key="access_revoke_go").click().run()
    assert at.success[0].value.startswith(f"{LEE} is off the access list")
    assert access_store.entry(store, LEE) is None
    actions = store.audit()["action"].tolist()
    assert actions[-2:] == ["access granted", "access revoked"]
    assert json.loads(store.audit()["details"].iloc[-2])["before"] is None


def test_signed_in_person_without_access_is_told_so_and_it_is_audited(db_url):
    from conftest import DASHBOARD
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(DASHBOARD), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback",
                          "cookie_secret": "x", "client_id": "x", "client_secret": "x",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.secrets["capa"] = {"admin_emails": [ADA]}
    at.user = {"is_logged_in": True, "email": "nia.new@northfield.example", "name": "Nia New"}
    at.run()
    assert not at.exception
    assert at.info[0].value == ("You are signed in as Nia New, but not on the access list yet: "
                                "ask your admin to give you access to your team.")
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    (entry,) = refusals(Store.open(db_url))
    assert (entry["what"], entry["attempted"]) == ("sign-in", "view_review")


def test_session_and_widget_state_naming_another_team_change_nothing(db_url):
    from conftest import DASHBOARD, fill_store
    from streamlit.testing.v1 import AppTest

    fill_store(db_url, [{"clinician": "Ann Able", "date": "2026-07-01"},
                        {"clinician": "Ann Able", "date": "2026-07-08"}],
               plans_frame([{"clinician": "Ann Able", "team": "North", "core_sessions": 2.0}]))
    store = Store.open(db_url)
    store.ingest(load([{"clinician": "Ben Baker", "team": "South", "date": "2026-07-02"}],
                      "south.xlsx"), user=ADA)
    at = AppTest.from_file(str(DASHBOARD), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback",
                          "cookie_secret": "x", "client_id": "x", "client_secret": "x",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.secrets["capa"] = {"token_roles": {"CAPA.North.Member": "team_member:North"}}
    at.user = {"is_logged_in": True, "email": "amira@northfield.example", "name": "Amira",
               "roles": ["CAPA.North.Member"]}
    at.session_state["period"] = {"quarter": None, "teams": ["South"], "as_of": None}
    at.session_state["review_teams"] = ["South"]
    at.run()
    assert not at.exception and not at.error
    assert at.multiselect(key="review_teams").options == ["North"]
    assert at.selectbox(key="review_clinician").options == ["Ann Able"]
    (viewed,) = [json.loads(d) for a, d in zip(store.audit()["action"], store.audit()["details"],
                                                strict=True) if a == "review viewed"]
    assert (viewed["page"], viewed["teams"], viewed["quarter"]) == ("review", ["North"],
                                                                   "2026/27 Q2")


def test_a_team_less_file_is_never_offered_another_teams_name(two_teams):
    # Ben Baker's rows are all South's: the store alone would suggest South for a team-less
    # file of his. North's manager is offered North (his one team), never South.
    team_less = load([{"slot_id": "t1", "clinician": "Ben Baker", "team": None,
                       "date": "2026-08-03"}], "baker-august.xlsx")
    assert two_teams.plan_ingest(team_less).suggested_team == "South"
    plan = ScopedStore(two_teams, MANAGER_NORTH, LEE).plan_ingest(team_less)
    assert plan.team_needed
    assert (plan.suggested_team, plan.team_evidence) == ("North", "the one team you manage")
    two_managers = Scope(LEE, TEAM_MANAGER, frozenset({"North", "East"}))
    plan = ScopedStore(two_teams, two_managers, LEE).plan_ingest(team_less)
    assert (plan.suggested_team, plan.team_evidence) == (None, "")


def test_a_team_managers_team_less_file_into_an_empty_store_still_needs_their_team(store):
    # With no teams stored the store itself would not ask; a manager's rows may only go to
    # his own teams, so the file needs one, and his one team is offered.
    team_less = load([{"slot_id": "t1", "clinician": "Ann Able", "team": None,
                       "date": "2026-08-03"}], "able-august.xlsx")
    assert not store.plan_ingest(team_less).team_needed
    plan = ScopedStore(store, MANAGER_NORTH, LEE).plan_ingest(team_less)
    assert (plan.team_needed, plan.suggested_team) == (True, "North")

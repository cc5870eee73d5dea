"""Access by team (issue 14): every role × action × scope, worked out from the issue's words,
and where a person's role comes from."""

from __future__ import annotations

import pandas as pd
import pytest

from capa_monitor.access import (
    ACTIONS,
    ADMIN,
    DOWNLOAD,
    EDIT_JOBPLANS,
    EDIT_SETTINGS,
    MANAGE_ACCESS,
    REMOVE,
    RESTORE,
    SERVICE_LEAD,
    TEAM_MANAGER,
    TEAM_MEMBER,
    UPLOAD,
    VIEW_AUDIT,
    VIEW_REVIEW,
    AccessDenied,
    Scope,
    parse_teams,
    resolve,
    scope_from_claims,
    validated,
)
from capa_monitor.errors import CapaError

A_ONLY = frozenset({"North"})
BOTH = frozenset({"North", "South"})

# The table, by hand: Y = allowed on North (a team in scope), and on South (outside a
# scope of North only). Columns: action -> (on North, on South) for each person.
#   admin (every team): everything everywhere.
#   service lead of every team: reads, downloads, audit log; no changes.
#   service lead of North only: the same, North only.
#   team manager of North: reads, downloads, upload/restore/remove/job plans, audit; North only.
#   team member of North: review pages of North only.
#   no role (signed in, not listed): nothing.
PEOPLE = {
    "admin": Scope("ada@northfield.example", ADMIN, None),
    "lead_all": Scope("sam@northfield.example", SERVICE_LEAD, None),
    "lead_north": Scope("sue@northfield.example", SERVICE_LEAD, A_ONLY),
    "manager_north": Scope("lee@northfield.example", TEAM_MANAGER, A_ONLY),
    "member_north": Scope("amira@northfield.example", TEAM_MEMBER, A_ONLY),
    "nobody": Scope("x@northfield.example", None, frozenset()),
}
Y, N = True, False
EXPECTED = {
    #                VIEW   DOWNL  UPLOAD RESTOR REMOVE PLANS  AUDIT  SETTNG ACCESS
    "admin":         [(Y, Y), (Y, Y), (Y, Y), (Y, Y), (Y, Y), (Y, Y), (Y, Y), (Y, Y), (Y, Y)],
    "lead_all":      [(Y, Y), (Y, Y), (N, N), (N, N), (N, N), (N, N), (Y, Y), (N, N), (N, N)],
    "lead_north":    [(Y, N), (Y, N), (N, N), (N, N), (N, N), (N, N), (Y, N), (N, N), (N, N)],
    "manager_north": [(Y, N), (Y, N), (Y, N), (Y, N), (Y, N), (Y, N), (Y, N), (N, N), (N, N)],
    "member_north":  [(Y, N), (N, N), (N, N), (N, N), (N, N), (N, N), (N, N), (N, N), (N, N)],
    "nobody":        [(N, N), (N, N), (N, N), (N, N), (N, N), (N, N), (N, N), (N, N), (N, N)],
}
ORDER = (VIEW_REVIEW, DOWNLOAD, UPLOAD, RESTORE, REMOVE, EDIT_JOBPLANS, VIEW_AUDIT,
         EDIT_SETTINGS, MANAGE_ACCESS)

CASES = [
    pytest.param(person, action, team, EXPECTED[person][i][j], id=f"{person}-{action}-{team}")
    for person in PEOPLE
    for i, action in enumerate(ORDER)
    for j, team in enumerate(("North", "South"))
]


def test_the_table_names_every_action():
    assert set(ORDER) == set(ACTIONS)


@pytest.mark.parametrize(("person", "action", "team", "allowed"), CASES)
def test_role_action_scope(person, action, team, allowed):
    scope = PEOPLE[person]
    assert scope.allows(action, team) is allowed
    if allowed:
        scope.check(action, [team])
    else:
        with pytest.raises(AccessDenied) as refused:
            scope.check(action, [team])
        assert refused.value.action == action
        # The refusal names the team asked about (the person's own request) and their own
        # access; a person of North is never told anything of a third team.
        assert "West" not in str(refused.value)


@pytest.mark.parametrize("person", ["admin", "lead_all"])
def test_rows_without_a_team_only_for_a_scope_over_every_team(person):
    assert PEOPLE[person].allows(VIEW_REVIEW, None)
    assert not PEOPLE["manager_north"].allows(VIEW_REVIEW, None)
    assert not PEOPLE["lead_north"].allows(VIEW_REVIEW, None)


def test_team_names_compare_as_the_review_matches_them():
    member = Scope("a@northfield.example", TEAM_MEMBER, frozenset({"camhs  north"}))
    assert member.allows(VIEW_REVIEW, "CAMHS North")
    assert member.visible_teams(["CAMHS North", "CAMHS South"]) == ["CAMHS North"]


def test_several_teams_per_person():
    manager = Scope("lee@northfield.example", TEAM_MANAGER, BOTH)
    assert manager.allows(UPLOAD, "North") and manager.allows(UPLOAD, "South")
    assert not manager.allows(UPLOAD, "West")
    assert manager.outside(UPLOAD, ["North", "West", None]) == ["(no team)", "West"]


def test_refusal_says_what_and_why():
    with pytest.raises(AccessDenied, match=r"^You may not remove uploads for South: you are "
                       r"team manager for North\.$"):
        PEOPLE["manager_north"].check(REMOVE, ["South"])
    with pytest.raises(AccessDenied, match=r"^You may not change the settings: you are team "
                       r"manager for North\.$"):
        PEOPLE["manager_north"].check(EDIT_SETTINGS)
    with pytest.raises(AccessDenied, match="not on the access list yet; ask your admin"):
        PEOPLE["nobody"].check(VIEW_REVIEW)


@pytest.mark.parametrize(
    ("person", "requested", "expected"),
    [
        ("admin", [], ()),  # every team
        ("lead_all", ["South"], ("South",)),
        ("member_north", [], ("North",)),  # nothing picked: their teams, never all
        ("member_north", ["North"], ("North",)),
    ],
)
def test_review_teams(person, requested, expected):
    assert PEOPLE[person].review_teams(requested, ["North", "South"]) == expected


def test_review_teams_refuses_a_team_outside_whatever_the_widget_said():
    with pytest.raises(AccessDenied, match="South"):
        PEOPLE["member_north"].review_teams(["North", "South"], ["North", "South"])
    empty = Scope("e@northfield.example", TEAM_MEMBER, frozenset())
    with pytest.raises(AccessDenied):  # no teams: refused, never widened to every team
        empty.review_teams([], ["North"])


def test_filter_teams_keeps_only_rows_in_scope():
    frame = pd.DataFrame({"clinician": ["Ann", "Ben", "Cy"], "team": ["North", "South", None]})
    assert PEOPLE["member_north"].filter_teams(frame)["clinician"].tolist() == ["Ann"]
    assert PEOPLE["lead_all"].filter_teams(frame)["clinician"].tolist() == ["Ann", "Ben", "Cy"]
    assert PEOPLE["member_north"].filter_teams(frame, action=DOWNLOAD).empty


@pytest.mark.parametrize(
    ("role", "teams", "expected"),
    [
        (ADMIN, frozenset({"North"}), (ADMIN, None)),  # the admin holds every team
        (SERVICE_LEAD, None, (SERVICE_LEAD, None)),
        (SERVICE_LEAD, A_ONLY, (SERVICE_LEAD, A_ONLY)),
        (TEAM_MANAGER, A_ONLY, (TEAM_MANAGER, A_ONLY)),
    ],
)
def test_validated(role, teams, expected):
    assert validated(role, teams) == expected


@pytest.mark.parametrize(("role", "teams"), [("manager", None), (TEAM_MANAGER, None),
                                             (TEAM_MEMBER, frozenset())])
def test_validated_refuses(role, teams):
    with pytest.raises(CapaError):
        validated(role, teams)


def test_parse_teams():
    assert parse_teams(" North CAMHS , South,,") == frozenset({"North CAMHS", "South"})
    assert parse_teams("") is None and parse_teams(None) is None


MAPPING = {"CAPA.North.Manager": "team_manager:North", "CAPA.South.Manager": "team_manager:South",
           "0b6f-group-id": "team_member:West", "CAPA.Lead": "service_lead"}


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"roles": ["CAPA.North.Manager"]}, (TEAM_MANAGER, A_ONLY)),
        ({"roles": ["capa.north.manager", "CAPA.South.Manager"]}, (TEAM_MANAGER, BOTH)),
        ({"groups": ["0b6f-group-id"]}, (TEAM_MEMBER, frozenset({"West"}))),
        # the strongest role wins
        ({"roles": ["CAPA.Lead"], "groups": ["0b6f-group-id"]}, (SERVICE_LEAD, None)),
        ({"roles": ["manager"]}, (ADMIN, None)),  # issue 5's app role stays an admin
        ({"roles": "admin"}, (ADMIN, None)),
        ({"roles": ["clinician"]}, None),
        ({}, None),
    ],
)
def test_scope_from_claims(claims, expected):
    scope = scope_from_claims("p@northfield.example", claims, MAPPING)
    assert (None if scope is None else (scope.role, scope.teams)) == expected


def test_resolve_order_configuration_then_access_list_then_token():
    listed = Scope("lee@northfield.example", TEAM_MEMBER, A_ONLY, source="access list")
    admins = ["Ada@Northfield.example"]
    assert resolve("ada@northfield.example", {}, admin_emails=admins, entry=listed,
                   mapping={}).role == ADMIN
    assert resolve("lee@northfield.example", {"roles": ["manager"]}, admin_emails=admins,
                   entry=listed, mapping={}) == listed
    assert resolve("lee@northfield.example", {"roles": ["manager"]}, admin_emails=admins,
                   entry=None, mapping={}).role == ADMIN
    nobody = resolve("x@northfield.example", {}, admin_emails=admins, entry=None, mapping={})
    assert nobody.role is None and not nobody.can(VIEW_REVIEW)
    # an email the provider marks unverified counts for neither configuration nor the list
    unverified = resolve("ada@northfield.example", {"email_verified": False},
                         admin_emails=admins, entry=listed, mapping={})
    assert unverified.role is None


def test_evidence_names_no_clinician_outside_the_viewers_teams():
    from datetime import date

    from conftest import make_activity

    from capa_monitor.access import redact_review
    from capa_monitor.metrics.review import review
    from capa_monitor.periods import Quarter

    # Ann (North) loses a Core Partnership slot on 1 Jul (DNA); the family is seen by Ben in
    # South on 8 Jul. The finding is North's to see; Ben's name and slot id are not.
    rows = make_activity([
        {"slot_id": "n1", "clinician": "Ann Able", "team": "North", "date": "2026-07-01",
         "outcome": "dna", "client_key": "fam1"},
        {"slot_id": "s7", "clinician": "Ben Baker", "team": "South", "date": "2026-07-08",
         "client_key": "fam1"},
    ])
    result = review(rows, pd.DataFrame(), Quarter.parse("2026/27 Q2"), as_of=date(2026, 7, 20),
                    teams=["North"])
    (before,) = result.lost_slots["evidence"]
    assert "Ben Baker" in before  # what the unscoped review says
    member = redact_review(result, PEOPLE["member_north"])
    (after,) = member.lost_slots["evidence"]
    assert after == before.replace("Ben Baker", "a clinician in another team").replace(
        " (slot s7)", "")
    assert "Ben" not in after and "s7" not in after
    assert member.lost_slots["status"].tolist() == result.lost_slots["status"].tolist()
    assert member.lost_slots["evidence_clinician"].isna().all()
    # A scope over every team sees it as it is.
    assert redact_review(result, PEOPLE["lead_all"]) is result

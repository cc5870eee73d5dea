"""Who may do what, for which teams (issue 14): roles, a person's scope, and the rules.

Four roles. ``admin``: settings, the access list and every action on every team.
``service_lead``: reads, compares and downloads every team (or a named set), changes nothing.
``team_manager``: for named teams, reads, downloads, uploads, restores, removes and edits job
plans. ``team_member``: reads the review pages of named teams. A person holds one role over a
set of teams (``None`` = every team); several teams per person.

Where a role comes from, first match wins (``resolve``): the admin emails in configuration;
the access list in the store; the ID token's ``roles`` / ``groups`` claims through a mapping
setting; else no access. Pure logic, no Streamlit: the pages, downloads and CLI ask the same
rules (``Scope.allows`` / ``Scope.check``) below the widgets, so no URL or widget state can
widen what a person sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from capa_monitor.errors import CapaError

if TYPE_CHECKING:
    from capa_monitor.metrics.review import Review

ADMIN = "admin"
SERVICE_LEAD = "service_lead"
TEAM_MANAGER = "team_manager"
TEAM_MEMBER = "team_member"
ROLES = (ADMIN, SERVICE_LEAD, TEAM_MANAGER, TEAM_MEMBER)
ROLE_WORDS = {ADMIN: "admin", SERVICE_LEAD: "service lead", TEAM_MANAGER: "team manager",
              TEAM_MEMBER: "team member"}
#: Roles that need named teams (the other two default to every team).
TEAM_ROLES = (TEAM_MANAGER, TEAM_MEMBER)

# Actions, in words a refusal can use ("you may not <words>").
VIEW_REVIEW = "view_review"
DOWNLOAD = "download"
UPLOAD = "upload"
RESTORE = "restore"
REMOVE = "remove"
EDIT_JOBPLANS = "edit_jobplans"
VIEW_AUDIT = "view_audit"
EDIT_SETTINGS = "edit_settings"
MANAGE_ACCESS = "manage_access"
ACTION_WORDS = {
    VIEW_REVIEW: "see the review pages", DOWNLOAD: "download", UPLOAD: "upload",
    RESTORE: "restore uploads", REMOVE: "remove uploads", EDIT_JOBPLANS: "change job plans",
    VIEW_AUDIT: "read the audit log", EDIT_SETTINGS: "change the settings",
    MANAGE_ACCESS: "change who has access",
}
ACTIONS = tuple(ACTION_WORDS)
#: Actions on the store as a whole, never on a team: only the admin's.
STORE_WIDE_ACTIONS = (EDIT_SETTINGS, MANAGE_ACCESS)

RULES: dict[str, frozenset[str]] = {
    ADMIN: frozenset(ACTIONS),
    SERVICE_LEAD: frozenset({VIEW_REVIEW, DOWNLOAD, VIEW_AUDIT}),
    TEAM_MANAGER: frozenset({VIEW_REVIEW, DOWNLOAD, UPLOAD, RESTORE, REMOVE, EDIT_JOBPLANS,
                             VIEW_AUDIT}),
    TEAM_MEMBER: frozenset({VIEW_REVIEW}),
}

#: The ID-token claim values that mean a role without a mapping setting. ``manager`` is the
#: app role of issue 5's deployments: it kept settings and every team, so it stays admin.
BUILT_IN_CLAIMS = {"admin": ADMIN, "manager": ADMIN, "service_lead": SERVICE_LEAD}

_SEPARATORS = re.compile(r"[\s,;]+")


class AccessDenied(CapaError):
    """A refused attempt; the message names the person's own scope, never another team's data."""

    def __init__(self, message: str, *, action: str, teams: Sequence[str] = ()):
        super().__init__(message)
        self.action = action
        self.teams = tuple(teams)


@dataclass(frozen=True)
class Scope:
    """One person's role and teams. ``teams`` None: every team."""

    email: str
    role: str | None  # None: signed in but not on the access list
    teams: frozenset[str] | None = None
    source: str = ""  # where the role came from, in words ("access list", "configuration", ...)

    @property
    def every_team(self) -> bool:
        return self.role is not None and self.teams is None

    def can(self, action: str) -> bool:
        """Whether the role allows ``action`` on at least one team."""
        return self.role is not None and action in RULES[self.role] and (
            self.teams is None or bool(self.teams) or action in STORE_WIDE_ACTIONS)

    def allows(self, action: str, team: str | None) -> bool:
        """Whether ``action`` is allowed on ``team`` (None: rows without a team, which only a
        scope over every team covers)."""
        if not self.can(action):
            return False
        if action in STORE_WIDE_ACTIONS or self.teams is None:
            return True
        return team is not None and not pd.isna(team) and team_key(team) in self._keys

    @property
    def _keys(self) -> frozenset[str]:
        return frozenset(team_key(t) for t in self.teams or ())

    def outside(self, action: str, teams: Iterable[str | None]) -> list[str]:
        """Of ``teams``, those ``action`` is not allowed on, sorted ("(no team)" for None)."""
        return sorted({_team_word(t) for t in teams if not self.allows(action, t)})

    def check(self, action: str, teams: Iterable[str | None] = ()) -> None:
        """Raise AccessDenied unless ``action`` is allowed on every one of ``teams``.

        The message names only teams the caller asked about (their own request)."""
        if not self.can(action):
            raise AccessDenied(
                f"You may not {ACTION_WORDS[action]}: {self.describe()}.", action=action)
        refused = self.outside(action, teams)
        if refused:
            raise AccessDenied(
                f"You may not {ACTION_WORDS[action]} for {', '.join(refused)}: "
                f"{self.describe()}.", action=action, teams=refused)

    def visible_teams(self, teams: Iterable[str], action: str = VIEW_REVIEW) -> list[str]:
        """Of the store's teams, those this person may ``action``, sorted."""
        return sorted(t for t in teams if self.allows(action, t))

    def review_teams(self, requested: Sequence[str], all_teams: Iterable[str],
                     action: str = VIEW_REVIEW) -> tuple[str, ...]:
        """The teams a review may cover: the requested ones this person may see, or (none
        requested) all of theirs. () means every team and is returned only to a scope over
        every team, so an empty request never widens a narrower scope to all."""
        self.check(action)
        if requested:
            self.check(action, requested)
            return tuple(sorted(set(requested)))
        if self.teams is None:
            return ()
        # The store's spelling of their teams when it has them, else their own.
        return tuple(self.visible_teams(all_teams, action)) or tuple(sorted(self.teams))

    def filter_teams(self, frame: pd.DataFrame, column: str = "team",
                     action: str = VIEW_REVIEW) -> pd.DataFrame:
        """The rows of ``frame`` whose team this person may ``action``."""
        if self.every_team and self.can(action):
            return frame
        if not self.can(action):
            return frame.iloc[0:0]
        keys = self._keys
        return frame[frame[column].map(lambda t: not pd.isna(t) and team_key(t) in keys)
                     .astype(bool)]

    def describe(self) -> str:
        """The person's own access in words, for refusals and the sidebar."""
        if self.role is None:
            return "you are not on the access list yet; ask your admin"
        teams = ("every team" if self.teams is None
                 else ", ".join(sorted(self.teams)) or "no team")
        return f"you are {ROLE_WORDS[self.role]} for {teams}"


#: How a missing name or id reads once the lost-slot frame has made it text.
_MISSING = {"", "None", "nan", "<NA>"}


def _team_word(team: str | None) -> str:
    return "(no team)" if team is None or pd.isna(team) else str(team)


def team_key(team: str) -> str:
    """A team name as compared: spaces tidied, case-folded (as the review matches teams)."""
    return " ".join(str(team).split()).casefold()


def email_key(email: str | None) -> str:
    return (email or "").strip().casefold()


def parse_teams(text: str | Iterable[str] | None) -> frozenset[str] | None:
    """Teams from ``"A,B"`` (or a list); None for nothing given (every team)."""
    if text is None:
        return None
    names = text.split(",") if isinstance(text, str) else list(text)
    teams = frozenset(" ".join(str(n).split()) for n in names) - {""}
    return teams or None


def validated(role: str, teams: frozenset[str] | None) -> tuple[str, frozenset[str] | None]:
    """A role and teams fit to store, or CapaError saying what to give."""
    if role not in ROLES:
        raise CapaError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    if role == ADMIN:
        return role, None  # the admin holds every team; named teams would mislead
    if role in TEAM_ROLES and not teams:
        raise CapaError(f"A {ROLE_WORDS[role]} needs their teams: give --teams \"A,B\".")
    return role, teams


def claim_values(claims: Mapping) -> list[str]:
    """The token's ``roles`` and ``groups`` values (lists, or space/comma separated text)."""
    values: list[str] = []
    for name in ("roles", "groups"):
        value = claims.get(name)
        if isinstance(value, str):
            value = _SEPARATORS.split(value)
        if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
            values += [str(v).strip() for v in value if str(v).strip()]
    return values


def parse_mapping_value(value: str) -> tuple[str, frozenset[str] | None]:
    """``"team_manager:North CAMHS,South CAMHS"`` -> role and teams (a mapping setting's value)."""
    role, _, teams = str(value).partition(":")
    return validated(role.strip(), parse_teams(teams) if teams.strip() else None)


def scope_from_claims(email: str, claims: Mapping, mapping: Mapping[str, str]) -> Scope | None:
    """The role the token grants through ``mapping`` (claim value -> "role[:teams]") or the
    built-in claim names; several mapped values with the same role add their teams, and the
    strongest role wins. None when no value maps."""
    folded = {str(k).casefold(): v for k, v in mapping.items()}
    found: dict[str, frozenset[str] | None] = {}
    for value in claim_values(claims):
        mapped = folded.get(value.casefold())
        if mapped is not None:
            role, teams = parse_mapping_value(mapped)
        elif value.casefold() in BUILT_IN_CLAIMS:
            role, teams = BUILT_IN_CLAIMS[value.casefold()], None
        else:
            continue
        if role in found and found[role] is not None:
            found[role] = None if teams is None else found[role] | teams
        else:
            found.setdefault(role, teams)
    for role in ROLES:  # strongest first
        if role in found:
            return Scope(email, role, found[role], source="sign-in token")
    return None


def resolve(email: str | None, claims: Mapping, *, admin_emails: Iterable[str],
            entry: Scope | None, mapping: Mapping[str, str]) -> Scope:
    """A signed-in person's scope: configured admin, else the access-list ``entry``, else the
    token's claims, else no access. An email counts only when the provider has not said it
    is unverified."""
    trusted = claims.get("email_verified") not in (False, "false", "False")
    key = email_key(email) if trusted else ""
    if key and key in {email_key(e) for e in admin_emails} - {""}:
        return Scope(email or "", ADMIN, None, source="configuration")
    if key and entry is not None:
        return entry
    from_token = scope_from_claims(email or "", claims, mapping)
    return from_token or Scope(email or "", None, frozenset(), source="")


def redact_review(result: Review, scope: Scope) -> Review:
    """The review with lost-slot evidence naming no clinician outside the viewer's teams.

    Matching may use another team's history (a family rebooked elsewhere): the finding
    stays, the other clinician's name and slot id do not."""
    if scope.every_team:
        return result
    lost = result.lost_slots
    own = set(result.clinicians["clinician"].astype("str")) | set(lost["clinician"].astype("str"))
    names = lost["evidence_clinician"].astype("str")
    other = ~names.isin(own | _MISSING)
    if not other.any():
        return result
    lost = lost.copy()
    texts = []
    for text, name, slot in zip(lost.loc[other, "evidence"], lost.loc[other, "evidence_clinician"],
                                lost.loc[other, "evidence_export_slot_id"], strict=True):
        text = str(text)
        if str(slot) not in _MISSING:
            text = text.replace(f" (slot {slot})", "")
        texts.append(text.replace(str(name), "a clinician in another team"))
    lost.loc[other, "evidence"] = texts
    for column in ("evidence_clinician", "evidence_slot_id", "evidence_export_slot_id"):
        if column in lost:
            lost[column] = lost[column].astype("object")
            lost.loc[other, column] = None
    return replace(result, lost_slots=lost)

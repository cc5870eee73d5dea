"""What a job-plan spreadsheet's columns can hold (spec §4), for the loader's column inference.

Plans give each activity (Choice, Core, Specific, non-clinical) in one of several units:
half-day sessions, hours, PAs, or for Choice appointments; targets for one quarter (Q3 target)
or for every quarter (CP target); start and leaving dates. Each is a field here, named as a
manager says it and recognised by the words of its header (loading/infer.py reads the words,
abbreviations expanded). jobplans.py turns the fields into the canonical plan columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from capa_monitor.loading.infer import FieldSpec, header_words, words
from capa_monitor.loading.report import MappingProfile

#: Activities a plan splits the week into: field prefix -> how a manager says it.
ACTIVITIES: dict[str, str] = {
    "choice": "Choice",
    "core": "Core",
    "specific": "Specific",
    "nonclinical": "Non-clinical",
}
SESSIONS, HOURS, PAS, APPOINTMENTS = "sessions", "hours", "pas", "appointments"
#: Units a weekly figure comes in: unit -> how a manager says it.
UNITS: dict[str, str] = {
    SESSIONS: "sessions (half-days) per week",
    HOURS: "hours per week",
    PAS: "PAs per week",
    APPOINTMENTS: "appointments per week",
}
#: The quarters' own target fields, and the one target that applies to every quarter.
QUARTER_TARGETS: tuple[str, ...] = tuple(f"q{n}_target" for n in range(1, 5))
EVERY_QUARTER_TARGET = "quarter_target"

# Header words that say which unit a weekly figure is in (infer.header_words spells them).
_UNIT_WORDS: dict[str, tuple[str, ...]] = {
    # A clinic is a session (of about two appointments), not an appointment.
    SESSIONS: ("session", "half day", "half days", "halfday", "halfdays", "nhd", "hd", "clinic",
               "clinics"),
    HOURS: ("hours", "h"),
    PAS: ("pa", "programmed activity", "programmed activities"),
    APPOINTMENTS: ("appointment", "slot", "slots"),
}
# Words for each activity beyond its own name: SPA = supporting professional activities.
_ACTIVITY_WORDS: dict[str, tuple[str, ...]] = {
    "choice": ("choice",),
    "core": ("core", "partnership"),  # §3: "partnership" alone is Core work
    "specific": ("specific",),
    "nonclinical": ("nonclinical", "admin", "supporting professional", "non patient facing"),
}
_TARGET_WORDS = "target q quarter quarterly annual year yearly new"


@dataclass(frozen=True)
class WeeklyField:
    """A field holding an activity's weekly time in one unit."""

    activity: str
    unit: str

    @property
    def name(self) -> str:
        return "choice_per_week" if self.unit == APPOINTMENTS else f"{self.activity}_{self.unit}"


def weekly_fields() -> tuple[WeeklyField, ...]:
    """Every (activity, unit) a plan may give, Choice appointments first."""
    found = [WeeklyField("choice", APPOINTMENTS)]
    for activity in ACTIVITIES:
        found += [WeeklyField(activity, unit) for unit in (SESSIONS, HOURS, PAS)]
    return tuple(found)


WEEKLY: dict[str, WeeklyField] = {f.name: f for f in weekly_fields()}


def names_a_unit(header: str) -> bool:
    """Whether a header says its unit (sessions, hours, PAs, appointments); one that does
    not is read in the activity's usual unit, and the manager is asked to check."""
    found = set(header_words(header))
    return any(words(w) <= found for ws in _UNIT_WORDS.values() for w in ws) or "spa" in found


def _weekly_spec(weekly: WeeklyField) -> FieldSpec:
    activity, unit = weekly.activity, weekly.unit
    label = f"{ACTIVITIES[activity]} {UNITS[unit]}"
    names = _ACTIVITY_WORDS[activity]
    patterns = [words(f"{a} {u}") for a in names for u in _UNIT_WORDS[unit]]
    # An activity named with no unit is its usual unit (§4): Choice in appointments, the
    # rest in half-day sessions. SPA is always PAs.
    default_unit = APPOINTMENTS if activity == "choice" else SESSIONS
    if unit == default_unit:
        patterns += [words(a) for a in names]
    if weekly.name == "nonclinical_pas":
        patterns.append(words("spa"))
    other_units = " ".join(w for u, ws in _UNIT_WORDS.items() if u != unit for w in ws)
    other_activities = " ".join(w for a, ws in _ACTIVITY_WORDS.items() if a != activity for w in ws)
    return FieldSpec(
        name=weekly.name,
        label=label,
        synonyms=_SYNONYMS.get(weekly.name, ()),
        patterns=tuple(patterns),
        excludes=words(f"{other_units} {other_activities} {_TARGET_WORDS} total minutes"),
        values=("number",),
    )


#: Exact header texts (§4's synonyms and the app's own export), beyond the word patterns.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "clinician": ("Name", "Staff", "HCP", "Clinician", "Clinician Name", "Staff Name",
                  "Staff Member"),
    "team": ("Team", "Team Name", "Service", "Clinic"),
    "fte": ("WTE", "FTE", "Whole Time Equivalent", "Full Time Equivalent"),
    "choice_per_week": ("Choice appointments per week", "Choice appts per week", "Choice"),
    "core_sessions": ("Core half-days / sessions per week", "Core half-days per week", "Core"),
    "specific_sessions": ("Specific half-days per week", "Specific"),
    "nonclinical_sessions": ("Non-clinical half-days per week", "Non-clinical", "Admin sessions"),
    "available_from": ("Start date", "Available from", "Starts", "Start", "From"),
    "available_to": ("Leaving date", "End date", "Available to", "Leaves", "Leaving", "Until"),
}


def _quarter_spec(n: int) -> FieldSpec:
    return FieldSpec(
        name=f"q{n}_target",
        label=f"Q{n} target (new Core Partnerships)",
        synonyms=(f"Q{n} target", f"Target Q{n}", f"Q{n}"),
        patterns=(words(f"q {n}"), words(f"quarter {n}")),
        excludes=words("choice annual year yearly"),
        values=("number",),
    )


#: Every field a job plan's column can hold, in the order ties go.
JOBPLAN_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        name="clinician",
        label="Clinician's name",
        synonyms=_SYNONYMS["clinician"],
        patterns=tuple(words(p) for p in (
            "name", "staff", "clinician", "hcp", "practitioner", "professional", "consultant",
            "therapist", "employee", "worker", "colleague",
        )),
        excludes=words(
            "team supervisor manager line lead id number code grade band role job supporting "
            "activities activity pa session hours"
        ),
        values=("name",),
        finds=("name",),
        required=True,
    ),
    FieldSpec(
        name="team",
        label="Team",
        synonyms=_SYNONYMS["team"],
        patterns=tuple(words(p) for p in ("team", "service", "locality", "base")),
        excludes=words("manager lead leader id code"),
    ),
    FieldSpec(
        name="fte",
        label="WTE / FTE",
        synonyms=_SYNONYMS["fte"],
        patterns=(words("fte"), words("whole time equivalent"), words("full time equivalent")),
        excludes=words("hours session pa"),
        values=("number",),
    ),
    *(_weekly_spec(w) for w in weekly_fields()),
    *(_quarter_spec(n) for n in range(1, 5)),
    FieldSpec(
        name=EVERY_QUARTER_TARGET,
        label="Target for every quarter (new Core Partnerships)",
        synonyms=("Target", "Quarterly target", "CP target", "New CP target"),
        patterns=(words("target"), words("quarterly target"), words("target per quarter"),
                  words("core partnership per quarter")),
        excludes=words("q choice annual year yearly 1 2 3 4"),
        values=("number",),
    ),
    FieldSpec(
        name="available_from",
        label="Start date (available from)",
        synonyms=_SYNONYMS["available_from"],
        patterns=tuple(words(p) for p in (
            "start date", "start", "starts", "starting", "available from", "date started",
            "return date", "returns",
        )),
        excludes=words("leave leaving maternity mat end"),
        values=("date", "datetime"),
    ),
    FieldSpec(
        name="available_to",
        label="Leaving date (available to)",
        synonyms=_SYNONYMS["available_to"],
        patterns=tuple(words(p) for p in (
            "leaving date", "leaving", "leaves", "leaver", "leave date", "end date", "end",
            "available to", "until", "last day", "finish date",
        )),
        excludes=words("start starts return"),
        values=("date", "datetime"),
    ),
)
FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in JOBPLAN_FIELDS}

#: What a column holding a Core figure or a target is called, for a refusal's "needed" list.
TARGET_FIELDS: tuple[str, ...] = (
    "core_sessions", "core_hours", "core_pas", *QUARTER_TARGETS, EVERY_QUARTER_TARGET,
)

#: Saved job-plan mappings share the store's profile table with activity mappings; the name
#: says which is which (and an activity upload never tries a job-plan mapping).
JOBPLAN_PROFILE_PREFIX = "Job plans: "


def jobplans_profile(
    name: str, columns: dict[str, str], values: dict[str, dict[str, str]] | None = None
) -> MappingProfile:
    """A job-plan mapping to save: field -> header, field -> {text: value}."""
    bare = name.removeprefix(JOBPLAN_PROFILE_PREFIX).strip() or "job plans"
    return MappingProfile(JOBPLAN_PROFILE_PREFIX + bare, dict(columns), dict(values or {}))


def is_jobplan_profile(profile: MappingProfile) -> bool:
    return profile.name.startswith(JOBPLAN_PROFILE_PREFIX)


def profile_title(profile: MappingProfile) -> str:
    """The name a manager gave the mapping (without the job-plan prefix)."""
    return profile.name.removeprefix(JOBPLAN_PROFILE_PREFIX)

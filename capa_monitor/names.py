"""Clinician names: how exports print them, how a display name is made, and how a job plan's
names match activity's (§3, §4). One rule for the loader, the store, the metrics and the pages.

Exports print `SURNAME, Forename (Title)` (SystmOne, EMIS Web), `Title Forename Surname`,
`Dr J SMITH`, `SMITH Jane`; the display name is `Forename Surname` with capitals tidied, and
capitals that any other source spells (`McDonald`) win over plain title case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np
import pandas as pd

#: clinician_keys tidies each row's text directly when there are fewer rows than this.
_TIDY_EACH_BELOW = 1000

#: Titles exports put before, after or in brackets beside a name; dropped from the display name.
TITLES = frozenset({"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "rev"})
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]+")
_BRACKETS = re.compile(r"\(([^)]*)\)")
#: Near spellings at least this similar (difflib ratio on the folded names) are likely matches.
NEAR_SPELLING = 0.85


def clinician_key(name: str) -> str:
    """`  Jane  SMITH ` → `jane smith`."""
    return " ".join(str(name).split()).casefold()


def clinician_keys(names: pd.Series) -> pd.Series:
    """`clinician_key` over a column (same index)."""
    if not isinstance(names.dtype, pd.StringDtype) or len(names) < _TIDY_EACH_BELOW:
        return _tidy(names)
    # Tidy each distinct spelling once (a quarter of every team: many rows, few names); rows
    # with equal text share a code, and code 0 stands for a missing name.
    codes = pd.factorize(names)[0] + 1
    row_of_code = np.zeros(codes.max() + 1, dtype=np.intp)
    row_of_code[codes] = np.arange(len(names))
    return _tidy(names.iloc[row_of_code]).iloc[codes].set_axis(names.index)


def clinician_key_codes(names: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's clinician key as a code into the distinct keys (in order of first sight),
    -1 for a missing name: counting by `np.bincount` over the codes is what lets a metric count
    a quarter's rows per clinician without grouping frames by key."""
    spelling, spellings = pd.factorize(names)
    distinct: dict[str, int] = {}
    key_of_spelling = [distinct.setdefault(clinician_key(name), len(distinct))
                       for name in spellings]
    return np.array(key_of_spelling + [-1], dtype=np.intp)[spelling], list(distinct)


def _tidy(names: pd.Series) -> pd.Series:
    # clinician_key on each value: the same rule as the keys the store keeps, and on the few
    # names a review tidies 50 times quicker than pandas' string methods
    tidied = [clinician_key(name) if isinstance(name, str) else None if pd.isna(name)
              else clinician_key(str(name)) for name in names.to_numpy(dtype=object)]
    return pd.Series(tidied, index=names.index, dtype="str")


# --- reading a printed name --------------------------------------------------------------------


def arrange_name(text: str) -> str:
    """Printed name → `Forename Surname` words, titles dropped, source capitals kept.

    `SMITH, Jane (Dr)` → `Jane SMITH`; `Dr J SMITH` → `J SMITH`; `SMITH Jane` (a capitals-only
    surname before a forename) → `Jane SMITH`; "" when nothing but a title is left.
    """
    text = _CONTROLS.sub(" ", text)
    text = _BRACKETS.sub(" ", text)  # (Dr), (Locum), (Psychologist): never part of the name
    if "," in text:
        surname, _, forenames = text.partition(",")
        words = _without_titles(forenames.replace(",", " ")) + _without_titles(surname)
        return " ".join(words)
    words = _without_titles(text)
    lead = 0
    while lead < len(words) and is_shouted(words[lead]):
        lead += 1
    rest = words[lead:]
    if 0 < lead < len(words) and not any(is_shouted(w) for w in rest) and any(
        any(c.islower() for c in w) for w in rest
    ):
        words = rest + words[:lead]  # SMITH Jane → Jane SMITH
    return " ".join(words)


def tidy_capitals(names: list[str]) -> list[str]:
    """Capitals-only or all-lower words title-cased, except where a mixed spelling of the same
    word occurs in any of `names` (`MCDONALD` → `McDonald` if some name writes `McDonald`)."""
    preferred = _mixed_words(names)
    tidy = []
    for name in names:
        flat = name == name.lower()
        tidy.append(
            " ".join(
                preferred.get(w.casefold(), title_word(w)) if (flat or is_shouted(w)) else w
                for w in name.split()
            )
        )
    return tidy


def restore_capitals(names: Iterable[str], known: Iterable[str]) -> list[str]:
    """Each of `names` with any word `known` spells with inner capitals put back:
    `Ann Mcdonald` → `Ann McDonald` when a job plan (or another row) writes `McDonald`.
    A word already written with inner capitals is kept as written."""
    preferred = _mixed_words(known)
    return [
        " ".join(w if is_mixed(w) else preferred.get(w.casefold(), w) for w in name.split())
        for name in names
    ]


def is_mixed(word: str) -> bool:
    """Inner capitals beside lower case: `McDonald`, `O'Neill`, `van Dijk` is not (`Dijk` is)."""
    letters = [c for c in word if c.isalpha()]
    return any(c.isupper() for c in letters[1:]) and any(c.islower() for c in letters)


def is_shouted(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def title_word(word: str) -> str:
    """`O'NEILL` → `O'Neill`, `SMITH-JONES` → `Smith-Jones`, `josé` → `José`."""
    return re.sub(r"(^|['\-’])(\w)", lambda m: m[1] + m[2].upper(), word.lower())


def _without_titles(text: str) -> list[str]:
    return [w for w in text.split() if w.rstrip(".").casefold() not in TITLES]


def _mixed_words(names: Iterable[str]) -> dict[str, str]:
    preferred: dict[str, str] = {}
    for name in names:
        for word in str(name).split():
            if is_mixed(word):
                preferred.setdefault(word.casefold(), word)
    return preferred


# --- job plans against activity ----------------------------------------------------------------


@dataclass(frozen=True)
class Unmatched:
    """A name on one side with no exact match on the other, and what it most likely is."""

    name: str
    likely: tuple[str, ...] = ()  # the other side's best candidates (more than one: a question)
    reason: str = ""  # "initial matches forename", "surname only", "order swapped", ...


@dataclass(frozen=True)
class PlanMatches:
    matched: tuple[tuple[str, str], ...]  # (activity name, plan name), same clinician_key
    activity_without_plan: tuple[Unmatched, ...]
    plans_without_activity: tuple[Unmatched, ...]


def plan_matches(activity_names: Iterable[str], plan_names: Iterable[str]) -> PlanMatches:
    """Activity clinicians that match no job plan and plans with no activity, each with its
    likely match on the other side, for the report; exact matches are by clinician_key."""
    activity = sorted(set(activity_names), key=clinician_key)
    plans = sorted(set(plan_names), key=clinician_key)
    plan_by_key = {clinician_key(p): p for p in plans}
    activity_keys = {clinician_key(a) for a in activity}
    matched = tuple((a, plan_by_key[clinician_key(a)]) for a in activity
                    if clinician_key(a) in plan_by_key)
    return PlanMatches(
        matched=matched,
        activity_without_plan=tuple(
            _likely(a, plans) for a in activity if clinician_key(a) not in plan_by_key
        ),
        plans_without_activity=tuple(
            _likely(p, activity) for p in plans if clinician_key(p) not in activity_keys
        ),
    )


def _likely(name: str, others: list[str]) -> Unmatched:
    scored = [(s, r, o) for o in others for s, r in [_resemblance(name, o)] if s > 0]
    if not scored:
        return Unmatched(name)
    best = max(s for s, _, _ in scored)
    top = sorted((o, r) for s, r, o in scored if s == best)
    return Unmatched(name, tuple(o for o, _ in top), top[0][1])


def _resemblance(a: str, b: str) -> tuple[float, str]:
    """How likely two display names are one clinician (0: not at all), and why."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0, ""
    if sorted(ta) == sorted(tb):
        return 0.99, "forename and surname swapped"
    if len(ta) > 1 and len(tb) > 1 and ta[-1] == tb[-1]:
        fa, fb = ta[0], tb[0]
        if (len(fa) == 1 and fb.startswith(fa)) or (len(fb) == 1 and fa.startswith(fb)):
            return 0.95, "initial matches forename"
        short, long = sorted((fa, fb), key=len)
        # Ben / Benjamin, Sam / Samantha; one letter more (Hanna / Hannah) is a spelling.
        if len(short) > 1 and long.startswith(short) and len(long) - len(short) > 1:
            return 0.93, "short form of the forename"
    if (len(ta) == 1 and ta[0] == tb[-1]) or (len(tb) == 1 and tb[0] == ta[-1]):
        return 0.9, "surname only"
    ratio = SequenceMatcher(None, " ".join(ta), " ".join(tb)).ratio()
    if ratio >= NEAR_SPELLING:
        return round(ratio * 0.9, 3), "near spelling"
    return 0.0, ""


def _tokens(name: str) -> list[str]:
    """Folded words: case, accents, dots and apostrophes do not matter."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[.'’]", "", plain).replace("-", " ").split()

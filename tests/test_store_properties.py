"""Property: after any sequence of uploads (overlapping, repeated, corrected, rescheduled, with
and without ids, each with any on_overlap choice), restores and removals, the store's active
rows equal a plain-Python model of the rules, and no slot is ever counted twice.

The model (store.py's docstring, domain spec §3): a row's content identity is (day, its copy
number among the upload's rows of that day) — every row here is Ann Able's Core slot without a
time or client — and, for an upload with ids, its slot identity is its id. An upload with cover
[start, end] and teams T supersedes every active row in T × cover and every active row that is
the same slot as one of its rows, except those it keeps: under skip every stored copy, under
keep_different the copies none of whose new copies differ (kind or outcome). Its rows all of
whose stored copies are kept are history only. A restore applies the restored upload again
(replace). A file with no team, into a store with a team, is refused. After a removal the model
is read back from the store, once the invariants are checked.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from conftest import make_activity, make_load_result, postgres_schema_url, skip_without_postgres
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capa_monitor import model
from capa_monitor.errors import StoreError
from capa_monitor.store import ON_OVERLAP, Store

FIRST_DAY = date(2026, 7, 1)
DAYS = 6
TEAMS = ("A", "B", None)

row_strategy = st.tuples(
    st.sampled_from(TEAMS),
    st.integers(0, DAYS - 1),
    st.sampled_from(["core_new", "core_followup"]),
    st.sampled_from(["attended", "dna"]),
)
mode_strategy = st.sampled_from(ON_OVERLAP)
upload_strategy = st.fixed_dictionaries(
    {
        "op": st.just("upload"),
        "cells": st.lists(row_strategy, min_size=1, max_size=5),
        "widen": st.none() | st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)),
        "ids": st.booleans(),
        "mode": mode_strategy,
    }
)
# repeat / correct / reschedule / restore / remove pick an earlier upload by index
earlier_strategy = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["repeat", "correct", "reschedule", "restore", "remove"]),
        "pick": st.integers(0, 50),
        "mode": mode_strategy,
    }
)
operations = st.lists(st.one_of(upload_strategy, earlier_strategy), min_size=1, max_size=8)


@dataclass(frozen=True)
class Row:
    upload: int
    slot_id: str
    team: str | None
    day: date
    kind: str
    outcome: str
    content: tuple[date, int]
    slot: str | None  # the id, for an upload with ids

    def same_slot(self, other: Row) -> bool:
        return self.content == other.content or (
            self.slot is not None and self.slot == other.slot
        )

    def differs(self, other: Row) -> bool:
        return (self.day, self.kind, self.outcome) != (other.day, other.kind, other.outcome)


def identified(upload: int, rows: list[dict], ids: bool) -> list[Row]:
    copies: dict[date, int] = {}
    out = []
    for r in rows:
        copies[r["date"]] = copies.get(r["date"], 0) + 1
        out.append(Row(upload, r["slot_id"], r["team"], r["date"], r["kind"], r["outcome"],
                       (r["date"], copies[r["date"]]), r["slot_id"] if ids else None))
    return out


def in_cover(row: Row, teams: set, cover: tuple[date, date]) -> bool:
    return row.team in teams and cover[0] <= row.day <= cover[1]


class Model:
    def __init__(self):
        self.active: list[Row] = []

    def ingest(self, new: list[Row], cover: tuple[date, date], mode: str) -> None:
        teams = {r.team for r in new}
        pairs = {id(m): [n for n in new if n.same_slot(m)] for m in self.active}
        matched = [m for m in self.active if pairs[id(m)]]
        if mode == "replace":
            kept = []
        elif mode == "skip":
            kept = matched
        else:
            kept = [m for m in matched if not any(n.differs(m) for n in pairs[id(m)])]
        kept_ids = {id(m) for m in kept}
        survivors = [
            r for r in self.active
            if id(r) in kept_ids or (not pairs[id(r)] and not in_cover(r, teams, cover))
        ]
        counted = [
            n for n in new
            if not (any(n.same_slot(m) for m in matched)
                    and all(id(m) in kept_ids for m in matched if n.same_slot(m)))
        ]
        self.active = survivors + counted

    def restore(self, rows: list[Row], cover: tuple[date, date]) -> None:
        teams = {r.team for r in rows}
        upload = rows[0].upload
        self.active = [
            r for r in self.active
            if r.upload != upload
            and not in_cover(r, teams, cover)
            and not any(r.same_slot(n) for n in rows)
        ] + rows

    def keys(self) -> list[tuple[int, str]]:
        return sorted((r.upload, r.slot_id) for r in self.active)


def cover_of(rows: list[dict], widen: tuple[date, date] | None) -> tuple[date, date]:
    first = min(r["date"] for r in rows)
    last = max(r["date"] for r in rows)
    if widen:
        first, last = min(first, widen[0]), max(last, widen[1])
    return first, last


def stored_keys(store: Store) -> list[tuple[int, str]]:
    frame = store.activity()
    return sorted(zip(frame["upload_id"].tolist(), frame[model.SLOT_ID].tolist(), strict=True))


def check_invariants(store: Store, rows_of: dict[int, list[Row]]) -> None:
    """No slot counted twice; each upload's count of active rows right."""
    active = [
        next(r for r in rows_of[u] if r.slot_id == s) for u, s in stored_keys(store)
    ]
    for a, b in itertools.combinations(active, 2):
        assert not a.same_slot(b), (a, b)
    counts = store.activity()["upload_id"].value_counts()
    for upload in store.uploads().itertuples():
        assert upload.rows_active == counts.get(upload.upload_id, 0)


def run_sequence(store: Store, ops: list[dict]) -> None:
    state = Model()
    stored: dict[int, dict] = {}  # upload id -> rows (as given), file name, widen, ids, cover
    rows_of: dict[int, list[Row]] = {}
    serial = itertools.count(1)
    uploads_made = 0

    def ingest(rows, file_name, widen, ids, mode):
        nonlocal uploads_made
        frame = make_activity(
            [{"clinician": "Ann Able", **r, "date": r["date"].isoformat()} for r in rows]
        )
        result = make_load_result(frame, file_name=file_name)
        if ids:
            result.report.columns["slot_id"] = "Appointment ID"
        cover = cover_of(rows, widen)
        needs_team = all(r["team"] is None for r in rows) and any(
            r.team is not None for r in state.active
        )
        if needs_team:
            with pytest.raises(StoreError, match="no team column"):
                store.ingest(result, user="prop", period=widen, on_overlap=mode)
            return
        plan = store.plan_ingest(result, period=widen, on_overlap=mode)
        outcome = store.ingest(result, user="prop", period=widen, on_overlap=mode)
        assert outcome.deferred_rows == plan.deferred_rows
        assert outcome.supersedes == plan.supersedes
        if outcome.status == "stored":
            uploads_made += 1
            assert outcome.upload_id == uploads_made
            stored[outcome.upload_id] = {"rows": rows, "file_name": file_name, "widen": widen,
                                         "ids": ids, "cover": cover}
            rows_of[outcome.upload_id] = identified(outcome.upload_id, rows, ids)
            state.ingest(rows_of[outcome.upload_id], cover, mode)

    for op in ops:
        if op["op"] == "upload" or not stored:
            cells = op.get("cells") or [("A", 0, "core_new", "attended")]
            rows = [
                {"slot_id": f"s{next(serial)}", "team": team, "date": FIRST_DAY + timedelta(d),
                 "kind": kind, "outcome": outcome}
                for team, d, kind, outcome in cells
            ]
            widen = op.get("widen")
            if widen:
                widen = tuple(FIRST_DAY + timedelta(d) for d in sorted(widen))
            ingest(rows, f"upload-{next(serial)}.xlsx", widen, op.get("ids", False), op["mode"])
        else:
            upload_id = sorted(stored)[op["pick"] % len(stored)]
            earlier = stored[upload_id]
            if op["op"] == "repeat":
                ingest(earlier["rows"], earlier["file_name"], earlier["widen"], earlier["ids"],
                       op["mode"])
            elif op["op"] == "correct":
                # same teams and dates, new slots and outcomes flipped: a corrected export
                rows = [{**r, "slot_id": f"s{next(serial)}",
                         "outcome": "dna" if r["outcome"] == "attended" else "attended"}
                        for r in earlier["rows"]]
                ingest(rows, f"correction-{next(serial)}.xlsx", earlier["widen"], False,
                       op["mode"])
            elif op["op"] == "reschedule":
                # the same system's ids, every slot a day later: the same slots, moved
                rows = [{**r, "date": r["date"] + timedelta(1)} for r in earlier["rows"]]
                ingest(rows, f"moved-{next(serial)}.xlsx", None, earlier["ids"], op["mode"])
            elif op["op"] == "restore":
                preview = store.plan_restore(upload_id)
                assert store.restore(upload_id, user="prop") == preview
                state.restore(rows_of[upload_id], earlier["cover"])
            else:
                preview = store.plan_remove(upload_id)
                assert store.remove_upload(upload_id, user="prop") == preview
                del stored[upload_id]
                check_invariants(store, rows_of)
                state.active = [
                    next(r for r in rows_of[u] if r.slot_id == s) for u, s in stored_keys(store)
                ]
        assert stored_keys(store) == state.keys()
        check_invariants(store, rows_of)


@contextmanager
def fresh_store(backend: str, folder):
    if backend == "postgres":
        with postgres_schema_url() as url:
            opened = Store.open(url)
            try:
                yield opened
            finally:
                opened.close()
        return
    opened = Store.open(f"sqlite:///{folder / f'{next(_files)}.sqlite'}")
    try:
        yield opened
    finally:
        opened.close()


_files = itertools.count()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_store_equals_the_model_and_never_counts_a_slot_twice(backend, tmp_path):
    if backend == "postgres":
        skip_without_postgres()

    @settings(
        max_examples=80 if backend == "sqlite" else 30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(ops=operations)
    def check(ops):
        with fresh_store(backend, tmp_path) as store:
            run_sequence(store, ops)

    check()


def test_row_identity_of_the_model():
    # Two rows of one day in one upload are its 1st and 2nd copies of that day's slot.
    rows = [{"slot_id": "x", "team": "A", "date": FIRST_DAY, "kind": "core_new",
             "outcome": "attended"}] * 2
    first, second = identified(1, rows, ids=False)
    assert (first.content, second.content) == ((FIRST_DAY, 1), (FIRST_DAY, 2))
    assert replace(first, upload=2).same_slot(first) and not first.same_slot(second)

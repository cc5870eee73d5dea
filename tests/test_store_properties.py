"""Property: after any sequence of uploads, repeats, corrections and restores, the store's active
rows equal "last upload wins per team and date", modelled with a plain dict.

The model: an upload with cover [start, end] and teams T sets, for every t in T and every day in
the cover, the (t, day) cell to exactly the upload's rows there (possibly none). A restore
applies the restored upload again with the cover it was stored with.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from conftest import make_activity, make_load_result, postgres_schema_url, skip_without_postgres
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capa_monitor import model
from capa_monitor.store import Store

FIRST_DAY = date(2026, 7, 1)
DAYS = 12
TEAMS = ("A", "B", None)

row_strategy = st.tuples(st.sampled_from(TEAMS), st.integers(0, DAYS - 1))
upload_strategy = st.fixed_dictionaries(
    {
        "op": st.just("upload"),
        "cells": st.lists(row_strategy, min_size=1, max_size=5),
        "widen": st.none() | st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)),
    }
)
# repeat / correct / restore pick an earlier upload by index (modulo how many there are)
earlier_strategy = st.fixed_dictionaries(
    {"op": st.sampled_from(["repeat", "correct", "restore"]), "pick": st.integers(0, 50)}
)
operations = st.lists(st.one_of(upload_strategy, earlier_strategy), min_size=1, max_size=8)


class Model:
    def __init__(self):
        self.cells: dict[tuple[str | None, date], set[str]] = {}

    def apply(self, rows: list[dict], cover: tuple[date, date]) -> None:
        teams = {row["team"] for row in rows}
        day = cover[0]
        while day <= cover[1]:
            for team in teams:
                self.cells[(team, day)] = {
                    r["slot_id"] for r in rows if r["team"] == team and r["date"] == day
                }
            day += timedelta(days=1)

    def active(self) -> list[tuple[str, str]]:
        return sorted(
            (team or "-", slot) for (team, _), slots in self.cells.items() for slot in slots
        )


def cover_of(rows: list[dict], widen: tuple[date, date] | None) -> tuple[date, date]:
    first = min(r["date"] for r in rows)
    last = max(r["date"] for r in rows)
    if widen:
        first, last = min(first, widen[0]), max(last, widen[1])
    return first, last


def run_sequence(store: Store, ops: list[dict]) -> None:
    model_state = Model()
    stored: list[dict] = []  # what each upload id held: rows, file name, period given, cover
    serial = itertools.count(1)

    def ingest(rows, file_name, widen):
        frame = make_activity(
            [{"clinician": "Ann Able", **r, "date": r["date"].isoformat()} for r in rows]
        )
        outcome = store.ingest(
            make_load_result(frame, file_name=file_name), user="prop", period=widen
        )
        cover = cover_of(rows, widen)
        if outcome.status == "stored":
            assert outcome.upload_id == len(stored) + 1
            stored.append({"rows": rows, "file_name": file_name, "widen": widen, "cover": cover})
        model_state.apply(rows, cover)

    for op in ops:
        if op["op"] == "upload" or not stored:
            cells = op.get("cells") or [("A", 0)]
            rows = [
                {"slot_id": f"s{next(serial)}", "team": team, "date": FIRST_DAY + timedelta(d)}
                for team, d in cells
            ]
            widen = op.get("widen")
            if widen:
                widen = tuple(FIRST_DAY + timedelta(d) for d in sorted(widen))
            ingest(rows, f"upload-{next(serial)}.xlsx", widen)
        else:
            index = op["pick"] % len(stored)
            earlier = stored[index]
            if op["op"] == "repeat":
                ingest(earlier["rows"], earlier["file_name"], earlier["widen"])
            elif op["op"] == "correct":
                # same teams and dates, new slots: a corrected export of the same period
                rows = [{**r, "slot_id": f"s{next(serial)}"} for r in earlier["rows"]]
                ingest(rows, f"correction-{next(serial)}.xlsx", earlier["widen"])
            else:
                store.restore(index + 1, user="prop")
                model_state.apply(earlier["rows"], earlier["cover"])
        frame = store.activity()
        assert sorted(zip(frame[model.TEAM].fillna("-"), frame[model.SLOT_ID], strict=True)) == (
            model_state.active()
        )
    history = store.uploads()
    active = store.activity()["upload_id"].value_counts()
    for row in history.itertuples():
        assert row.rows_active == active.get(row.upload_id, 0)


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
def test_store_equals_last_upload_wins_per_team_and_date(backend, tmp_path):
    if backend == "postgres":
        skip_without_postgres()

    @settings(
        max_examples=60 if backend == "sqlite" else 30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(ops=operations)
    def check(ops):
        with fresh_store(backend, tmp_path) as store:
            run_sequence(store, ops)

    check()

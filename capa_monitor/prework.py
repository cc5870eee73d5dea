"""Working out the reviews that take seconds right after a write, in a process of its own,
so that the next viewer of the whole trust (or of a service lead's many teams; the `review`
CLI; another replica) reads them from the store (store/kept_reviews.py) instead of waiting.

One team's review takes a fraction of a second and is worked out when asked. Every team's, at
five years of a trust, takes seconds and the memory of a quarter of all their rows: that work
runs here, after the write has committed, at low priority, in a process that exits when it is
done, so the app's own processes stay small and the writer does not wait.

    python -m capa_monitor.prework      (the store from $CAPA_DATABASE_URL)

A big review not kept yet (another quarter of every team, say) is worked out the same way
while its viewer waits (`work_out_apart`): a little slower (the process's start, ~0.9 s),
but the app's own process never holds a quarter of every team's rows.

    python -m capa_monitor.prework --view '{"teams": null, "quarter": "2026/27 Q2", ...}'

Runs are serialised per store (a lock file beside a SQLite store, an advisory lock on
PostgreSQL); each works again while writes land during it, at most MOST_ROUNDS times, and
finds a review already kept when another run got there first. CAPA_PREWORK=0 turns it off
(the tests do, but for their own). Nothing a viewer sees depends on it: a review not kept yet
is worked out when asked, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from capa_monitor.periods import Quarter
from capa_monitor.store.database import URL_ENV

ENV = "CAPA_PREWORK"
MOST_ROUNDS = 5
MOST_VIEWS = 20
# A review whose quarter holds this many rows of its teams or more is worked out apart when
# not kept: every team's of a 5M-row store (~250k rows a quarter) took an app process to
# 553-577 MiB working it out in process, one team's (a few thousand rows) nothing noticeable.
OWN_PROCESS_ROWS = 100_000
APART_TIMEOUT_S = 600.0
# Any constant: the key of the PostgreSQL advisory lock one pre-work run at a time holds.
LOCK_KEY = 0x43415052
_NICENESS = 10
log = logging.getLogger(__name__)


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip() != "0"


def _sqlite_path(url: str) -> Path | None:
    """The store's file when it is SQLite; None for PostgreSQL. Raises for an in-memory store,
    which no other process can see."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError("an in-memory SQLite store is seen by no other process")
    return Path(database)


def _child_env(store) -> dict[str, str]:
    env = {**os.environ, URL_ENV: store.url}  # not argv: a PostgreSQL URL may hold a password
    project_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root, env.get("PYTHONPATH")]))
    return env


def start(store) -> subprocess.Popen | None:
    """Start a pre-work run for the store just written to (Store.after_write); None when turned
    off or when no other process could see the store. Never raises: the write has committed,
    and a review not worked out ahead is worked out when asked."""
    if not enabled():
        return None
    try:
        _sqlite_path(store.url)
        process = subprocess.Popen(
            [sys.executable, "-m", "capa_monitor.prework"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_child_env(store),
            start_new_session=True,  # a Ctrl-C meant for the CLI does not stop it
        )
    except (OSError, ValueError):
        return None
    # A long-running server reaps its children; a CLI that exits leaves this one to init.
    threading.Thread(target=process.wait, name="capa-prework-reaper", daemon=True).start()
    return process


@contextlib.contextmanager
def one_at_a_time(store) -> Iterator[None]:
    """Wait for any other pre-work run of this store to finish, and hold it off until done."""
    path = _sqlite_path(store.url)
    if path is not None:
        with open(f"{path}.prework.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        return
    with store.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            conn.commit()


def default_quarter(store, teams: tuple[str, ...] | None = None) -> Quarter | None:
    """The quarter a review of `teams` (None: every team) opens on, as the review page and
    the `review` CLI choose it: the one holding their as-of date (§2); None when nothing has
    happened in them yet."""
    latest = store.latest_as_of(list(teams) if teams else None)
    if latest is None:
        return None
    return Quarter.containing(latest, store.settings().fy_first_month)


def opening_views(store) -> list[tuple[str, ...] | None]:
    """The reviews viewers open on that take seconds: every team's (None), then the teams of
    each access-list entry over several teams (a service lead's), as the page asks for them
    (access.Scope.review_teams); at most MOST_VIEWS. One team's takes a fraction of a second."""
    from capa_monitor.access import VIEW_REVIEW
    from capa_monitor.store import access_store

    stored = store.teams()
    views: list[tuple[str, ...] | None] = [None]
    for scope in access_store.entries(store):
        if scope.teams is None or not scope.can(VIEW_REVIEW):
            continue
        teams = scope.review_teams((), stored)
        if len(teams) >= 2 and teams not in views:
            views.append(teams)
    return views[:MOST_VIEWS]


def work_ahead(store) -> list[tuple[tuple[str, ...] | None, Quarter]]:
    """Work out and keep the opening views' reviews of their default quarters (each found
    kept when another run did it already); again while writes land meanwhile. What was kept:
    (teams, quarter) pairs, none when nothing has happened yet."""
    kept: list[tuple[tuple[str, ...] | None, Quarter]] = []
    for _ in range(MOST_ROUNDS):
        version = store.data_version()
        kept = []
        for teams in opening_views(store):
            quarter = default_quarter(store, teams)
            if quarter is not None:
                store.review(list(teams) if teams else None, quarter, None, keep=True)
                kept.append((teams, quarter))
        if store.data_version() == version:
            break
    return kept


def worth_a_process(store, teams: Sequence[str] | None, quarter: Quarter) -> bool:
    """Whether a review not kept yet is worked out in a process of its own (work_out_apart)
    rather than in the app's: when the quarter holds OWN_PROCESS_ROWS rows or more of the
    teams, so an app process stays small whatever the trust's size, and when that process
    can see the store and is allowed (CAPA_PREWORK)."""
    if not enabled():
        return False
    try:
        _sqlite_path(store.url)
    except ValueError:
        return False
    return store.quarter_rows(teams, quarter) >= OWN_PROCESS_ROWS


def work_out_apart(store, teams: Sequence[str] | None, quarter: Quarter, as_of: date | None,
                   *, timeout_s: float = APART_TIMEOUT_S):
    """The review of `teams` worked out and kept by a process of its own (after any run under
    way on the store, which may keep it first), then read back here; None when that failed
    or a write made it stale meanwhile: the caller works it out itself."""
    view = {"teams": list(teams) if teams else None, "quarter": quarter.label,
            "first_month": quarter.first_month, "as_of": as_of.isoformat() if as_of else None}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "capa_monitor.prework", "--view", json.dumps(view)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=_child_env(store), timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired):
        log.warning("working out a review apart failed; working it out here", exc_info=True)
        return None
    if done.returncode != 0:
        log.warning("working out a review apart failed (%s); working it out here",
                    done.stderr.decode(errors="replace").strip()[-300:])
        return None
    return store.kept_review(teams, quarter, as_of)


def _work_out_view(store, view: dict) -> None:
    quarter = Quarter.parse(view["quarter"], int(view["first_month"]))
    as_of = date.fromisoformat(view["as_of"]) if view["as_of"] else None
    store.review(view["teams"] or None, quarter, as_of, keep=True)


def main(argv: Sequence[str] | None = None) -> int:
    from capa_monitor.store import Store

    args = list(sys.argv[1:] if argv is None else argv)
    view = json.loads(args[1]) if args[:1] == ["--view"] else None
    if view is None:
        with contextlib.suppress(OSError):
            os.nice(_NICENESS)  # viewers and writers first: this only saves a later wait
    store = Store.open(os.environ.get(URL_ENV) or None)
    try:
        with one_at_a_time(store):
            if view is None:
                work_ahead(store)
            else:  # a viewer waits for this one
                _work_out_view(store, view)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

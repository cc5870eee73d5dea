"""Working out the reviews that take seconds right after a write, in a process of its own,
so that the next viewer of the whole trust (or of a service lead's many teams; the `review`
CLI; another replica) reads them from the store (store/kept_reviews.py) instead of waiting.

Every team's review, at five years of a trust, takes seconds and the memory of a quarter of
all their rows; each team's own, a quarter of a second, which a viewer switching from team to
team pays at every step. That work runs here (`views_ahead` says which), after the write has
committed, at low priority, in a process that exits when it is done, so the app's own
processes stay small and the writer does not wait. A write makes stale only the reviews of
the teams it touched (and of the views including them: every team's, a service lead's), so
a run after one team's upload works out those.

    python -m capa_monitor.prework      (the store from $CAPA_DATABASE_URL)

A big review not kept yet (another quarter of every team, say) is worked out the same way
while its viewer waits (`work_out_apart`): a little slower (the process's start, ~0.9 s),
but the app's own process never holds a quarter of every team's rows.

    python -m capa_monitor.prework --view '{"teams": null, "quarter": "2026/27 Q2", ...}'

Runs take turns per store (`one_at_a_time`), and at most one waits: the writes that land
while it does are all seen by it, so the others exit at once. Each works again while writes
land during it, at most MOST_ROUNDS times, and finds a review already kept when another run
got there first. Writes that cannot change a review (an audit entry for a download, a saved
column mapping) start none. CAPA_PREWORK=0 turns it all off (the tests do, but for their
own). No figure depends on it: a review not kept yet is worked out when asked, as before.
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
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from capa_monitor.metrics.review import Review
    from capa_monitor.periods import Quarter

# Kept light above: a run that waits its turn holds no more than these (the store's modules,
# pandas among them, are imported once it has the turn). The same variable as
# store.database.URL_ENV (tests/test_prework.py checks it), not imported from there, which
# would load the whole store package.
URL_ENV = "CAPA_DATABASE_URL"
ENV = "CAPA_PREWORK"
MOST_ROUNDS = 5
MOST_VIEWS = 20
# Reviews worked ahead at most: fewer than kept_reviews.MOST_KEPT (500), which keeps the most
# recent, so a run (which marks the ones it passes over as recent) never pushes out its own.
MOST_AHEAD = 400
# A review whose quarter holds this many rows of its teams or more is worked out apart when
# not kept: every team's of a 5M-row store (~250k rows a quarter) took an app process to
# 553-577 MiB working it out in process, one team's (a few thousand rows) nothing noticeable.
OWN_PROCESS_ROWS = 100_000
APART_TIMEOUT_S = 600.0
# Any constants: the keys of the PostgreSQL advisory locks of the running run and of the one
# run that may wait for it.
LOCK_KEY = 0x43415052
QUEUE_KEY = 0x43415053
# How long a run waits for its turn on PostgreSQL before giving up (a run is seconds to minutes)
LOCK_TIMEOUT = "15min"
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


def _shareable(url: str) -> bool:
    """Whether another process can see the store (not an in-memory SQLite one)."""
    try:
        _sqlite_path(url)
    except ValueError:
        return False
    return True


def _child_url(url: str) -> str:
    """The URL as a process started elsewhere reads it: a relative SQLite file made absolute."""
    path = _sqlite_path(url)
    if path is None or path.is_absolute():
        return url
    return make_url(url).set(database=str(path.resolve())).render_as_string(hide_password=False)


def _child_env(store) -> dict[str, str]:
    # The URL in the environment, not argv: a PostgreSQL URL may hold a password.
    env = {**os.environ, URL_ENV: _child_url(store.url)}
    project_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root, env.get("PYTHONPATH")]))
    # Never the working directory's modules (python -m puts it first on sys.path): a folder
    # with its own capa_monitor/ or json.py would otherwise run in place of ours.
    env["PYTHONSAFEPATH"] = "1"
    return env


def start(store) -> subprocess.Popen | None:
    """Start a pre-work run for the store just written to (Store.after_write); None when turned
    off or when no other process could see the store. Never raises: the write has committed,
    and a review not worked out ahead is worked out when asked."""
    if not enabled() or not _shareable(store.url):
        return None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "capa_monitor.prework"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_child_env(store),
            start_new_session=True,  # a Ctrl-C meant for the CLI does not stop it
        )
    except OSError:
        return None
    # A long-running server reaps its children; a CLI that exits leaves this one to init.
    threading.Thread(target=process.wait, name="capa-prework-reaper", daemon=True).start()
    return process


@contextlib.contextmanager
def one_at_a_time(url: str) -> Iterator[bool]:
    """The store's pre-work turn: waits while another run has it, and yields True while this
    one does. At most one run waits: when one already does, yields False at once, since that
    run, started by an earlier write, reads the store only once it has the turn and so sees
    every write before. (A file lock beside a SQLite store; on PostgreSQL, transaction-level
    advisory locks, so a connection pooler in transaction mode cannot leave one held.)"""
    path = _sqlite_path(url)
    if path is not None:
        with open(f"{path}.prework.lock", "a+b") as turn:
            with open(f"{path}.prework.queue", "a+b") as queue:
                try:
                    fcntl.flock(queue, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                fcntl.flock(turn, fcntl.LOCK_EX)
            yield True  # the queue's lock went with its file: the next write may queue
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as turn, turn.begin():
            with engine.connect() as queue, queue.begin():
                waiting = queue.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                        {"key": QUEUE_KEY}).scalar()
                if not waiting:
                    yield False
                    return
                turn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                turn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield True
    finally:
        engine.dispose()


def default_quarter(store, teams: tuple[str, ...] | None = None) -> Quarter | None:
    """The quarter a review of `teams` (None: every team) opens on, as the review page and
    the `review` CLI choose it: the one holding their as-of date (§2); None when nothing has
    happened in them yet."""
    from capa_monitor.periods import Quarter

    latest = store.latest_as_of(list(teams) if teams else None)
    if latest is None:
        return None
    return Quarter.containing(latest, store.settings().fy_first_month)


def opening_views(store) -> list[tuple[str, ...] | None]:
    """The views of several teams viewers open on: every team's (None), then the teams of
    each access-list entry over several teams (a service lead's), as the page asks for them
    (access.Scope.review_teams); at most MOST_VIEWS."""
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


def views_ahead(store) -> list[tuple[tuple[str, ...] | None, Quarter]]:
    """Every review worked ahead, in the order it is worked: each opening view's of its
    default quarter; each team's own of the quarter its page opens on; each team's of the
    one every team's page shows, where that differs (a viewer switching to the team from
    there stays on it); then each team's quarter before its own, where it has rows (the one
    its quarterly review meeting looks back on). At most MOST_AHEAD, so what is cut first is
    the least likely to be opened. Worked out in the page, one team's switch takes 0.2-0.3 s
    at 5M rows; read kept, 0.07 s."""
    from capa_monitor.periods import Quarter

    views: list[tuple[tuple[str, ...] | None, Quarter]] = []
    for teams in opening_views(store):
        quarter = default_quarter(store, teams)
        if quarter is not None:
            views.append((teams, quarter))
    every_teams = views[0][1] if views else None
    first_month = store.settings().fy_first_month
    latest = store.latest_as_of_by_team()
    own = {team: Quarter.containing(latest[team], first_month)
           for team in store.teams() if team in latest}
    views += [((team,), quarter) for team, quarter in own.items()]
    views += [((team,), every_teams) for team, quarter in own.items()
              if every_teams is not None and quarter != every_teams]
    rows_before = {before: store.quarter_rows_by_team(before)
                   for before in {quarter.previous() for quarter in own.values()}}
    views += [((team,), quarter.previous()) for team, quarter in own.items()
              if rows_before[quarter.previous()].get(team)]
    return list(dict.fromkeys(views))[:MOST_AHEAD]


def work_ahead(store) -> list[tuple[tuple[str, ...] | None, Quarter]]:
    """Work out and keep the reviews of views_ahead, passing over those kept already (by
    another run or a viewer: Store.kept_standing, which marks them just made, so the store's
    bound on kept reviews pushes out others first); again while writes land meanwhile. What
    is kept: (teams, quarter) pairs, none when nothing has happened yet."""
    kept: list[tuple[tuple[str, ...] | None, Quarter]] = []
    for _ in range(MOST_ROUNDS):
        version = store.data_version()
        kept = views_ahead(store)
        for (teams, quarter), standing in zip(kept, store.kept_standing(kept), strict=True):
            if not standing:
                store.review(list(teams) if teams else None, quarter, None, keep=True)
        if store.data_version() == version:
            break
    return kept


def worth_a_process(store, teams: Sequence[str] | None, quarter: Quarter) -> bool:
    """Whether a review not kept yet is worked out in a process of its own (work_out_apart)
    rather than in the app's: when the quarter holds OWN_PROCESS_ROWS rows or more of the
    teams, so an app process stays small whatever the trust's size, and when that process
    can see the store and is allowed (CAPA_PREWORK)."""
    if not enabled() or not _shareable(store.url):
        return False
    return store.quarter_rows(teams, quarter) >= OWN_PROCESS_ROWS


def work_out_apart(store, teams: Sequence[str] | None, quarter: Quarter, as_of: date | None,
                   *, timeout_s: float = APART_TIMEOUT_S) -> Review | None:
    """The review of `teams` worked out by a process of its own, which keeps it for others
    and sends it back (kept_reviews.encode: the bytes a kept review is), so a writer holding
    the store meanwhile cannot lose it; None when that failed (logged): the caller works it
    out itself. It does not wait for a pre-work run under way: its viewer is waiting."""
    from capa_monitor.store import kept_reviews

    view = {"teams": list(teams) if teams else None, "quarter": quarter.label,
            "first_month": quarter.first_month, "as_of": as_of.isoformat() if as_of else None}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "capa_monitor.prework", "--view", json.dumps(view)],
            stdin=subprocess.DEVNULL, capture_output=True, env=_child_env(store),
            timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("working out a review apart failed (%s); working it out here",
                    type(exc).__name__)
        return None
    if done.returncode != 0:
        log.warning("working out a review apart failed (%s); working it out here",
                    _without_password(done.stderr.decode(errors="replace").strip()[-300:], store))
        return None
    try:
        return kept_reviews.decode(done.stdout)
    except Exception:
        log.warning("a review worked out apart did not read; working it out here",
                    exc_info=True)
        return None


def _without_password(words: str, store) -> str:
    password = make_url(store.url).password
    return words.replace(password, "***") if password else words


def _work_out_view(store, view: dict) -> bytes:
    from capa_monitor.periods import Quarter
    from capa_monitor.store import kept_reviews

    quarter = Quarter.parse(view["quarter"], int(view["first_month"]))
    as_of = date.fromisoformat(view["as_of"]) if view["as_of"] else None
    return kept_reviews.encode(store.review(view["teams"] or None, quarter, as_of, keep=True))


def _store_url() -> str:
    url = os.environ.get(URL_ENV)
    if url:
        return url
    from capa_monitor.store.database import resolve_url

    return resolve_url()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    view = json.loads(args[1]) if args[:1] == ["--view"] else None
    url = _store_url()
    if view is not None:  # a viewer waits for this one: no turn to wait for, no niceness
        from capa_monitor.store import Store

        store = Store.open(url)
        try:
            sys.stdout.buffer.write(_work_out_view(store, view))
        finally:
            store.close()
        return 0
    with contextlib.suppress(OSError):
        os.nice(_NICENESS)  # viewers and writers first: this only saves a later wait
    with one_at_a_time(url) as my_turn:
        if not my_turn:
            return 0  # the run already waiting will see this write
        from capa_monitor.store import Store

        store = Store.open(url)
        try:
            work_ahead(store)
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The invented demo team: `sample_data/` loaded into a store, tagged demo so it can be removed.

One function for both ways in (the CLI's `demo` verb and the welcome page's button).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from capa_monitor.jobplans import load_jobplans
from capa_monitor.loading import load_activity
from capa_monitor.sample import SAMPLE_FILES, TEAM
from capa_monitor.store import DEMO_SOURCE, IngestOutcome, Store

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
DEMO_ACTIVITY = SAMPLE_DATA / SAMPLE_FILES["diary"]
DEMO_JOBPLANS = SAMPLE_DATA / SAMPLE_FILES["jobplans"]


@dataclass(frozen=True)
class DemoLoad:
    outcome: IngestOutcome
    appointments: int
    plans: int
    plans_changed: int


def load_demo(store: Store, *, user: str) -> DemoLoad:
    """Store the demo team's diary export and job plans, attributed to `user`."""
    result = load_activity(
        DEMO_ACTIVITY.read_bytes(), DEMO_ACTIVITY.name, team=TEAM, settings=store.settings()
    )
    outcome = store.ingest(result, user=user, demo=True)
    plans = load_jobplans(DEMO_JOBPLANS.read_bytes(), DEMO_JOBPLANS.name)
    changed = store.save_jobplans(plans.frame, user=user, source=DEMO_SOURCE)
    return DemoLoad(outcome, len(result.frame), len(plans.frame), changed)

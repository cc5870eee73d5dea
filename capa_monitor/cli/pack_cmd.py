"""`pack`: the quarterly review pack (domain spec §8 L5) as an A4 PDF, from the command line."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from capa_monitor.cli.review_cmds import _period_arguments, _review_from_store, review_details
from capa_monitor.cli.store_cmds import write_download
from capa_monitor.errors import CapaError
from capa_monitor.metrics.lookahead import stored_outlook
from capa_monitor.pack import pack_pdf


def register(subparsers: argparse._SubParsersAction) -> None:
    pack = subparsers.add_parser(
        "pack",
        help="write the quarterly review pack (PDF, A4) for the team's review meeting",
        description="Write the quarter's review pack: totals, each clinician in words, "
        "projections, next quarter's diary, lost slots not re-offered, balance, drift, "
        "internal wait, capacity against demand and the trend chart. No client identifiers.",
    )
    _period_arguments(pack)
    pack.add_argument("--out", required=True, metavar="FILE.pdf", help="the PDF to write")
    pack.set_defaults(func=run_pack)


def run_pack(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".pdf":
        raise CapaError(f"--out must end in .pdf, not {out.name!r}.")
    result, store = _review_from_store(args)
    # the part of the teams' own rows L1–L3 look at, and what the store keeps for them
    inputs = store.review_inputs(list(result.teams) if result.teams else None, result.quarter,
                                 args.as_of, looking_ahead=True)
    look = stored_outlook(inputs, result)
    write_download(
        store, out, pack_pdf(result, look, made_on=date.today()), what="review pack",
        **review_details(result), clinicians=len(result.clinicians),
    )
    print(f"Wrote {out}: the {result.quarter.label} review pack for {result.teams_label}, as of "
          f"{result.as_of:%d %b %Y} ({len(result.clinicians)} clinicians).")
    return 0

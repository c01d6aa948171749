"""Re-run cost: the real CLI three times over the same stored metadata; the second run has
nothing new, the third one digest edited.

Goals (issue 15) at 100,000 entries: with nothing new 0 requests, at most 1.0 s and 300 MiB;
with one digest edited at most 10 % of the first (whole) run. Wall time is the whole
`python -m pipeline enrich` process (interpreter start and imports included), as a
scheduler sees it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench.harness import (
    ChildRun,
    Plan,
    Workspace,
    folder_paths,
    last_run_record,
    run_pipeline_cli,
    stage_seconds,
    with_witness,
)
from bench.report import Section
from bench.scale import enrich_args, prepare_stored_corpus
from bench.synth import DigestFile, SynthPaper, synth_papers
from pipeline.standin import StandIn

GOAL_UNCHANGED_SECONDS = 1.0
GOAL_UNCHANGED_RSS_MB = 300.0
GOAL_EDITED_SHARE = 0.10

COLUMNS = {
    "run": "run",
    "entries": "entries",
    "requests": "requests",
    "wall_seconds": "wall s (process)",
    "pipeline_seconds": "stages s",
    "parse_seconds": "parse s",
    "fetch_seconds": "fetch s",
    "reconcile_seconds": "reconcile s",
    "write_seconds": "write s",
    "peak_rss_mb": "peak RSS MB",
    "exit_code": "exit",
}


def edit_one_digest(folder: Path, files: list[DigestFile], papers: list[SynthPaper]) -> None:
    """Rewrite one paper's title in the first digest, as a corrected digest would."""
    by_id = {p.arxiv_id: p for p in papers}
    digest = folder_paths(folder).digests / files[0].path
    title = by_id[files[0].arxiv_ids[0]].title
    text = digest.read_text(encoding="utf-8")
    digest.write_text(text.replace(title, f"{title} Revisited", 1), encoding="utf-8")


def run(plan: Plan, ws: Workspace) -> list[Section]:
    papers = synth_papers(plan.rerun_entries, seed=3)
    folder = ws.fresh("rerun")
    files = prepare_stored_corpus(papers, folder)
    section = Section("rerun", "Re-run cost: nothing new, then one digest edited", COLUMNS)
    runs = (
        ("first run (metadata stored, no tables yet)", None),
        ("second run (nothing new)", None),
        ("third run (one digest edited)", lambda: edit_one_digest(folder, files, papers)),
    )
    with StandIn(with_witness([])) as server:
        for label, change in runs:
            if change is not None:
                change()
            server.clear_log()
            child = run_pipeline_cli(
                enrich_args(folder, server.url), ws.fresh(f"rerun-log-{len(section.rows)}")
            )
            if child.exit_code != 0:
                raise RuntimeError(
                    f"rerun: {label} exited {child.exit_code}: {child.stderr[-2000:]}"
                )
            record = last_run_record(folder_paths(folder))
            section.rows.append(_row(label, len(papers), len(server.log), child, record))
            print(f"bench:   {label}: {child.wall_seconds:.1f} s", file=sys.stderr)
    first, unchanged, edited = section.rows
    met_unchanged = (
        unchanged["requests"] == 0
        and unchanged["wall_seconds"] <= GOAL_UNCHANGED_SECONDS
        and unchanged["peak_rss_mb"] <= GOAL_UNCHANGED_RSS_MB
    )
    share = edited["wall_seconds"] / first["wall_seconds"]
    section.notes += [
        f"{len(papers):,} entries in {len(files)} digests of mixed layouts, every paper (and "
        "title search) already in the store, as bench/scale.py prepares them; the stand-in "
        "is empty, so 'requests' counts what the run asked.",
        f"Nothing new: goal 0 requests, at most {GOAL_UNCHANGED_SECONDS:g} s and "
        f"{GOAL_UNCHANGED_RSS_MB:g} MiB: {'met' if met_unchanged else 'NOT met'} "
        f"({unchanged['wall_seconds']:.2f} s, {unchanged['peak_rss_mb']:.0f} MB, "
        f"{unchanged['requests']} requests). Unchanged tables are hard-linked into the new "
        "generation and not read; only `runs` is written; staleness is judged on the "
        "per-digest tallies the ledger keeps; the report takes its parts drawn from the "
        "tables over from the published page and draws the runs, health and alarms anew.",
        f"One digest edited: goal at most {GOAL_EDITED_SHARE:.0%} of the first run: "
        f"{'met' if share <= GOAL_EDITED_SHARE else 'NOT met'} ({share:.1%}). Only that "
        "digest is parsed and reconciled; the other rows are carried from the published "
        "tables; with the same papers (and nothing fetched) the paper tables and the fetch "
        "log stay as published, unread; tables whose values did not change are hard-linked, "
        "the others (entries at least) encoded again, and the report drawn in full.",
    ]
    return [section]


def _row(
    label: str, entries: int, requests: int, child: ChildRun, record: dict[str, Any]
) -> dict[str, Any]:
    if record.get("requests") != requests:
        raise RuntimeError(
            f"rerun: run log says {record.get('requests')} requests, stand-in {requests}"
        )
    stages = stage_seconds(record)
    return {
        "run": label,
        "entries": entries,
        "requests": requests,
        "wall_seconds": round(child.wall_seconds, 3),
        "pipeline_seconds": round(sum(stages.values()), 3),
        **{f"{stage}_seconds": round(s, 3) for stage, s in stages.items()},
        "peak_rss_mb": round(child.peak_rss_mb, 1),
        "exit_code": child.exit_code,
    }

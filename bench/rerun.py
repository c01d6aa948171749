"""Re-run cost: the real CLI twice over the same digests; the second run has nothing new.

Goal: the second run well under 2 s and 0 requests. Wall time is the whole `python -m
pipeline enrich` process (interpreter start and imports included), as a scheduler sees it.
"""

from __future__ import annotations

import sys
from typing import Any

from bench.harness import (
    SCALED_DELAY,
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
from bench.synth import synth_papers, to_corpus_record, write_digests
from pipeline.standin import StandIn

GOAL_SECONDS = 2.0

COLUMNS = {
    "run": "run",
    "entries": "entries",
    "requests": "requests",
    "search_requests": "of which title searches",
    "wall_seconds": "wall s (process)",
    "pipeline_seconds": "stages s",
    "parse_seconds": "parse s",
    "fetch_seconds": "fetch s",
    "reconcile_seconds": "reconcile s",
    "write_seconds": "write s",
    "peak_rss_mb": "peak RSS MB",
    "exit_code": "exit",
}


def run(plan: Plan, ws: Workspace) -> list[Section]:
    papers = synth_papers(plan.rerun_entries, seed=3)
    folder = ws.fresh("rerun")
    paths = folder_paths(folder)
    paths.digests.mkdir(parents=True)
    files = write_digests(papers, paths.digests, seed=3)
    without_id = sum(f.without_id for f in files)
    section = Section("rerun", "Re-run cost: a second run with nothing new", COLUMNS)
    with StandIn(with_witness([to_corpus_record(p) for p in papers])) as server:
        args = [
            "enrich",
            "--raw-dir", str(paths.raw),
            "--out-dir", str(paths.out),
            "--api-url", server.url,
            "--delay-seconds", str(SCALED_DELAY),
        ]  # fmt: skip
        for label in ("first run (everything new)", "second run (nothing new)"):
            server.clear_log()
            child = run_pipeline_cli(args, ws.fresh(f"rerun-log-{len(section.rows)}"))
            if child.exit_code != 0:
                raise RuntimeError(
                    f"rerun: {label} exited {child.exit_code}: {child.stderr[-2000:]}"
                )
            record = last_run_record(paths)
            log = server.log
            searches = sum(1 for request in log if not request.ids)
            section.rows.append(_row(label, len(papers), len(log), searches, child, record))
            print(f"bench:   {label}: {child.wall_seconds:.1f} s", file=sys.stderr)
    second = section.rows[-1]
    met = second["requests"] == 0 and second["wall_seconds"] < GOAL_SECONDS
    section.notes += [
        f"{len(papers):,} entries in {len(files)} digests of mixed layouts, {without_id} of them "
        "without an ID (resolved by title search in the first run); delay 0.05 s.",
        f"Goal: second run well under {GOAL_SECONDS:g} s with 0 requests: "
        f"{'met' if met else 'NOT met'} ({second['wall_seconds']:.2f} s, "
        f"{second['requests']} requests). 'requests' is what the stand-in received; the run "
        "log agrees.",
    ]
    return [section]


def _row(
    label: str,
    entries: int,
    requests: int,
    searches: int,
    child: ChildRun,
    record: dict[str, Any],
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
        "search_requests": searches,
        "wall_seconds": round(child.wall_seconds, 3),
        "pipeline_seconds": round(sum(stages.values()), 3),
        **{f"{stage}_seconds": round(s, 3) for stage, s in stages.items()},
        "peak_rss_mb": round(child.peak_rss_mb, 1),
        "exit_code": child.exit_code,
    }

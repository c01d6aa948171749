"""Report: how long the report, the DuckDB file and the schema export take, and how big
they are, for 10,000 and 200,000 entries (issue 13: < 5 MB at 10,000, to be mailed).

Per size, the scale benchmark's folder (synthetic digests, every paper stored) is enriched
once by the real CLI, then `python -m pipeline report` runs in a fresh child: it reads the
published tables, assesses the digests' health and writes the three files again, which is
the work every run adds after writing its tables.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

from bench.harness import Plan, Workspace, folder_paths, last_run_record, run_pipeline_cli
from bench.report import Section
from bench.scale import enrich_args, prepare_stored_corpus
from bench.synth import synth_papers
from pipeline.companions import COMPANION_FILES
from pipeline.standin import StandIn

SIZES = {"full": (10_000, 200_000), "quick": (1_000, 4_000)}
GOAL_MB_AT_10K = 5.0

COLUMNS = {
    "entries": "entries",
    "report_seconds": "`pipeline report` s",
    "peak_rss_mb": "peak RSS MB",
    "report_html_kb": "report.html KB",
    "duckdb_kb": "enriched.duckdb KB",
    "schema_kb": "schema.json KB",
    "write_seconds": "enrich write s (tables + files)",
    "enrich_seconds": "enrich wall s",
    "enrich_rss_mb": "enrich peak RSS MB",
}


def _measure(entries: int, ws: Workspace) -> dict[str, Any]:
    folder = ws.fresh(f"report-{entries}")
    prepare_stored_corpus(synth_papers(entries, seed=4), folder)
    paths = folder_paths(folder)
    with StandIn([]) as server:
        args = enrich_args(folder, server.url)
        enriched = run_pipeline_cli(args, folder)
        if enriched.exit_code != 0:
            raise RuntimeError(f"report {entries}: enrich exit {enriched.exit_code}")
        report = run_pipeline_cli(["report", *args[1:]], folder)
    if report.exit_code != 0:
        raise RuntimeError(f"report {entries}: exit {report.exit_code}: {report.stderr[-2000:]}")
    sizes = {name: (paths.out / name).stat().st_size / 1024 for name in COMPANION_FILES}
    row = {
        "entries": entries,
        "report_seconds": round(report.wall_seconds, 2),
        "peak_rss_mb": round(report.peak_rss_mb, 1),
        "report_html_kb": round(sizes["report.html"], 1),
        "duckdb_kb": round(sizes["enriched.duckdb"], 1),
        "schema_kb": round(sizes["schema.json"], 1),
        "write_seconds": round(last_run_record(paths)["write_seconds"], 2),
        "enrich_seconds": round(enriched.wall_seconds, 1),
        "enrich_rss_mb": round(enriched.peak_rss_mb, 1),
    }
    shutil.rmtree(folder)
    return row


def run(plan: Plan, ws: Workspace) -> list[Section]:
    section = Section("report", "Report, DuckDB file and schema export", COLUMNS)
    for entries in SIZES[plan.name]:
        section.rows.append(_measure(entries, ws))
        row = section.rows[-1]
        print(
            f"bench:   report {entries:,}: {row['report_seconds']} s, {row['report_html_kb']} KB",
            file=sys.stderr,
        )
    section.notes += [
        "`pipeline report` is a fresh child (wall time and its own peak RSS): it reads the "
        "published tables, assesses digest health and writes report.html, enriched.duckdb "
        "and schema.json; an enrich run does the same work inside its write stage (last "
        "columns: the whole write stage, Parquet tables included, and the whole enrich "
        "child, for comparison with the scale benchmark).",
        "Charts are pygal SVG of aggregates, so the page grows only with the capped lists "
        "(200 unresolved entries, 200 multi-digest papers, the digest health table).",
    ]
    at_10k = next((r for r in section.rows if r["entries"] == 10_000), None)
    if at_10k is not None:
        met = at_10k["report_html_kb"] / 1024 < GOAL_MB_AT_10K
        section.notes.append(
            f"Goal: report.html under {GOAL_MB_AT_10K:g} MB at 10,000 entries "
            f"({'met' if met else 'NOT met'}: {at_10k['report_html_kb'] / 1024:.2f} MB)."
        )
    return [section]

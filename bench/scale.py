"""Scale: whole runs over synthetic digest collections whose metadata is already stored.

Per size, a fresh folder gets digests of mixed layouts (50-300 entries per file, ~5% of
entries without an ID) and a store holding every paper as the fetch stage would have left
it, plus the title searches for the entries without ID. The real CLI then runs online
against an empty stand-in, in a fresh child process: any request it made would show up in
the stand-in's log. Goals (issue 15), on 2 cores: 200,000 entries in at most 15 s; 1,000,000
in at most 60 s and 1 GiB peak RSS; time and memory growing at most linearly.
"""

from __future__ import annotations

import math
import pstats
import shutil
import sys
from collections.abc import Sequence
from io import StringIO
from pathlib import Path
from typing import Any

from bench.harness import (
    PROJECT_ROOT,
    SCALED_DELAY,
    ChildRun,
    Plan,
    Workspace,
    folder_paths,
    last_run_record,
    prepopulate,
    run_pipeline_cli,
    stage_seconds,
)
from bench.report import Section
from bench.synth import DigestFile, SynthPaper, synth_papers, to_paper_record, write_digests
from pipeline.fetch.titles import title_phrase
from pipeline.standin import StandIn
from pipeline.store import utc_now

# entries -> (seconds, peak RSS MiB or None): the goals checked when the plan has the size.
GOALS: dict[int, tuple[float, float | None]] = {200_000: (15.0, None), 1_000_000: (60.0, 1024.0)}
GOAL_EXPONENT = 1.0
PROFILE_TOP = 30

COLUMNS = {
    "entries": "entries",
    "digests": "digests",
    "digest_mb": "digest MB",
    "wall_seconds": "wall s",
    "cpu_seconds": "CPU s",
    "peak_rss_mb": "peak RSS MB",
    "us_per_entry": "µs / entry",
    "parse_seconds": "parse s",
    "fetch_seconds": "fetch s",
    "reconcile_seconds": "reconcile s",
    "write_seconds": "write s",
    "requests": "requests",
    "resolved": "resolved (link / title)",
    "exit_code": "exit",
}


def prepare_stored_corpus(papers: Sequence[SynthPaper], folder: Path) -> list[DigestFile]:
    """Digests and a filled store in `folder`; returns the digest files written."""
    paths = folder_paths(folder)
    paths.digests.mkdir(parents=True)
    files = write_digests(papers, paths.digests, seed=len(papers))
    by_id = {p.arxiv_id: p for p in papers}
    searches = {
        title_phrase(by_id[i].title): [i] for f in files if f.without_id for i in f.arxiv_ids
    }
    fetched_at = utc_now()
    prepopulate(paths, [to_paper_record(p, fetched_at) for p in papers], searches)
    return files


def enrich_args(folder: Path, api_url: str) -> list[str]:
    paths = folder_paths(folder)
    return [
        "enrich",
        "--raw-dir", str(paths.raw),
        "--out-dir", str(paths.out),
        "--api-url", api_url,
        "--delay-seconds", str(SCALED_DELAY),
    ]  # fmt: skip


def _measure(papers: Sequence[SynthPaper], ws: Workspace) -> dict[str, Any]:
    folder = ws.fresh(f"scale-{len(papers)}")
    files = prepare_stored_corpus(papers, folder)
    digests, size = len(files), sum(f.size_bytes for f in files)
    with StandIn([]) as server:
        child = run_pipeline_cli(enrich_args(folder, server.url), folder)
        requests = len(server.log)
    if child.exit_code != 0:
        raise RuntimeError(f"scale {len(papers)}: exit {child.exit_code}: {child.stderr[-2000:]}")
    record = last_run_record(folder_paths(folder))
    shutil.rmtree(folder)  # hundreds of MB at the larger sizes
    return _row(len(papers), digests, size, child, requests, record)


def _row(
    entries: int, digests: int, size: int, child: ChildRun, requests: int, record: dict[str, Any]
) -> dict[str, Any]:
    stages = stage_seconds(record)
    return {
        "entries": entries,
        "digests": digests,
        "digest_mb": round(size / 1e6, 1),
        "wall_seconds": round(child.wall_seconds, 2),
        "cpu_seconds": round(child.cpu_seconds, 2),
        "peak_rss_mb": round(child.peak_rss_mb, 1),
        "us_per_entry": round(1e6 * child.wall_seconds / entries, 1),
        **{f"{stage}_seconds": round(s, 2) for stage, s in stages.items()},
        "requests": requests,
        "resolved": f"{record['resolved_link']:,} / {record['resolved_title']:,}",
        "unresolved": record["unresolved"],
        "mismatches": record["mismatches"],
        "exit_code": child.exit_code,
    }


def growth_exponent(sizes: Sequence[float], values: Sequence[float]) -> float:
    """b of values ~ sizes**b, least squares on logs: 1.0 is linear."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(v) for v in values]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def run(plan: Plan, ws: Workspace) -> list[Section]:
    papers = synth_papers(max(plan.scale_entries), seed=4)
    section = Section("scale", "Scale: whole runs with metadata already stored", COLUMNS)
    for size in plan.scale_entries:
        section.rows.append(_measure(papers[:size], ws))
        row = section.rows[-1]
        print(
            f"bench:   scale {size:,}: {row['wall_seconds']} s, {row['peak_rss_mb']} MB",
            file=sys.stderr,
        )
    sizes = [r["entries"] for r in section.rows]
    section.notes.append(
        "Wall time, CPU time and peak RSS are of the whole `python -m pipeline enrich` "
        "child with its parse workers (peak: its own VmHWM, or the RSS of it and its "
        "workers summed, whichever is larger, read every 20 ms), online against an empty "
        "stand-in: 'requests' counts what it received. Stage seconds (wall) come from the "
        "run log."
    )
    if len(sizes) > 1:
        time_b = growth_exponent(sizes, [r["wall_seconds"] for r in section.rows])
        rss_b = growth_exponent(sizes, [r["peak_rss_mb"] for r in section.rows])
        met = time_b <= GOAL_EXPONENT and rss_b <= GOAL_EXPONENT
        section.notes.append(
            f"Growth with input size (least squares on logs, 1.0 = linear): time "
            f"^{time_b:.2f}, peak memory ^{rss_b:.2f}; goal at most {GOAL_EXPONENT:g}: "
            f"{'met' if met else 'NOT met'}."
        )
    section.notes += [
        "Digests: 50-300 entries per file, layouts mixed (heading+link, newsletter with and "
        "without links, HF JSON objects / Python-repr strings / wrapper), Chinese titles and "
        "abstracts in the Markdown layouts; ~5% of entries without an ID.",
    ]
    for row in section.rows:
        if row["entries"] not in GOALS:
            continue
        seconds, rss = GOALS[row["entries"]]
        met = row["wall_seconds"] <= seconds and (rss is None or row["peak_rss_mb"] <= rss)
        memory = f" and {rss:g} MiB" if rss is not None else ""
        section.notes.append(
            f"Goal at {row['entries']:,} entries: at most {seconds:g} s{memory}: "
            f"{'met' if met else 'NOT met'} ({row['wall_seconds']} s, {row['peak_rss_mb']} MB)."
        )
    return [section]


def profile(plan: Plan, ws: Workspace) -> str:
    """The scale run at plan.profile_entries under cProfile: the top functions, as text."""
    papers = synth_papers(plan.profile_entries, seed=4)
    folder = ws.fresh(f"profile-{len(papers)}")
    prepare_stored_corpus(papers, folder)
    stats_path = folder / "enrich.pstats"
    with StandIn([]) as server:
        # cProfile sees one process: parse in it, not in workers, so that parse costs show.
        args = [*enrich_args(folder, server.url), "--parse-workers", "1"]
        child = run_pipeline_cli(args, folder, profile_to=stats_path)
    if child.exit_code != 0:
        raise RuntimeError(f"profile: exit {child.exit_code}: {child.stderr[-2000:]}")
    record = last_run_record(folder_paths(folder))
    out = StringIO()
    out.write(
        f"cProfile of `python -m pipeline enrich` over {len(papers):,} entries "
        f"(wall {child.wall_seconds:.1f} s under the profiler; stages "
        + ", ".join(f"{k} {v:.1f} s" for k, v in stage_seconds(record).items())
        + ")\n"
    )
    stats = pstats.Stats(str(stats_path), stream=out)
    for order in ("tottime", "cumulative"):
        out.write(f"\n=== top {PROFILE_TOP} by {order} ===\n")
        stats.sort_stats(order).print_stats(PROFILE_TOP)
    return out.getvalue().replace(f"{PROJECT_ROOT}/", "")

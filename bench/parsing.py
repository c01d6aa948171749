"""Parse throughput per digest layout, in MB/s of digest bytes, through `parse_digest`.

Synthetic collections (one per layout, the same papers in each) give steady numbers; the
real sample digests of tests/fixtures/digests/ are small, so each is parsed repeatedly.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.harness import PROJECT_ROOT, Plan, Workspace, folder_paths
from bench.report import Section
from bench.synth import LAYOUTS, PARSED_LAYOUT, synth_papers, write_digests
from pipeline.parse import parse_digest

PASSES = 3  # median of three passes over each collection
SAMPLE_SECONDS = 0.3  # each real sample is parsed repeatedly for at least this long
SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "digests"

COLUMNS = {
    "digests": "digests",
    "layout": "layout (parsed as)",
    "files": "files",
    "entries": "entries",
    "mb": "MB",
    "seconds": "s",
    "mb_per_second": "MB/s",
    "entries_per_second": "entries/s",
}


def _parse_files(files: list[Path], raw: Path) -> tuple[float, int, set[str]]:
    """Seconds for one pass over `files`, entries found, layouts reported."""
    entries = 0
    layouts: set[str] = set()
    started = time.perf_counter()
    for path in files:
        parsed = parse_digest(path, raw)
        entries += len(parsed.entries)
        layouts.add(parsed.layout or "unreadable")
    return time.perf_counter() - started, entries, layouts


def run(plan: Plan, ws: Workspace) -> list[Section]:
    section = Section("parse_throughput", "Parse throughput per layout", COLUMNS)
    papers = synth_papers(plan.parse_entries_per_layout, seed=5)
    for layout in LAYOUTS:
        paths = folder_paths(ws.fresh(f"parse-{layout}"))
        paths.digests.mkdir(parents=True)
        written = write_digests(papers, paths.digests, seed=5, layouts=[layout])
        files = [paths.digests / f.path for f in written]
        passes = [_parse_files(files, paths.raw) for _ in range(PASSES)]
        seconds = statistics.median(p[0] for p in passes)
        _, entries, layouts = passes[0]
        if entries != len(papers) or layouts != {PARSED_LAYOUT[layout]}:
            raise RuntimeError(
                f"parse {layout}: {entries} entries as {layouts}, wrote {len(papers)}"
            )
        size = sum(f.size_bytes for f in written)
        section.rows.append(
            _row(f"synthetic {layout}", layouts, len(files), entries, size, seconds)
        )
    for sample in sorted(SAMPLES.iterdir()):
        rounds, spent = 0, 0.0
        while spent < SAMPLE_SECONDS:
            seconds, entries, layouts = _parse_files([sample], SAMPLES.parent)
            spent += seconds
            rounds += 1
        size = sample.stat().st_size
        section.rows.append(
            _row(f"sample {sample.name}", layouts, 1, entries, size, spent / rounds)
        )
    section.notes += [
        f"Synthetic: {len(papers):,} entries per layout, 50-300 per file, median of {PASSES} "
        "passes; MB are digest bytes on disk (UTF-8). Samples: the real digests in "
        "tests/fixtures/digests/, each parsed repeatedly for a steady time per parse.",
        "Single process, one core: parse_digest per file, as parse_all calls it.",
    ]
    return [section]


def _row(
    digests: str, layouts: set[str], files: int, entries: int, size: int, seconds: float
) -> dict[str, Any]:
    return {
        "digests": digests,
        "layout": ", ".join(sorted(layouts)),
        "files": files,
        "entries": entries,
        "mb": round(size / 1e6, 3),
        "seconds": round(seconds, 4),
        "mb_per_second": round(size / 1e6 / seconds, 1),
        "entries_per_second": round(entries / seconds),
    }

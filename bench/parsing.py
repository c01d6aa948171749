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
    readers = Section("parse_readers", "Parse throughput per reader (real samples)", COLUMNS)
    readers.rows = _reader_rows(plan, ws)
    mb = TARGET_MB.get(plan.name, 3.0)
    readers.notes += [
        f"Each reader's real sample from tests/fixtures/wild/files/, grown to about {mb:g} MB "
        "where concatenation stays one valid digest (Markdown, text and BibTeX repeated "
        "whole, CSV data rows and JSONL lines repeated; median of "
        f"{PASSES} parses); JSON, HTML and feeds are one document each, so the one file is "
        f"parsed repeatedly until {mb:g} MB and {SAMPLE_SECONDS} s have gone through.",
        "The links row: `[Study number i](https://arxiv.org/abs/2501.i)` × 12,000 joined by "
        "spaces on one Markdown line, parsed once; its s column is the time.",
    ]
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
    return [readers, section]


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


# --- the real wild samples, one reader each ----------------------------------------------

WILD_FILES = PROJECT_ROOT / "tests" / "fixtures" / "wild" / "files"
# reader -> (wild sample, how it grows to the target size): "repeat" concatenates the whole
# file (still one valid document: Markdown, text, BibTeX), "rows" repeats the lines after
# the first (CSV header kept), "lines" repeats every line (JSONL), "parses" times repeated
# parses of the one file (JSON, HTML, feeds: one document each).
READERS = {
    "markdown": ("Fatflower__52_week.md", "repeat"),
    "html": ("gisbi-kim__2026-04-21.html", "parses"),
    "text": ("RobertoMav__papers.txt", "repeat"),
    "csv": ("PatrickWiloak__papers.csv", "rows"),
    "jsonl": ("Straw674__2025-05-01_AI_enhanced_.jsonl", "lines"),
    "json": ("hiroki-takeda__2026-07-13-hep-th.json", "parses"),
    "bibtex": ("tlringer__peerreviewed.bib", "repeat"),
    "feed": ("huangboming__feed.xml", "parses"),
}
TARGET_MB = {"full": 3.0, "quick": 0.3}
LINKS = 12_000


def _grown(data: bytes, how: str, target: int) -> tuple[bytes, int]:
    """`data` repeated to at least `target` bytes, and how many copies that is."""
    if how == "rows":
        header, _, body = data.partition(b"\n")
        body = body if body.endswith(b"\n") else body + b"\n"
        copies = max(1, -(-target // len(body)))
        return header + b"\n" + body * copies, copies
    data = data if data.endswith(b"\n") else data + b"\n"
    if how == "repeat":
        data += b"\n"
    copies = max(1, -(-target // len(data)))
    return data * copies, copies


def _reader_rows(plan: Plan, ws: Workspace) -> list[dict[str, Any]]:
    target = int(TARGET_MB.get(plan.name, 3.0) * 1e6)
    folder = ws.fresh("parse-readers")
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for reader, (name, how) in READERS.items():
        sample = WILD_FILES / name
        single = parse_digest(sample, WILD_FILES.parent)
        if single.layout != reader:
            raise RuntimeError(f"parse {name}: read as {single.layout}, not {reader}")
        if how == "parses":
            size, rounds, spent, entries = 0, 0, 0.0, 0
            while size < target or spent < SAMPLE_SECONDS:
                seconds, found, layouts = _parse_files([sample], WILD_FILES.parent)
                spent += seconds
                rounds += 1
                size += sample.stat().st_size
                entries += found
            label = f"{reader}: {name} parsed {rounds:,}×"
            rows.append(_row(label, layouts, rounds, entries, size, spent))
            continue
        data, copies = _grown(sample.read_bytes(), how, target)
        path = folder / f"{reader}{sample.suffix}"
        path.write_bytes(data)
        passes = [_parse_files([path], folder) for _ in range(PASSES)]
        seconds = statistics.median(p[0] for p in passes)
        _, entries, layouts = passes[0]
        want = copies * len(single.entries)
        if layouts != {reader} or entries != want:
            raise RuntimeError(f"parse {reader}: {entries} entries as {layouts}, want {want}")
        label = f"{reader}: {name} ×{copies:,}"
        rows.append(_row(label, layouts, 1, entries, len(data), seconds))
    links = " ".join(
        f"[Study number {i}](https://arxiv.org/abs/2501.{i:05d})" for i in range(1, LINKS + 1)
    )
    path = folder / "links.md"
    path.write_text(f"# Many\n\n{links}\n", encoding="utf-8")
    seconds, entries, layouts = _parse_files([path], folder)
    if entries != LINKS:
        raise RuntimeError(f"parse links.md: {entries} entries, want {LINKS}")
    label = f"one {path.stat().st_size / 1e6:.1f} MB line with {LINKS:,} links"
    rows.append(_row(label, layouts, 1, entries, path.stat().st_size, seconds))
    return rows

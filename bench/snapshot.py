"""Snapshot: papers from a generated bulk snapshot, no query-API request.

Generated snapshots have the Kaggle dump's shape (bench.synth papers as dump lines: id first,
wrapped title and abstract, authors_parsed, RFC 2822 version dates), about 1.3 kB a line
like the real one (docs/arxiv.md §10: ~2.9 million lines, several GB). Wanted IDs are spread
evenly through the file. Each measurement is a fresh child process (peak RSS is its VmHWM):

    scan      pipeline.fetch.snapshot.iter_snapshot alone: every wanted line parsed and
              mapped to a stored paper's columns, a block at a time, then dropped (the
              scan's own cost)
    fetch     pipeline.fetch.fetch_papers with the snapshot: the scan with every paper kept
              (one stored-papers frame) for the stages after it, online against an empty
              stand-in whose log proves zero requests
    polars    polars' own scan_ndjson(...).filter(id in ids).collect(): the reason for the
              streamed reader (it maps a plain file, inflates a gzip'ed one whole)
    index     the title index built over the whole snapshot, then asked for as a second run
              would (kept: not built again)
    lines     100 IDs read through the line index the index mode built with the title index
              (seek to each line), then the same IDs by a whole-file pass, for comparison
    enrich    `python -m pipeline enrich --snapshot-path` over synthetic digests, three
              runs (see _enrich), at 100,000 entries and at the issue's goal: 1,000,000
              entries with a 3,000,000-line snapshot, zero requests

scan and polars read the plain and the gzip'ed file; the others the plain one.
`python -m bench --only snapshot` runs this section alone.
"""

from __future__ import annotations

import gzip
import json
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from bench.harness import (
    SCALED_DELAY,
    Plan,
    Workspace,
    folder_paths,
    last_run_record,
    run_pipeline_cli,
    settings_for,
    stage_seconds,
)
from bench.report import Section
from bench.synth import PAPERS_PER_MONTH, SynthPaper, synth_papers, write_digests
from pipeline.fetch import fetch_papers
from pipeline.fetch.snapshot import SNAPSHOT_SCHEMA, iter_snapshot, read_snapshot
from pipeline.fetch.snapshot_titles import line_index, title_index
from pipeline.standin import StandIn
from pipeline.store import SNAPSHOT_TITLE_INDEX_PREFIX, MetadataStore, Paths, utc_now

GOAL_LINES = 3_000_000
GOAL_ENTRIES = 1_000_000
GOAL_SECONDS = 120.0
GOAL_RSS_MB = 2048.0
POOL = 2000  # distinct synthetic lines; the others repeat them under other IDs
FEW_IDS = 100  # the lines mode: new IDs a run needs, read through the line index
GZIP_LEVEL = 1  # quick to write; reading cost is what is measured
FILLER_YEAR = 10  # filler IDs 10MM.NNNNN: never those of bench.synth (2401 onward)

COLUMNS = {
    "what": "what",
    "lines": "snapshot lines",
    "file": "file",
    "file_mb": "file MB",
    "wanted": "IDs wanted",
    "found": "found",
    "seconds": "s",
    "cpu_seconds": "CPU s",
    "s_per_million_lines": "s / M lines",
    "s_per_million_ids": "s / M IDs",
    "peak_rss_mb": "peak RSS MB",
    "requests": "requests",
}


def _version_time(moment: datetime) -> str:
    return moment.strftime("%a, %-d %b %Y %H:%M:%S GMT")  # as the dump writes it


def _wrapped(text: str, width: int = 80) -> str:
    """Hard line breaks with 2-space continuations, as the dump has (docs/arxiv.md §10)."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n  ".join([*lines, line])


def dump_line(paper: SynthPaper) -> bytes:
    """One line of the snapshot for `paper`, keys in the dump's order."""
    parsed = [[*reversed(name.rsplit(" ", 1)), ""] for name in paper.authors]
    return orjson.dumps(
        {
            "id": paper.arxiv_id,
            "submitter": paper.authors[0],
            "authors": ", ".join(paper.authors),
            "title": _wrapped(paper.title),
            "comments": paper.comment,
            "journal-ref": None,
            "doi": None,
            "report-no": None,
            "categories": " ".join(paper.categories),
            "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
            "abstract": "  " + _wrapped(paper.abstract) + "\n",
            "versions": [
                {"version": f"v{n}", "created": _version_time(at)}
                for n, at in enumerate(paper.versions, 1)
            ],
            "update_date": paper.versions[-1].date().isoformat(),
            "authors_parsed": parsed,
        }
    )


def _filler_ids() -> Iterator[str]:
    for index in range(10**9):
        month, number = divmod(index, PAPERS_PER_MONTH * 4)
        yield f"{FILLER_YEAR + month // 12:02d}{month % 12 + 1:02d}.{number + 1:05d}"


def write_snapshot(
    folder: Path, lines: int, wanted: Sequence[SynthPaper | str], pool: Sequence[SynthPaper]
) -> tuple[Path, Path]:
    """A plain and a gzip'ed snapshot of `lines` lines holding `wanted` (a SynthPaper's own
    line; an ID gets a pool line under that ID) spread evenly; the rest is filler."""
    templates = [dump_line(p).split(b",", 1)[1] for p in pool]  # without the id
    plain, packed = folder / "snapshot.json", folder / "snapshot.json.gz"
    step = lines / max(1, len(wanted))
    filler = _filler_ids()
    with plain.open("wb") as out, gzip.open(packed, "wb", compresslevel=GZIP_LEVEL) as zipped:
        block: list[bytes] = []
        next_wanted = 0
        for index in range(lines):
            if next_wanted < len(wanted) and index >= int(next_wanted * step):
                item = wanted[next_wanted]
                next_wanted += 1
                line = (
                    dump_line(item)
                    if isinstance(item, SynthPaper)
                    else _pool_line(item, templates[index % len(templates)])
                )
            else:
                line = _pool_line(next(filler), templates[index % len(templates)])
            block.append(line)
            if len(block) == 10_000:
                data = b"\n".join(block) + b"\n"
                out.write(data)
                zipped.write(data)
                block = []
        data = b"\n".join(block) + (b"\n" if block else b"")
        out.write(data)
        zipped.write(data)
    return plain, packed


def _pool_line(arxiv_id: str, template: bytes) -> bytes:
    """A pool line (`template`, without its id) as the line of `arxiv_id`, its title made
    its own: titles in a real snapshot are all but unique, and a title the pool repeated
    a thousand times would make each title lookup a thousand candidates."""
    key = arxiv_id.encode()
    return b'{"id":"' + key + b'",' + template.replace(b'"title":"', b'"title":"' + key + b" ", 1)


def wanted_ids(count: int) -> list[str]:
    """IDs in bench.synth's scheme (2401.00001 onward), without making the papers."""
    ids = []
    for index in range(count):
        month_index, number = divmod(index, PAPERS_PER_MONTH)
        year, month = divmod(month_index, 12)
        ids.append(f"{24 + year:02d}{month + 1:02d}.{number + 1:05d}")
    return ids


# --- the child: one measurement in a fresh process -------------------------------------


def _child(mode: str, snapshot: Path, ids_file: Path, folder: Path, api_url: str) -> None:
    """Run one measurement and print it as JSON (see the module docstring for the modes)."""
    ids = ids_file.read_text().split()
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    found = 0
    extra: dict[str, float] = {}
    if mode == "scan":
        found = sum(b.papers.height for b in iter_snapshot(snapshot, ids, utc_now()))
    elif mode == "fetch":
        settings = settings_for(folder, api_url, SCALED_DELAY, snapshot_path=snapshot)
        with MetadataStore(settings.paths.metadata_db) as store:
            report = fetch_papers(ids, settings, store, "bench-snapshot")
        found = report.from_snapshot
    elif mode == "polars":
        frame = pl.scan_ndjson(snapshot, schema=SNAPSHOT_SCHEMA).filter(pl.col("id").is_in(ids))
        found = frame.collect(engine="streaming").height
    elif mode == "index":
        paths = folder_paths(folder)
        paths.arxiv.mkdir(parents=True)
        index = title_index(paths, snapshot)
        found = pl.scan_parquet(index).select(pl.len()).collect().item()
        again = time.perf_counter()
        title_index(paths, snapshot)
        extra["reuse_seconds"] = time.perf_counter() - again
    elif mode == "lines":
        kept = line_index(folder_paths(folder), snapshot)
        if kept is None:
            raise SystemExit(f"lines: no line index in {folder} (the index mode makes it)")
        few = ids[:: max(1, len(ids) // FEW_IDS)][:FEW_IDS]
        whole = len(read_snapshot(snapshot, few, utc_now()).records)  # first: the comparison
        extra["pass_seconds"] = time.perf_counter() - started
        extra["wanted"] = len(few)
        cpu_before, started = _cpu_seconds(), time.perf_counter()  # the indexed read alone
        found = len(read_snapshot(snapshot, few, utc_now(), kept).records)
        if whole != found:
            raise SystemExit(f"lines: {found} papers through the line index, {whole} in a pass")
    else:
        raise SystemExit(f"unknown mode {mode}")
    seconds = time.perf_counter() - started
    extra["cpu_seconds"] = _cpu_seconds() - cpu_before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "found": found, "self_peak_mb": peak, **extra}))


def _cpu_seconds() -> float:
    """User and system CPU time of this process: what the shared cores' load leaves alone."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure(
    mode: str, snapshot: Path, lines: int, ids: Sequence[str], folder: Path
) -> dict[str, Any]:
    ids_file = folder / "ids.txt"
    ids_file.write_text("\n".join(ids))
    run_folder = folder / f"run-{mode}-{snapshot.suffix}"
    run_folder.mkdir()
    # The lines mode reads the line index the index mode's run made beside its store.
    data_folder = folder / f"run-index-{snapshot.suffix}" if mode == "lines" else run_folder
    with StandIn([]) as server:
        args = [mode, str(snapshot), str(ids_file), str(data_folder), server.url]
        child = run_pipeline_cli(args, run_folder, module="bench.snapshot")
        requests = len(server.log)
    if child.exit_code != 0:
        raise RuntimeError(f"snapshot {mode}: exit {child.exit_code}: {child.stderr[-2000:]}")
    result = json.loads((run_folder / "stdout.txt").read_text())
    seconds = result["seconds"]
    what = mode
    if "reuse_seconds" in result:
        what = f"index (titles indexed; kept index found again in {result['reuse_seconds']:.3f} s)"
    if "pass_seconds" in result:
        what = (
            f"lines (new IDs read through the line index; a whole-file pass for them: "
            f"{result['pass_seconds']:.1f} s)"
        )
    wanted = result.get("wanted", len(ids))
    return {
        "what": what,
        "lines": lines,
        "file": "gzip" if snapshot.suffix == ".gz" else "plain",
        "file_mb": round(snapshot.stat().st_size / 1e6),
        "wanted": wanted,
        "found": result["found"],
        "seconds": round(seconds, 1),
        "cpu_seconds": round(result["cpu_seconds"], 1),
        "s_per_million_lines": round(seconds * 1e6 / lines, 1),
        "s_per_million_ids": round(seconds * 1e6 / wanted, 1),
        "peak_rss_mb": round(child.peak_rss_mb),
        "requests": requests,
    }


ADDED_ENTRIES = 100  # the digest added before the second run: titles only, no links


def _enrich(entries: int, lines: int, ws: Workspace) -> list[dict[str, Any]]:
    """The whole pipeline with a snapshot, three times; a row for each run.

    1. every digest new: the snapshot answers every ID, its title index is built;
    2. one digest added (title-only entries): only it is parsed and reconciled, the
       other rows carried over; the kept title index answers the titles;
    3. nothing new: the tables are carried over.
    """
    folder = ws.fresh(f"snapshot-enrich-{entries}")
    papers = synth_papers(entries, seed=14)
    snapshot, packed = write_snapshot(folder, lines, papers, papers[:POOL])
    packed.unlink()
    paths = folder_paths(folder)
    paths.digests.mkdir(parents=True)
    write_digests(papers, paths.digests, seed=entries)
    rows = []
    with StandIn([]) as server:
        args = [
            "enrich",
            "--raw-dir", str(paths.raw),
            "--out-dir", str(paths.out),
            "--api-url", server.url,
            "--delay-seconds", str(SCALED_DELAY),
            "--snapshot-path", str(snapshot),
        ]  # fmt: skip
        index_before: tuple[int, int] | None = None
        for run in ("enrich", "enrich, one digest added", "enrich again"):
            if run == "enrich, one digest added":
                write_digests(
                    papers[-ADDED_ENTRIES:],
                    paths.digests / "added",
                    seed=1,
                    layouts=("newsletter_no_links",),
                    entries_per_file=(ADDED_ENTRIES, ADDED_ENTRIES),
                )
            before = len(server.log)
            cpu_before = _children_cpu_seconds()
            child = run_pipeline_cli(args, folder)
            if child.exit_code != 0:
                raise RuntimeError(
                    f"snapshot enrich: exit {child.exit_code}: {child.stderr[-2000:]}"
                )
            record = last_run_record(paths)
            stages = ", ".join(f"{k} {v:.1f}" for k, v in stage_seconds(record).items())
            index = _title_index_identity(paths)
            kept = ""
            if index is not None and run != "enrich again":
                kept = "; title index kept" if index == index_before else "; title index built"
            index_before = index
            rows.append(
                {
                    "what": f"{run} ({record['status']}; {stages} s{kept})",
                    "lines": lines,
                    "file": "plain",
                    "file_mb": round(snapshot.stat().st_size / 1e6),
                    "wanted": record["entries"],
                    "found": record["from_snapshot"],
                    "seconds": round(child.wall_seconds, 1),
                    "cpu_seconds": round(_children_cpu_seconds() - cpu_before, 1),
                    "s_per_million_lines": None,
                    "s_per_million_ids": round(child.wall_seconds * 1e6 / record["entries"], 1),
                    "peak_rss_mb": round(child.peak_rss_mb),
                    "requests": len(server.log) - before,
                }
            )
            print(
                f"bench:   snapshot {rows[-1]['what']}: {child.wall_seconds:.1f} s, "
                f"{child.peak_rss_mb:.0f} MB",
                file=sys.stderr,
            )
    return rows


def _children_cpu_seconds() -> float:
    """User and system CPU time of the finished children (the CLI runs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _title_index_identity(paths: Paths) -> tuple[int, int] | None:
    """The title index file's inode and modification time: the same when it was kept."""
    found = sorted(paths.arxiv.glob(f"{SNAPSHOT_TITLE_INDEX_PREFIX}*.parquet"))
    if not found:
        return None
    stat = found[0].stat()
    return stat.st_ino, stat.st_mtime_ns


def run(plan: Plan, ws: Workspace) -> list[Section]:
    section = Section("snapshot", "Snapshot: papers from a local bulk snapshot", COLUMNS)
    pool = synth_papers(POOL, seed=41)
    for lines, entries, modes in plan.snapshot_scans:
        folder = ws.fresh(f"snapshot-{lines}")
        ids = wanted_ids(entries)
        plain, packed = write_snapshot(folder, lines, ids, pool)
        for mode in modes:
            for snapshot in (plain, packed) if mode in ("scan", "polars") else (plain,):
                section.rows.append(_measure(mode, snapshot, lines, ids, folder))
                row = section.rows[-1]
                print(
                    f"bench:   snapshot {mode} {row['file']} {lines:,} lines: "
                    f"{row['seconds']} s, {row['peak_rss_mb']} MB",
                    file=sys.stderr,
                )
        plain.unlink()
        packed.unlink()
    for entries, lines in plan.snapshot_enrich:
        section.rows += _enrich(entries, lines, ws)
    section.notes += _notes(section.rows)
    return [section]


def _notes(rows: list[dict[str, Any]]) -> list[str]:
    notes = [
        "Modes as in bench/snapshot.py's docstring: scan = the scan alone (records dropped "
        "block by block), fetch = the snapshot part of the fetch stage, every paper kept "
        "for reconcile and write (as one stored-papers frame, decoded into records a batch "
        "at a time when looked up), polars = "
        "scan_ndjson for comparison. Peak RSS is the child's VmHWM (read every 20 ms); "
        "'requests' is what an empty stand-in received.",
        "enrich: the real CLI over synthetic digests (bench.synth layouts) whose every "
        "paper is in the snapshot, three runs: everything new (the title and line indexes "
        "are built before the first part, in the fetch stage's time; then each part of "
        "100,000 entries reads its IDs' lines through the line index); "
        f"a digest of {ADDED_ENTRIES} title-only entries added (only it is parsed and "
        "reconciled, the other rows carried over: the snapshot is the ledger's by its "
        "signature; the kept title index answers the titles); nothing new (tables carried "
        "over). CPU s: user + system of the CLI child.",
        "The machine is shared with other work (load average in the header), so wall "
        "times vary with it; CPU s (user + system of the child) much less. The scan is one "
        "Python thread plus polars' parser on the wanted lines.",
    ]
    goal = [r for r in rows if r["what"] in ("scan", "fetch") and r["lines"] == GOAL_LINES]
    for row in goal:
        met = row["seconds"] <= GOAL_SECONDS and row["peak_rss_mb"] <= GOAL_RSS_MB
        notes.append(
            f"Issue 14 goal, snapshot part ({row['what']}, {GOAL_LINES:,} lines, "
            f"{GOAL_ENTRIES:,} IDs, {row['file']}): ≤ {GOAL_SECONDS:g} s and ≤ 2 GB: "
            f"{'met' if met else 'NOT met'} ({row['seconds']} s wall, {row['cpu_seconds']} "
            f"CPU s, {row['peak_rss_mb']} MB, {row['requests']} requests)."
        )
    for row in rows:
        if not (row["what"].startswith("enrich (") and row["lines"] == GOAL_LINES):
            continue
        met = (
            row["seconds"] <= GOAL_SECONDS
            and row["peak_rss_mb"] <= GOAL_RSS_MB
            and row["requests"] == 0
        )
        notes.append(
            f"Issue 14 goal, whole run ({GOAL_LINES:,} lines, {row['wanted']:,} entries): "
            f"≤ {GOAL_SECONDS:g} s, ≤ 2 GB, 0 requests: {'met' if met else 'NOT met'} "
            f"({row['seconds']} s wall, {row['cpu_seconds']} CPU s, {row['peak_rss_mb']} MB, "
            f"{row['requests']} requests)."
        )
    return notes


if __name__ == "__main__":
    _child(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5])

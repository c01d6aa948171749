"""Digest files parsed by a pool of worker processes when there are enough of them to pay
for starting it, the results in file order, equal to a parse in this process.

A worker parses whole files and sends back only what a run keeps of each (`ParsedFile`:
the entries as a PARSED_ENTRY frame, the problems, the summary line), never the entry
objects. A worker that dies (killed, out of memory) breaks the pool; every file not yet
handed back is then parsed in this process, so none is lost. The pool is pipeline.pool's
(spawned workers that end with the run).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Collection, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.model import Problem
from pipeline.parse import DigestJob, entries_frame, list_digests, summary_line
from pipeline.pool import available_cores, worker_pool

log = logging.getLogger("pipeline")

# Starting the workers costs about half a second (each imports polars, lxml and the
# readers). Below this much digest text a pool gains little or loses that much: real
# Markdown and text parse at 1-3 MB/s on one core (8 MB: ~4 s saved on 2 cores), the
# fastest layouts at ~45 MB/s (8 MB: ~0.3 s lost).
PARALLEL_MIN_BYTES = 8_000_000
# How far the workers parse ahead of the file the run takes next: at least this many files
# per worker, and more while the digest text handed out ahead stays under AHEAD_BYTES (at
# most MAX_AHEAD_PER_WORKER files each). A whole run works on a part of the digests while
# the workers parse into the next one, on the core its own work leaves idle; about one
# part's text ahead cut a million-entry run from 98 s to 89 s (bench/scale.py's corpus).
AHEAD_PER_WORKER = 4
MAX_AHEAD_PER_WORKER = 256
AHEAD_BYTES = 256_000_000


@dataclass(frozen=True)
class ParsedFile:
    """What a run keeps of one parsed digest file."""

    entries: pl.DataFrame  # PARSED_ENTRY columns, in position order
    problems: list[Problem]
    summary: str  # parse.summary_line


def parse_files(
    raw_dir: Path,
    only: Collection[str] | None = None,
    workers: int | None = None,
    min_parallel_bytes: int = PARALLEL_MIN_BYTES,
) -> Iterator[ParsedFile]:
    """`iter_digests`, compacted, with up to `workers` processes (None: one per available
    core; 0 or 1: in this process) once the files hold at least `min_parallel_bytes`."""
    jobs = list_digests(raw_dir, only)
    count = pool_size(jobs, available_cores() if workers is None else workers, min_parallel_bytes)
    if count <= 1:
        yield from map(parse_compact, jobs)
    else:
        log.info("parsing %d files with %d worker processes", len(jobs), count)
        yield from _parse_in_pool(jobs, count)


def pool_size(jobs: list[DigestJob], workers: int, min_parallel_bytes: int) -> int:
    """How many workers to start for `jobs`: 0 when a serial parse is sooner."""
    to_parse = [job for job in jobs if job.problem is None]
    count = min(workers, len(to_parse))
    if count <= 1 or _total_bytes(to_parse) < min_parallel_bytes:
        return 0
    return count


def parse_compact(job: DigestJob) -> ParsedFile:
    """Parse one file (in a worker or here) and keep what a run keeps of it."""
    digest = job.parse()
    return ParsedFile(entries_frame([digest]), digest.problems, summary_line(digest))


def _parse_in_pool(jobs: list[DigestJob], workers: int) -> Iterator[ParsedFile]:
    """The files parsed by `workers` processes, handed back in order. Only so many files
    are given out ahead of the one handed back (AHEAD_PER_WORKER to MAX_AHEAD_PER_WORKER
    per worker, AHEAD_BYTES of text): what waits in memory stays bounded while the run
    works on the files already handed back."""
    sizes = [_size(job) for job in jobs]
    futures: deque[Future[ParsedFile]] = deque()
    text_ahead = 0  # bytes of the files in `futures`

    def more_ahead() -> bool:
        if len(futures) < workers * AHEAD_PER_WORKER:
            return True
        return len(futures) < workers * MAX_AHEAD_PER_WORKER and text_ahead < AHEAD_BYTES

    with worker_pool(workers) as pool:
        for index, job in enumerate(jobs):
            try:
                while index + len(futures) < len(jobs) and more_ahead():
                    handed = index + len(futures)
                    futures.append(pool.submit(parse_compact, jobs[handed]))
                    text_ahead += sizes[handed]
                parsed = futures[0].result()
            except BrokenProcessPool:
                given = list(futures)
                unfinished = sum(not _succeeded(f) for f in given) + len(jobs) - index - len(given)
                log.warning(
                    "a parse worker died (killed, or out of memory?) before %s was parsed; "
                    "parsing the %d files not handed back in this process instead",
                    job.source,
                    unfinished,
                )
                for later_job, later in zip(jobs[index:], given, strict=False):
                    yield later.result() if _succeeded(later) else parse_compact(later_job)
                yield from map(parse_compact, jobs[index + len(given) :])
                return
            futures.popleft()
            text_ahead -= sizes[index]
            yield parsed


def _succeeded(future: Future[ParsedFile]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _total_bytes(jobs: list[DigestJob]) -> int:
    return sum(map(_size, jobs))


def _size(job: DigestJob) -> int:
    try:
        return job.path.stat().st_size
    except OSError:  # gone or unreadable: the parse reports it
        return 0

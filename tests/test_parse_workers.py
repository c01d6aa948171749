"""Parse workers: a pool of spawned processes gives the frame, problems and summaries of a
serial parse, in file order; a killed worker loses no file; few bytes stay serial."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import pytest

from bench.synth import synth_papers, write_digests
from pipeline.config import ConfigError, load_settings
from pipeline.parse import list_digests, workers
from pipeline.parse.workers import (
    PARALLEL_MIN_BYTES,
    ParsedFile,
    parse_files,
    pool_size,
)
from pipeline.pool import available_cores, worker_pool

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def mixed_raw(tmp_path: Path) -> Path:
    """The real digests of every format, the samples, and files that become problems
    (an unsupported type, undecodable bytes, no entries), in nested folders."""
    digests = tmp_path / "raw" / "digests"
    shutil.copytree(FIXTURES / "wild" / "files", digests / "wild")
    shutil.copytree(FIXTURES / "digests", digests / "samples")
    (digests / "notes.docx").write_bytes(b"PK\x03\x04 not a digest")
    (digests / "broken.md").write_bytes(b"\xff\xfe\x00\x00" + bytes(range(256)) * 4)
    (digests / "empty.txt").write_text("nothing here\n", encoding="utf-8")
    return tmp_path / "raw"


def _together(parsed: list[ParsedFile]) -> tuple[pl.DataFrame, list, list[str]]:
    frame = pl.concat([p.entries for p in parsed], rechunk=True)
    return frame, [q for p in parsed for q in p.problems], [p.summary for p in parsed]


def test_a_pool_gives_what_a_serial_parse_gives(mixed_raw: Path) -> None:
    serial = list(parse_files(mixed_raw, workers=1))
    pooled = list(parse_files(mixed_raw, workers=2, min_parallel_bytes=0))

    serial_frame, serial_problems, serial_summaries = _together(serial)
    pooled_frame, pooled_problems, pooled_summaries = _together(pooled)
    assert serial_frame.height > 500  # the real digests, not an empty corpus
    assert {"unsupported_file", "no_entries"} <= {p.kind for p in serial_problems}
    assert pooled_frame.equals(serial_frame)
    assert pooled_frame.schema == serial_frame.schema
    assert pooled_problems == serial_problems
    assert pooled_summaries == serial_summaries
    assert [s.split(":")[0] for s in pooled_summaries] == sorted(
        job.source for job in list_digests(mixed_raw)
    )


@pytest.mark.parametrize(
    ("per_worker", "most_per_worker", "text_files", "expected"),
    [
        (4, 256, 0, 8),  # no text allowed ahead: the files per worker only
        (1, 5, None, 10),  # any text: up to the most files per worker
        (1, 256, 5, 5),  # the text of five files: five files
    ],
)
def test_workers_parse_ahead_within_the_bounds(
    mixed_raw: Path,
    monkeypatch: pytest.MonkeyPatch,
    per_worker: int,
    most_per_worker: int,
    text_files: int | None,
    expected: int,
) -> None:
    """Files are handed out ahead of the one the run takes: at least AHEAD_PER_WORKER per
    worker, more while their text stays under AHEAD_BYTES, never past MAX_AHEAD_PER_WORKER."""
    jobs = list_digests(mixed_raw)
    assert len(jobs) > 12
    sizes = [job.path.stat().st_size for job in jobs]
    text = 10**12 if text_files is None else sum(sizes[:text_files])
    monkeypatch.setattr(workers, "AHEAD_PER_WORKER", per_worker)
    monkeypatch.setattr(workers, "MAX_AHEAD_PER_WORKER", most_per_worker)
    monkeypatch.setattr(workers, "AHEAD_BYTES", text)
    submitted: list[int] = []

    @contextmanager
    def counting_pool(count: int) -> Iterator[Executor]:
        with worker_pool(count) as pool:
            real_submit = pool.submit

            def submit(*args: Any, **kwargs: Any) -> Any:
                submitted.append(1)
                return real_submit(*args, **kwargs)

            monkeypatch.setattr(pool, "submit", submit)
            yield pool

    monkeypatch.setattr(workers, "worker_pool", counting_pool)
    results = parse_files(mixed_raw, workers=2, min_parallel_bytes=0)
    first = next(results)
    assert len(submitted) == expected  # handed out before the first file was taken
    rest = list(results)
    assert len(submitted) == len(jobs) == 1 + len(rest)
    assert first.summary.split(":")[0] == jobs[0].source


def test_a_killed_worker_loses_no_file(mixed_raw: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Enough files that the pool cannot be done when the first result arrives.
    for copy in range(3):
        shutil.copytree(mixed_raw / "digests" / "wild", mixed_raw / "digests" / f"copy{copy}")
    serial = _together(list(parse_files(mixed_raw, workers=1)))

    results = parse_files(mixed_raw, workers=2, min_parallel_bytes=0)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        first = next(results)
        [victim, *_] = multiprocessing.active_children()
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        pooled = _together([first, *results])

    assert pooled[0].equals(serial[0])
    assert pooled[1:] == serial[1:]
    assert any("a parse worker died" in r.getMessage() for r in caplog.records)
    assert multiprocessing.active_children() == []  # the pool is shut down


def test_workers_end_with_a_run_killed_by_sigkill(mixed_raw: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\nfrom pipeline.parse.workers import parse_files\n"
        "if __name__ == '__main__':\n"
        "    for _ in parse_files(Path(sys.argv[1]), workers=2, min_parallel_bytes=0):\n"
        "        pass\n"
    )
    for copy in range(3):
        shutil.copytree(mixed_raw / "digests" / "wild", mixed_raw / "digests" / f"copy{copy}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.Popen([sys.executable, "-c", script, str(mixed_raw)], env=env)

    def started() -> list[int]:  # the workers and multiprocessing's resource tracker
        children = _children(run.pid)
        return children if len(children) >= 3 else []

    try:
        workers = _wait_for(started)
        assert workers
    finally:
        run.kill()
        run.wait()
    assert _wait_for(lambda: not any(_alive(pid) for pid in workers))


def _wait_for(condition: Callable[[], T], seconds: float = 30.0) -> T:
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for task in tasks.iterdir() for c in (task / "children").read_text().split()]


def _alive(pid: int) -> bool:
    """Running, not gone and not a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_few_bytes_or_one_worker_stay_serial(mixed_raw: Path) -> None:
    jobs = list_digests(mixed_raw)
    assert pool_size(jobs, 2, PARALLEL_MIN_BYTES) == 0  # 0.4 MB: a pool would be slower
    assert pool_size(jobs, 1, 0) == 0
    assert pool_size(jobs, 0, 0) == 0
    assert pool_size(jobs, 2, 0) == 2
    assert pool_size(jobs, 64, 0) == sum(job.problem is None for job in jobs)
    [one_file] = [job for job in jobs if job.source.endswith("RobertoMav__papers.txt")]
    assert pool_size([one_file], 2, 0) == 0


def test_parse_workers_come_from_file_environment_and_flag(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text("parse_workers = 2\n", encoding="utf-8")
    env = {"PIPELINE_PARSE_WORKERS": "3"}
    assert load_settings(env={}, config_file=config).parse_workers == 2
    assert load_settings(env=env, config_file=config).parse_workers == 3
    assert load_settings(flags={"parse_workers": 0}, env=env).parse_workers == 0
    with pytest.raises(ConfigError, match="parse_workers must be at least 0"):
        load_settings(env={"PIPELINE_PARSE_WORKERS": "-1"})


def test_available_cores_are_this_process_s() -> None:
    assert available_cores() == len(os.sched_getaffinity(0))


def test_the_cli_parses_with_workers_as_without(tmp_path: Path) -> None:
    """`python -m pipeline` with a pool: spawned workers import the package's __main__
    again, which must not run the CLI in them."""
    raw = tmp_path / "raw"
    written = write_digests(synth_papers(4_000, seed=3), raw / "digests", seed=3)
    assert sum(f.size_bytes for f in written) >= PARALLEL_MIN_BYTES

    def parse(workers: int) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pipeline", "parse", "--raw-dir", str(raw)]
        return subprocess.run(
            [*command, "--parse-workers", str(workers)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
        )

    serial, pooled = parse(1), parse(2)
    assert serial.returncode == 0 and pooled.returncode == 0, pooled.stderr
    assert pooled.stdout == serial.stdout
    assert f"{len(written)} files, 4000 entries, 0 problems" in pooled.stdout
    assert "with 2 worker processes" in pooled.stderr
    assert "worker processes" not in serial.stderr

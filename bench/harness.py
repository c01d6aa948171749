"""What every benchmark shares: the plan (sizes), scratch folders, settings, child runs with
their peak memory, the run log, the stand-in's request gaps, and the machine."""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pipeline.config import Settings, load_settings
from pipeline.fetch.transport import DEFAULT_WITNESS
from pipeline.model import FetchOutcome, PaperRecord
from pipeline.standin import CorpusRecord, LoggedRequest, load_corpus
from pipeline.store import MetadataStore, Paths, utc_now

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# docs/arxiv.md §1: one request every 3 s. The benchmarks scale it down to SCALED_DELAY and
# say what their request counts mean at the real delay.
REAL_DELAY = 3.0
SCALED_DELAY = 0.05
STANDIN_CORPUS = PROJECT_ROOT / "tests" / "fixtures" / "standin" / "corpus.jsonl"


def with_witness(records: list[CorpusRecord]) -> list[CorpusRecord]:
    """`records` plus the real paper the fetch stage asks for beside title searches and IDs
    it checks again (pipeline/fetch/transport.py DEFAULT_WITNESS), as arXiv has it: a synthetic
    corpus lacks it, and without it an empty answer could not be told from a glitch."""
    witness = next(r for r in load_corpus(STANDIN_CORPUS) if r.id == DEFAULT_WITNESS)
    return [*records, witness]


# Settings the benchmarks must not inherit from whoever runs them.
_SETTING_ENV_PREFIXES = ("PIPELINE_", "ARXIV_")


@dataclass(frozen=True)
class Plan:
    """How big each benchmark is; FULL is `make bench`, QUICK the smoke check."""

    name: str
    economy_ids: tuple[int, ...]  # N new unique IDs for the request economy
    per_paper_ids: int  # one-request-per-paper is measured at this N, extrapolated above it
    politeness_delay: float  # a second delay at which per-batch work fits inside the gap
    politeness_ids: int
    titles: int  # entries without IDs for title resolution
    title_corpus: int  # papers the stand-in serves for title resolution
    rerun_entries: int
    scale_entries: tuple[int, ...]
    parse_entries_per_layout: int
    profile_entries: int  # the scale run profiled by --profile
    # (snapshot lines, IDs wanted, measurements) per generated snapshot (bench/snapshot.py)
    snapshot_scans: tuple[tuple[int, int, tuple[str, ...]], ...]
    # (digest entries, snapshot lines) of each whole run with a snapshot (bench/snapshot.py)
    snapshot_enrich: tuple[tuple[int, int], ...]


FULL = Plan(
    name="full",
    economy_ids=(1000, 10000),
    per_paper_ids=1000,
    politeness_delay=0.25,
    politeness_ids=10000,
    titles=100,
    title_corpus=1000,
    rerun_entries=100000,
    scale_entries=(20000, 100000, 200000, 1000000),  # issue 15 asks for 20k to 1M
    parse_entries_per_layout=3000,
    profile_entries=100000,
    snapshot_scans=(
        (300_000, 100_000, ("scan", "fetch", "polars", "index", "lines")),
        (1_000_000, 333_333, ("scan", "fetch")),
        (3_000_000, 1_000_000, ("scan", "fetch", "index", "lines")),
    ),
    snapshot_enrich=((100_000, 300_000), (1_000_000, 3_000_000)),
)
QUICK = Plan(
    name="quick",
    economy_ids=(200, 1000),
    per_paper_ids=100,
    politeness_delay=0.25,
    politeness_ids=1000,
    titles=20,
    title_corpus=200,
    rerun_entries=1000,
    scale_entries=(1000, 2000, 4000),
    parse_entries_per_layout=300,
    profile_entries=4000,
    snapshot_scans=((30_000, 10_000, ("scan", "fetch", "polars", "index", "lines")),),
    snapshot_enrich=((2000, 6000),),
)


class Workspace:
    """Scratch folders under one temporary directory (never inside the repository)."""

    def __init__(self, keep: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="digest-bench-"))
        self.keep = keep

    def fresh(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True)
        return path

    def close(self) -> None:
        if self.keep:
            print(f"bench: scratch data kept in {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def folder_paths(folder: Path) -> Paths:
    """A run's raw/ and out/ inside one scratch folder."""
    return Paths(raw=folder / "raw", out=folder / "out")


def settings_for(folder: Path, api_url: str, delay: float, **flags: Any) -> Settings:
    """Settings for a run in `folder` (see folder_paths), built as the CLI builds them."""
    paths = folder_paths(folder)
    return load_settings(
        flags={
            "raw_dir": paths.raw,
            "out_dir": paths.out,
            "api_url": api_url,
            "delay_seconds": delay,
            **flags,
        },
        env={},
    )


def prepopulate(
    paths: Paths, records: Sequence[PaperRecord], title_searches: dict[str, list[str]]
) -> None:
    """Write papers, their outcomes and title searches into the store as a finished fetch
    would have (tests/test_bench_synth.py checks the records equal fetched ones)."""
    with MetadataStore(paths.metadata_db) as store:
        store.put_papers(records)
        store.put_outcomes(
            "bench-prepopulated", [FetchOutcome(r.arxiv_id, "found", 1) for r in records]
        )
        for phrase, ids in title_searches.items():
            store.put_title_search(phrase, ids)


@dataclass(frozen=True)
class ChildRun:
    """One `python -m pipeline ...` child process: wall time, peak memory, exit code."""

    wall_seconds: float
    peak_rss_mb: float
    exit_code: int
    stderr: str  # for the error message when a run fails
    cpu_seconds: float = 0.0  # user + system, of the child and the processes it waited for


def child_env() -> dict[str, str]:
    """The environment of a child run: this project importable, no PIPELINE_*/ARXIV_*
    variables (so no config file or environment setting leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTING_ENV_PREFIXES)}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    # The synthetic digests are dated from 2024 on: a staleness alarm (exit 6) is not what
    # the benchmarks measure.
    env["PIPELINE_STALE_DAYS"] = "36500"
    return env


def run_pipeline_cli(
    args: Sequence[str],
    log_dir: Path,
    *,
    profile_to: Path | None = None,
    module: str = "pipeline",
) -> ChildRun:
    """Run the real CLI (or another `module`) in a fresh child and measure it.

    Peak RSS is the child's own high-water mark (VmHWM in /proc/<pid>/status), read every
    20 ms while it runs: it is monotonic, so the last read is the peak up to 20 ms before
    the end. wait4()'s ru_maxrss would not do: Linux carries the pre-exec high-water mark
    of the forked bench process over into it. While the child has processes of its own
    (parse workers), their memory counts too: the peak is the larger of that high-water
    mark and the largest sum of the RSS of the child and all its descendants seen in one
    read (shared library pages counted once per process, so an upper bound). The child
    runs in `log_dir` with no PIPELINE_*/ARXIV_* variables, so no config file or
    environment setting leaks in.
    """
    env = child_env()
    command = [sys.executable]
    if profile_to is not None:
        command += ["-m", "cProfile", "-o", str(profile_to)]
    command += ["-m", module, *args]
    out_path, err_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
    cpu_before = _children_cpu_seconds()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=log_dir, env=env)
        peak_kib = 0
        while child.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(child.pid), _tree_rss_kib(child.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - started
    return ChildRun(
        wall_seconds=wall,
        peak_rss_mb=peak_kib / 1024,
        exit_code=child.returncode,
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
        cpu_seconds=_children_cpu_seconds() - cpu_before,
    )


def _children_cpu_seconds() -> float:
    """CPU time of this process's ended children (and theirs, as each waited for them)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _high_water_kib(pid: int) -> int:
    """VmHWM of a running process in KiB, or 0 once it has gone."""
    return _status_kib(pid, "VmHWM")


def _tree_rss_kib(pid: int) -> int:
    """The RSS of a process and all its descendants, in KiB, as they are now."""
    return _status_kib(pid, "VmRSS") + sum(_tree_rss_kib(child) for child in _children(pid))


def _children(pid: int) -> list[int]:
    """A process's children, as every one of its threads started them."""
    children = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:  # gone meanwhile
        pass
    return children


def _status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status, or 0 once the process has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", status, flags=re.M)
    return int(match.group(1)) if match else 0


def last_run_record(paths: Paths) -> dict[str, Any]:
    """The newest row of the run log (requests, retries, stage seconds, counts)."""
    with MetadataStore(paths.metadata_db) as store:
        runs = store.get_runs()
    if not runs:
        raise RuntimeError(f"no run recorded in {paths.metadata_db}")
    return runs[-1]


def stage_seconds(record: dict[str, Any]) -> dict[str, float]:
    return {
        stage: float(record.get(f"{stage}_seconds") or 0.0)
        for stage in ("parse", "fetch", "reconcile", "write")
    }


# --- request gaps and what they mean at the real delay ---------------------------------


@dataclass(frozen=True)
class Gaps:
    """Start-to-start gaps between requests as the stand-in saw them arrive."""

    seconds: tuple[float, ...]
    max_in_flight: int

    @classmethod
    def of(cls, log: Sequence[LoggedRequest]) -> Gaps:
        return cls(
            tuple(r.since_previous for r in log if r.since_previous is not None),
            max((r.in_flight for r in log), default=0),
        )

    @property
    def shortest(self) -> float | None:
        return min(self.seconds) if self.seconds else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


def at_real_delay_end_to_start(wall: float, requests: int, delay: float) -> float:
    """Our gate and arxiv.Client both wait `delay` after an answer has arrived before the
    next request, so at the real delay every gap grows by the difference of the delays
    (exact up to the delay itself when parsing outlasted it). The answer time itself is the
    stand-in's: a real arXiv answer takes longer, and adds its time to every gap."""
    return wall + (REAL_DELAY - delay) * max(0, requests - 1)


# --- the machine ---------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    import polars

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "ram_gib": _ram_gib(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "polars": polars.__version__,
        "arxiv_package": version("arxiv"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def now_iso() -> str:
    return utc_now().isoformat(timespec="seconds")

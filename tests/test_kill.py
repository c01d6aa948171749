"""kill -9 at any moment leaves the published tables readable, and the next run finishes the
job (issue 12, done-when). Every kill lands while a previous generation is published, so the
readability check always runs on real tables: mid-fetch, and right after the killed run has
published its own generation."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest
from test_enrich_e2e import (
    CONTENT_TABLES,
    ROOT,
    SAMPLE_ENTRY_COUNT,
    clean_env,
    cli,
    make_raw,
    run_cli,
)

from pipeline.standin import CorpusRecord, StandIn
from pipeline.tables import TABLES

NEW_PAPERS = 40
BATCH = ["--batch-size", "4"]  # 10 requests for the new papers: a run long enough to kill


def extra_digest(corpus: list[CorpusRecord]) -> str:
    """Papers of the corpus the sample digests do not link (new-style IDs only)."""
    samples = "".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "tests/fixtures/digests").iterdir()
    )
    fresh = [r for r in corpus if "/" not in r.id and r.id not in samples][:NEW_PAPERS]
    assert len(fresh) == NEW_PAPERS
    return "".join(f"## {r.title}\n[abs](https://arxiv.org/abs/{r.id})\n\n" for r in fresh)


def published(out: Path) -> tuple[str, dict[str, pl.DataFrame]]:
    """The current generation's name and every table read through the published links."""
    generation = (out / "current").resolve().name
    return generation, {t.name: pl.read_parquet(out / f"{t.name}.parquet") for t in TABLES}


def check_readable(out: Path, at_least_entries: int) -> str:
    """The readability check: a generation is published, every table reads, the tables
    agree with each other, and no kill made them shrink. Returns the generation."""
    generation, frames = published(out)
    assert generation in set(frames["runs"].get_column("run_id"))
    entries = frames["entries"]
    assert entries.height >= at_least_entries
    resolved = set(entries.get_column("arxiv_id").drop_nulls())
    assert resolved <= set(frames["papers"].get_column("arxiv_id"))  # one run's tables
    return generation


def without_fetch_times(out: Path) -> dict[str, pl.DataFrame]:
    return {
        name: pl.read_parquet(out / f"{name}.parquet").drop("fetched_at", strict=False)
        for name in CONTENT_TABLES
    }


def start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL; True if the run was still going (the kill interrupted it)."""
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return alive and proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_kills_mid_run_and_after_a_publish_leave_readable_tables(
    tmp_path: Path, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    extra = extra_digest(standin_corpus)
    reference_raw, reference_out = make_raw(tmp_path / "reference")
    (reference_raw / "digests" / "extra.md").write_text(extra, encoding="utf-8")
    reference_args = [*cli("enrich", raw=reference_raw, out=reference_out, url=standin.url), *BATCH]
    assert run_cli(reference_args).returncode == 0
    reference = without_fetch_times(reference_out)

    raw, out = make_raw(tmp_path / "killed")
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    first_generation = check_readable(out, SAMPLE_ENTRY_COUNT)
    (raw / "digests" / "extra.md").write_text(extra, encoding="utf-8")
    args = [*cli("enrich", raw=raw, out=out, url=standin.url, delay=0.3), *BATCH]

    checks = 0
    for kill_after in (1, 2, 2):  # requests into the run; each run resumes the last
        standin.clear_log()
        proc = start(args)
        deadline = time.monotonic() + 120
        while len(standin.log) < kill_after and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert kill(proc), "the run ended before it could be killed"
        assert check_readable(out, SAMPLE_ENTRY_COUNT) == first_generation
        checks += 1
    assert checks == 3  # every kill was checked against the first run's published tables

    # A kill just after the run switched `current` to its own generation: that one is
    # what readers see, whole, though the run never got to finish.
    killed_after_publish = False
    for _ in range(5):  # the window is short; a run that finished first is tried again
        (raw / "digests" / "extra.md").touch()  # a full run each time, not a carry-over
        before = (out / "current").resolve().name
        proc = start(args)
        deadline = time.monotonic() + 120
        while (out / "current").resolve().name == before and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.0005)
        killed_after_publish = kill(proc)
        generation = check_readable(out, SAMPLE_ENTRY_COUNT + NEW_PAPERS)
        assert generation != before
        checks += 1
        if killed_after_publish:
            break
    assert killed_after_publish, "no kill landed between the publish and the run's end"

    final = run_cli(args)
    assert final.returncode == 0, final.stderr
    converged = without_fetch_times(out)
    for name, frame in reference.items():
        assert converged[name].equals(frame), name
    statuses = pl.read_parquet(out / "runs.parquet").sort("run_id").get_column("status")
    # The runs killed mid-fetch are marked so; one killed after its publish had logged "ok".
    assert statuses.to_list()[:4] == ["ok", "interrupted", "interrupted", "interrupted"]
    assert set(statuses.to_list()[4:]) <= {"ok", "unchanged"}


@pytest.mark.slow
def test_a_run_killed_with_parts_set_aside_leaves_them_to_the_next_run(
    tmp_path: Path, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    """Parts of 5 entries: the digests before the new one are set aside on disk when the
    kill lands in the new one's fetch. The published tables stay readable, the next run
    clears what the killed run left and writes what a run in one part writes."""
    extra = extra_digest(standin_corpus)
    reference_raw, reference_out = make_raw(tmp_path / "reference")
    (reference_raw / "digests" / "extra.md").write_text(extra, encoding="utf-8")
    reference_args = [*cli("enrich", raw=reference_raw, out=reference_out, url=standin.url), *BATCH]
    assert run_cli(reference_args).returncode == 0

    raw, out = make_raw(tmp_path / "killed")
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    first_generation = check_readable(out, SAMPLE_ENTRY_COUNT)
    (raw / "digests" / "extra.md").write_text(extra, encoding="utf-8")
    # Other settings than the published tables': a whole run, not one of the new digest.
    parts = ["--part-entries", "5", "--refresh-days", "29"]
    args = [*cli("enrich", raw=raw, out=out, url=standin.url, delay=0.3), *BATCH, *parts]
    standin.clear_log()
    proc = start(args)
    deadline = time.monotonic() + 120
    while len(standin.log) < 2 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert kill(proc), "the run ended before it could be killed"
    assert any((out / ".scratch").rglob("entries-*.arrow"))  # the earlier parts, set aside
    assert check_readable(out, SAMPLE_ENTRY_COUNT) == first_generation

    final = run_cli(args)
    assert final.returncode == 0, final.stderr
    assert not (out / ".scratch").exists()
    converged, reference = without_fetch_times(out), without_fetch_times(reference_out)
    for name, frame in reference.items():
        assert converged[name].equals(frame), name

"""Whole runs against a misbehaving stand-in: what arXiv does wrong in one run is made good
by the next, and a run that cannot get answers ends in bounded time with exit 3."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from test_enrich_e2e import NEVER_STALE_DAYS, SAMPLE_DIGESTS, cli, run_cli
from test_fetch import fresh_record

from pipeline.config import Settings, load_settings
from pipeline.run import EXIT_INCOMPLETE, EXIT_OK, LEDGER_KEY, enrich
from pipeline.standin import CorpusRecord, Fault, StandIn
from pipeline.store import MetadataStore


def settings_in(tmp_path: Path, url: str, **overrides: object) -> Settings:
    flags: dict[str, object] = {
        "raw_dir": tmp_path / "raw",
        "out_dir": tmp_path / "out",
        "api_url": url,
        "delay_seconds": 0.01,
        "read_timeout": 2.0,
        "max_attempts": 3,
        "max_backoff_seconds": 0.1,
        "stale_days": NEVER_STALE_DAYS,  # the fixtures' digests are old: no staleness alarm
    }
    flags.update(overrides)
    return load_settings(flags=flags, env={})


def write_link_digest(raw: Path, ids: list[str], name: str = "links.md") -> None:
    lines = [f"- [Paper {i}](https://arxiv.org/abs/{i})" for i in ids]
    folder = raw / "digests"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("# Links\n\n" + "\n".join(lines) + "\n", encoding="utf-8")


def unresolved(settings: Settings) -> int:
    entries = pl.read_parquet(settings.paths.table("entries"))
    return entries.filter(pl.col("resolution") == "unresolved").height


def test_empty_feeds_lose_no_paper_across_two_runs(tmp_path: Path, standin: StandIn) -> None:
    # docs/arxiv.md §5: empty pages for queries that have results.
    shutil.copytree(SAMPLE_DIGESTS, tmp_path / "raw" / "digests")
    settings = settings_in(tmp_path, standin.url)
    standin.set_faults([Fault("empty_page")])
    first = enrich(settings)
    assert first.exit_code == EXIT_INCOMPLETE and first.record.not_found == 0
    standin.set_faults([])
    second = enrich(settings)
    assert second.exit_code == EXIT_OK and second.record.requests > 0
    assert second.record.not_found == 0 and unresolved(settings) == 0


def test_refused_posts_lose_no_paper(
    tmp_path: Path, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    # docs/arxiv.md §2: POST refused for ten days in 2025.
    write_link_digest(tmp_path / "raw", [r.id for r in standin_corpus])
    standin.set_faults([Fault("post_refused")])
    summary = enrich(settings_in(tmp_path, standin.url))
    assert summary.exit_code == EXIT_OK
    assert summary.record.found == len(standin_corpus)
    assert [e.method for e in standin.log][:2] == ["POST", "GET"]


def test_a_fresh_paper_the_index_lacks_is_found_the_next_day(
    tmp_path: Path, standin: StandIn
) -> None:
    # docs/arxiv.md §3: the API sees new papers from the midnight after announcement.
    now = datetime.now(UTC)
    fresh = f"{now:%y%m}.00042"
    standin.add_records([fresh_record(fresh, "A Paper Announced Today")])
    standin.set_index_lag(24 * 3600)
    write_link_digest(tmp_path / "raw", [fresh, "1706.03762"])
    settings = settings_in(tmp_path, standin.url)
    first = enrich(settings)
    assert first.record.not_found == 1
    with MetadataStore(settings.paths.metadata_db) as store:  # carried over for a day only
        ledger = store.get_ledger(LEDGER_KEY)
    assert ledger is not None
    assert datetime.fromisoformat(ledger["fresh_until"]) <= now + timedelta(days=1.01)
    again = enrich(settings)  # the same day: nothing new, nothing asked
    assert again.record.status == "unchanged" and again.record.requests == 0
    standin.set_index_lag(0)
    with MetadataStore(settings.paths.metadata_db) as store:  # a day later
        day_ago = (now - timedelta(days=1.1)).isoformat()
        store.db.execute("UPDATE id_outcomes SET decided_at = ?", (day_ago,))
        store.db.commit()
    later = enrich(settings)
    assert later.record.status == "ok" and later.record.found == 2
    assert unresolved(settings) == 0


@pytest.mark.parametrize("slow", [0.0, 1.0], ids=["429", "slow-429-past-read-timeout"])
def test_persistent_throttling_ends_the_run_in_bounded_time_with_exit_3(
    tmp_path: Path, standin: StandIn, slow: float
) -> None:
    # docs/arxiv.md §5: 429 "Rate exceeded." without Retry-After, up to 124 s to
    # arrive, for hours (arxiv.py#203).
    shutil.copytree(SAMPLE_DIGESTS, tmp_path / "raw" / "digests")
    standin.set_faults([Fault("429", delay=slow)])
    args = cli("enrich", raw=tmp_path / "raw", out=tmp_path / "out", url=standin.url)
    args += ["--read-timeout", "0.5", "--batch-size", "5"]
    started = time.monotonic()
    done = run_cli(args)
    took = time.monotonic() - started
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    assert "fetching stopped early: arXiv throttled or did not answer 4 tries in a row" in (
        done.stderr
    )
    assert len(standin.log) == 4 and took < 20
    assert (tmp_path / "out" / "entries.parquet").exists()  # tables written all the same


def test_the_fetch_deadline_ends_a_slow_run_with_exit_3_and_tables(
    tmp_path: Path, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    # Issue 12 item 6: a server that is slow (or hangs) must not hold a scheduled run.
    write_link_digest(tmp_path / "raw", [r.id for r in standin_corpus])
    standin.set_faults([Fault("slow", delay=0.5)])
    args = cli("enrich", raw=tmp_path / "raw", out=tmp_path / "out", url=standin.url)
    args += ["--batch-size", "10", "--fetch-deadline-seconds", "1.5"]
    started = time.monotonic()
    done = run_cli(args)
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    assert "fetching stopped early: the run's fetch deadline of 1.5 s has passed" in done.stderr
    assert time.monotonic() - started < 15
    assert 2 <= len(standin.log) <= 5  # not the 29 batches
    entries = pl.read_parquet(tmp_path / "out" / "entries.parquet")
    assert entries.height == len(standin_corpus)  # every entry written, some unresolved

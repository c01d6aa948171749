"""The staleness alarm (issue 13): digest sources, days since the last new paper, the
unresolved-share jump, and exit code 6 from the real CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from test_enrich_e2e import ROOT, cli, make_raw, run_cli

from pipeline.health import assess, judge, source_of, tallies_frame
from pipeline.run import EXIT_CODES, EXIT_INCOMPLETE, EXIT_STALE
from pipeline.standin import StandIn

TODAY = date(2026, 3, 1)


def entries(*rows: tuple[str, date | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"digest": pl.String, "digest_date": pl.Date, "arxiv_id": pl.String},
        orient="row",
    )


def runs(*shares: tuple[str, int, int]) -> pl.DataFrame:
    """Runs in order, each (status, entries, unresolved)."""
    return pl.DataFrame(
        [(f"run-{i}", status, n, u) for i, (status, n, u) in enumerate(shares)],
        schema={"run_id": pl.String, "status": pl.String, "entries": pl.Int32,
                "unresolved": pl.Int32},
        orient="row",
    )  # fmt: skip


def test_a_digest_source_is_its_path_with_dates_made_stars() -> None:
    assert source_of("digests/hf/2025-01-08_daily.md") == "digests/hf/*_daily.md"
    assert source_of("digests/2025_01_08.json") == "digests/*.json"
    assert source_of("digests/20250108-papers.md") == "digests/*-papers.md"
    assert source_of("digests/README.md") == "digests/README.md"
    # arXiv IDs and other numbers are not dates
    assert source_of("digests/2401.01234.md") == "digests/2401.01234.md"
    assert source_of("digests/2025-13-01.md") == "digests/2025-13-01.md"
    assert source_of("digests/120250108.md") == "digests/120250108.md"


def test_dated_files_of_one_series_are_one_digest() -> None:
    frame = entries(
        ("digests/2026-02-20_daily.md", date(2026, 2, 20), "2602.00001"),
        ("digests/2026-02-27_daily.md", date(2026, 2, 27), "2602.00002"),
        ("digests/2026-01-02_weekly.md", date(2026, 1, 2), "2601.00003"),
    )
    health = assess(frame, runs(), {}, TODAY, 14, 10)
    rows = {r["source"]: r for r in health.sources.iter_rows(named=True)}
    assert rows["digests/*_daily.md"]["files"] == 2
    assert rows["digests/*_daily.md"]["last_new_paper"] == date(2026, 2, 27)
    assert rows["digests/*_daily.md"]["days_quiet"] == 2
    assert not rows["digests/*_daily.md"]["stale"]
    assert rows["digests/*_weekly.md"]["stale"]
    assert health.stale_sources == ["digests/*_weekly.md"]
    assert not health.whole_input_stale
    assert len(health.alarms) == 1 and "digests/*_weekly.md" in health.alarms[0]


def test_a_bumped_date_without_new_papers_goes_stale() -> None:
    """The forked generator that kept bumping "Updated on" while adding nothing."""
    first = entries(
        ("digests/README.md", date(2026, 1, 10), "2601.00001"),
        ("digests/README.md", date(2026, 1, 10), "2601.00002"),
    )
    health = assess(first, runs(), {}, date(2026, 1, 10), 14, 10)
    assert health.stale_sources == []
    bumped = first.with_columns(pl.lit(TODAY).alias("digest_date"))
    later = assess(bumped, runs(), health.first_seen, TODAY, 14, 10)
    (row,) = later.sources.iter_rows(named=True)
    assert row["last_digest_date"] == TODAY  # the date moved ...
    assert row["last_new_paper"] == date(2026, 1, 10)  # ... the papers did not
    assert row["stale"] and later.whole_input_stale
    assert "no digest has yielded a new paper" in later.alarms[0]
    # Without the ledger the bumped date would pass for fresh: the ledger is what tells.
    assert assess(bumped, runs(), {}, TODAY, 14, 10).stale_sources == []
    # One new paper and the digest is fresh again.
    added = pl.concat([bumped, entries(("digests/README.md", TODAY, "2602.00009"))])
    assert assess(added, runs(), later.first_seen, TODAY, 14, 10).stale_sources == []


def test_a_digest_without_any_resolved_paper_is_quiet_since_its_latest_date() -> None:
    recent = entries(("digests/broken.md", date(2026, 2, 28), None))
    (row,) = assess(recent, runs(), {}, TODAY, 14, 10).sources.iter_rows(named=True)
    assert row["papers"] == 0 and row["days_quiet"] == 1 and not row["stale"]
    old = entries(("digests/broken.md", date(2025, 12, 1), None))
    health = assess(old, runs(), {}, TODAY, 14, 10)
    assert health.stale_sources == ["digests/broken.md"]
    assert "has yielded no paper at all" in health.alarms[-1]
    undated = entries(("digests/broken.md", None, None))
    (row,) = assess(undated, runs(), {}, TODAY, 14, 10).sources.iter_rows(named=True)
    assert row["days_quiet"] is None and not row["stale"]


def test_judging_the_kept_tallies_later_is_assessing_the_same_tables_again() -> None:
    """What a run with nothing new does (pipeline.run._carry_over): the tallies kept in the
    ledger (as JSON), judged as of a later day, give what assessing the unchanged tables
    against the unchanged first-seen ledger gives."""
    frame = entries(
        ("digests/2026-02-20_daily.md", date(2026, 2, 20), "2602.00001"),
        ("digests/2026-02-27_daily.md", date(2026, 2, 27), "2602.00002"),
        ("digests/README.md", date(2026, 2, 25), "2601.00001"),
        ("digests/undated.md", None, "2601.00002"),
        ("digests/broken.md", date(2026, 2, 1), None),
        ("digests/never.md", None, None),
    )
    first = assess(frame, runs(("ok", 6, 2)), {}, TODAY, 14, 10)
    kept = json.loads(json.dumps(first.tallies_rows))
    history = runs(("ok", 6, 2), ("unchanged", 6, 2))
    for day in (TODAY, date(2026, 3, 10), date(2026, 4, 30)):
        again = assess(frame, history, first.first_seen, day, 14, 10)
        judged = judge(tallies_frame(kept), history, day, 14, 10)
        assert judged.sources.equals(again.sources), day
        assert judged.alarms == again.alarms and judged.first_seen == {}  # adds none
    assert len(judged.stale_sources) == 4  # all but never.md: time passing is what tells


def test_the_unresolved_share_jump_compares_complete_runs() -> None:
    frame = entries(("digests/a.md", TODAY, "2602.00001"))
    jumped = assess(frame, runs(("ok", 100, 5), ("ok", 100, 30)), {}, TODAY, 14, 10)
    assert jumped.jump and "5.0 % to 30.0 %" in jumped.jump
    assert jumped.jump in jumped.alarms
    assert assess(frame, runs(("ok", 100, 5), ("ok", 100, 14)), {}, TODAY, 14, 10).jump is None
    # An unreachable arXiv leaves entries unresolved for a reason of its own.
    offline = runs(("ok", 100, 5), ("incomplete", 100, 90))
    assert assess(frame, offline, {}, TODAY, 14, 10).jump is None
    # The run after an incomplete one compares with the last complete run before it.
    after = runs(("ok", 100, 5), ("incomplete", 100, 90), ("ok", 100, 40))
    assert assess(frame, after, {}, TODAY, 14, 10).jump is not None


def test_exit_6_is_documented_with_its_precedence() -> None:
    assert "Exit 3 takes precedence" in EXIT_CODES[EXIT_STALE]
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert f"| {EXIT_STALE} |" in docs and "PIPELINE_STALE_DAYS" in docs
    assert "Exit code 6" in (ROOT / "README.md").read_text(encoding="utf-8")


def stale_env() -> dict[str, str]:
    return {"PIPELINE_STALE_DAYS": "30"}  # the sample digests are from 2024 and 2025


def test_a_stale_run_exits_6_and_says_so_everywhere(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url), **stale_env())
    assert done.returncode == EXIT_STALE, done.stderr
    alarms = [line for line in done.stdout.splitlines() if line.startswith("ALARM: ")]
    assert any("digests/*_daily_paper.md" in line for line in alarms)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f'data-alarms="{len(alarms)}"' in page
    runs_table = pl.read_parquet(out / "runs.parquet")
    assert runs_table.get_column("exit_code").to_list() == [EXIT_STALE]
    shown = subprocess.run(
        [sys.executable, "-m", "pipeline", "status", "--json", "--raw-dir", str(raw),
         "--out-dir", str(out), "--stale-days", "30"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    status = json.loads(shown.stdout)
    assert [f"ALARM: {a}" for a in status["alarms"]] == alarms
    assert "digests/*_daily_paper.md" in {d["source"] for d in status["stale_digests"]}

    # Nothing new: the tables are carried over, and the digests are still quiet.
    again = run_cli(cli("enrich", raw=raw, out=out, url=standin.url), **stale_env())
    assert again.returncode == EXIT_STALE, again.stderr
    assert "nothing new since run" in again.stderr
    # A long enough threshold: no alarm, exit 0.
    calm = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert calm.returncode == 0, calm.stderr
    assert "ALARM" not in calm.stdout


def test_an_incomplete_run_exits_3_and_still_shows_its_alarms(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/query"
    done = run_cli(cli("enrich", raw=raw, out=out, url=closed), **stale_env())
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    assert "ALARM: " in done.stdout


@pytest.mark.parametrize("value", ["0", "-3", "nan"])
def test_a_stale_threshold_that_cannot_be_meant_is_refused(tmp_path: Path, value: str) -> None:
    raw, out = make_raw(tmp_path)
    done = run_cli(cli("enrich", raw=raw, out=out, url="http://127.0.0.1:9/api/query"),
                   PIPELINE_STALE_DAYS=value)  # fmt: skip
    assert done.returncode == 2 and "stale_days" in done.stderr

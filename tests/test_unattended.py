"""A scheduled run nobody watches: no input mistake wipes a table, and cron sees the real
exit code (issue 12). The real CLI in a subprocess, tables read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
from test_enrich_e2e import SAMPLE_ENTRY_COUNT, cli, make_raw, run_cli, table_bytes

from pipeline.standin import StandIn


def test_missing_or_empty_digests_folder_publishes_nothing(
    tmp_path: Path, standin: StandIn
) -> None:
    raw, out = make_raw(tmp_path)
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    published = table_bytes(out)
    digests = raw / "digests"
    digests.rename(tmp_path / "unmounted")

    missing = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert missing.returncode == 5, missing.stderr
    assert f"digests folder {digests} does not exist" in missing.stderr
    assert f"published tables ({SAMPLE_ENTRY_COUNT} entries) are left" in missing.stderr
    assert "--allow-shrink" in missing.stderr and "Traceback" not in missing.stderr
    assert table_bytes(out) == published

    digests.mkdir()
    empty = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert empty.returncode == 5, empty.stderr
    assert f"digests folder {digests} is empty" in empty.stderr
    assert table_bytes(out) == published

    meant = run_cli([*cli("enrich", raw=raw, out=out, url=standin.url), "--allow-shrink"])
    assert meant.returncode == 0, meant.stderr
    assert pl.read_parquet(out / "entries.parquet").height == 0
    # The refused runs are in the run log with the code they exited with.
    runs = pl.read_parquet(out / "runs.parquet").sort("run_id")
    assert runs.select("status", "exit_code").rows() == [
        ("ok", 0), ("failed", 5), ("failed", 5), ("ok", 0),
    ]  # fmt: skip


def test_a_first_run_without_digests_is_refused(tmp_path: Path, standin: StandIn) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 5, done.stderr
    assert f"digests folder {raw / 'digests'} does not exist" in done.stderr
    assert not (out / "entries.parquet").exists()
    assert standin.log == []


def test_vanished_digest_files_may_not_shrink_the_tables(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    published = table_bytes(out)
    requests = len(standin.log)
    (raw / "digests" / "2025-01-14_daily_paper.md").unlink()

    shrunk = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert shrunk.returncode == 5, shrunk.stderr
    assert "digests/2025-01-14_daily_paper.md" in shrunk.stderr
    assert f"from {SAMPLE_ENTRY_COUNT} to {SAMPLE_ENTRY_COUNT - 9}" in shrunk.stderr
    assert table_bytes(out) == published
    assert len(standin.log) == requests  # refused before anything was asked

    meant = run_cli(cli("enrich", raw=raw, out=out, url=standin.url), PIPELINE_ALLOW_SHRINK="1")
    assert meant.returncode == 0, meant.stderr
    assert pl.read_parquet(out / "entries.parquet").height == SAMPLE_ENTRY_COUNT - 9


def test_a_moved_digest_is_no_shrink(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    (raw / "digests" / "2025").mkdir()
    shutil.move(raw / "digests" / "sample-digest.md", raw / "digests" / "2025" / "sample.md")
    moved = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert moved.returncode == 0, moved.stderr
    assert pl.read_parquet(out / "entries.parquet").height == SAMPLE_ENTRY_COUNT

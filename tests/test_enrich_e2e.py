"""End to end: the real CLI in a subprocess, against the stand-in, tables read back."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import filelock
import polars as pl
import pytest

from pipeline.standin import Fault, StandIn
from pipeline.tables import TABLES

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIGESTS = ROOT / "tests" / "fixtures" / "digests"
SAMPLE_ENTRY_COUNT = 12 + 15 + 9 + 8 + 15
CONTENT_TABLES = ("entries", "papers", "authors", "categories", "mismatches", "problems")


def make_raw(tmp_path: Path) -> tuple[Path, Path]:
    raw, out = tmp_path / "raw", tmp_path / "out"
    shutil.copytree(SAMPLE_DIGESTS, raw / "digests")
    return raw, out


def cli(
    *args: str, raw: Path, out: Path, url: str, delay: float = 0.02, extra_env: dict | None = None
) -> list[str]:
    return [
        sys.executable, "-m", "pipeline", *args,
        "--raw-dir", str(raw), "--out-dir", str(out),
        "--api-url", url, "--delay-seconds", str(delay),
        "--max-attempts", "3", "--max-backoff-seconds", "0.2",
    ]  # fmt: skip


NEVER_STALE_DAYS = 36500


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_", "PIPELINE_"))}
    # The fixtures' digests are dated 2024-2026: no staleness alarm (exit 6) as the calendar
    # moves on, unless a test asks for one.
    env["PIPELINE_STALE_DAYS"] = str(NEVER_STALE_DAYS)
    env.update(extra)
    return env


def run_cli(args: list[str], **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, env=clean_env(**extra_env), capture_output=True, text=True, timeout=300
    )


def table_bytes(out: Path) -> dict[str, bytes]:
    return {t.name: (out / f"{t.name}.parquet").read_bytes() for t in TABLES}


def test_enrich_end_to_end(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("run ") and "entries" in summary

    for table in TABLES:
        path = out / f"{table.name}.parquet"
        frame = pl.read_parquet(path)
        assert frame.schema == table.schema(), table.name
        assert frame.select(table.key).is_duplicated().sum() == 0, table.name
        via_duckdb = duckdb.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0]
        assert via_duckdb == (frame.height,)

    entries = pl.read_parquet(out / "entries.parquet")
    assert entries.height == SAMPLE_ENTRY_COUNT
    assert entries.filter(pl.col("resolution") == "unresolved").height == 0
    assert entries.get_column("arxiv_id").null_count() == 0
    by_title = entries.filter(pl.col("digest").str.contains("2025-01-08_daily_paper"))
    assert set(by_title.get_column("resolution")) == {"title"}

    served = {r.id: r for r in standin.records}
    papers = pl.read_parquet(out / "papers.parquet")
    assert set(papers.get_column("arxiv_id")) == set(entries.get_column("arxiv_id"))
    for paper in papers.iter_rows(named=True):
        record = served[paper["arxiv_id"]]
        assert paper["title"] == " ".join(record.title.split())
        assert paper["authors"] == [name for name, _ in record.authors]
        assert paper["categories"] == record.categories
        assert paper["primary_category"] == record.primary_category
        assert paper["version"] == len(record.versions)


def test_second_run_makes_no_requests_and_changes_no_table(
    tmp_path: Path, standin: StandIn
) -> None:
    raw, out = make_raw(tmp_path)
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    first = table_bytes(out)
    requests_before = len(standin.log)
    assert requests_before > 0

    second = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert second.returncode == 0, second.stderr
    assert len(standin.log) == requests_before
    after = table_bytes(out)
    for name in first:
        if name != "runs":
            assert after[name] == first[name], f"{name}.parquet changed on a no-op run"
    runs = pl.read_parquet(out / "runs.parquet").sort("run_id")
    assert runs.get_column("status").to_list() == ["ok", "unchanged"]
    assert runs.get_column("requests").to_list()[1] == 0
    # A run's own published row predates its write; the next run publishes the final one.
    assert runs.get_column("write_seconds").to_list()[0] > 0.0
    first_row = pl.read_parquet(out / ".generations" / runs["run_id"][0] / "runs.parquet")
    assert first_row["write_seconds"][0] == 0.0
    assert first_row["ended_at"][0] < runs["ended_at"][0]  # final: after the tables were written

    # A touched digest whose content is the same is nothing new: its hash is in the ledger.
    touched = next((raw / "digests").iterdir())
    os.utime(touched, ns=(time.time_ns(), time.time_ns()))
    third = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert third.returncode == 0, third.stderr
    assert len(standin.log) == requests_before
    assert {n: b for n, b in table_bytes(out).items() if n != "runs"} == {
        n: b for n, b in first.items() if n != "runs"
    }
    runs = pl.read_parquet(out / "runs.parquet").sort("run_id")
    assert runs.get_column("status").to_list() == ["ok", "unchanged", "unchanged"]


def test_new_digest_or_refresh_age_means_a_full_run(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    entries = pl.read_parquet(out / "entries.parquet").height
    (raw / "digests" / "2026-01-05_more.md").write_text(
        "## Attention Is All You Need\n[x](https://arxiv.org/abs/1706.03762)\n", encoding="utf-8"
    )
    requests = len(standin.log)
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    assert pl.read_parquet(out / "entries.parquet").height == entries + 1
    assert len(standin.log) == requests + 1  # only the new paper was asked for

    refreshed = run_cli([*cli("enrich", raw=raw, out=out, url=standin.url), "--refresh-days", "0"])
    assert refreshed.returncode == 0, refreshed.stderr
    assert len(standin.log) > requests + 1  # everything was due again
    assert pl.read_parquet(out / "runs.parquet").get_column("status").to_list()[-1] == "ok"


def test_second_run_waits_or_refuses_while_locked(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    out.mkdir()
    with filelock.FileLock(out / ".lock"):
        done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 4
    assert "another run is in progress" in done.stderr
    assert standin.log == []


def test_a_run_sharing_the_raw_folder_waits_or_refuses(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    (raw / "arxiv").mkdir()
    with filelock.FileLock(raw / "arxiv" / ".lock"):  # a run writing to another out folder
        done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 4, done.stderr
    assert "another run is in progress" in done.stderr
    assert standin.log == []


def test_unusable_folders_and_a_damaged_store_exit_cleanly(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path)
    args = [sys.executable, "-m", "pipeline", "enrich", "--offline"]
    missing = run_cli([*args, "--raw-dir", str(tmp_path / "typo"), "--out-dir", str(out)])
    assert missing.returncode == 2, missing.stderr
    assert "raw folder" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "typo").exists() and not out.exists()  # nothing made, nothing published

    a_file = tmp_path / "out.txt"
    a_file.write_text("")
    not_a_folder = run_cli([*args, "--raw-dir", str(raw), "--out-dir", str(a_file)])
    assert not_a_folder.returncode == 2, not_a_folder.stderr
    assert "output folder" in not_a_folder.stderr and "Traceback" not in not_a_folder.stderr

    assert run_cli([*args, "--raw-dir", str(raw), "--out-dir", str(out)]).returncode == 3
    published = table_bytes(out)
    (raw / "arxiv" / "metadata.sqlite").write_bytes(b"garbage, not SQLite " * 10)
    for command in ("enrich", "fetch"):
        damaged = run_cli([*args[:3], command, "--offline", "--raw-dir", str(raw),
                           "--out-dir", str(out)])  # fmt: skip
        assert damaged.returncode == 5, damaged.stderr
        assert "metadata.sqlite" in damaged.stderr and "Traceback" not in damaged.stderr
    assert table_bytes(out) == published


def test_transient_failures_exit_3_and_still_write_tables(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    standin.set_faults([Fault("503")])
    done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 3, done.stderr
    problems = pl.read_parquet(out / "problems.parquet")
    assert problems.filter(pl.col("stage") == "fetch").height > 0
    assert pl.read_parquet(out / "entries.parquet").height == SAMPLE_ENTRY_COUNT

    standin.set_faults([])
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0


def test_unreachable_arxiv_answers_within_seconds(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/query"
    start = time.monotonic()
    done = run_cli(cli("enrich", raw=raw, out=out, url=closed, delay=3.0))
    elapsed = time.monotonic() - start
    assert done.returncode == 3, done.stderr
    assert elapsed < 30  # a generous bound: the point is seconds, not minutes of retries
    message = done.stdout + done.stderr
    assert "unreachable" in message and "make demo" in message
    assert pl.read_parquet(out / "entries.parquet").height == SAMPLE_ENTRY_COUNT


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ARXIV_DELAY_SECONDS": "soon"}, "delay_seconds"),
        ({"ARXIV_BATCH_SIZE": "0"}, "batch"),
        ({"ARXIV_DELAY_SECONDS": "nan"}, "delay_seconds must be a finite number"),
        ({"ARXIV_DELAY_SECONDS": "1e308"}, "delay_seconds must be at most"),
        ({"ARXIV_MAX_ATTEMPTS": "0"}, "max_attempts must be at least 1"),
        # Not an outage (exit 3): no request could ever be sent to these.
        ({"ARXIV_API_URL": "export.arxiv.org/api/query"}, "api_url must be an http(s) URL"),
        ({"ARXIV_API_URL": "http://127.0.0.1:99999/api/query"}, "api_url has a port"),
    ],
)
def test_bad_configuration_exits_2(tmp_path: Path, env: dict[str, str], needle: str) -> None:
    raw, out = make_raw(tmp_path)
    args = [sys.executable, "-m", "pipeline", "enrich"]
    args += ["--raw-dir", str(raw), "--out-dir", str(out)]
    done = run_cli(args, **env)
    assert done.returncode == 2, done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_mistyped_config_key_exits_2_with_a_suggestion(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path)
    config = tmp_path / "pipeline.toml"
    config.write_text("delay_secs = 3.0\n", encoding="utf-8")
    args = [sys.executable, "-m", "pipeline", "enrich", "--raw-dir", str(raw)]
    done = run_cli([*args, "--out-dir", str(out)], PIPELINE_CONFIG=str(config))
    assert done.returncode == 2, done.stderr
    assert "delay_secs (did you mean delay_seconds?)" in done.stderr


def test_stage_commands_fetch_then_reconcile(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    fetched = run_cli(cli("fetch", raw=raw, out=out, url=standin.url))
    assert fetched.returncode == 0, fetched.stderr
    line = fetched.stdout.strip().splitlines()[-1]
    assert line.startswith("requested 44, found 44, not found 0, invalid 0, failed 0")
    assert "title searches 15" in line
    requests = len(standin.log)
    assert f"requests {requests}," in line

    reconciled = run_cli(cli("reconcile", raw=raw, out=out, url=standin.url))
    assert reconciled.returncode == 0, reconciled.stderr
    assert len(standin.log) == requests  # everything came from the store
    assert "title" in reconciled.stdout and "15" in reconciled.stdout
    assert not (out / "entries.parquet").exists()  # stage commands write no tables


def test_rebuild_store_from_kept_answers(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    papers = pl.read_parquet(out / "papers.parquet").drop("fetched_at")
    store = raw / "arxiv" / "metadata.sqlite"
    (raw / "arxiv" / "metadata.sqlite").write_bytes(b"not a database, after a disk accident")
    broken = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert broken.returncode == 5 and "rebuild-store" in broken.stderr
    for leftover in raw.joinpath("arxiv").glob("metadata.sqlite*"):
        leftover.rename(leftover.with_name(leftover.name + ".damaged"))

    rebuilt = run_cli(cli("rebuild-store", raw=raw, out=out, url=standin.url))
    assert rebuilt.returncode == 0, rebuilt.stderr
    # The kept answers also hold the witness paper the fetch stage asks for beside IDs it
    # checks again and beside title searches (pipeline/fetch/transport.py DEFAULT_WITNESS).
    witness = int("1706.03762" not in papers.get_column("arxiv_id").to_list())
    assert rebuilt.stdout.startswith(f"{papers.height + witness} papers rebuilt")
    assert store.exists()
    requests = len(standin.log)
    # The kept answers give the papers back (not the title searches), so an offline run
    # resolves every linked entry from the rebuilt store alone.
    offline = run_cli([*cli("enrich", raw=raw, out=out, url=standin.url), "--offline"])
    assert len(standin.log) == requests
    entries = pl.read_parquet(out / "entries.parquet")
    linked = entries.filter(pl.col("link_arxiv_id").is_not_null())
    assert set(linked.get_column("resolution")) == {"link"}, offline.stderr
    metadata = ["arxiv_id", "version", "title", "abstract", "authors", "published", "updated"]
    metadata += ["primary_category", "categories", "comment", "journal_ref", "doi", "withdrawn"]
    linked_ids = pl.col("arxiv_id").is_in(linked["arxiv_id"].to_list())
    rebuilt_papers = pl.read_parquet(out / "papers.parquet").filter(linked_ids).select(metadata)
    assert rebuilt_papers.equals(papers.filter(linked_ids).select(metadata))


def test_readme_queries_run_on_real_tables(
    tmp_path: Path, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, out = make_raw(tmp_path)
    out = tmp_path / "enriched"
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    python_blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    sql_blocks = re.findall(r"```sql\n(.*?)```", readme, flags=re.S)
    assert python_blocks and sql_blocks
    monkeypatch.chdir(tmp_path)
    for block in python_blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)
        assert isinstance(namespace["papers"], pl.DataFrame)
    for block in sql_blocks:
        rows = duckdb.execute(block).fetchall()
        assert len(rows) == SAMPLE_ENTRY_COUNT
        lags = [lag for *_, lag in rows]
        assert lags.count(None) == 12  # sample-digest.md carries no date
        assert all(lag >= 0 for lag in lags if lag is not None)

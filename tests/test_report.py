"""The files beside the tables: schema.json, enriched.duckdb and report.html (issue 13).

One real run of the CLI against the stand-in on the sample digests plus the demo's digest
of mistakes; the files are read back with DuckDB, polars and pyarrow. The browser's view
of the report is in test_report_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import typing
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from conftest import STANDIN_CORPUS
from test_enrich_e2e import SAMPLE_DIGESTS, clean_env, cli, run_cli

from pipeline.model import ResolutionKind
from pipeline.reconcile import MISMATCH_KINDS
from pipeline.standin import StandIn, load_corpus
from pipeline.tables import TABLES, table
from pipeline.views import READY_VIEWS

ROOT = Path(__file__).resolve().parent.parent
MISTAKES = ROOT / "tests" / "fixtures" / "demo"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The output folder of one complete run (no staleness alarm: see clean_env)."""
    tmp = tmp_path_factory.mktemp("published")
    raw, out = tmp / "raw", tmp / "out"
    shutil.copytree(SAMPLE_DIGESTS, raw / "digests")
    shutil.copytree(MISTAKES, raw / "digests" / "demo")
    with StandIn(load_corpus(STANDIN_CORPUS)) as server:
        done = run_cli(cli("enrich", raw=raw, out=out, url=server.url))
    assert done.returncode == 0, done.stderr
    yield out


def connect(out: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(out / "enriched.duckdb"), read_only=True)


def test_companion_files_are_published_with_the_tables(published: Path) -> None:
    generation = (published / "current").resolve()
    for name in ("schema.json", "enriched.duckdb", "report.html"):
        link = published / name
        assert link.is_symlink() and os.readlink(link) == f"current/{name}"
        assert (generation / name).is_file()
    assert not list(generation.glob(".*.tmp*"))  # no temporary file left behind


def test_every_table_view_reads_the_generations_parquet(published: Path) -> None:
    generation = (published / "current").resolve()
    with connect(published) as con:
        for t in TABLES:
            via_view = con.execute(f"SELECT count(*) FROM {t.name}").fetchone()
            assert via_view == (pl.read_parquet(published / f"{t.name}.parquet").height,)
            sql = con.execute(
                "SELECT sql FROM duckdb_views() WHERE view_name = ?", [t.name]
            ).fetchone()
            assert sql is not None and str(generation / f"{t.name}.parquet") in sql[0]
        names = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        assert set(READY_VIEWS) <= names


def test_ready_views_agree_with_polars_on_the_parquet_tables(published: Path) -> None:
    entries = pl.read_parquet(published / "entries.parquet")
    papers = pl.read_parquet(published / "papers.parquet")
    with connect(published) as con:
        joined = con.sql("SELECT * FROM entry_papers").pl()
        per_week = con.sql(
            "SELECT week, primary_category, papers FROM papers_per_week ORDER BY ALL"
        ).pl()
    assert joined.height == entries.height
    assert joined.filter(pl.col("arxiv_id").is_not_null())["primary_category"].null_count() == 0
    expected = (
        entries.filter(pl.col("arxiv_id").is_not_null() & pl.col("digest_date").is_not_null())
        .join(papers, on="arxiv_id")
        .group_by(pl.col("digest_date").dt.truncate("1w").alias("week"), "primary_category")
        .agg(pl.col("arxiv_id").n_unique().cast(pl.Int64).alias("papers"))
        .sort("week", "primary_category", "papers")
    )
    assert per_week.with_columns(pl.col("papers").cast(pl.Int64)).equals(expected)


def test_readme_dashboard_queries_run_on_the_duckdb_views(published: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql enriched\.duckdb\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README shows queries on the DuckDB views"
    with connect(published) as con:
        for block in blocks:
            assert con.execute(block).fetchall(), block
    python = re.findall(r"```python enriched\.duckdb\n(.*?)```", readme, flags=re.S)
    assert python
    for block in python:
        namespace: dict[str, object] = {}
        cwd = Path.cwd()
        os.chdir(published.parent)  # the README's paths are relative: enriched/ -> out/
        try:
            code = block.replace("enriched/", "out/")
            exec(compile(code, "README.md", "exec"), namespace)
        finally:
            os.chdir(cwd)
        assert isinstance(namespace["frame"], pl.DataFrame) and namespace["frame"].height


def test_digest_health_table_lists_every_source(published: Path) -> None:
    with connect(published) as con:
        health = con.sql("SELECT source, files, stale FROM digest_health").pl()
    assert health.get_column("stale").sum() == 0  # clean_env: never stale
    assert "digests/*_daily_paper.md" in health.get_column("source").to_list()
    assert "digests/sample-digest.md" in health.get_column("source").to_list()
    files = pl.read_parquet(published / "entries.parquet").get_column("digest").n_unique()
    assert health.get_column("files").sum() == files


def test_schema_export_matches_the_declarations_and_the_files(published: Path) -> None:
    exported = json.loads((published / "schema.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in exported["tables"]] == [t.name for t in TABLES]
    for t in exported["tables"]:
        declared = table(t["name"])
        assert t["key"] == list(declared.key)
        assert [c["name"] for c in t["columns"]] == [c.name for c in declared.columns]
        parquet = pq.read_schema(published / t["file"])
        for column in t["columns"]:
            assert parquet.field(column["name"]).nullable == column["nullable"], column["name"]
    columns = {(t["name"], c["name"]): c for t in exported["tables"] for c in t["columns"]}
    assert columns[("mismatches", "kind")]["allowed"] == list(MISMATCH_KINDS)
    assert "version_unknown" in columns[("mismatches", "kind")]["allowed"]
    assert columns[("entries", "resolution")]["allowed"] == list(typing.get_args(ResolutionKind))
    assert columns[("papers", "published")]["type"] == "timestamp"
    assert columns[("papers", "published")]["time_zone"] == "UTC"
    assert columns[("entries", "candidates")]["type"] == "list"
    assert columns[("entries", "candidates")]["items"]["type"] == "struct"
    assert columns[("entries", "title_digest")]["allowed"] is None
    docs = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    assert "`version_unknown`" in docs


def test_report_is_self_contained(published: Path) -> None:
    page = (published / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page  # nothing to load, nothing to run
    fetched = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]+)""", page)
    assert fetched == [], fetched
    assert "@import" not in page and "url(" not in page
    assert page.count('<figure class="chart" ') == 12


def test_report_command_rewrites_the_files_for_the_published_generation(
    published: Path,
) -> None:
    generation = (published / "current").resolve()
    before = (generation / "report.html").stat().st_mtime_ns
    raw = published.parent / "raw"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", "--raw-dir", str(raw), "--out-dir",
         str(published)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "report.html" in done.stdout
    assert (published / "current").resolve() == generation
    assert (generation / "report.html").stat().st_mtime_ns > before
    with connect(published) as con:
        assert con.execute("SELECT count(*) FROM entries").fetchone()[0] > 0  # type: ignore[index]


def test_status_says_what_is_published(published: Path) -> None:
    raw = published.parent / "raw"
    args = [sys.executable, "-m", "pipeline", "status", "--raw-dir", str(raw), "--out-dir",
            str(published), "--stale-days", "36500"]  # fmt: skip
    shown = subprocess.run([*args, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    manifest = json.loads((published / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert status["generation"] == manifest["run_id"]
    assert status["rows"] == {n: t["rows"] for n, t in manifest["tables"].items()}
    entries = pl.read_parquet(published / "entries.parquet")
    assert status["resolutions"] == dict(entries.group_by("resolution").len().iter_rows())
    log = pl.read_parquet(published / "fetch_log.parquet")
    contact = log.filter(pl.col("outcome") != "failed")["logged_at"].max()
    assert isinstance(contact, datetime)
    assert status["last_arxiv_contact"] == contact.isoformat(timespec="seconds")
    assert status["pending_ids"] == [] and status["stale_digests"] == []
    text = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and manifest["run_id"] in text.stdout
    assert len(text.stdout.splitlines()) <= 25  # one screen


def test_status_without_published_tables_says_so(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "status", "--raw-dir", str(tmp_path / "raw"),
         "--out-dir", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 5
    assert "no published tables" in done.stderr and "Traceback" not in done.stderr


def _unstamped(page: str) -> str:
    """`page` without what differs between two drawings of the same data: the minute it was
    written, pygal's random chart ids and its date of drawing."""
    page = re.sub(r"written \d{4}-\d\d-\d\d \d\d:\d\d UTC", "written (minute)", page)
    page = re.sub(r"chart-[0-9a-f-]{36}", "chart-(id)", page)
    return re.sub(r"(Generated with pygal [^ ]+ \(lxml\) [^>]*?) on \d{4}-\d\d-\d\d", r"\1", page)


# A mark inside a part drawn from the tables: it survives only if that part is taken over.
TAKEN_OVER = "<p>taken over</p>"


def _published_with_a_mark(tmp_path: Path, standin: StandIn) -> tuple[Path, Path]:
    """The raw and output folders of one complete run over the samples, TAKEN_OVER put into
    its report's first part drawn from the tables."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    shutil.copytree(SAMPLE_DIGESTS, raw / "digests")
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    published_page = (out / "report.html").resolve()
    page = published_page.read_text(encoding="utf-8")
    assert page.count("<!--part before_runs-->") == 1
    marked = page.replace("<!--part before_runs-->", f"<!--part before_runs-->{TAKEN_OVER}")
    published_page.write_text(marked, encoding="utf-8")
    return raw, out


def test_a_run_with_nothing_new_draws_anew_only_what_changes_every_run(
    tmp_path: Path, standin: StandIn
) -> None:
    """A carried-over run's page takes the parts drawn from the tables from the published
    page (they name the same tables) and draws the runs, the health and the alarms anew: it
    is the page drawn in full from the same tables (`pipeline report`), but for the minute."""
    raw, out = _published_with_a_mark(tmp_path, standin)
    kept = TAKEN_OVER

    done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 0 and "nothing new since run" in done.stderr, done.stderr
    carried = (out / "report.html").read_text(encoding="utf-8")
    assert kept in carried
    run_ids = pl.read_parquet(out / "runs.parquet").sort("run_id").get_column("run_id")
    assert f"Run <code>{run_ids[-1]}</code>" in carried
    assert all(run_id[:15] in carried for run_id in run_ids)  # the runs chart has this run

    redrawn = subprocess.run(
        [sys.executable, "-m", "pipeline", "report", "--raw-dir", str(raw), "--out-dir", str(out)],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert redrawn.returncode == 0, redrawn.stderr
    full = (out / "report.html").read_text(encoding="utf-8")
    assert kept not in full
    assert _unstamped(carried.replace(kept, "")) == _unstamped(full)

    # Another key (other tables, other code): every part is drawn again.
    (out / "report.html").resolve().write_text(
        re.sub(r"<!--tables-key [0-9a-f]+-->", "<!--tables-key 00-->", carried), encoding="utf-8"
    )
    done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 0 and "nothing new since run" in done.stderr, done.stderr
    assert kept not in (out / "report.html").read_text(encoding="utf-8")


def test_a_digest_touched_but_not_changed_takes_the_report_parts_over(
    tmp_path: Path, standin: StandIn
) -> None:
    """A digest whose bytes changed but not its entries is parsed and reconciled again; its
    tables have the published content, so the page takes over the parts drawn from them,
    as a run with nothing new does, and draws the runs anew."""
    raw, out = _published_with_a_mark(tmp_path, standin)
    kept = TAKEN_OVER
    digest = raw / "digests" / "sample-digest.md"
    digest.write_bytes(digest.read_bytes() + b"\n\n")  # blank lines at the end: no entry

    done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 0, done.stderr
    assert "nothing new since run" not in done.stderr and "sample-digest.md" in done.stderr
    touched = (out / "report.html").read_text(encoding="utf-8")
    assert kept in touched
    run_ids = pl.read_parquet(out / "runs.parquet").get_column("run_id")
    assert run_ids.len() == 2 and all(run_id[:15] in touched for run_id in run_ids)

    # A digest changed for real: its tables differ, so every part is drawn again.
    digest.write_text(digest.read_text(encoding="utf-8").replace("## ", "## Renamed: ", 1))
    done = run_cli(cli("enrich", raw=raw, out=out, url=standin.url))
    assert done.returncode == 0, done.stderr
    assert kept not in (out / "report.html").read_text(encoding="utf-8")

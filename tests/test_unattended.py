"""A scheduled run nobody watches: no input mistake wipes a table, and cron sees the real
exit code (issue 12). The real CLI in a subprocess, tables read back."""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from test_enrich_e2e import (
    ROOT,
    SAMPLE_ENTRY_COUNT,
    clean_env,
    cli,
    make_raw,
    run_cli,
    table_bytes,
)

from pipeline.standin import StandIn
from pipeline.tables import TABLES


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


def _cron_command() -> str:
    """The command of the README's cron line (after the five schedule fields)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```cron\n(.*?)```", readme, flags=re.S)
    (line,) = block.strip().splitlines()
    return line.split(maxsplit=5)[5]


def test_the_cron_line_passes_the_pipeline_exit_code_through(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path)
    command = _cron_command()
    assert command.startswith("cd /srv/digest-enrich && ") and "bin/enrich" in command
    assert "make" not in command  # make turns every failure into its own 2
    log = tmp_path / "enrich.log"
    command = command.replace("/srv/digest-enrich", shlex.quote(str(ROOT)))
    command = command.replace(">> enrich.log", f">> {shlex.quote(str(log))}")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/query"
    env = {"PIPELINE_RAW_DIR": str(raw), "PIPELINE_OUT_DIR": str(out), "ARXIV_API_URL": closed}
    done = subprocess.run(
        ["sh", "-c", command], env=clean_env(**env), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 3, log.read_text()
    assert "arXiv unreachable" in log.read_text()
    assert pl.read_parquet(out / "entries.parquet").height == SAMPLE_ENTRY_COUNT

    (raw / "digests").rename(tmp_path / "unmounted")
    done = subprocess.run(
        ["sh", "-c", command], env=clean_env(**env), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 5, log.read_text()


def test_setup_refuses_an_old_python_in_one_line(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "bin" / "setup-venv", project / "bin")
    shutil.copy(ROOT / "bin" / "enrich", project / "bin")
    for name in ("requirements.lock", "pyproject.toml"):
        shutil.copy(ROOT / name, project)
    old_python = tmp_path / "python3.9"
    old_python.write_text('#!/bin/sh\n[ "$1" = -V ] && echo "Python 3.9.18" && exit 0\nexit 1\n')
    old_python.chmod(0o755)
    done = subprocess.run(
        [str(project / "bin" / "enrich")],
        env=clean_env(PYTHON=str(old_python)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"digest-enrich needs Python 3.11 or newer; {old_python} is Python 3.9.18 "
        "(set PYTHON=python3.11)"
    ]
    assert not (project / ".venv").exists()


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
)
def test_published_tables_follow_the_umask(
    tmp_path: Path, standin: StandIn, umask: int, file_mode: int, folder_mode: int
) -> None:
    raw, out = make_raw(tmp_path)
    command = shlex.join(cli("enrich", raw=raw, out=out, url=standin.url))
    done = run_cli(["sh", "-c", f"umask {umask:03o} && exec {command}"])
    assert done.returncode == 0, done.stderr
    generation = (out / "current").resolve()
    published = [out / f"{t.name}.parquet" for t in TABLES] + [generation / "manifest.json"]
    for path in published:
        assert stat.S_IMODE(path.stat().st_mode) == file_mode, path
    assert pl.read_parquet(out / "entries.parquet").height == SAMPLE_ENTRY_COUNT
    for folder in (out, out / ".generations", generation):
        assert stat.S_IMODE(folder.stat().st_mode) == folder_mode, folder
    for answer in (raw / "arxiv" / "responses").iterdir():  # kept answers too
        assert stat.S_IMODE(answer.stat().st_mode) == file_mode, answer


def _closed_port_url() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/api/query"


TITLE_ONLY_DIGEST = "digests/2025-01-08_daily_paper.md"  # 15 entries without links


@pytest.mark.parametrize("how", ["offline", "unreachable"])
def test_searches_never_sent_are_not_reported_as_empty(tmp_path: Path, how: str) -> None:
    raw, out = make_raw(tmp_path)
    args = cli("enrich", raw=raw, out=out, url=_closed_port_url())
    done = run_cli([*args, "--offline"] if how == "offline" else args)
    assert done.returncode == 3, done.stderr
    entries = pl.read_parquet(out / "entries.parquet").filter(pl.col("digest") == TITLE_ONLY_DIGEST)
    assert entries.height == 15
    reasons = set(entries.get_column("resolution_reason"))
    assert not any("found nothing" in r for r in reasons), reasons
    assert all("no title search was made" in r for r in reasons), reasons
    assert pl.read_parquet(out / "runs.parquet").get_column("title_searches").to_list() == [0]


def test_title_searches_count_the_searches_sent(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    for _ in range(2):
        assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    touched = raw / "digests" / "sample-digest.md"  # defeats the carry-over: stages run
    touched.write_text(touched.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    runs = pl.read_parquet(out / "runs.parquet").sort("run_id")
    assert runs.get_column("status").to_list() == ["ok", "unchanged", "ok"]
    assert runs.get_column("title_searches").to_list() == [15, 0, 0]  # then from the store
    fetched = run_cli(cli("fetch", raw=raw, out=out, url=standin.url))
    assert "title searches 0," in fetched.stdout, fetched.stdout


@pytest.mark.parametrize("command", ["enrich", "fetch"])
def test_unreachable_is_said_once_per_line(tmp_path: Path, command: str) -> None:
    raw, out = make_raw(tmp_path)
    url = _closed_port_url()
    done = run_cli(cli(command, raw=raw, out=out, url=url))
    assert done.returncode == 3, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    said = [line for line in lines if "arXiv unreachable" in line]
    assert said, lines
    for line in said:
        assert line.count("arXiv unreachable") == 1 and line.count(url) == 1, line


def test_parse_problems_are_warnings_naming_file_and_reason(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path)
    for n in range(23):
        (raw / "digests" / f"scan-{n:02}.pdf").write_bytes(b"%PDF-1.7\n")
    done = run_cli([*cli("enrich", raw=raw, out=out, url=_closed_port_url()), "--offline"])
    assert done.returncode == 3, done.stderr
    warnings = [line for line in done.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 21  # 20 problems, then how many more
    for line in warnings[:20]:
        assert re.search(r"WARNING parse problem: digests/scan-\d\d\.pdf: \S", line), line
    assert "... and 3 more parse problems" in warnings[20]
    problems = pl.read_parquet(out / "problems.parquet").filter(pl.col("stage") == "parse")
    assert problems.height == 23


def test_tries_said_are_requests_counted(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path)
    done = run_cli(cli("enrich", raw=raw, out=out, url=_closed_port_url()))
    assert done.returncode == 3, done.stderr
    tries = re.search(r"arXiv unreachable at \S+: .*\((\d+) tries\)", done.stderr)
    assert tries, done.stderr
    [run] = pl.read_parquet(out / "runs.parquet").to_dicts()
    assert run["requests"] == int(tries.group(1)) >= 1
    assert run["retries"] == run["requests"] - 1
    assert f"{run['requests']} requests, {run['retries']} retries" in done.stdout


def test_runs_say_which_output_folder_they_wrote(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    other = tmp_path / "other-out"  # a second output folder on the same raw folder
    assert run_cli(cli("enrich", raw=raw, out=out, url=standin.url)).returncode == 0
    assert run_cli(cli("enrich", raw=raw, out=other, url=standin.url)).returncode == 0
    runs = pl.read_parquet(other / "runs.parquet").sort("run_id")
    assert runs.get_column("out_dir").to_list() == [str(out), str(other)]


ARXIV_API = "https://export.arxiv.org/api/query"


@pytest.mark.parametrize(
    ("how", "code"),
    [
        (["--delay-seconds", "1"], 2),
        (["--delay-seconds", "2.99"], 2),
        (["--delay-seconds", "1", "--api-is-mirror"], 0),
        (["--delay-seconds", "3"], 0),
        ([], 0),  # the default, 3 s
    ],
)
def test_a_delay_below_3_s_against_arxiv_is_refused(
    tmp_path: Path, how: list[str], code: int
) -> None:
    raw, _ = make_raw(tmp_path)
    args = [sys.executable, "-m", "pipeline", "parse", "--raw-dir", str(raw)]
    done = run_cli([*args, "--api-url", ARXIV_API, *how])
    assert done.returncode == code, done.stderr
    if code == 2:
        [error] = done.stderr.splitlines()
        assert "below the 3 s" in error and "export.arxiv.org" in error
        assert "--api-is-mirror" in error and "ARXIV_API_IS_MIRROR=1" in error


def test_the_environment_cannot_sneak_a_fast_delay_past_either(tmp_path: Path) -> None:
    raw, _ = make_raw(tmp_path)
    args = [sys.executable, "-m", "pipeline", "parse", "--raw-dir", str(raw)]
    refused = run_cli(args, ARXIV_API_URL="http://arxiv.org/api/query", ARXIV_DELAY_SECONDS="0.5")
    assert refused.returncode == 2 and "below the 3 s" in refused.stderr
    mirror = run_cli(args, ARXIV_DELAY_SECONDS="0.5", ARXIV_API_IS_MIRROR="1")
    assert mirror.returncode == 0, mirror.stderr

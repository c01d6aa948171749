"""The command line: documented, thin, and honest about what it did."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import configuration_markdown, main

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_and_option_has_help() -> None:
    assert isinstance(main, click.Group)
    for name, command in main.commands.items():
        assert command.help, f"command {name} has no help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, result.output


def test_configuration_doc_is_current() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert text == configuration_markdown(), "docs/configuration.md is stale: run make docs"


def test_parse_prints_one_line_per_sample(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "digests").mkdir(parents=True)
    samples = sorted((ROOT / "tests" / "fixtures" / "digests").iterdir())
    for sample in samples:
        (raw / "digests" / sample.name).write_bytes(sample.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_", "PIPELINE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "parse", "--raw-dir", str(raw)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == len(samples) + 1  # one per file, then the total
    for sample, line in zip(samples, lines, strict=False):
        assert sample.name in line
    assert lines[-1].startswith(f"{len(samples)} files, 59 entries")


def test_demo_runs_the_whole_pipeline_and_shows_every_rule(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_", "PIPELINE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "demo", "--dir", str(tmp_path), "--delay", "0.01"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "arXiv stand-in listening on http://127.0.0.1:" in done.stderr
    out = tmp_path / "enriched"
    entries = pl.read_parquet(out / "entries.parquet")
    assert set(entries.get_column("resolution")) == {"link", "title", "corrected", "unresolved"}
    kinds = set(pl.read_parquet(out / "mismatches.parquet").get_column("kind"))
    assert {
        "version_outdated", "title_differs", "unresolved", "id_points_elsewhere",
        "id_not_found", "id_invalid", "duplicate_in_digest", "withdrawn", "date_impossible",
    } <= kinds  # fmt: skip
    assert not (ROOT / "raw" / "arxiv" / "demo").exists()  # the demo never touches raw/
    for name in ("report.html", "enriched.duckdb", "schema.json"):  # issue 13
        assert (out / name).is_file(), name
    assert "ALARM: " in done.stdout  # the sample digests are old: the demo shows the alarm


def _pipeline(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_", "PIPELINE_"))}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_version_is_the_declared_one() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    done = _pipeline("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"digest-enrich, version {declared['project']['version']}"


@pytest.mark.parametrize(
    "args", [["-v", "enrich"], ["--verbose", "enrich"], ["enrich", "-v"], ["-v", "parse"]]
)
def test_verbose_before_or_after_the_command(tmp_path: Path, args: list[str]) -> None:
    done = _pipeline(*args, "--raw-dir", str(tmp_path / "nope"))
    assert done.returncode == 2, done.stderr
    assert " DEBUG " in done.stderr  # the traceback --verbose promises


@pytest.mark.parametrize("command", ["parse", "fetch", "reconcile", "enrich", "rebuild-store"])
def test_a_missing_raw_folder_is_exit_2_for_every_command(tmp_path: Path, command: str) -> None:
    done = _pipeline(command, "--raw-dir", str(tmp_path / "nope"), "--out-dir", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"raw folder {tmp_path / 'nope'} does not exist" in done.stderr
    assert not (tmp_path / "nope").exists()


def test_make_help_lists_every_target() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (phony,) = re.findall(r"^\.PHONY:(.*)$", makefile, flags=re.M)
    rules = set(re.findall(r"^([a-z]+):", makefile, flags=re.M))
    assert rules == set(phony.split())  # every rule is a listed target
    done = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    listed = [line.split()[1] for line in done.stdout.splitlines()]
    assert sorted(listed) == sorted(rules)

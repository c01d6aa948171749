"""Installed with `pip install .` (issue 12, item 10): `demo` and `docs` work from any
folder, with what they need shipped in the package, and write into the current folder
(or the one given), never into site-packages. A throwaway venv in a temp folder; its
dependencies come from the project's venv through PYTHONPATH (no downloads)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import polars as pl
import pytest
from test_enrich_e2e import ROOT, clean_env

SHARED_PACKAGES = sysconfig.get_paths()["purelib"]


def copy_source(target: Path) -> None:
    """What `pip install .` reads, as it is in the checkout (the demo data's symlinks too)."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "pipeline", target / "pipeline", symlinks=True, ignore=ignore)
    for fixture in ("standin", "digests", "demo"):
        shutil.copytree(
            ROOT / "tests" / "fixtures" / fixture, target / "tests" / "fixtures" / fixture
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a venv with the project installed from a copy of its source."""
    tmp = tmp_path_factory.mktemp("installed")
    source = tmp / "source"
    source.mkdir()
    copy_source(source)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", str(source)],
        env=clean_env(PYTHONPATH=SHARED_PACKAGES), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shutil.rmtree(source)  # the installed copy must not need it
    return venv / "bin"


def run_installed(bin_dir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "python"), "-m", "pipeline", *args],
        cwd=cwd, env=clean_env(PYTHONPATH=SHARED_PACKAGES),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def site_packages_files(bin_dir: Path) -> set[Path]:
    return {p for p in bin_dir.parent.joinpath("lib").rglob("*") if "__pycache__" not in p.parts}


def test_installed_demo_runs_from_any_folder(installed: Path, tmp_path: Path) -> None:
    before = site_packages_files(installed)
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    done = run_installed(installed, ["demo", "--delay", "0.01"], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    where = run_installed(installed, ["--version"], cwd=elsewhere)
    assert where.returncode == 0 and "digest-enrich" in where.stdout
    entries = pl.read_parquet(elsewhere / "demo" / "enriched" / "entries.parquet")
    digests = set(entries.get_column("digest"))
    samples = {f"digests/{p.name}" for p in (ROOT / "tests" / "fixtures" / "digests").iterdir()}
    assert samples <= digests  # the shipped samples, and the demo's digest with mistakes:
    assert "digests/demo/2026-01-05_reading-list-with-mistakes.md" in digests
    assert site_packages_files(installed) == before  # nothing written into the install


def test_installed_docs_write_into_the_current_folder(installed: Path, tmp_path: Path) -> None:
    before = site_packages_files(installed)
    done = run_installed(installed, ["docs"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("tables.md", "configuration.md"):
        assert (tmp_path / "docs" / name).read_text() == (ROOT / "docs" / name).read_text()
    given = run_installed(installed, ["docs", "--dir", "elsewhere/d"], cwd=tmp_path)
    assert given.returncode == 0, given.stderr
    assert (tmp_path / "elsewhere" / "d" / "tables.md").is_file()
    assert site_packages_files(installed) == before

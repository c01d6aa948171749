"""The store meets a full disk or damage (issue 12, item 7): exit 5 with the file and the way
out, never a traceback; the published tables stay; following the way out finishes the job.
The full disk is real: a small tmpfs mounted over raw/arxiv (needs root; skipped without)."""

from __future__ import annotations

import gzip
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from test_enrich_e2e import SAMPLE_ENTRY_COUNT, cli, make_raw, run_cli, table_bytes

from pipeline.standin import CorpusRecord, StandIn

PAGE = 4096  # SQLite's default page size


def new_digest(standin_corpus: list[CorpusRecord], published: pl.DataFrame, n: int) -> str:
    """A digest linking `n` corpus papers the published tables do not hold yet."""
    known = set(published.get_column("arxiv_id").drop_nulls())
    fresh = [r for r in standin_corpus if r.id not in known and "/" not in r.id][:n]
    assert len(fresh) == n
    return "".join(f"## {r.title}\n[link](https://arxiv.org/abs/{r.id})\n\n" for r in fresh)


@pytest.fixture
def small_disk() -> Iterator[Callable[[Path, int], None]]:
    """mount(folder, size_kb): a tmpfs of that size over `folder`, unmounted afterwards."""
    mounted: list[Path] = []

    def mount(folder: Path, size_kb: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path, leave_kb: int) -> Path:
    """Fill the file system holding `folder` until `leave_kb` KiB are free."""
    filler = folder / "filler"
    vfs = os.statvfs(folder)
    free = vfs.f_bavail * vfs.f_frsize - leave_kb * 1024
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free))
    return filler


@pytest.mark.parametrize("leave_kb", [0, 8, 48, 96, 160])
def test_a_full_disk_under_the_store_is_exit_5_and_loses_nothing(
    tmp_path: Path,
    standin: StandIn,
    standin_corpus: list[CorpusRecord],
    small_disk: Callable[[Path, int], None],
    leave_kb: int,
) -> None:
    raw, out = make_raw(tmp_path)
    small_disk(raw / "arxiv", 8192)
    args = cli("enrich", raw=raw, out=out, url=standin.url)
    assert run_cli(args).returncode == 0
    published = table_bytes(out)
    entries = pl.read_parquet(out / "entries.parquet")
    (raw / "digests" / "new.md").write_text(new_digest(standin_corpus, entries, 30))
    filler = fill(raw / "arxiv", leave_kb)

    full = run_cli(args)
    assert full.returncode == 5, full.stderr
    assert "Traceback" not in full.stderr
    [error] = [line for line in full.stderr.splitlines() if line.startswith("error: ")]
    assert f"{raw / 'arxiv'}" in error and "is full" in error and "free space there" in error
    assert table_bytes(out) == published  # refused before anything was published

    filler.unlink()  # the way out
    again = run_cli(args)
    assert again.returncode == 0, again.stderr
    entries = pl.read_parquet(out / "entries.parquet")
    assert entries.height == SAMPLE_ENTRY_COUNT + 30
    assert set(entries.get_column("resolution")) == {"link", "title"}


def test_a_full_disk_under_the_output_folder_keeps_the_tables(
    tmp_path: Path, standin: StandIn, small_disk: Callable[[Path, int], None]
) -> None:
    raw, out = make_raw(tmp_path)
    small_disk(out, 4096)
    args = cli("enrich", raw=raw, out=out, url=standin.url)
    assert run_cli(args).returncode == 0
    published = table_bytes(out)
    (raw / "digests" / "sample-digest.md").touch()  # defeats the carry-over: tables rewritten
    filler = fill(out, 16)
    full = run_cli(args)
    assert full.returncode == 5, full.stderr
    assert "Traceback" not in full.stderr and "free space there" in full.stderr
    assert table_bytes(out) == published
    filler.unlink()
    assert run_cli(args).returncode == 0


def damage_pages(store: Path) -> None:
    """Overwrite every page after the first (the schema) with noise, as a bad disk would."""
    data = bytearray(store.read_bytes())
    assert len(data) > 4 * PAGE
    for offset in range(PAGE, len(data), PAGE):
        data[offset : offset + 64] = os.urandom(64)
    store.write_bytes(bytes(data))


def test_a_store_with_damaged_pages_is_exit_5_with_the_way_out(
    tmp_path: Path, standin: StandIn
) -> None:
    raw, out = make_raw(tmp_path)
    args = cli("enrich", raw=raw, out=out, url=standin.url)
    assert run_cli(args).returncode == 0
    published = table_bytes(out)
    store = raw / "arxiv" / "metadata.sqlite"
    damage_pages(store)

    damaged = run_cli(args)
    assert damaged.returncode == 5, damaged.stderr
    assert "Traceback" not in damaged.stderr
    [error] = [line for line in damaged.stderr.splitlines() if line.startswith("error: ")]
    assert f"metadata store {store}: database disk image is malformed" in error
    assert f"mv {store} {store}.damaged" in error and "rebuild-store" in error
    assert table_bytes(out) == published

    for leftover in store.parent.glob("metadata.sqlite*"):  # the way out, as it says
        leftover.rename(leftover.with_name(leftover.name + ".damaged"))
    rebuilt = run_cli(cli("rebuild-store", raw=raw, out=out, url=standin.url))
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = run_cli(args)
    assert again.returncode == 0, again.stderr
    assert pl.read_parquet(out / "entries.parquet").height == SAMPLE_ENTRY_COUNT


def test_rebuild_store_skips_and_lists_unreadable_answers(tmp_path: Path, standin: StandIn) -> None:
    raw, out = make_raw(tmp_path)
    args = [*cli("enrich", raw=raw, out=out, url=standin.url, delay=0.01), "--batch-size", "10"]
    assert run_cli(args).returncode == 0
    answers = sorted((raw / "arxiv" / "responses").glob("*.xml.gz"))
    assert len(answers) >= 4
    truncated, garbled, not_a_feed = answers[0], answers[1], answers[2]
    truncated.write_bytes(truncated.read_bytes()[:40])
    garbled.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    not_a_feed.write_bytes(gzip.compress(b"<html>503 Service Unavailable</html>"))
    for leftover in (raw / "arxiv").glob("metadata.sqlite*"):
        leftover.unlink()

    rebuilt = run_cli(cli("rebuild-store", raw=raw, out=out, url=standin.url))
    assert rebuilt.returncode == 0, rebuilt.stderr
    lines = rebuilt.stdout.splitlines()
    papers = int(lines[0].split()[0])
    assert papers > 0
    assert lines[1].startswith("3 kept answers could not be read and were skipped")
    listed = [line.strip().split(":", 1)[0] for line in lines[2:]]
    assert listed == [p.relative_to(raw).as_posix() for p in (truncated, garbled, not_a_feed)]
    # The rest was rebuilt, and a run fetches afresh what the skipped answers held.
    again = run_cli(args)
    assert again.returncode == 0, again.stderr
    assert pl.read_parquet(out / "entries.parquet").height == SAMPLE_ENTRY_COUNT

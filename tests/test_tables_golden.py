"""The tables of a fixed synthetic corpus, byte for byte as recorded.

`tests/fixtures/golden_tables.json` holds the SHA-256 of every table that does not record
the runs themselves, as the pipeline wrote them before the data path went columnar (store
rows read as frames, tables built by joins, rows of unchanged digests carried over): the
hashes were taken with the record-object code of main at f164afd. Any
change to how data reaches the tables must leave every byte as it was; a change meant to
alter the tables regenerates the file (`python -m tests.test_tables_golden`) and says why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from bench.harness import folder_paths, prepopulate, settings_for, with_witness
from bench.synth import synth_papers, to_paper_record, write_digests
from pipeline.fetch.titles import title_phrase
from pipeline.model import Author, PaperRecord, PaperVersion
from pipeline.run import enrich
from pipeline.standin import StandIn
from pipeline.store import MetadataStore
from pipeline.tables import TABLES
from pipeline.write import RunRecord

GOLDEN = Path(__file__).parent / "fixtures" / "golden_tables.json"
PAPERS = 1500
SEED = 7
FETCHED_AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
REFRESH_DAYS = 36500  # the stored answers are never due for refresh


def _varied(record: PaperRecord, index: int) -> PaperRecord:
    """Give some records what the synthetic ones lack: affiliations, DOIs, a journal
    reference, a withdrawal, a category listed twice, a fetch time without microseconds, a
    source with license and versions."""
    changes: dict[str, Any] = {}
    if index % 7 == 0:
        authors = list(record.authors)
        authors[0] = Author(authors[0].name, ("Univ. A", "Lab B"))
        authors[-1] = Author(authors[-1].name, ("Inst. C",))
        changes["authors"] = authors
    if index % 11 == 0:
        changes["dois"] = [f"10.1000/x{index}", f"10.1000/y{index}"]
        changes["journal_ref"] = f"J. Synth. {index} (2024)"
    if index % 13 == 0:
        changes["withdrawn"] = True
    if index % 17 == 0:
        changes["categories"] = [*record.categories, record.categories[0]]
    if index % 19 == 0:
        changes["fetched_at"] = FETCHED_AT.replace(microsecond=0)
    if index % 23 == 0:  # as OAI-PMH gives it: a license and the version history
        changes["source"] = "oai"
        changes["license"] = "http://creativecommons.org/licenses/by/4.0/"
        changes["versions"] = [
            PaperVersion(1, record.published, 120, "D"),
            *([PaperVersion(record.version, record.updated, None, "I")] * (record.version > 1)),
        ]
    return dataclasses.replace(record, **changes)


def build_corpus(folder: Path) -> None:
    """Digests and a filled store in `folder`, as bench/scale.py prepares them."""
    paths = folder_paths(folder)
    paths.digests.mkdir(parents=True)
    papers = synth_papers(PAPERS, seed=SEED)
    files = write_digests(papers, paths.digests, seed=SEED)
    by_id = {p.arxiv_id: p for p in papers}
    searches = {
        title_phrase(by_id[i].title): [i] for f in files if f.without_id for i in f.arxiv_ids
    }
    # Every 50th paper is left out of the store, arXiv having said it has none (at a fixed
    # time, so no request is sent): its entries resolve otherwise or not.
    records = [
        _varied(to_paper_record(p, FETCHED_AT), i) for i, p in enumerate(papers) if i % 50 != 49
    ]
    prepopulate(paths, records, searches)
    missing = [(p.arxiv_id, FETCHED_AT.isoformat()) for i, p in enumerate(papers) if i % 50 == 49]
    with MetadataStore(paths.metadata_db) as store, store.db:
        store.db.executemany("INSERT INTO id_outcomes VALUES (?, 'not_found', 1, NULL, ?)", missing)


def table_hashes(folder: Path) -> dict[str, str]:
    paths = folder_paths(folder)
    return {
        t.name: hashlib.sha256(paths.table(t.name).read_bytes()).hexdigest()
        for t in TABLES
        if not t.varies_by_run
    }


def enriched_hashes(folder: Path) -> dict[str, str]:
    build_corpus(folder)
    enrich_folder(folder)
    return table_hashes(folder)


def enrich_folder(folder: Path, part_entries: int = 100_000) -> RunRecord:
    with StandIn(with_witness([])) as server:
        settings = settings_for(
            folder,
            server.url,
            0.05,
            refresh_days=REFRESH_DAYS,
            oai_refresh_days=REFRESH_DAYS,
            allow_shrink=True,
            part_entries=part_entries,
        )
        return enrich(settings).record


@pytest.mark.slow
def test_tables_are_byte_identical_to_the_recorded_ones(tmp_path: Path) -> None:
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert enriched_hashes(tmp_path) == recorded


@pytest.mark.slow
def test_a_run_in_parts_writes_the_tables_and_counts_of_a_run_in_one(tmp_path: Path) -> None:
    """Parts of about 97 entries (a dozen digest files or fewer each), with a digest copied
    so that its papers are listed in two parts: every table byte for byte as in one part,
    the recorded ones too, and the same counts in the run log."""
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    parts, whole, again = tmp_path / "parts", tmp_path / "whole", tmp_path / "again"
    build_corpus(parts)
    enrich_folder(parts, part_entries=97)
    assert table_hashes(parts) == recorded
    for folder in (whole, again):
        build_corpus(folder)
        copy_a_digest(folder)
    one = enrich_folder(whole)
    many = enrich_folder(again, part_entries=97)
    assert table_hashes(again) == table_hashes(whole)
    # Not the requests: a part's last batch of IDs and of titles is sent short.
    counted = [f.name for f in dataclasses.fields(RunRecord) if f.type == "int"]
    counted = [name for name in counted if name not in ("requests", "retries")]
    assert {n: getattr(many, n) for n in counted} == {n: getattr(one, n) for n in counted}
    assert one.ids_requested == one.found + one.not_found + one.invalid + one.failed
    assert not (again / "out" / ".scratch").exists()


def edit_digests(folder: Path) -> list[str]:
    """A title rewritten in one digest, another digest copied under a new name, a third
    removed; the digests changed or added (as entries name them)."""
    digests = folder_paths(folder).digests
    edited = next(digests.glob("heading_link/*.md"))
    copied, removed = sorted(digests.glob("hf_json*/*.json"))[:2]
    text = edited.read_text(encoding="utf-8")
    first_title = next(line for line in text.splitlines() if line.startswith("## "))
    edited.write_text(text.replace(first_title, "## A Title No Paper Has", 1), encoding="utf-8")
    added = copied.with_name("2099-01-01_copy.json")
    added.write_bytes(copied.read_bytes())
    removed.unlink()
    return [f"digests/{p.relative_to(digests).as_posix()}" for p in (edited, added)]


@pytest.mark.slow
@pytest.mark.parametrize("in_parts", [False, True], ids=["one part", "in parts"])
def test_a_run_after_digests_changed_parses_only_those_and_writes_what_a_full_run_writes(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    in_parts: bool,
) -> None:
    """In parts: the carried rows are read a few digests at a time (more than a part's
    worth of them) and the paper tables made a few hundred papers at a time."""
    import pipeline.run

    part_entries = 700 if in_parts else 100_000  # the changed digests hold fewer
    if in_parts:
        monkeypatch.setattr("pipeline.run.PAPER_CHUNK", 300)
    ranges: list[tuple[str, str]] = []
    digest_ranges = pipeline.run._digest_ranges

    def seen_ranges(sizes: dict[str, int], rows: int) -> Iterator[tuple[str, str]]:
        ranges.extend(digest_ranges(sizes, rows))
        return iter(ranges)

    monkeypatch.setattr("pipeline.run._digest_ranges", seen_ranges)
    incremental, full = tmp_path / "incremental", tmp_path / "full"
    build_corpus(incremental)
    enrich_folder(incremental, part_entries)
    changed = edit_digests(incremental)
    with caplog.at_level(logging.INFO, logger="pipeline"):
        record = enrich_folder(incremental, part_entries)
    parsed = [m.split(":")[0] for m in caplog.messages if m.startswith("digests/")]
    assert sorted(parsed) == sorted(changed)
    assert record.status == "ok" and record.requests > 0  # the new wrong title is searched
    # Other papers (a digest gone): the published rows of those still named are carried.
    (carried,) = [m for m in caplog.messages if m.startswith("rows of ")]
    assert int(carried.split()[2]) > PAPERS // 2, carried

    build_corpus(full)
    edit_digests(full)
    whole = enrich_folder(full)
    assert table_hashes(incremental) == table_hashes(full)
    assert (len(ranges) > 1) == in_parts, ranges
    # What was found and resolved, not what this run had to ask (the full run's first fetch
    # asks for the papers missing from the store; the incremental run knows them).
    asked = {"requests", "retries", "title_searches", "from_store", "exit_code"}
    counted = [f.name for f in dataclasses.fields(RunRecord) if f.type == "int"]
    counted = [name for name in counted if name not in asked]
    assert {n: getattr(record, n) for n in counted} == {n: getattr(whole, n) for n in counted}


def edit_a_linked_title(folder: Path) -> str:
    """One linked paper's title rewritten in one digest, as a corrected digest would be: the
    entry still resolves by its link, nothing is asked. The digest (as entries name it)."""
    titles = {p.arxiv_id: p.title for p in synth_papers(PAPERS, seed=SEED)}
    digests = folder_paths(folder).digests
    for path in sorted(digests.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for arxiv_id in re.findall(r"\b\d{4}\.\d{4,5}\b", text):
            if titles.get(arxiv_id, "\0") in text:
                edited = text.replace(titles[arxiv_id], f"{titles[arxiv_id]} Revisited", 1)
                path.write_text(edited, encoding="utf-8")
                return f"digests/{path.relative_to(digests).as_posix()}"
    raise AssertionError("no digest names a paper by link and title")


def copy_a_digest(folder: Path) -> str:
    """A digest copied under a new name: the same papers, featured once more each."""
    digests = folder_paths(folder).digests
    copied = sorted(digests.glob("hf_json*/*.json"))[0]
    added = copied.with_name("2099-01-01_again.json")
    added.write_bytes(copied.read_bytes())
    return f"digests/{added.relative_to(digests).as_posix()}"


LINKED = ("papers", "authors", "categories", "versions", "fetch_log")


@pytest.mark.slow
@pytest.mark.parametrize("edit", [edit_a_linked_title, copy_a_digest])
def test_a_digest_edited_with_nothing_to_ask_keeps_the_paper_tables_and_the_fetch_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, edit: Callable[[Path], str]
) -> None:
    incremental, full = tmp_path / "incremental", tmp_path / "full"
    build_corpus(incremental)
    enrich_folder(incremental)
    paths = folder_paths(incremental)
    fetch_log = paths.table("fetch_log").read_bytes()
    linked = {name: paths.table(name).stat().st_ino for name in LINKED}
    changed = edit(incremental)
    with caplog.at_level(logging.INFO, logger="pipeline"):
        record = enrich_folder(incremental)
    assert record.status == "ok" and record.requests == 0
    assert [m.split(":")[0] for m in caplog.messages if m.startswith("digests/")] == [changed]
    assert "the papers are as published: their tables kept, and the fetch log" in caplog.messages
    counted = [m for m in caplog.messages if m.startswith("the papers' counts")]
    assert len(counted) == (edit is copy_a_digest)  # each paper of the copy featured again
    published = {name: paths.table(name).stat().st_ino for name in LINKED}
    # Not written again: the files of the run before (but papers with new counts).
    rewritten = {name for name in LINKED if published[name] != linked[name]}
    assert rewritten == ({"papers"} if counted else set())

    build_corpus(full)
    edit(full)
    enrich_folder(full)
    assert table_hashes(incremental) == table_hashes(full)
    # The fetch log as the store holds it: what a whole run writes from it.
    assert paths.table("fetch_log").read_bytes() == fetch_log
    with MetadataStore(paths.metadata_db) as store:
        logged = list(store.fetch_log_rows())
    log = pl.read_parquet(paths.table("fetch_log"))
    assert log.height == len(logged) > 0
    assert log.drop("logged_at").rows() == [row[:5] for row in logged]


@pytest.mark.slow
def test_published_rows_that_cannot_be_read_again_mean_a_whole_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The published files are checked before a run carries their rows, not every page:
    a page found damaged while the rows are read means a whole run, its tables whole."""
    damaged, full = tmp_path / "damaged", tmp_path / "full"
    build_corpus(damaged)
    enrich_folder(damaged)
    mismatches = folder_paths(damaged).table("mismatches").resolve()
    data = bytearray(mismatches.read_bytes())
    data[4:68] = bytes(64)  # the first page's header: the footer still reads
    mismatches.write_bytes(bytes(data))
    edit_digests(damaged)
    with caplog.at_level(logging.INFO, logger="pipeline"):
        record = enrich_folder(damaged)
    (warning,) = [m for m in caplog.messages if m.startswith("the published tables could not")]
    assert warning.endswith(": reconciling all"), warning
    after = caplog.messages[caplog.messages.index(warning) :]
    parsed = [m for m in after if m.startswith("digests/")]
    assert record.status == "ok" and len(parsed) == record.digests
    build_corpus(full)
    edit_digests(full)
    enrich_folder(full)
    assert table_hashes(damaged) == table_hashes(full)


if __name__ == "__main__":  # regenerate the recorded hashes
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        hashes = enriched_hashes(Path(scratch))
    GOLDEN.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}", file=sys.stderr)

"""The tables of a fixed synthetic corpus, byte for byte as recorded.

`tests/fixtures/golden_tables.json` holds the SHA-256 of every table that does not record
the runs themselves, as the pipeline wrote them before the data path went columnar (store
rows read as frames, tables built by joins, rows of unchanged digests carried over). Any
change to how data reaches the tables must leave every byte as it was; a change meant to
alter the tables regenerates the file (`python -m tests.test_tables_golden`) and says why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.harness import folder_paths, prepopulate, settings_for
from bench.synth import synth_papers, to_paper_record, write_digests
from pipeline.fetch.titles import title_phrase
from pipeline.model import Author, PaperRecord
from pipeline.run import enrich
from pipeline.standin import StandIn
from pipeline.tables import TABLES

GOLDEN = Path(__file__).parent / "fixtures" / "golden_tables.json"
PAPERS = 1500
SEED = 7
FETCHED_AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
REFRESH_DAYS = 36500  # the stored answers are never due for refresh


def _varied(record: PaperRecord, index: int) -> PaperRecord:
    """Give some records what the synthetic ones lack: affiliations, DOIs, a journal
    reference, a withdrawal, a category listed twice, a fetch time without microseconds."""
    changes: dict[str, object] = {}
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
    # Every 50th paper is left out of the store: its entries resolve otherwise or not.
    records = [
        _varied(to_paper_record(p, FETCHED_AT), i) for i, p in enumerate(papers) if i % 50 != 49
    ]
    prepopulate(paths, records, searches)


def table_hashes(folder: Path) -> dict[str, str]:
    paths = folder_paths(folder)
    return {
        t.name: hashlib.sha256(paths.table(t.name).read_bytes()).hexdigest()
        for t in TABLES
        if not t.varies_by_run
    }


def enriched_hashes(folder: Path) -> dict[str, str]:
    build_corpus(folder)
    with StandIn([]) as server:
        settings = settings_for(folder, server.url, 0.05, refresh_days=REFRESH_DAYS)
        enrich(settings)
    return table_hashes(folder)


@pytest.mark.slow
def test_tables_are_byte_identical_to_the_recorded_ones(tmp_path: Path) -> None:
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert enriched_hashes(tmp_path) == recorded


if __name__ == "__main__":  # regenerate the recorded hashes
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        hashes = enriched_hashes(Path(scratch))
    GOLDEN.write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}", file=sys.stderr)

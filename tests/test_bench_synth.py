"""bench.synth writes digests the parse stage reads back entry for entry, and its store
records equal what the fetch stage stores for the same papers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.synth import (
    LAYOUTS,
    PARSED_LAYOUT,
    synth_papers,
    to_corpus_record,
    to_paper_record,
    write_digests,
)
from pipeline.config import load_settings
from pipeline.fetch import fetch_papers
from pipeline.parse import parse_all
from pipeline.standin import StandIn
from pipeline.store import MetadataStore


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_parses_back_to_the_papers_written(tmp_path: Path, layout: str) -> None:
    papers = synth_papers(90, seed=7)
    written = write_digests(
        papers, tmp_path / "digests", seed=7, layouts=[layout], entries_per_file=(20, 40)
    )

    parsed = parse_all(tmp_path)

    assert sum(f.entries for f in written) == len(papers)
    assert all(f.entries <= 40 for f in written)
    assert all(f.entries >= 20 for f in written[:-1])  # the last file takes what is left
    assert [p.problems for p in parsed] == [[] for _ in parsed]
    assert {p.layout for p in parsed} == {PARSED_LAYOUT[layout]}
    entries = [e for p in parsed for e in p.entries]
    titles = [e.title for e in entries if e.title is not None]
    assert len(titles) == len(entries)
    assert sorted(titles) == sorted(p.title for p in papers)
    by_title = {p.title: p for p in papers}
    if layout == "newsletter_no_links":
        assert {e.id_status for e in entries} == {"missing"}
        assert sum(f.without_id for f in written) == len(papers)
    else:
        assert [e.arxiv_id for e in entries] == [by_title[t].arxiv_id for t in titles]
    if layout.startswith("hf_json"):  # only the HF dumps list authors
        assert [tuple(e.authors or ()) for e in entries] == [by_title[t].authors for t in titles]


def test_mixed_collection_has_the_requested_size_and_share_without_ids(tmp_path: Path) -> None:
    papers = synth_papers(1500, seed=11)
    written = write_digests(papers, tmp_path / "digests", seed=11)

    parsed = parse_all(tmp_path)

    entries = [e for p in parsed for e in p.entries]
    assert len(entries) == len(papers) == sum(f.entries for f in written)
    assert len({e.arxiv_id for e in entries if e.arxiv_id}) == len(papers) - sum(
        f.without_id for f in written
    )
    assert Counter(e.id_status for e in entries)["missing"] == sum(f.without_id for f in written)
    assert sum(f.size_bytes for f in written) == sum(
        (tmp_path / "digests" / f.path).stat().st_size for f in written
    )
    assert any("\u4e00" <= c <= "\u9fff" for e in entries for c in e.title_translated or "")


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    papers = synth_papers(300, seed=3)
    first = write_digests(papers, tmp_path / "a", seed=3)
    second = write_digests(synth_papers(300, seed=3), tmp_path / "b", seed=3)

    assert [f.path for f in first] == [f.path for f in second]
    for f in first:
        assert (tmp_path / "a" / f.path).read_bytes() == (tmp_path / "b" / f.path).read_bytes()


def test_store_records_equal_what_the_fetch_stage_stores(tmp_path: Path) -> None:
    # The scale benchmark writes to_paper_record() straight into the store instead of
    # fetching; this is what makes that equivalent.
    papers = synth_papers(25, seed=5)
    with StandIn([to_corpus_record(p) for p in papers]) as server:
        settings = load_settings(
            flags={
                "raw_dir": tmp_path / "raw",
                "out_dir": tmp_path / "out",
                "api_url": server.url,
                "delay_seconds": 0.02,
            },
            env={},
        )
        with MetadataStore(settings.paths.metadata_db) as store:
            report = fetch_papers([p.arxiv_id for p in papers], settings, store, "test")

    assert len(report.records) == len(papers)
    for paper in papers:
        fetched = report.records[paper.arxiv_id]
        assert to_paper_record(paper, fetched.fetched_at) == fetched

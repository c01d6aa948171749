"""Reconcile on real parsed digests, with the fetch stage asking the arXiv stand-in.

The flow the orchestrator runs: parse, fetch the IDs, titles_to_search, search_titles,
reconcile.
"""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path

import polars as pl
from test_reconcile import entry, frame

from pipeline.config import Settings, load_settings
from pipeline.fetch import fetch_papers, search_titles
from pipeline.parse import entries_frame, parse_digest
from pipeline.reconcile import ReconcileResult, reconcile, summary_lines, titles_to_search
from pipeline.standin import CorpusRecord, StandIn
from pipeline.store import MetadataStore

FIXTURES = Path(__file__).parent / "fixtures" / "digests"


def _settings(server: StandIn, tmp_path: Path) -> Settings:
    flags = {
        "api_url": server.url,
        "delay_seconds": 0.02,
        "raw_dir": tmp_path / "raw",
        "out_dir": tmp_path / "out",
    }
    return load_settings(flags=flags, env={})


def _enrich(entries: pl.DataFrame, settings: Settings) -> tuple[ReconcileResult, list[str]]:
    with MetadataStore(settings.paths.metadata_db) as store:
        ids = entries.filter(pl.col("id_status") == "ok")["arxiv_id"].unique().to_list()
        fetched = fetch_papers(ids, settings, store, "run-1")
        outcomes = {o.arxiv_id: o for o in fetched.outcomes}
        titles = titles_to_search(entries, fetched.records, outcomes)
        candidates, _ = search_titles(titles, settings, store, "run-1")
    return reconcile(entries, fetched.records, outcomes, candidates), titles


def _metadata_ids_by_title() -> dict[str, str]:
    """The same day's Hugging Face dump: a list of Python-repr strings with ID and title."""
    items = json.loads((FIXTURES / "2025-01-08_metadata.json").read_text(encoding="utf-8"))
    papers = [ast.literal_eval(item)["paper"] for item in items]
    return {" ".join(p["title"].split()): p["id"] for p in papers}


def test_newsletter_with_empty_links_resolves_entirely_by_title(
    standin: StandIn, tmp_path: Path
) -> None:
    parsed = parse_digest(FIXTURES / "2025-01-08_daily_paper.md", FIXTURES)
    entries = entries_frame([parsed])
    assert entries.height == 15 and entries["link"].is_null().all()

    result, titles = _enrich(entries, _settings(standin, tmp_path))

    assert len(titles) == 15
    expected = _metadata_ids_by_title()
    by_position = dict(zip(entries["position"], entries["title"], strict=True))
    assert [(r.resolution, r.arxiv_id) for r in result.all_resolutions()] == [
        ("title", expected[by_position[r.position]]) for r in result.all_resolutions()
    ]
    assert all(r.title_similarity == 100 for r in result.all_resolutions())
    assert result.mismatches == []
    assert summary_lines(result)[:3] == [
        "entries: 15",
        f"  {'link':<20} {0:>7}",
        f"  {'title':<20} {15:>7}",
    ]


def test_links_wrong_links_and_a_near_miss_against_the_standin(
    standin: StandIn, tmp_path: Path
) -> None:
    parsed = parse_digest(FIXTURES / "2025-01-14_daily_paper.md", FIXTURES)
    linked = entries_frame([parsed])
    cosmos = "Cosmos World Foundation Model Platform for Physical AI"
    extra = pl.DataFrame(
        [
            # a real paper behind an ID that does not exist
            {"position": 101, "title": cosmos, "arxiv_id": "2501.99999", "id_status": "ok"},
            # a near miss, behind a link to 1706.03762 "Attention Is All You Need"
            {"position": 102, "title": "Attention Is Not All You Need", "arxiv_id": "1706.03762"},
            # the right title behind the wrong paper's link
            {"position": 103, "title": "Attention Is All You Need", "arxiv_id": "2501.07301"},
        ],
        schema={"position": pl.Int32, "title": pl.Utf8, "arxiv_id": pl.Utf8, "id_status": pl.Utf8},
    ).with_columns(
        pl.lit(linked["digest"][0]).alias("digest"),
        pl.lit(date(2025, 1, 14)).alias("digest_date"),
        pl.col("id_status").fill_null("ok"),
    )
    entries = pl.concat([linked, extra], how="diagonal_relaxed")

    result, _ = _enrich(entries, _settings(standin, tmp_path))

    resolutions = {r.position: r for r in result.all_resolutions()}
    for position in linked["position"]:
        assert resolutions[position].resolution == "link", resolutions[position].reason
    assert (resolutions[101].resolution, resolutions[101].arxiv_id) == ("corrected", "2501.03575")
    assert resolutions[102].resolution == "unresolved"
    # arXiv's phrase search finds nothing (its stopwords "is not" leave a gap of two), the
    # search by distinctive words finds the original and others: none is accepted.
    near_miss = {c.arxiv_id: c.accepted for c in resolutions[102].candidates}
    assert near_miss["1706.03762"] is False and not any(near_miss.values())
    assert (resolutions[103].resolution, resolutions[103].arxiv_id) == ("corrected", "1706.03762")
    assert {(m.position, m.kind) for m in result.mismatches if m.position > 100} == {
        (101, "id_not_found"),
        (102, "title_differs"),
        (102, "unresolved"),
        (103, "id_points_elsewhere"),
    }


def _record(arxiv_id: str, title: str, published: str) -> CorpusRecord:
    return CorpusRecord(
        id=arxiv_id,
        title=title,
        abstract="An abstract.",
        authors=[("Ada Example", [])],
        primary_category="cs.CL",
        categories=["cs.CL"],
        comment=None,
        journal_ref=None,
        doi=None,
        versions=[published],
    )


def test_cut_and_respelled_titles_are_found_by_their_distinctive_words(tmp_path: Path) -> None:
    meta_cot = _record(
        "2501.04682",
        "Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Chain-of-Thought",
        "2025-01-08T18:00:00Z",
    )
    cot = _record(
        "2201.11903",
        "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models",
        "2022-01-28T02:33:07Z",
    )
    other = _record(
        "2203.11171",
        "Self-Consistency Improves Chain of Thought Reasoning in Language Models",
        "2022-03-21T17:48:52Z",
    )
    titles = [
        "Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Chain-of-Though",
        "Chain-of-Thought Prompting Elicits Reasoning in Large Language Mod…",
        "Self-Consistency Improves Chain of Thought Reasoning in Language Models",
    ]
    entries = frame(
        *(entry(i, t, None, digest_date=date(2025, 2, 1)) for i, t in enumerate(titles, 1))
    )
    with StandIn([meta_cot, cot, other]) as server:
        result, searched = _enrich(entries, _settings(server, tmp_path))
        log = server.log
    assert searched == titles
    assert [(r.resolution, r.arxiv_id) for r in result.all_resolutions()] == [
        ("title", "2501.04682"),
        ("title", "2201.11903"),
        ("title", "2203.11171"),
    ]
    # One phrase request, and one for the two phrases that found nothing.
    assert [r.params["search_query"].count("ti:") for r in log] == [3, 5 + 5]

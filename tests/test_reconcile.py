"""Resolutions and mismatches (pipeline.reconcile), on frames and records built here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline.model import (
    Author,
    FetchOutcome,
    FetchOutcomeKind,
    Mismatch,
    PaperRecord,
    Resolution,
)
from pipeline.parse import ENTRY_SCHEMA
from pipeline.reconcile import (
    ReconcileResult,
    is_transient,
    reconcile,
    rules,
    summary_lines,
    titles_to_search,
)
from pipeline.tables import MISMATCH_KINDS

DIGEST = "2025/2025-01-08_daily_paper.md"
DIGEST_DATE = date(2025, 1, 8)


def entry(position: int, title: str | None, link: str | None = None, **fields: Any) -> dict:
    """One row as the parser would emit it; the ID and version are read from `link` unless
    given, as the parser does for abs/pdf/Hugging Face links."""
    parsed = re.search(r"(\d{4}\.\d{4,5})(?:v(\d+))?", link or "")
    row: dict[str, Any] = {
        "digest": DIGEST,
        "position": position,
        "layout": "newsletter",
        "digest_date": DIGEST_DATE,
        "line": position * 10,
        "title_raw": title,
        "title": " ".join(title.split()) if title else None,
        "title_translated": None,
        "abstract": None,
        "authors": None,
        "link": link,
        "arxiv_id": parsed.group(1) if parsed else None,
        "version": int(parsed.group(2)) if parsed and parsed.group(2) else None,
        "id_status": "ok" if parsed else "missing",
        "warnings": [],
        "title_source": "heading" if title else "none",
        "block_text": None,
    }
    row.update(fields)
    return row


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ENTRY_SCHEMA)


def paper(
    arxiv_id: str,
    title: str,
    *,
    version: int = 1,
    authors: tuple[str, ...] = ("Ada Lovelace", "Alan Turing"),
    published: date = date(2025, 1, 3),
    withdrawn: bool = False,
    comment: str | None = None,
) -> PaperRecord:
    v1 = datetime(published.year, published.month, published.day, 17, 0, tzinfo=UTC)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        abstract="An abstract.",
        authors=[Author(name) for name in authors],
        published=v1,
        updated=v1,
        primary_category="cs.CL",
        categories=["cs.CL"],
        comment=comment,
        journal_ref=None,
        dois=[],
        withdrawn=withdrawn,
        fetched_at=datetime(2025, 2, 1, tzinfo=UTC),
    )


def outcomes_for(
    papers: dict[str, PaperRecord], **others: FetchOutcomeKind
) -> dict[str, FetchOutcome]:
    """Fetch outcomes: found for every paper, and `others` as {id_with_underscore: kind}."""
    result = {i: FetchOutcome(i, "found", 1) for i in papers}
    for key, kind in others.items():
        arxiv_id = key.lstrip("_").replace("_", ".")
        result[arxiv_id] = FetchOutcome(arxiv_id, kind, 5 if kind == "failed" else 1, "HTTP 503")
    return result


ATTENTION = paper(
    "1706.03762",
    "Attention Is All You Need",
    version=7,
    authors=("Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit"),
    published=date(2017, 6, 12),
)
REINFORCE = paper(
    "2501.03262",
    "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language Models",
    authors=("Jian Hu",),
)
COSMOS = paper("2501.03575", "Cosmos World Foundation Model Platform for Physical AI")


def run(
    rows: list[dict],
    papers: Sequence[PaperRecord] = (),
    candidates: dict[str, list[PaperRecord]] | None = None,
    **other_outcomes: FetchOutcomeKind,
) -> ReconcileResult:
    by_id = {p.arxiv_id: p for p in papers}
    return reconcile(frame(*rows), by_id, outcomes_for(by_id, **other_outcomes), candidates or {})


def kinds(result: ReconcileResult, position: int = 1) -> list[str]:
    return [m.kind for m in result.mismatches if m.position == position]


def only(result: ReconcileResult, kind: str) -> Mismatch:
    [found] = [m for m in result.mismatches if m.kind == kind]
    return found


def single(result: ReconcileResult) -> Resolution:
    [resolution] = result.all_resolutions()
    return resolution


# --- link -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digest_title",
    [
        "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language\n  Models",
        "reinforce++: a simple and efficient approach for aligning large language models",
        "REINFORCE++: A Simple and Efficient Approach for Aligning \\emph{Large} Language Models",
    ],
)
def test_link_whose_title_differs_only_by_wrapping_case_or_tex(digest_title: str) -> None:
    result = run([entry(1, digest_title, "https://arxiv.org/abs/2501.03262")], [REINFORCE])
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("link", "2501.03262")
    assert resolution.title_similarity == 100
    assert result.mismatches == []


@pytest.mark.parametrize(
    "link",
    [
        "https://arxiv.org/pdf/1706.03762v5",
        "https://arxiv.org/pdf/1706.03762v5.pdf",
        "arXiv:1706.03762v5",
        "https://arxiv.org/abs/1706.03762v5",
    ],
)
def test_versioned_link_to_an_older_version_is_outdated(link: str) -> None:
    result = run([entry(1, "Attention Is All You Need", link)], [ATTENTION])
    assert single(result).resolution == "link"
    outdated = only(result, "version_outdated")
    assert (outdated.digest_value, outdated.arxiv_value) == ("v5", "v7")
    assert outdated.arxiv_id == "1706.03762"


def test_hugging_face_link_without_version_is_a_plain_link() -> None:
    result = run(
        [entry(1, "Attention Is All You Need", "https://huggingface.co/papers/1706.03762")],
        [ATTENTION],
    )
    assert single(result).resolution == "link"
    assert result.mismatches == []


def test_link_naming_a_version_arxiv_does_not_have() -> None:
    result = run([entry(1, "Attention Is All You Need", "arXiv:1706.03762v9")], [ATTENTION])
    assert single(result).resolution == "link"
    assert (only(result, "version_unknown").digest_value, kinds(result)) == (
        "v9",
        ["version_unknown"],
    )


def test_entry_without_english_title_keeps_a_found_link() -> None:
    row = entry(1, None, "https://arxiv.org/abs/2501.03575", title_translated="面向物理AI的平台")
    result = run([row], [COSMOS])
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("link", "2501.03575")
    assert resolution.reason == "no English title to compare"
    assert resolution.title_similarity is None
    assert kinds(result) == ["title_unchecked"]  # the link stands, unchecked by any title


def test_renamed_paper_keeps_its_link_and_reports_the_title() -> None:
    renamed = paper(
        "2501.04001", "Sa2VA: Marrying SAM2 with LLaVA for Dense Video Grounding", version=3
    )
    old_title = "Sa2VA: Marrying SAM2 with LLaVA for Dense Grounded Understanding of Images"
    result = run([entry(1, old_title, "https://arxiv.org/abs/2501.04001v1")], [renamed])
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("link", "2501.04001")
    assert kinds(result) == ["title_differs", "version_outdated"]
    differs = only(result, "title_differs")
    assert (differs.digest_value, differs.arxiv_value) == (old_title, renamed.title)
    assert differs.similarity is not None and differs.similarity < 100
    assert "kept the link" in differs.action


def test_shortened_title_in_digest_keeps_the_link() -> None:
    result = run([entry(1, "Cosmos", "https://arxiv.org/abs/2501.03575")], [COSMOS])
    assert single(result).resolution == "link"
    assert kinds(result) == ["title_differs"]


def test_wholly_renamed_paper_keeps_its_link_when_the_authors_agree() -> None:
    renamed = paper("2501.04002", "Scaling Laws for Sparse Retrieval", version=2)
    row = entry(
        1,
        "How Dense Retrievers Learn to Forget",
        "https://arxiv.org/abs/2501.04002",
        authors=["A. Lovelace", "Alan Turing"],
    )
    result = run([row], [renamed])
    assert single(result).resolution == "link"
    assert "authors agree" in single(result).reason
    assert kinds(result) == ["title_differs"]


def test_link_to_the_same_groups_sequel_is_corrected_despite_agreeing_authors() -> None:
    # The digest describes part 2 but links part 1, by the same authors: a number changed,
    # so agreeing authors do not make the link trustworthy (docs/reconcile.md 2.1).
    part_1 = paper("2501.04010", "Scaling Sparse Retrievers, Part 1: Data")
    part_2 = paper("2501.04011", "Scaling Sparse Retrievers, Part 2: Data")
    row = entry(
        1, part_2.title, "https://arxiv.org/abs/2501.04010", authors=["Ada Lovelace", "A. Turing"]
    )
    result = run([row], [part_1], {part_2.title: [part_1, part_2]})
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("corrected", "2501.04011")
    assert kinds(result) == ["id_points_elsewhere"]


def test_withdrawn_paper_is_resolved_and_flagged() -> None:
    gone = paper(
        "2501.05005",
        "A Proof That Cannot Be Wrong",
        version=2,
        withdrawn=True,
        comment="This paper has been withdrawn by the author due to an error in Lemma 2",
    )
    result = run(
        [entry(1, "A Proof That Cannot Be Wrong", "https://arxiv.org/abs/2501.05005")], [gone]
    )
    assert single(result).resolution == "link"
    withdrawn = only(result, "withdrawn")
    assert withdrawn.arxiv_value == gone.comment
    assert withdrawn.arxiv_id == "2501.05005"


# --- corrected --------------------------------------------------------------------


def test_link_to_the_wrong_paper_is_corrected_by_title() -> None:
    title = "Cosmos World Foundation Model Platform for Physical AI"
    result = run(
        [entry(1, title, "https://arxiv.org/abs/2501.03262")],
        [REINFORCE],
        {title: [REINFORCE, COSMOS]},
    )
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("corrected", "2501.03575")
    assert resolution.title_similarity == 100
    elsewhere = only(result, "id_points_elsewhere")
    assert (elsewhere.arxiv_id, elsewhere.digest_value, elsewhere.arxiv_value) == (
        "2501.03575",
        "2501.03262",
        "2501.03575",
    )
    assert elsewhere.similarity is not None and elsewhere.similarity < 50  # vs the linked paper
    assert kinds(result) == ["id_points_elsewhere"]
    accepted = [c.arxiv_id for c in resolution.candidates if c.accepted]
    assert accepted == ["2501.03575"]


def test_nonexistent_id_is_corrected_by_title() -> None:
    title = COSMOS.title
    result = run(
        [entry(1, title, "https://arxiv.org/abs/2501.99999")],
        [],
        {title: [COSMOS]},
        _2501_99999="not_found",
    )
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("corrected", "2501.03575")
    missing = only(result, "id_not_found")
    assert (missing.digest_value, missing.arxiv_value) == ("2501.99999", "2501.03575")


def test_nonexistent_id_without_search_result_is_unresolved() -> None:
    result = run(
        [entry(1, COSMOS.title, "https://arxiv.org/abs/2501.99999")],
        [],
        {COSMOS.title: []},
        _2501_99999="not_found",
    )
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("unresolved", None)
    assert "does not exist" in resolution.reason and "found nothing" in resolution.reason
    assert kinds(result) == ["id_not_found", "unresolved"]
    assert only(result, "unresolved").arxiv_id == "2501.99999"


# --- title ------------------------------------------------------------------------


@pytest.mark.parametrize("link", [None, "", "[]()"])
def test_entry_without_link_is_found_by_title(link: str | None) -> None:
    result = run([entry(1, COSMOS.title, link)], [], {COSMOS.title: [REINFORCE, COSMOS]})
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("title", "2501.03575")
    assert result.mismatches == []
    assert {c.arxiv_id: c.accepted for c in resolution.candidates} == {
        "2501.03575": True,
        "2501.03262": False,
    }


def test_invalid_id_is_reported_and_resolved_by_title() -> None:
    row = entry(1, COSMOS.title, "https://arxiv.org/abs/2501.3575x", id_status="invalid_id")
    row["arxiv_id"] = None
    result = run([row], [], {COSMOS.title: [COSMOS]})
    assert (single(result).resolution, single(result).arxiv_id) == ("title", "2501.03575")
    invalid = only(result, "id_invalid")
    assert (invalid.digest_value, invalid.arxiv_value) == (row["link"], "2501.03575")


def test_id_rejected_by_arxiv_counts_as_invalid() -> None:
    result = run(
        [entry(1, COSMOS.title, "arXiv:0808.05394")],
        [],
        {COSMOS.title: []},
        _0808_05394="invalid",
    )
    assert single(result).resolution == "unresolved"
    assert kinds(result) == ["id_invalid", "unresolved"]


def test_title_found_with_spelling_difference_is_reported() -> None:
    result = run(
        [entry(1, "Modelling Long Contexts with Sparse Attention Kernels")],
        [],
        {
            "Modelling Long Contexts with Sparse Attention Kernels": [
                paper("2501.06006", "Modeling Long Contexts with Sparse Attention Kernels")
            ]
        },
    )
    assert single(result).resolution == "title"
    assert only(result, "title_differs").arxiv_value == (
        "Modeling Long Contexts with Sparse Attention Kernels"
    )


def test_spelling_difference_alone_is_not_enough_without_date_or_authors() -> None:
    title = "Modelling Long Contexts with Sparse Attention Kernels"
    candidate = paper("2501.06006", "Modeling Long Contexts with Sparse Attention Kernels")
    result = run([entry(1, title, digest_date=None)], [], {title: [candidate]})
    assert single(result).resolution == "unresolved"
    assert "no authors or date" in single(result).candidates[0].why


# --- near misses and evidence -------------------------------------------------------

NOT_ALL = "Attention Is Not All You Need"


def test_near_miss_title_stays_unresolved() -> None:
    result = run([entry(1, NOT_ALL)], [], {NOT_ALL: [ATTENTION]})
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("unresolved", None)
    [candidate] = resolution.candidates
    assert (candidate.arxiv_id, candidate.accepted) == ("1706.03762", False)
    assert candidate.score > 90 and "negation" in candidate.why
    assert kinds(result) == ["unresolved"]
    unresolved = only(result, "unresolved")
    assert unresolved.similarity == candidate.score
    assert unresolved.arxiv_value == "1706.03762: Attention Is All You Need"


def test_near_miss_behind_a_link_is_not_accepted_as_that_paper() -> None:
    result = run(
        [entry(1, NOT_ALL, "https://arxiv.org/abs/1706.03762")], [ATTENTION], {NOT_ALL: []}
    )
    resolution = single(result)
    assert resolution.resolution == "unresolved"
    assert [(c.arxiv_id, c.accepted) for c in resolution.candidates] == [("1706.03762", False)]
    assert kinds(result) == ["title_differs", "unresolved"]


def test_near_miss_is_accepted_when_the_authors_agree() -> None:
    row = entry(1, NOT_ALL, authors=["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"])
    result = run([row], [], {NOT_ALL: [ATTENTION]})
    assert (single(result).resolution, single(result).arxiv_id) == ("title", "1706.03762")
    assert kinds(result) == ["authors_differ", "title_differs"]  # Uszkoreit not listed


def test_added_word_needs_the_authors() -> None:
    title = "Attention Is All You Need Today"
    assert single(run([entry(1, title)], [], {title: [ATTENTION]})).resolution == "unresolved"
    with_authors = entry(1, title, authors=["Vaswani, Ashish", "Shazeer, Noam"])
    assert single(run([with_authors], [], {title: [ATTENTION]})).resolution == "title"


def test_candidate_published_after_the_digest_date_is_rejected() -> None:
    later = paper("2502.01234", COSMOS.title, published=date(2025, 2, 3))
    result = run([entry(1, COSMOS.title)], [], {COSMOS.title: [later]})
    resolution = single(result)
    assert resolution.resolution == "unresolved"
    assert "after the digest's date" in resolution.candidates[0].why


def test_two_equally_good_candidates_are_ambiguous_until_authors_decide() -> None:
    twin_a = paper("2501.00001", "Scaling Laws", authors=("Jun Wang", "Li Wei"))
    twin_b = paper("2501.00002", "Scaling Laws", authors=("Maria Garcia",))
    result = run([entry(1, "Scaling Laws")], [], {"Scaling Laws": [twin_a, twin_b]})
    assert single(result).resolution == "unresolved"
    assert "ambiguous" in single(result).reason
    row = entry(1, "Scaling Laws", authors=["Wang Jun", "Wei Li"])  # family names first
    result = run([row], [], {"Scaling Laws": [twin_a, twin_b]})
    assert (single(result).resolution, single(result).arxiv_id) == ("title", "2501.00001")
    assert result.mismatches == []


def test_no_search_made_is_said_so() -> None:
    result = run([entry(1, COSMOS.title)], [], {})
    assert "no title search was made" in single(result).reason


# --- fetch failures -----------------------------------------------------------------


def test_failed_fetch_without_search_result_is_transient() -> None:
    result = run(
        [entry(1, COSMOS.title, "https://arxiv.org/abs/2501.03575")],
        [],
        {COSMOS.title: []},
        _2501_03575="failed",
    )
    resolution = single(result)
    assert resolution.resolution == "unresolved"
    assert resolution.reason.startswith("fetch failed: HTTP 503")
    assert is_transient(resolution)
    assert kinds(result) == ["unresolved"]


def test_failed_fetch_confirmed_by_title_search_is_a_link() -> None:
    result = run(
        [entry(1, COSMOS.title, "https://arxiv.org/abs/2501.03575")],
        [],
        {COSMOS.title: [COSMOS]},
        _2501_03575="failed",
    )
    assert (single(result).resolution, single(result).arxiv_id) == ("link", "2501.03575")
    assert not is_transient(single(result))


def test_failed_fetch_with_another_paper_found_is_a_title_resolution() -> None:
    result = run(
        [entry(1, COSMOS.title, "https://arxiv.org/abs/2501.01111")],
        [],
        {COSMOS.title: [COSMOS]},
        _2501_01111="failed",
    )
    assert (single(result).resolution, single(result).arxiv_id) == ("title", "2501.03575")
    assert "unchecked" in single(result).reason


def test_id_never_fetched_is_transient() -> None:
    by_id: dict[str, PaperRecord] = {}
    rows = frame(entry(1, None, "https://arxiv.org/abs/2501.03575"))
    resolution = single(reconcile(rows, by_id, {}, {}))
    assert resolution.resolution == "unresolved" and is_transient(resolution)


# --- authors, dates, duplicates ---------------------------------------------------


def test_author_lists_compared_order_insensitively() -> None:
    row = entry(
        1,
        "Attention Is All You Need",
        "https://arxiv.org/abs/1706.03762",
        authors=["Jakob Uszkoreit", "Vaswani, Ashish", "N. Parmar", "Noam Shazeer"],
    )
    assert run([row], [ATTENTION]).mismatches == []


def test_authors_differ_reports_missing_and_extra_names() -> None:
    row = entry(
        1,
        "Attention Is All You Need",
        "https://arxiv.org/abs/1706.03762",
        authors=["Ashish Vaswani", "Noam Shazeer", "Geoffrey Hinton"],
    )
    differ = only(run([row], [ATTENTION]), "authors_differ")
    assert differ.digest_value == "Geoffrey Hinton"
    assert differ.arxiv_value == "Niki Parmar; Jakob Uszkoreit"
    assert differ.similarity == pytest.approx(200 * 2 / 7, abs=0.1)


def test_truncated_author_list_reports_only_wrong_names() -> None:
    row = entry(
        1,
        "Attention Is All You Need",
        "https://arxiv.org/abs/1706.03762",
        authors=["Ashish Vaswani", "Noam Shazeer et al."],
    )
    assert run([row], [ATTENTION]).mismatches == []


def test_digest_dated_before_v1_is_impossible() -> None:
    row = entry(1, "Attention Is All You Need", "arXiv:1706.03762", digest_date=date(2017, 6, 1))
    result = run([row], [ATTENTION])
    assert single(result).resolution == "link"
    impossible = only(result, "date_impossible")
    assert (impossible.digest_value, impossible.arxiv_value) == ("2017-06-01", "2017-06-12")


def test_one_day_before_v1_is_within_the_time_zone_slack() -> None:
    row = entry(1, "Attention Is All You Need", "arXiv:1706.03762", digest_date=date(2017, 6, 11))
    assert run([row], [ATTENTION]).mismatches == []


def test_same_paper_twice_in_a_digest_is_a_duplicate_but_not_across_digests() -> None:
    rows = [
        entry(1, "Attention Is All You Need", "arXiv:1706.03762"),
        entry(2, COSMOS.title, "https://arxiv.org/abs/2501.03575"),
        entry(3, "Attention is all you need", None),  # found again, by title
        entry(1, "Attention Is All You Need", "arXiv:1706.03762", digest="other.md"),
    ]
    result = run(rows, [ATTENTION, COSMOS], {"Attention is all you need": [ATTENTION]})
    duplicate = only(result, "duplicate_in_digest")
    assert (duplicate.digest, duplicate.position, duplicate.arxiv_id) == (DIGEST, 3, "1706.03762")
    assert duplicate.arxiv_value == "also at position 1"


# --- unresolved without any handle ----------------------------------------------------


def test_no_id_and_no_english_title_is_unresolved() -> None:
    result = run([entry(1, None, None, title_translated="只有中文标题")])
    resolution = single(result)
    assert resolution.resolution == "unresolved"
    assert resolution.reason == "no arXiv ID in the digest; no English title to search"
    assert kinds(result) == ["unresolved"]


# --- search list, ordering, summary ---------------------------------------------------


def test_titles_to_search_lists_each_unsettled_title_once_in_entry_order() -> None:
    rows = [
        entry(5, "Title Without Link"),
        entry(1, REINFORCE.title, "https://arxiv.org/abs/2501.03262"),  # good link
        entry(2, "Some Other Paper Entirely", "https://arxiv.org/abs/2501.03575"),  # wrong
        entry(3, "A Nonexistent One", "https://arxiv.org/abs/2501.99999"),
        entry(4, "Broken Link", "arxiv.org/abs/25.x", id_status="invalid_id", arxiv_id=None),
        entry(6, "Title Without Link"),  # same title again
        entry(7, None, None),  # nothing to search with
        entry(8, "Fetch Failed Here", "https://arxiv.org/abs/2501.01111"),
        entry(9, None, "https://arxiv.org/abs/2501.03575"),  # good link, no English title
        entry(1, "Z Title", None, digest="0-earlier.md"),
    ]
    by_id = {p.arxiv_id: p for p in (REINFORCE, COSMOS)}
    outcomes = outcomes_for(by_id, _2501_99999="not_found", _2501_01111="failed")
    assert titles_to_search(frame(*rows), by_id, outcomes) == [
        "Z Title",
        "Some Other Paper Entirely",
        "A Nonexistent One",
        "Broken Link",
        "Title Without Link",
        "Fetch Failed Here",
    ]


def test_outputs_are_sorted_whatever_the_input_order() -> None:
    rows = [
        entry(3, "Attention Is Not All You Need"),
        entry(1, "Attention Is All You Need", "arXiv:1706.03762v1", digest_date=date(2017, 1, 1)),
        entry(2, "Nothing", digest="z.md"),
    ]
    result = run(rows, [ATTENTION], {})
    assert [(r.digest, r.position) for r in result.all_resolutions()] == [
        (DIGEST, 1),
        (DIGEST, 3),
        ("z.md", 2),
    ]
    keys = [(m.digest, m.position, m.kind) for m in result.mismatches]
    assert keys == sorted(keys)
    assert [k for _, p, k in keys if p == 1] == ["date_impossible", "version_outdated"]


def test_summary_counts_each_resolution_and_mismatch_kind() -> None:
    rows = [
        entry(1, "Attention Is All You Need", "arXiv:1706.03762v5"),
        entry(2, COSMOS.title),
        entry(3, NOT_ALL),
        entry(4, REINFORCE.title, "https://arxiv.org/abs/2501.01111"),
    ]
    result = run(
        rows, [ATTENTION], {COSMOS.title: [COSMOS], NOT_ALL: [ATTENTION]}, _2501_01111="failed"
    )
    lines = summary_lines(result)
    split = lines.index(f"mismatches: {len(result.mismatches)}")

    def counts(section: list[str]) -> dict[str, int]:
        return {line.split()[0]: int(line.split()[1]) for line in section}

    assert lines[0] == "entries: 4"
    assert counts(lines[1:split]) == {"link": 1, "title": 1, "corrected": 0, "unresolved": 2}
    assert counts(lines[split + 1 :]) == {"unresolved": 2, "version_outdated": 1}
    assert lines[4].endswith("(1 wait on arXiv, retried next run)")


def test_frame_without_required_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="title"):
        reconcile(frame(entry(1, "x")).drop("title"), {}, {}, {})


def test_every_mismatch_kind_and_threshold_is_documented() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "reconcile.md").read_text(encoding="utf-8")
    for kind in MISMATCH_KINDS:
        assert f"`{kind}`" in doc, kind
    for name in dir(rules):
        if name.isupper():
            value = getattr(rules, name)
            assert f"`{name}` = {value:g}" in doc, name

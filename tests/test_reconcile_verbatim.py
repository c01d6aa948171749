"""Entries settled in one join (pipeline.reconcile.verbatim) get exactly what judging them one
by one gives: the oracle is reconcile itself with nothing to settle on (an empty paper frame)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reconcile import entry, frame, paper

from pipeline.model import Author, FetchOutcome, PaperRecord
from pipeline.reconcile import ReconcileResult, paper_columns, reconcile
from pipeline.reconcile.verbatim import settle_verbatim

TITLES = ("Attention Is All You Need", "attention is all you need", "???", r"$\alpha$-Nets")
NAMES = ("Ada Lovelace", "Alan Turing", "—", "Grace Hopper")
DIGEST_DATES = [date(2025, 1, day) for day in (1, 2, 3, 8)]  # around a v1 of 2025-01-03
DIGEST_AUTHORS: st.SearchStrategy[list[str] | None] = st.one_of(
    st.none(),
    st.just([]),
    st.lists(st.sampled_from([*NAMES, "", " Ada Lovelace", "et al.", "A. Lovelace"]), max_size=4),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict], dict[str, PaperRecord]]:
    """A few papers and entries linking them, varied in every field a rule reads."""
    papers: dict[str, PaperRecord] = {}
    for n in range(draw(st.integers(1, 3))):
        arxiv_id = f"2501.0000{n}"
        zone = timezone(timedelta(hours=draw(st.sampled_from([0, 5, -8]))))
        record = paper(
            arxiv_id,
            draw(st.sampled_from(TITLES)),
            version=draw(st.integers(1, 3)),
            authors=tuple(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3))),
            published=date(2025, 1, 3),
            withdrawn=draw(st.booleans()),
            comment="This paper has been withdrawn" if draw(st.booleans()) else None,
        )
        published = datetime(2025, 1, 3, draw(st.sampled_from([0, 12, 23])), tzinfo=zone)
        record.published = published
        papers[arxiv_id] = record
    rows = []
    for position in range(1, draw(st.integers(1, 6)) + 1):
        record = papers[draw(st.sampled_from(sorted(papers)))]
        version = draw(st.sampled_from([None, 1, 2, 3]))
        link = f"https://arxiv.org/abs/{record.arxiv_id}" + (f"v{version}" if version else "")
        authors = draw(st.one_of(st.just([a.name for a in record.authors]), DIGEST_AUTHORS))
        rows.append(
            entry(
                position,
                draw(st.sampled_from([record.title, *TITLES])),
                link,
                authors=authors,
                digest_date=draw(
                    st.sampled_from([None, *(date(2025, 1, d) for d in (1, 2, 3, 8))])
                ),
                title_source=draw(st.sampled_from(["heading", "line", "link text"])),
            )
        )
    return rows, papers


def judged(rows: list[dict], papers: dict[str, PaperRecord], settle: bool) -> ReconcileResult:
    outcomes = {i: FetchOutcome(i, "found", 1) for i in papers}
    columns = paper_columns(papers)
    return reconcile(
        frame(*rows), papers, outcomes, {}, paper_frame=columns if settle else columns.head(0)
    )


@settings(max_examples=300, deadline=None)
@given(cases())
def test_settled_entries_get_what_judging_them_gives(case: tuple) -> None:
    rows, papers = case
    fast, slow = judged(rows, papers, settle=True), judged(rows, papers, settle=False)
    assert slow.settled.is_empty()
    assert fast.all_resolutions() == slow.all_resolutions()
    assert fast.mismatches == slow.mismatches


def test_only_entries_no_rule_speaks_about_are_settled() -> None:
    record = paper("2501.00001", "Attention Is All You Need", version=2)
    record.authors = [Author("Ada Lovelace"), Author("Alan Turing")]
    papers = {record.arxiv_id: record}
    link = "https://arxiv.org/abs/2501.00001"
    names = ["Ada Lovelace", "Alan Turing"]
    rows = [
        entry(1, record.title, link),  # settled
        entry(2, record.title, link + "v2", authors=names),  # settled: same version, authors
        entry(3, record.title, link + "v1"),  # version_outdated
        entry(4, record.title, link, authors=["Alan Turing", "Ada Lovelace"]),  # order
        entry(5, record.title, link, authors=[*names, "et al."]),  # truncated list
        entry(6, record.title, link, digest_date=date(2024, 12, 1)),  # before v1
        entry(7, "Attention is all you need", link),  # not verbatim
    ]
    settled = settle_verbatim(frame(*rows), paper_columns(papers))
    assert settled.get_column("position").to_list() == [1, 2]
    withdrawn = paper("2501.00001", "Attention Is All You Need", withdrawn=True)
    assert settle_verbatim(frame(rows[0]), paper_columns({"2501.00001": withdrawn})).is_empty()
    # A duplicate among settled entries is still reported.
    result = judged([rows[0], {**rows[1], "version": None, "link": link}], papers, settle=True)
    assert result.settled.height == 2
    assert [m.kind for m in result.mismatches] == ["duplicate_in_digest"]
    assert pl.DataFrame(result.settled).get_column("arxiv_id").to_list() == ["2501.00001"] * 2

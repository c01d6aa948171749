"""The stand-in's search_query language (docs/arxiv.md §6), matched against small records."""

from __future__ import annotations

import pytest

from pipeline.standin import CorpusRecord
from pipeline.standin.corpus import RecordVersion
from pipeline.standin.search import (
    QuerySyntaxError,
    TitleStatistics,
    parse_search_query,
    relevance_key,
)


def paper(
    title: str,
    *,
    authors: tuple[str, ...] = ("Ada Example",),
    abstract: str = "An abstract.",
    comment: str | None = None,
    categories: tuple[str, ...] = ("cs.LG",),
    versions: tuple[str, ...] = ("2024-03-01T10:00:00Z",),
    paper_id: str = "2403.00001",
) -> RecordVersion:
    record = CorpusRecord(
        id=paper_id,
        title=title,
        abstract=abstract,
        authors=[(name, []) for name in authors],
        primary_category=categories[0],
        categories=list(categories),
        comment=comment,
        journal_ref=None,
        doi=None,
        versions=list(versions),
    )
    return record.at_version(record.latest_version)


def matches(query: str, target: RecordVersion) -> bool:
    return parse_search_query(query).matches(target)


HIGGS = paper(
    "Observation of a new particle in the search for the\n  Standard Model Higgs boson",
    authors=(" The ATLAS Collaboration",),
    abstract="A search for the Standard Model Higgs boson ... H->ZZ^(*)",
    comment="24 pages; Phys. Lett. B",
    categories=("hep-ex", "hep-ph"),
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('ti:"standard model higgs"', True),  # phrase across the hard line wrap
        ('ti:"Standard-Model Higgs!"', True),  # punctuation is a word break
        ('ti:"model standard"', False),  # order matters in a phrase
        ('ti:"higgs particle"', False),  # words must be consecutive
        ("ti:particle", True),
        ("ti:partic", False),  # whole words only
        ("abs:zz", True),
        ("au:atlas", True),
        ('au:"atlas collaboration"', True),
        ("co:pages", True),
        ("cat:hep-ph", True),  # any category, not only the primary
        ("cat:hep", False),
        ("all:collaboration", True),
        ("all:lett", True),  # all: includes the comment
        ("higgs", True),  # bare term means all:
        ('"new particle"', True),
        ("rn:CERN", False),  # valid field, no report numbers in the corpus
    ],
)
def test_fields_and_phrases(query: str, expected: bool) -> None:
    assert matches(query, HIGGS) is expected


def test_surname_with_underscore_matches_a_multiword_surname() -> None:
    target = paper("Helium films", authors=("Adrian Del Maestro", "B. Smith"))
    assert matches("au:del_maestro", target)
    assert matches("au:Maestro", target)
    assert not matches("au:del_smith", target)  # words must be in one author's name


def test_tex_splits_into_words_and_authors_fold_accents() -> None:
    target = paper("$\\sigma$-GPTs: A New Approach", authors=("François Fleuret",))
    assert matches('ti:"sigma GPTs a new approach"', target)
    assert matches("au:francois", target)  # docs/arxiv.md §6: author analyzers fold


def test_titles_keep_their_accents() -> None:
    # docs/arxiv.md §6: the title analyzers have no ASCII folding.
    target = paper("Schrödinger Bridge Matching")
    assert matches('ti:"schrödinger bridge matching"', target)
    assert not matches('ti:"schrodinger bridge matching"', target)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ti:higgs AND ti:boson", True),
        ("ti:higgs AND ti:electron", False),
        ("ti:electron OR ti:boson", True),
        ("ti:higgs ANDNOT cat:hep-ex", False),
        ("ti:higgs ANDNOT cat:astro-ph", True),
        ("ti:electron OR ti:higgs AND cat:astro-ph", False),  # AND binds tighter than OR
        ("(ti:electron OR ti:higgs) AND cat:hep-ex", True),
        # docs/arxiv.md §6: adapt_query inserts a missing operator as OR
        ("ti:higgs ti:electron", True),
        ("ti:(higgs boson)", True),  # the field applies inside the group
        ("ti:(higgs electron)", True),
        ("ti:(positron electron)", False),
        ("ti:(higgs OR electron) AND au:atlas", True),
        ("ti:(higgs) AND au:(atlas ANDNOT collaboration)", False),
    ],
)
def test_boolean_operators_and_grouping(query: str, expected: bool) -> None:
    assert matches(query, HIGGS) is expected


def test_quotes_protect_parentheses() -> None:
    target = paper("Searches for H->ZZ^(*) decays")
    assert matches('ti:"ZZ^(*) decays"', target)


def test_date_ranges_use_v1_and_shown_version_times() -> None:
    target = paper("Dated", versions=("2024-03-01T10:00:00Z", "2024-06-01T10:00:00Z"))
    assert matches("submittedDate:[202403010000 TO 202403012359]", target)
    assert not matches("submittedDate:[202406010000 TO 202406012359]", target)
    assert matches("lastUpdatedDate:[202406010000 TO 202406012359]", target)


@pytest.mark.parametrize(
    "query",
    [
        "ti:(higgs",
        "ti:higgs)",
        'ti:"unclosed phrase',
        "ti:higgs AND OR ti:boson",
        "AND ti:higgs",
        "ti:higgs ANDNOT",
        "xx:higgs",
        "ti:",
        "submittedDate:[2024 TO 2025]",
        "   ",
    ],
)
def test_malformed_queries_are_rejected(query: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse_search_query(query)


def test_relevance_is_bm25_not_exact_title_first() -> None:
    # docs/arxiv.md §6: ranked by ES _score (BM25) across every ORed phrase.
    exact = paper("Attention Is All You Need", paper_id="1706.03762")
    longer = paper("Tensor Product Attention Is All You Need", paper_id="1501.00001")
    rare = paper("Sapiens: Foundation for Human Vision Models", paper_id="2408.12569")
    stats = TitleStatistics.of(p.title for p in (exact, longer, rare))
    query = parse_search_query('ti:"attention is all you need"')
    assert sorted([longer, exact], key=relevance_key(query, stats)) == [exact, longer]
    # Across ORed phrases no phrase has a quota: the one whose words are rarer and whose
    # title is shorter ranks first, whichever was asked first.
    either = parse_search_query('ti:sapiens OR ti:"attention is all you need"')
    assert sorted([rare, longer, exact], key=relevance_key(either, stats))[0] == exact

"""The nouns that flow between the stages.

digests -> DigestEntry (parse) -> PaperRecord + FetchOutcome (fetch)
        -> Resolution + Mismatch (reconcile) -> tables (write).

Every stage reports input problems as `Problem` values instead of raising, so that a
bad file, ID or answer is named, the rest of the run goes on, and the problem reaches
the `problems` table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from itertools import repeat
from typing import Literal, NamedTuple

IdStatus = Literal["ok", "invalid_id", "missing"]
# Where the parser found an entry's English title, strongest evidence first. Reconcile
# weighs a title by it: the first five name this entry alone; "shared heading" and "line"
# are guesses from what surrounds the reference (docs/formats.md).
TitleSource = Literal[
    "field",
    "column",
    "emphasis",
    "quoted",
    "link text",
    "heading",
    "line",
    "shared heading",
    "none",
]
STRONG_TITLE_SOURCES = frozenset({"field", "column", "emphasis", "quoted", "link text", "heading"})
FetchOutcomeKind = Literal["found", "not_found", "invalid", "failed"]
# Which arXiv interface a paper's metadata came from: the query API, the bulk snapshot
# (docs/arxiv.md §10) or OAI-PMH (docs/arxiv.md §9).
PaperSource = Literal["api", "snapshot", "oai"]
ResolutionKind = Literal["link", "title", "corrected", "unresolved"]
# What a Mismatch is about (docs/reconcile.md 3), in the order summaries list them.
MismatchKind = Literal[
    "id_points_elsewhere",
    "id_not_found",
    "id_invalid",
    "unresolved",
    "title_differs",
    "title_unchecked",
    "authors_differ",
    "version_outdated",
    "version_unknown",
    "withdrawn",
    "date_impossible",
    "duplicate_in_digest",
]
ProblemStage = Literal["parse", "fetch", "reconcile"]
RunStatus = Literal["running", "ok", "unchanged", "incomplete", "interrupted", "failed"]


@dataclass(frozen=True, slots=True)
class Problem:
    """An input problem: which stage saw it, where, and why. Never raised, always recorded."""

    stage: ProblemStage
    source: str  # digest path relative to the raw folder, or an arXiv ID
    kind: str  # short machine-readable tag, e.g. "undecodable", "no_entries", "http_400"
    message: str  # a sentence for a person
    line: int | None = None


@dataclass(slots=True)
class DigestEntry:
    """One paper as a digest lists it, before anything is checked against arXiv."""

    digest: str  # path relative to the raw folder, POSIX separators
    position: int  # 1-based position of the entry in its digest
    layout: str  # how the file was read: "markdown", "html", "csv", ... (docs/formats.md)
    digest_date: date | None = None
    line: int | None = None  # 1-based line where the entry starts (text layouts)
    title_raw: str | None = None  # English title exactly as written
    title: str | None = None  # English title, whitespace collapsed
    title_source: TitleSource = "none"  # where the title was found
    title_translated: str | None = None  # e.g. the Chinese title
    abstract: str | None = None  # the digest's own abstract text
    authors: list[str] | None = None  # only when the digest lists authors
    link: str | None = None  # the reference exactly as written (URL, arXiv:ID, ...)
    arxiv_id: str | None = None  # canonical unversioned ID, only when valid
    version: int | None = None  # version the link names, if any
    id_status: IdStatus = "missing"
    warnings: list[str] = field(default_factory=list)
    # The text of the lines the entry spans (bounded), for reconcile to look for arXiv's
    # title and authors in what the digest actually wrote.
    block_text: str | None = None


@dataclass(slots=True)
class ParsedDigest:
    """What the parse stage made of one file."""

    digest: str
    layout: str | None
    digest_date: date | None
    entries: list[DigestEntry]
    problems: list[Problem]
    size_bytes: int = 0


def authors_named(names: Iterable[str]) -> list[Author]:
    """Authors without affiliations, built by one C call each instead of through the
    NamedTuple's Python __new__: loading a large store creates millions of authors."""
    return list(map(_author_without_affiliations, zip(names, repeat(()))))


class PaperVersion(NamedTuple):
    """One version of a paper, as the snapshot's `versions` or OAI arXivRaw give it."""

    version: int
    submitted: datetime  # UTC
    size_kb: int | None = None  # arXivRaw <size> ("21kb"); the snapshot has none
    source_type: str | None = None  # arXivRaw <source_type>; "I" marks a withdrawal


class Author(NamedTuple):
    # A NamedTuple rather than a frozen dataclass: loading a large store creates millions
    # of authors, and a tuple is much quicker to create than a frozen dataclass instance.
    name: str
    affiliations: tuple[str, ...] = ()


_author_without_affiliations = partial(tuple.__new__, Author)

# Built from the ID, not from <link>: links lost their titles after the 2025-11-11 backend
# swap (docs/arxiv.md §4, arxiv.py #181).
ABS_URL_PREFIX = "https://arxiv.org/abs/"
PDF_URL_PREFIX = "https://arxiv.org/pdf/"
DATACITE_DOI_PREFIX = "10.48550/arXiv."  # arXiv's own DataCite DOI (docs/arxiv.md §8)


@dataclass(slots=True)
class PaperRecord:
    """arXiv's metadata for one paper (latest version), from the source named in `source`."""

    arxiv_id: str  # canonical, unversioned
    version: int  # latest version number, from the entry <id>
    title: str  # whitespace collapsed
    abstract: str  # whitespace collapsed
    authors: list[Author]
    published: datetime  # v1 submission, UTC
    updated: datetime  # latest version submission, UTC
    primary_category: str
    categories: list[str]  # primary first
    comment: str | None
    journal_ref: str | None
    dois: list[str]  # author-supplied published DOIs (arxiv:doi split on whitespace)
    withdrawn: bool
    fetched_at: datetime  # when it was read from its source
    source: PaperSource = "api"
    license: str | None = None  # license URI; the query API gives none (docs/arxiv.md §4)
    versions: list[PaperVersion] = field(default_factory=list)  # v1 first; [] when unknown

    @property
    def abs_url(self) -> str:
        return ABS_URL_PREFIX + self.arxiv_id

    @property
    def pdf_url(self) -> str:
        return PDF_URL_PREFIX + self.arxiv_id

    @property
    def datacite_doi(self) -> str:
        return DATACITE_DOI_PREFIX + self.arxiv_id


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """How asking arXiv for one ID ended."""

    arxiv_id: str
    outcome: FetchOutcomeKind
    attempts: int  # requests that included this ID
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper considered for an entry during title resolution."""

    arxiv_id: str
    title: str
    score: float  # 0..100 title similarity after normalisation
    accepted: bool
    why: str


@dataclass(slots=True)
class Resolution:
    """Which paper an entry is, and why we believe it."""

    digest: str
    position: int
    resolution: ResolutionKind
    arxiv_id: str | None  # resolved ID (None when unresolved)
    title_similarity: float | None  # digest title vs arXiv title, 0..100
    reason: str
    candidates: list[Candidate] = field(default_factory=list)
    # The title as the entry's text writes it, when reconcile found arXiv's title there and
    # the parser's guess was weaker; the entries table shows it as title_digest.
    title_found: str | None = None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference between a digest entry and its arXiv record, and what was done."""

    digest: str
    position: int
    arxiv_id: str | None
    kind: str  # a MismatchKind
    digest_value: str | None
    arxiv_value: str | None
    similarity: float | None
    action: str

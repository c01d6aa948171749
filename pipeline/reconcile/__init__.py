"""Reconcile stage: which arXiv paper is each digest entry, and what differs.

arXiv is the authority. Every entry ends with one Resolution (`link`, `title`, `corrected`,
`unresolved`) and a reason; every difference found is one Mismatch with the action taken.
Pure functions, no I/O: the orchestrator fetches the digests' IDs, asks `titles_to_search`
which titles need a search, runs the search (fetch stage), then calls `reconcile`.
The rules, thresholds and what is reported: docs/reconcile.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import get_args

import polars as pl

from pipeline.model import FetchOutcome, Mismatch, PaperRecord, Resolution, ResolutionKind
from pipeline.reconcile.decide import (
    TRANSIENT_REASON_PREFIXES,
    check_entry,
    needs_title_search,
    resolve_entry,
)
from pipeline.reconcile.entries import check_columns, entry_views
from pipeline.reconcile.mismatches import duplicate_mismatches, paper_mismatches
from pipeline.reconcile.titles import normalize_title, title_similarity
from pipeline.reconcile.verbatim import (
    PAPER_COLUMNS,
    SETTLED_REASON,
    SETTLED_SIMILARITY,
    settle_verbatim,
)
from pipeline.tables import MISMATCH_KINDS, STORED_PAPER

__all__ = [
    "MISMATCH_KINDS",
    "RESOLUTION_KINDS",
    "ReconcileResult",
    "ReconcileTally",
    "is_transient",
    "normalize_title",
    "reconcile",
    "summary_lines",
    "title_similarity",
    "titles_to_search",
]

RESOLUTION_KINDS: tuple[str, ...] = get_args(ResolutionKind)  # in the order summaries list them


@dataclass
class ReconcileResult:
    resolutions: list[Resolution] = field(default_factory=list)  # entries judged one by one
    mismatches: list[Mismatch] = field(default_factory=list)  # by (digest, position, kind)
    # (digest, position, arxiv_id) of the entries settled by their link in one join
    # (reconcile.verbatim): each a `link` resolution, SETTLED_REASON, SETTLED_SIMILARITY.
    settled: pl.DataFrame = field(default_factory=lambda: _keys(pl.DataFrame()))

    def resolution_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter(r.resolution for r in self.resolutions)
        counts["link"] += self.settled.height
        return counts

    def all_resolutions(self) -> list[Resolution]:
        """Every entry's resolution as an object, the settled ones too, by (digest, position)
        (for a few entries: the write stage reads `settled` as the frame it is)."""
        settled = [
            Resolution(digest, position, "link", arxiv_id, SETTLED_SIMILARITY, SETTLED_REASON)
            for digest, position, arxiv_id in self.settled.iter_rows()
        ]
        return sorted([*self.resolutions, *settled], key=lambda r: (r.digest, r.position))

    def resolved_ids(self) -> set[str]:
        judged = {r.arxiv_id for r in self.resolutions if r.arxiv_id is not None}
        return judged | set(self.settled.get_column("arxiv_id"))


_KEY_SCHEMA = {"digest": pl.String, "position": pl.Int32, "arxiv_id": pl.String}


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    """(digest, position, arxiv_id) of `frame` (empty when it has none of them)."""
    if frame.is_empty() and not frame.columns:
        return pl.DataFrame(schema=_KEY_SCHEMA)
    return frame.select(pl.col(name).cast(dtype) for name, dtype in _KEY_SCHEMA.items())


def titles_to_search(
    entries: pl.DataFrame,
    papers: Mapping[str, PaperRecord],
    outcomes: Mapping[str, FetchOutcome],
    paper_titles: pl.DataFrame | None = None,
) -> list[str]:
    """The English titles that need a title search, each once, in (digest, position) order
    of first appearance: entries with no usable ID, an ID arXiv does not have or could not
    be asked about, or a linked paper whose title disagrees. Entries without an English
    title are not searchable and are left out.

    `paper_titles` (arxiv_id, title) of `papers`, when the caller has them without
    decoding every record (e.g. a stored-papers frame's columns)."""
    if paper_titles is None:
        paper_titles = pl.DataFrame(
            {"arxiv_id": list(papers), "title": [p.title for p in papers.values()]},
            schema={"arxiv_id": pl.Utf8, "title": pl.Utf8},
        )
    # Most entries carry arXiv's title verbatim behind a good link; drop those in one
    # vectorised join before judging the rest entry by entry.
    arxiv_titles = paper_titles.rename({"title": "_arxiv_title"})
    unsettled = (
        entries.filter(pl.col("title").is_not_null())
        .join(arxiv_titles, on="arxiv_id", how="left")
        .filter(
            (pl.col("id_status") != "ok")
            | pl.col("_arxiv_title").is_null()
            | (pl.col("title") != pl.col("_arxiv_title"))
        )
    )
    wanted: dict[str, None] = {}
    for entry in entry_views(unsettled):
        check, link = check_entry(entry, papers, outcomes)
        if entry.title is not None and needs_title_search(entry, check, link):
            wanted.setdefault(entry.title, None)
    return list(wanted)


def reconcile(
    entries: pl.DataFrame,
    papers: Mapping[str, PaperRecord],
    outcomes: Mapping[str, FetchOutcome],
    candidates: Mapping[str, list[PaperRecord]],
    paper_frame: pl.DataFrame | None = None,
) -> ReconcileResult:
    """Resolve every entry and list every mismatch.

    `papers` and `outcomes` are the fetch stage's answers for the digests' own IDs;
    `candidates` maps each searched title (the entry's `title`, exactly as passed to the
    search) to the records the search returned. `paper_frame`: `papers` as a stored-papers
    frame (pipeline.tables.STORED_PAPER), when the caller has them so; the entries settled
    on its columns (reconcile.verbatim) are never looked up in `papers`.
    """
    check_columns(entries)
    columns = paper_columns(papers) if paper_frame is None else paper_frame.select(PAPER_COLUMNS)
    settled = settle_verbatim(entries, columns)
    result = ReconcileResult(settled=_keys(settled))
    rest = entries.join(settled, on=["digest", "position"], how="anti", maintain_order="left")
    for entry in entry_views(rest):
        check, link = check_entry(entry, papers, outcomes)
        searched = candidates.get(entry.title) if entry.title is not None else None
        decision = resolve_entry(entry, check, link, searched)
        result.resolutions.append(decision.resolution)
        result.mismatches += decision.mismatches
        if decision.record is not None:
            result.mismatches += paper_mismatches(entry, decision.resolution, decision.record)
    judged = pl.DataFrame(
        {
            "digest": [r.digest for r in result.resolutions],
            "position": [r.position for r in result.resolutions],
            "arxiv_id": [r.arxiv_id for r in result.resolutions],
        },
        schema=_KEY_SCHEMA,
    )
    result.mismatches += duplicate_mismatches(pl.concat([result.settled, judged]))
    result.mismatches.sort(
        key=lambda m: (m.digest, m.position, m.kind, m.arxiv_id or "", m.digest_value or "")
    )
    return result


def paper_columns(papers: Mapping[str, PaperRecord]) -> pl.DataFrame:
    """The PAPER_COLUMNS of records in hand, as a stored-papers frame has them."""
    records = list(papers.values())
    schema = STORED_PAPER.schema()
    return pl.DataFrame(
        {
            "arxiv_id": [r.arxiv_id for r in records],
            "title": [r.title for r in records],
            "version": [r.version for r in records],
            "withdrawn": [r.withdrawn for r in records],
            "published": [r.published.isoformat() for r in records],
            "authors": [[a.name for a in r.authors] for r in records],
        },
        schema={name: schema[name] for name in PAPER_COLUMNS},
    )


def is_transient(resolution: Resolution) -> bool:
    """Unresolved only because arXiv could not be asked; a later run retries it."""
    return resolution.resolution == "unresolved" and resolution.reason.startswith(
        TRANSIENT_REASON_PREFIXES
    )


@dataclass
class ReconcileTally:
    """A reconcile result's counts, which add up over the parts of a run."""

    resolutions: Counter[str] = field(default_factory=Counter)
    mismatches: Counter[str] = field(default_factory=Counter)
    transient: int = 0  # unresolved entries that wait on arXiv (is_transient)

    @classmethod
    def of(cls, result: ReconcileResult) -> ReconcileTally:
        return cls(
            result.resolution_counts(),
            Counter(m.kind for m in result.mismatches),
            sum(1 for r in result.resolutions if is_transient(r)),
        )

    def __add__(self, other: ReconcileTally) -> ReconcileTally:
        return ReconcileTally(
            self.resolutions + other.resolutions,
            self.mismatches + other.mismatches,
            self.transient + other.transient,
        )


def summary_lines(result: ReconcileResult | ReconcileTally) -> list[str]:
    """Counts per resolution and per mismatch kind, for the CLI."""
    tally = result if isinstance(result, ReconcileTally) else ReconcileTally.of(result)
    lines = [f"entries: {tally.resolutions.total()}"]
    for kind in RESOLUTION_KINDS:
        note = (
            f" ({tally.transient} wait on arXiv, retried next run)" if kind == "unresolved" else ""
        )
        lines.append(f"  {kind:<20} {tally.resolutions[kind]:>7}{note}")
    lines.append(f"mismatches: {tally.mismatches.total()}")
    known = [k for k in MISMATCH_KINDS if tally.mismatches[k]]
    lines += [f"  {kind:<20} {tally.mismatches[kind]:>7}" for kind in known]
    return lines

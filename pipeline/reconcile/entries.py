"""The slice of a parsed entry that reconciliation reads, taken from the parse stage's frame."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from pipeline.reconcile.titles import has_words

REQUIRED_COLUMNS = (
    "digest",
    "position",
    "digest_date",
    "title",
    "link",
    "arxiv_id",
    "version",
    "id_status",
    "authors",
)


@dataclass(frozen=True, slots=True)
class EntryView:
    digest: str
    position: int
    digest_date: date | None
    title: str | None  # the English title; None when there is none to compare or search
    link: str | None
    arxiv_id: str | None  # canonical unversioned ID; None unless the parser judged it valid
    version: int | None
    id_status: str
    authors: tuple[str, ...] | None  # None when the digest lists no authors

    @classmethod
    def from_values(
        cls,
        digest: str,
        position: int,
        digest_date: date | None,
        title: str | None,
        link: str | None,
        arxiv_id: str | None,
        version: int | None,
        id_status: str,
        authors: list[str] | None,
    ) -> EntryView:
        """One row of the parse stage's frame, in REQUIRED_COLUMNS order."""
        return cls(
            digest=digest,
            position=position,
            digest_date=digest_date,
            # A title that normalises to nothing ("???") can be neither compared nor searched.
            title=title if title and has_words(title) else None,
            link=link,
            arxiv_id=arxiv_id if id_status == "ok" else None,
            version=version,
            id_status=id_status,
            authors=tuple(name for name in authors or () if name) or None,
        )


def entry_views(entries: pl.DataFrame) -> list[EntryView]:
    """Entries in (digest, position) order, the order every output of this stage follows."""
    missing = [c for c in REQUIRED_COLUMNS if c not in entries.columns]
    if missing:
        # A wrong frame is a programming error between stages, not a bad input file.
        raise ValueError(f"entries frame lacks column(s): {', '.join(missing)}")
    ordered = entries.select(REQUIRED_COLUMNS).sort("digest", "position")
    columns = [ordered.get_column(name).to_list() for name in REQUIRED_COLUMNS]
    return [EntryView.from_values(*values) for values in zip(*columns, strict=True)]

"""The slice of a parsed entry that reconciliation reads, taken from the parse stage's frame."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from pipeline.model import STRONG_TITLE_SOURCES
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
# Read when present (frames from before the parser said where titles come from lack them).
OPTIONAL_COLUMNS = ("title_source", "title_raw")
# Title sources that are guesses from what surrounds a reference (docs/reconcile.md 2.1).
WEAK_TITLE_SOURCES = frozenset({"line", "shared heading"})


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
    title_source: str = "none"
    title_raw: str | None = None
    # The parse frame's block_text column and this entry's row in it: read only for the
    # few entries that need evidence, so that reconcile holds no copy of every block.
    blocks: pl.Series | None = field(default=None, compare=False, repr=False)
    row: int = field(default=0, compare=False, repr=False)

    @property
    def block_text(self) -> str | None:
        """What the digest wrote for this entry (its lines), or None."""
        return None if self.blocks is None else self.blocks[self.row]

    @property
    def title_weak(self) -> bool:
        """The title is a guess (a shared heading, leftover line text): it cannot veto the
        link. A title whose source the parser does not state ("none") is judged as strong,
        as every title was before parsers said where they found it."""
        return self.title is not None and self.title_source in WEAK_TITLE_SOURCES

    @property
    def title_strong(self) -> bool:
        return self.title_source in STRONG_TITLE_SOURCES

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
        title_source: str | None = None,
        title_raw: str | None = None,
        *,
        blocks: pl.Series | None = None,
        row: int = 0,
    ) -> EntryView:
        """One row of the parse stage's frame, in REQUIRED_COLUMNS + OPTIONAL_COLUMNS order."""
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
            title_source=title_source or "none",
            title_raw=title_raw,
            blocks=blocks,
            row=row,
        )


def check_columns(entries: pl.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in entries.columns]
    if missing:
        # A wrong frame is a programming error between stages, not a bad input file.
        raise ValueError(f"entries frame lacks column(s): {', '.join(missing)}")


def entry_views(entries: pl.DataFrame) -> Iterator[EntryView]:
    """Entries in (digest, position) order, the order every output of this stage follows,
    made one at a time as they are taken (a caller that keeps none holds none)."""
    check_columns(entries)
    present = [c for c in (*OPTIONAL_COLUMNS, "block_text") if c in entries.columns]
    ordered = entries.select(*REQUIRED_COLUMNS, *present).sort("digest", "position")
    columns = [
        ordered.get_column(name).to_list()
        if name in present or name in REQUIRED_COLUMNS
        # a column the frame lacks reads as null throughout
        else [None] * ordered.height
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    ]
    blocks = ordered.get_column("block_text") if "block_text" in present else None
    for row, values in enumerate(zip(*columns, strict=True)):
        yield EntryView.from_values(*values, blocks=blocks, row=row)

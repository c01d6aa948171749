"""Entries settled in one join: a valid link to a paper whose arXiv title the digest writes
exactly, with nothing else to report.

Most entries of a digest are like that, and judging them one by one (decide.check_entry,
mismatches.paper_mismatches) costs a decoded record and a few Python objects each. Here they
are found with the columns the rules read, and get the outcome those rules give them: a
`link` resolution, "title matches", no mismatch. An entry that any other rule could say
something about (a version, a withdrawal, its author list, its date, a title that
normalises to nothing) is left to be judged one by one.
"""

from __future__ import annotations

import polars as pl

from pipeline.reconcile.authors import matches_itself
from pipeline.reconcile.decide import VERBATIM
from pipeline.reconcile.rules import DATE_TOLERANCE_DAYS
from pipeline.reconcile.titles import has_words

# The paper columns the rules read (a stored-papers frame has them: pipeline.tables).
PAPER_COLUMNS = ("arxiv_id", "title", "version", "withdrawn", "published", "authors")
SETTLED_REASON = VERBATIM.why
assert VERBATIM.comparison is not None
SETTLED_SIMILARITY = round(VERBATIM.comparison.score, 1)


def settle_verbatim(entries: pl.DataFrame, papers: pl.DataFrame) -> pl.DataFrame:
    """(digest, position, arxiv_id) of the entries settled by their link; `papers` are the
    papers the entries' IDs name, with PAPER_COLUMNS."""
    # The digest's author names as EntryView keeps them (empty names dropped).
    named = pl.element().is_not_null() & (pl.element() != "")
    digest_authors = pl.col("authors").list.eval(pl.element().filter(named))
    arxiv = papers.select(
        "arxiv_id",
        pl.col("title").alias("_title"),
        pl.col("version").alias("_version"),
        "withdrawn",
        # The date of v1 as its own time zone writes it (datetime.toordinal, mismatches).
        pl.col("published").str.slice(0, 10).str.to_date("%Y-%m-%d").alias("_v1"),
        pl.col("authors").alias("_authors"),
    )
    linked = (
        entries.filter((pl.col("id_status") == "ok") & pl.col("title").is_not_null())
        .select(
            "digest",
            "position",
            "arxiv_id",
            "title",
            "version",
            "digest_date",
            digest_authors.alias("authors"),
        )
        .join(arxiv, on="arxiv_id", how="inner", maintain_order="left")
        .filter(
            (pl.col("title") == pl.col("_title"))
            & ~pl.col("withdrawn")
            & (pl.col("version").is_null() | (pl.col("version") == pl.col("_version")))
            & (
                pl.col("digest_date").is_null()
                | (pl.col("digest_date").dt.offset_by(f"{DATE_TOLERANCE_DAYS}d") >= pl.col("_v1"))
            )
            & (
                pl.col("authors").is_null()
                | (pl.col("authors").list.len() == 0)
                | (pl.col("authors") == pl.col("_authors"))
            )
        )
    )
    # What only Python knows: titles that normalise to nothing, names the author matcher
    # would not match to themselves.
    odd_titles = [t for t in linked.get_column("title").unique() if not has_words(t)]
    names = linked.get_column("authors").explode().drop_nulls().unique()
    odd_names = [n for n in names if not matches_itself(n)]
    return linked.filter(
        ~pl.col("title").is_in(odd_titles)
        & ~pl.col("authors").list.eval(pl.element().is_in(odd_names)).list.any().fill_null(False)
    ).select("digest", "position", "arxiv_id")

"""Mismatch kinds and the checks that compare a resolved entry with its arXiv record.

The checks that decide *which* paper an entry is (and report id_* and title kinds) live in
`decide`; the ones here run once that is settled: versions, withdrawal, authors, dates, and
duplicates within one digest.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from pipeline.model import Mismatch, MismatchKind, PaperRecord, Resolution
from pipeline.reconcile.authors import compare_entry_authors
from pipeline.reconcile.entries import EntryView
from pipeline.reconcile.rules import DATE_TOLERANCE_DAYS


def mismatch(
    entry: EntryView,
    kind: MismatchKind,
    arxiv_id: str | None,
    digest_value: str | None,
    arxiv_value: str | None,
    action: str,
    similarity: float | None = None,
) -> Mismatch:
    return Mismatch(
        digest=entry.digest,
        position=entry.position,
        arxiv_id=arxiv_id,
        kind=kind,
        digest_value=digest_value,
        arxiv_value=arxiv_value,
        similarity=None if similarity is None else round(similarity, 1),
        action=action,
    )


def date_impossible(digest_date: date, record: PaperRecord) -> bool:
    """The digest is dated before the paper's v1 existed (DATE_TOLERANCE_DAYS of slack)."""
    return digest_date.toordinal() + DATE_TOLERANCE_DAYS < record.published.toordinal()


def paper_mismatches(
    entry: EntryView, resolution: Resolution, record: PaperRecord
) -> list[Mismatch]:
    """What differs between a resolved entry and the arXiv record it resolved to."""
    found: list[Mismatch] = []
    pid = record.arxiv_id
    # The digest's version only says something about the paper its own ID names.
    if entry.version is not None and entry.arxiv_id == pid:
        link_v, latest = f"v{entry.version}", f"v{record.version}"
        if record.version > entry.version:
            found.append(
                mismatch(entry, "version_outdated", pid, link_v, latest, f"used {latest} metadata")
            )
        elif record.version < entry.version:
            found.append(
                mismatch(
                    entry,
                    "version_unknown",
                    pid,
                    link_v,
                    latest,
                    f"the digest names a version arXiv does not have; used {latest} metadata",
                )
            )
    if record.withdrawn:
        found.append(
            mismatch(
                entry,
                "withdrawn",
                pid,
                None,
                record.comment,
                f"kept as {resolution.resolution}; flagged: arXiv's latest version is withdrawn",
            )
        )
    authors = compare_entry_authors(entry, record)
    if authors is not None and authors.differ:
        found.append(
            mismatch(
                entry,
                "authors_differ",
                pid,
                "; ".join(authors.digest_only) or None,
                "; ".join(authors.arxiv_only) or None,
                f"kept arXiv's authors; {authors.matched} of {authors.digest_count} digest "
                "names found (digest_value: only in the digest, arxiv_value: only on arXiv)",
                authors.overlap,
            )
        )
    if entry.digest_date is not None and date_impossible(entry.digest_date, record):
        found.append(
            mismatch(
                entry,
                "date_impossible",
                pid,
                entry.digest_date.isoformat(),
                record.published.date().isoformat(),
                f"kept as {resolution.resolution}; the digest is dated before arXiv's v1",
            )
        )
    return found


def duplicate_mismatches(resolved: pl.DataFrame) -> list[Mismatch]:
    """The same paper listed twice in one digest: reported at every listing after the first.
    (The same paper in several digests is several appearances, not a mismatch.) `resolved`:
    (digest, position, arxiv_id) of every entry, arxiv_id null when unresolved."""
    later = (
        resolved.filter(pl.col("arxiv_id").is_not_null())
        .with_columns(first=pl.col("position").min().over("digest", "arxiv_id"))
        .filter(pl.col("position") != pl.col("first"))
    )
    return [
        Mismatch(
            digest=digest,
            position=position,
            arxiv_id=arxiv_id,
            kind="duplicate_in_digest",
            digest_value=f"position {position}",
            arxiv_value=f"also at position {first}",
            similarity=None,
            action="kept both listings",
        )
        for digest, position, arxiv_id, first in later.iter_rows()
    ]

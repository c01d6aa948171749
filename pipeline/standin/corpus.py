"""The papers the stand-in serves: one `CorpusRecord` per paper, stored as JSON Lines.

A record keeps text exactly as its source gave it (hard line wraps included); the feed
renderer decides how a dialect lays it out. `at_version` gives the view of one version,
which is what an `id_list` entry or a search hit shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# docs/arxiv.md §3: new-style IDs have 4 or 5 digits after the dot (the API does not
# apply the by-date digit rule); old-style IDs are archive[.SUBJECT]/YYMMNNN.
_NEW_STYLE = r"\d{4}\.\d{4,5}"
_OLD_STYLE = r"[a-z-]+(?:\.[A-Z]{2})?/\d{7}"
REQUESTED_ID = re.compile(rf"(?P<base>{_NEW_STYLE}|{_OLD_STYLE})(?:v(?P<version>\d+))?")
CANONICAL_ID = re.compile(rf"{_NEW_STYLE}|[a-z-]+/\d{{7}}")
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def split_requested_id(text: str) -> tuple[str, int | None] | None:
    """(canonical base ID, version or None) for an ID as requested, or None if malformed.

    docs/arxiv.md §3: a subject class inside an old-style ID (`math.GT/0309136`) is a
    legacy alias of `math/0309136`; the stand-in serves the canonical paper for it.
    """
    found = REQUESTED_ID.fullmatch(text)
    if found is None:
        return None
    base = re.sub(r"\.[A-Z]{2}/", "/", found["base"])
    version = found["version"]
    return base, int(version) if version is not None else None


class CorpusError(ValueError):
    """A corpus file or record that cannot be served; the message names file, line and ID."""


@dataclass(slots=True)
class CorpusRecord:
    """One paper with its whole version history, as the stand-in knows it."""

    id: str  # canonical, unversioned (e.g. "2408.08872", "hep-th/9711200")
    title: str  # latest version's title, whitespace as the source gave it
    abstract: str
    authors: list[tuple[str, list[str]]]  # (name as submitted, affiliations)
    primary_category: str
    categories: list[str]  # primary first
    comment: str | None  # latest version's comment
    journal_ref: str | None
    doi: str | None  # may hold several DOIs separated by spaces (docs/arxiv.md §4)
    versions: list[str]  # ISO-8601 UTC submission time per version, v1 first
    version_titles: dict[int, str] = field(default_factory=dict)  # only where it differs
    version_comments: dict[int, str | None] = field(default_factory=dict)  # e.g. pre-withdrawal
    note: str | None = None  # says what is synthetic; None for real data

    def __post_init__(self) -> None:
        problems = []
        if not CANONICAL_ID.fullmatch(self.id):
            problems.append("id is not a canonical unversioned arXiv ID")
        if not self.versions:
            problems.append("no versions")
        for stamp in self.versions:
            try:
                datetime.strptime(stamp, ISO_UTC)
            except ValueError:
                problems.append(f"version time {stamp!r} is not YYYY-MM-DDTHH:MM:SSZ")
        if self.versions != sorted(self.versions):
            problems.append("version times are not in order")
        if not self.categories or self.categories[0] != self.primary_category:
            problems.append("categories must start with the primary category")
        for number in [*self.version_titles, *self.version_comments]:
            if not 1 <= number <= len(self.versions):
                problems.append(f"per-version value for v{number}, which does not exist")
        if problems:
            raise CorpusError(f"record {self.id!r}: " + "; ".join(problems))

    @property
    def latest_version(self) -> int:
        return len(self.versions)

    def at_version(self, version: int) -> RecordVersion:
        """The paper as arXiv shows version `version` (1-based; must exist)."""
        return RecordVersion(
            id=self.id,
            version=version,
            title=self.version_titles.get(version, self.title),
            abstract=self.abstract,
            authors=self.authors,
            primary_category=self.primary_category,
            categories=self.categories,
            comment=self.version_comments.get(version, self.comment),
            journal_ref=self.journal_ref,
            doi=self.doi,
            published=self.versions[0],
            updated=self.versions[version - 1],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "abstract": self.abstract,
            "authors": [[name, list(affiliations)] for name, affiliations in self.authors],
            "primary_category": self.primary_category,
            "categories": list(self.categories),
            "comment": self.comment,
            "journal_ref": self.journal_ref,
            "doi": self.doi,
            "versions": list(self.versions),
            "version_titles": {str(k): v for k, v in sorted(self.version_titles.items())},
            "version_comments": {str(k): v for k, v in sorted(self.version_comments.items())},
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CorpusRecord:
        return cls(
            id=data["id"],
            title=data["title"],
            abstract=data["abstract"],
            authors=[(name, list(affiliations)) for name, affiliations in data["authors"]],
            primary_category=data["primary_category"],
            categories=list(data["categories"]),
            comment=data.get("comment"),
            journal_ref=data.get("journal_ref"),
            doi=data.get("doi"),
            versions=list(data["versions"]),
            version_titles={int(k): v for k, v in data.get("version_titles", {}).items()},
            version_comments={int(k): v for k, v in data.get("version_comments", {}).items()},
            note=data.get("note"),
        )


@dataclass(frozen=True, slots=True)
class RecordVersion:
    """What one entry of a feed shows: a paper at one version."""

    id: str
    version: int
    title: str
    abstract: str
    authors: list[tuple[str, list[str]]]
    primary_category: str
    categories: list[str]
    comment: str | None
    journal_ref: str | None
    doi: str | None
    published: str  # v1 time (docs/arxiv.md §3: published stays v1 for any version)
    updated: str  # this version's time

    @property
    def versioned_id(self) -> str:
        return f"{self.id}v{self.version}"


def load_corpus(path: Path | str) -> list[CorpusRecord]:
    """Read a JSON Lines corpus; a bad line raises `CorpusError` naming file and line."""
    path = Path(path)
    records: list[CorpusRecord] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = CorpusRecord.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise CorpusError(f"{path}:{number}: {exc}") from exc
            if record.id in seen:
                raise CorpusError(
                    f"{path}:{number}: duplicate id {record.id!r} (first on line {seen[record.id]})"
                )
            seen[record.id] = number
            records.append(record)
    return records


def dump_corpus(records: Iterable[CorpusRecord], path: Path | str) -> None:
    """Write records as JSON Lines, one record per line, non-ASCII kept readable."""
    text = "".join(
        json.dumps(record.to_json(), ensure_ascii=False, sort_keys=False) + "\n"
        for record in records
    )
    Path(path).write_text(text, encoding="utf-8")

"""Author lists: does the digest's list name the same people as arXiv's?

Names are matched, order-insensitively, on keys that survive the usual variations: accents
and TeX (`Bal\\'azs`), "Last, First" order, initials ("J. Smith" / "John Smith"), and
family-name-first order ("Wang Jun" / "Jun Wang").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pipeline.model import PaperRecord
from pipeline.reconcile.entries import EntryView
from pipeline.reconcile.rules import AUTHOR_AGREEMENT
from pipeline.reconcile.titles import normalize_title

# What digests write instead of the rest of a long author list.
_TRUNCATION = re.compile(r"(?:^|[,\s]+)(?:et\s*al\.?|(?:and\s+)?others|等人?|…|\.\.\.)\s*$", re.I)


@lru_cache(maxsize=1 << 18)  # the same names recur across papers and digests
def _name_keys(name: str) -> tuple[str, ...]:
    """The full name (words sorted, so order does not matter), then initial + family name
    both ways round ("J. Wang" for "Jun Wang" and for "Wang Jun")."""
    if "," in name:  # "Vaswani, Ashish"
        family, _, given = name.partition(",")
        name = f"{given} {family}"
    words = normalize_title(name).split()
    if len(words) < 2:
        return tuple(words)
    return (" ".join(sorted(words)), f"{words[0][0]} {words[-1]}", f"{words[-1][0]} {words[0]}")


@lru_cache(maxsize=1 << 18)
def matches_itself(name: str) -> bool:
    """Whether compare_authors matches `name` to the same name on arXiv by its full form: no
    truncation marker, no outer space, at least one word. Two equal lists of such names
    agree wholly (reconcile.verbatim relies on it)."""
    return name == name.strip() and _TRUNCATION.sub("", name) == name and bool(_name_keys(name))


@dataclass(frozen=True, slots=True)
class AuthorComparison:
    matched: int  # digest names found on arXiv
    digest_only: tuple[str, ...]  # named by the digest, not on arXiv
    arxiv_only: tuple[str, ...]  # on arXiv, not named by the digest (empty when truncated)
    digest_count: int
    truncated: bool  # the digest wrote "et al." or similar

    @property
    def agree(self) -> bool:
        """At least AUTHOR_AGREEMENT of the digest's names are on arXiv."""
        return self.matched >= max(1, math.ceil(AUTHOR_AGREEMENT * self.digest_count))

    @property
    def differ(self) -> bool:
        return bool(self.digest_only or self.arxiv_only)

    @property
    def overlap(self) -> float:
        """0..100: shared names over all names (Dice); over the digest's names if truncated."""
        if self.truncated:
            return 100.0 * self.matched / self.digest_count if self.digest_count else 0.0
        total = self.digest_count + self.matched + len(self.arxiv_only)
        return 200.0 * self.matched / total if total else 100.0


def _digest_author_names(names: Iterable[str]) -> tuple[list[str], bool]:
    """The digest's names without truncation markers, and whether the list was truncated."""
    kept: list[str] = []
    truncated = False
    for name in names:
        stripped = _TRUNCATION.sub("", name)
        truncated = truncated or stripped != name
        if stripped.strip():
            kept.append(stripped.strip())
    return kept, truncated


def compare_entry_authors(entry: EntryView, record: PaperRecord) -> AuthorComparison | None:
    """The entry's authors against the record's; None when the digest lists none."""
    if not entry.authors:
        return None
    return compare_authors(entry.authors, tuple(author.name for author in record.authors))


@lru_cache(maxsize=1 << 14)  # a paper's digest listing recurs across digests
def compare_authors(
    digest_names: tuple[str, ...], arxiv_names: tuple[str, ...]
) -> AuthorComparison:
    """Match each digest name to at most one arXiv name through key indexes (linear time):
    full names first, so that "Jun Wang" is not taken by "Jie Wang" through the initials."""
    names, truncated = _digest_author_names(digest_names)
    arxiv_keys = [_name_keys(n) for n in arxiv_names]
    digest_keys = [_name_keys(n) for n in names]
    matched: dict[int, int] = {}  # digest index -> arXiv index
    taken: set[int] = set()
    for level in (slice(0, 1), slice(1, None)):  # full names, then initials
        index: dict[str, list[int]] = {}
        for a, keys in enumerate(arxiv_keys):
            if a not in taken:
                for key in keys[level]:
                    index.setdefault(key, []).append(a)
        for d, keys in enumerate(digest_keys):
            if d in matched:
                continue
            for key in keys[level]:
                free = next((a for a in index.get(key, ()) if a not in taken), None)
                if free is not None:
                    matched[d] = free
                    taken.add(free)
                    break
        if len(matched) == len(names):
            break  # the usual case: every name found by its full form
    return AuthorComparison(
        matched=len(matched),
        digest_only=tuple(n for d, n in enumerate(names) if d not in matched),
        arxiv_only=()
        if truncated
        else tuple(n for a, n in enumerate(arxiv_names) if a not in taken),
        digest_count=len(names),
        truncated=truncated,
    )

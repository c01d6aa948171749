"""What every layout parser works on and hands back, and the entry bookkeeping they share."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate

from pipeline.ids import ArxivRef, find_refs
from pipeline.model import DigestEntry, Problem, ProblemStage
from pipeline.parse.markdown import THEMATIC_BREAK_RE, heading

STAGE: ProblemStage = "parse"
_THEMATIC_BREAK_STARTS = frozenset("-*_ ")
_ARXIV_HOST_RE = re.compile(r"(?:^|[/.])arxiv\.org/", re.IGNORECASE)


class TextDoc:
    """A decoded digest: its source path (relative to the raw folder), text and lines.

    Lines and their offsets are worked out on first use: a JSON dump never needs them.
    """

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def line_index(self, offset: int) -> int:
        """0-based index of the line holding character `offset` of the text."""
        return bisect_right(self._line_starts, offset) - 1

    def line_start(self, index: int) -> int:
        """Offset in the text where line `index` (0-based) begins."""
        return self._line_starts[index]

    @cached_property
    def refs(self) -> list[ArxivRef]:
        """Every arXiv reference in the text (found once, shared by the layouts)."""
        return find_refs(self.text)

    def refs_on_line(self, index: int) -> list[ArxivRef]:
        return self._refs_by_line.get(index, [])

    @cached_property
    def _refs_by_line(self) -> dict[int, list[ArxivRef]]:
        by_line: dict[int, list[ArxivRef]] = {}
        for ref in self.refs:
            by_line.setdefault(self.line_index(ref.start), []).append(ref)
        return by_line

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0, *accumulate(len(line) + 1 for line in self.lines[:-1])]


@dataclass(frozen=True)
class Block:
    """An entry-level heading and the lines under it (body_start..body_end, exclusive)."""

    heading_index: int
    heading_text: str
    body_start: int
    body_end: int


def heading_blocks(lines: list[str], level: int) -> list[Block]:
    """The sections opened by headings of `level`.

    A section ends at the next heading of that level or above, or at a thematic break
    (`---`); deeper headings stay inside it.
    """
    blocks: list[Block] = []
    open_heading: tuple[int, str] | None = None
    for index, line in enumerate(lines):
        first = line[:1]  # most lines start with neither, and are passed over at once
        if first == "#":
            found = heading(line)
            if found is None or found[0] > level:
                continue
        elif first in _THEMATIC_BREAK_STARTS and THEMATIC_BREAK_RE.fullmatch(line):
            found = None
        else:
            continue
        if open_heading is not None:
            blocks.append(Block(open_heading[0], open_heading[1], open_heading[0] + 1, index))
        open_heading = (index, found[1]) if found is not None and found[0] == level else None
    if open_heading is not None:
        blocks.append(Block(open_heading[0], open_heading[1], open_heading[0] + 1, len(lines)))
    return blocks


@dataclass
class LayoutResult:
    """What one layout parser read from a file."""

    layout: str
    entries: list[DigestEntry]
    problems: list[Problem]
    header_end: int = 0  # lines before this index are the header (where a date may be)


def parse_problem(source: str, kind: str, message: str, line: int | None = None) -> Problem:
    return Problem(stage=STAGE, source=source, kind=kind, message=message, line=line)


def attach_refs(
    entry: DigestEntry, refs: list[ArxivRef], problems: list[Problem], line: int | None = None
) -> None:
    """Give `entry` the reference it names; `refs` are the links of one entry, in order,
    found on `line` (1-based; the entry's own line when not given).

    The arXiv link wins over a Hugging Face or other page for the same paper (it alone
    can carry a version); links naming different papers are reported on the entry.
    """
    valid = [ref for ref in refs if ref.valid]
    on_arxiv = [ref for ref in valid if _ARXIV_HOST_RE.search(ref.raw)]
    chosen = (on_arxiv or valid or refs)[0]
    entry.link = chosen.raw
    if not chosen.valid:
        entry.id_status = "invalid_id"
        why = f"{chosen.raw!r} is not a valid arXiv ID: {chosen.why_invalid}"
        entry.warnings.append(f"{why}; not sent to arXiv")
        problems.append(
            parse_problem(
                entry.digest, "invalid_id", f"entry {entry.position}: {why}", line or entry.line
            )
        )
        return
    entry.arxiv_id, entry.version, entry.id_status = chosen.arxiv_id, chosen.version, "ok"
    disagreeing = [ref.raw for ref in valid if ref.arxiv_id != chosen.arxiv_id]
    if disagreeing:
        entry.warnings.append(
            f"links disagree: using {chosen.raw!r}, also linked {', '.join(disagreeing)}"
        )
    version_clash = {ref.version for ref in valid if ref.arxiv_id == chosen.arxiv_id}
    if len(version_clash - {None}) > 1:
        entry.warnings.append(f"links name different versions; using {chosen.raw!r}")
    ignored = [ref.raw for ref in refs if not ref.valid]
    if ignored:
        entry.warnings.append(f"ignored invalid link(s): {', '.join(ignored)}")


def attach_link(
    entry: DigestEntry,
    refs: list[ArxivRef],
    url: str | None,
    problems: list[Problem],
    line: int,
    label: str,
) -> None:
    """Fill `entry` from its link field (at 1-based `line`, named `label` in messages): the
    arXiv references in it; else a URL that is not arXiv's (a problem); else nothing, the
    layout's way of saying "find it by title" (expected, so no problem)."""
    if refs:
        attach_refs(entry, refs, problems, line)
    elif url:
        entry.link = url
        warning = f"{label} {url!r} is not an arXiv link"
        mark_missing(entry, warning, problems, "no_arxiv_link", line)
    else:
        mark_missing(entry, f"{label} is empty; to be found by title", problems)


def mark_missing(
    entry: DigestEntry,
    warning: str,
    problems: list[Problem],
    kind: str | None = None,
    line: int | None = None,
) -> None:
    """No usable arXiv link: the entry is left for resolution by title. With `kind`, this
    is also a problem (at `line`, else the entry's line); without, it is expected."""
    entry.id_status = "missing"
    entry.warnings.append(warning)
    if kind is not None:
        message = f"entry {entry.position}: {warning}"
        problems.append(parse_problem(entry.digest, kind, message, line or entry.line))

"""Heading + link: `## English Title`, `[中文标题](https://arxiv.org/abs/ID)`, an abstract."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass

from pipeline.ids import ArxivRef
from pipeline.model import DigestEntry, Problem
from pipeline.parse.document import (
    Block,
    LayoutResult,
    TextDoc,
    attach_link,
    heading_blocks,
    mark_missing,
)
from pipeline.parse.markdown import LINK_LINE_RE, collapse, has_cjk, heading

LAYOUT = "heading_link"


@dataclass(frozen=True)
class _LinkLine:
    text: str | None  # the link text; None for a bare URL
    url: str
    refs: list[ArxivRef]


@dataclass(frozen=True)
class _Section:
    block: Block
    link: _LinkLine | None  # the first non-blank line under the heading, when a link
    abstract_start: int  # index of the first line after the heading (and link line)


def parse_heading_link(doc: TextDoc) -> LayoutResult | None:
    """The entries, or None when the text is not in this layout.

    It is when at least half the headings of one level are directly followed by an
    arXiv link line, and every arXiv reference in the text sits in such a section
    (a reading list that mixes in other references is left to the generic layout,
    which keeps them all).
    """
    level = _entry_level(doc)
    if level is None:
        return None
    sections = [_section(doc, block) for block in heading_blocks(doc.lines, level)]
    abstract_refs = _abstract_refs(doc, sections)
    if abstract_refs is None:
        return None
    entries: list[DigestEntry] = []
    problems: list[Problem] = []
    for section, mentioned in zip(sections, abstract_refs, strict=True):
        entry = _entry(doc, section, len(entries) + 1, problems)
        if mentioned:
            entry.warnings.append(f"abstract also mentions {', '.join(r.raw for r in mentioned)}")
        entries.append(entry)
    return LayoutResult(LAYOUT, entries, problems, sections[0].block.heading_index)


def _entry_level(doc: TextDoc) -> int | None:
    """The heading level most often followed by an arXiv link line, if it is so at least
    half the time."""
    headings_at: Counter[int] = Counter()
    linked_at: Counter[int] = Counter()
    waiting_level: int | None = None  # a heading whose first non-blank line is still ahead
    for index, line in enumerate(doc.lines):
        if not line or line.isspace():
            continue
        found = heading(line)
        if waiting_level is not None and found is None:
            link = _link_line(doc, index)
            if link is not None and link.refs:
                linked_at[waiting_level] += 1
        waiting_level = None
        if found is not None:
            headings_at[found[0]] += 1
            waiting_level = found[0]
    if not linked_at:
        return None
    level, linked = linked_at.most_common(1)[0]
    return level if 2 * linked >= headings_at[level] else None


def _section(doc: TextDoc, block: Block) -> _Section:
    first = block.body_start
    while first < block.body_end and not doc.lines[first].strip():
        first += 1
    link = _link_line(doc, first) if first < block.body_end else None
    return _Section(block, link, first + 1 if link is not None else block.body_start)


def _abstract_refs(doc: TextDoc, sections: list[_Section]) -> list[list[ArxivRef]] | None:
    """For each section, the references in its abstract; None when some reference is
    outside every linked section (on no link line and in no abstract)."""
    linked = [i for i, section in enumerate(sections) if section.link is not None]
    starts = [sections[i].abstract_start - 1 for i in linked]  # from the link line
    mentioned: list[list[ArxivRef]] = [[] for _ in sections]
    for ref in doc.refs:
        line = doc.line_index(ref.start)
        position = bisect_right(starts, line) - 1
        if position < 0 or line >= sections[linked[position]].block.body_end:
            return None
        section = sections[linked[position]]
        if line >= section.abstract_start:
            mentioned[linked[position]].append(ref)
    return mentioned


def _entry(doc: TextDoc, section: _Section, position: int, problems: list[Problem]) -> DigestEntry:
    block = section.block
    entry = DigestEntry(
        digest=doc.source,
        position=position,
        layout=LAYOUT,
        line=block.heading_index + 1,
        title_raw=block.heading_text,
        title=collapse(block.heading_text),
    )
    abstract = "\n".join(doc.lines[section.abstract_start : block.body_end]).strip()
    entry.abstract = abstract or None
    if section.link is None:
        mark_missing(entry, "heading without a link line", problems, "missing_link")
    else:
        link_line = section.abstract_start  # 0-based index after the link = its 1-based line
        _fill_link(entry, section.link, problems, link_line)
    return entry


def _link_line(doc: TextDoc, index: int) -> _LinkLine | None:
    """Line `index` when it holds nothing but one Markdown link or one bare reference."""
    line, refs = doc.lines[index], doc.refs_on_line(index)
    match = LINK_LINE_RE.fullmatch(line)
    if match is not None and "](" not in match["text"]:  # one link, not a line of them
        line_start = doc.line_start(index)
        in_url = [r for r in refs if match.start("url") <= r.start - line_start < match.end("url")]
        return _LinkLine(match["text"], match["url"], in_url)
    if len(refs) == 1 and refs[0].raw == line.strip():
        return _LinkLine(None, refs[0].raw, refs)
    return None


def _fill_link(entry: DigestEntry, link: _LinkLine, problems: list[Problem], line: int) -> None:
    """`line`: the 1-based line of the link."""
    if link.text and has_cjk(link.text):
        entry.title_translated = link.text.strip()
    attach_link(entry, link.refs, link.url, problems, line, "link")

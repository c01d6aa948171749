"""Any other layout: every arXiv reference in the text, titled from what is nearest.

Newsletters, reading lists and tables differ too much to parse field by field, so this
starts from the references and looks around each one for its title, best source first:

1. the text of the Markdown link that holds it, unless generic ("arXiv", "PDF", "论文");
2. in a table row, the title column (or else the longest plain cell);
3. the heading of its section, when that section names only this paper;
4. the rest of its own line (a list item such as `- Title (arXiv:ID)`);
5. the heading of its section even when shared with other papers (with a warning).

References to the same paper in one section (or table row) are one entry, so an
arXiv link next to a Hugging Face link for the same paper is not counted twice.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.ids import ArxivRef, find_refs
from pipeline.model import DigestEntry, Problem
from pipeline.parse.document import LayoutResult, TextDoc, attach_refs
from pipeline.parse.markdown import MD_LINK_RE, collapse, has_cjk, heading

LAYOUT = "generic"
# Link texts and leftovers that name a place, not a paper.
_GENERIC_WORDS = frozenset(
    {
        "read", "the", "paper", "papers", "more", "here", "link", "links", "full", "text",
        "pdf", "abs", "abstract", "arxiv", "hf", "hugging", "face", "huggingface", "alphaxiv",
        "on", "at", "view", "code", "project", "page", "html", "doi", "see", "also", "and",
        "or", "via", "in", "from", "preprint", "this", "our", "source",
        "论文", "链接", "原文", "论文链接", "原文链接", "阅读原文", "查看论文",
        "全文", "论文地址", "地址", "代码", "项目", "项目主页",
    }
)  # fmt: skip
_WORD_RE = re.compile(r"[^\W\d_]+")  # runs of letters, any script
_TITLE_COLUMNS = frozenset(
    {"title", "paper", "paper title", "name", "标题", "论文", "题目", "论文标题"}
)
_SEPARATOR_ROW_CHARACTERS = frozenset("|:- \t")  # |---|:--:|
_URL_RE = re.compile(r"(?:https?://|www\.)\S+")
_LIST_MARKER_RE = re.compile(r"\s*(?:[-*+>]|\d+[.)、])\s+")
_EDGE_PUNCTUATION = " \t-–—:：|*_>#()（）[]{}.,;，。；、!?！？\"'`"
MAX_LINE_TITLE_CHARS = 300  # longer lines are prose, not a title


@dataclass(frozen=True)
class _Context:
    """Where one reference sits: its line, section and table row."""

    ref: ArxivRef
    line_index: int
    column: int  # offset of the reference within its line
    section: int  # index into the headings list, -1 before the first heading
    table_title: str | None  # title taken from the table row, when in one
    in_table: bool


def parse_generic(doc: TextDoc) -> LayoutResult:
    if not doc.refs:
        return LayoutResult(LAYOUT, [], [], header_end=len(doc.lines))
    headings = list(_headings(doc.lines))
    contexts = list(_contexts(doc, [i for i, _ in headings]))
    groups: dict[tuple[int, int | None, str], list[_Context]] = {}
    for context in contexts:
        row = context.line_index if context.in_table else None
        key = (context.section, row, context.ref.arxiv_id or context.ref.raw)
        groups.setdefault(key, []).append(context)
    papers_in_section = Counter(section for section, _, _ in groups)
    entries: list[DigestEntry] = []
    problems: list[Problem] = []
    for (section, _, _), group in groups.items():
        entry = DigestEntry(
            digest=doc.source,
            position=len(entries) + 1,
            layout=LAYOUT,
            line=group[0].line_index + 1,
        )
        section_heading = headings[section][1] if section >= 0 else None
        _fill_titles(entry, doc, group, section_heading, papers_in_section[section])
        attach_refs(entry, [context.ref for context in group], problems)
        entries.append(entry)
    return LayoutResult(LAYOUT, entries, problems, header_end=contexts[0].line_index)


def _headings(lines: list[str]) -> Iterator[tuple[int, str]]:
    for index, line in enumerate(lines):
        found = heading(line) if line.startswith("#") else None
        if found is not None:
            yield index, found[1]


def _contexts(doc: TextDoc, heading_lines: list[int]) -> Iterator[_Context]:
    table_titles = _TableTitles(doc.lines)
    for ref in doc.refs:
        line_index = doc.line_index(ref.start)
        line = doc.lines[line_index]
        in_table = line.lstrip().startswith("|")
        yield _Context(
            ref=ref,
            line_index=line_index,
            column=ref.start - doc.line_start(line_index),
            section=bisect_right(heading_lines, line_index) - 1,
            table_title=table_titles.title_for(line_index) if in_table else None,
            in_table=in_table,
        )


class _TableTitles:
    """Titles from table rows. Rows are asked in order, so each table's header is looked
    up once: the walk back to a table's first row is not repeated for later rows."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._table_end = -1  # last row index of the table seen last
        self._title_column: int | None = None

    def title_for(self, row_index: int) -> str | None:
        if not self._same_table(row_index):
            self._title_column = self._find_title_column(row_index)
        self._table_end = row_index
        cells = [_visible(cell) for cell in _cells(self._lines[row_index])]
        column = self._title_column
        if column is not None and column < len(cells) and _is_title_like(cells[column]):
            return cells[column]
        plain = [cell for cell in cells if _is_title_like(cell)]
        return max(plain, key=len) if plain else None

    def _same_table(self, row_index: int) -> bool:
        if self._table_end < 0 or self._table_end > row_index:
            return False
        rows_between = range(self._table_end + 1, row_index)
        return all(_is_row(self._lines[i]) for i in rows_between)

    def _find_title_column(self, row_index: int) -> int | None:
        first = row_index
        while first > 0 and _is_row(self._lines[first - 1]):
            first -= 1
        has_header = first + 1 < len(self._lines) and _is_separator_row(self._lines[first + 1])
        if not has_header or first == row_index:
            return None
        header = [_visible(cell).lower() for cell in _cells(self._lines[first])]
        return next((i for i, name in enumerate(header) if name in _TITLE_COLUMNS), None)


def _is_row(line: str) -> bool:
    return line.lstrip().startswith("|")


def _is_separator_row(line: str) -> bool:
    return "-" in line and set(line) <= _SEPARATOR_ROW_CHARACTERS


def _cells(line: str) -> list[str]:
    return line.strip().strip("|").split("|")


def _fill_titles(
    entry: DigestEntry,
    doc: TextDoc,
    group: list[_Context],
    section_heading: str | None,
    papers_in_section: int,
) -> None:
    english: tuple[str, str] | None = None
    translated: str | None = None
    for text, source in _title_candidates(doc, group, section_heading, papers_in_section):
        if source == "shared heading" and (english or translated):
            break  # a heading over several papers is a last resort, not a better title
        if has_cjk(text):
            translated = translated or text
        elif english is None:
            english = (text, source)
        if english is not None and translated is not None:
            break
    entry.title_translated = translated
    if english is not None:
        entry.title_raw, entry.title = english[0], collapse(english[0])
        if english[1] == "shared heading":
            entry.warnings.append(
                f"title taken from a heading shared by {papers_in_section} references"
            )
    elif translated is None:
        entry.warnings.append("no title found near the reference")


def _title_candidates(
    doc: TextDoc, group: list[_Context], section_heading: str | None, papers_in_section: int
) -> Iterator[tuple[str, str]]:
    """(text, where it came from), best first; computed lazily, most entries stop early."""
    for context in group:
        if text := _link_text(doc.lines[context.line_index], context.column):
            yield text, "link text"
    for context in group:
        if context.table_title:
            yield context.table_title, "table cell"
    heading_title = _visible(section_heading) if section_heading else ""
    if heading_title and papers_in_section == 1:
        yield heading_title, "heading"
    for context in group:
        if not context.in_table and (text := _line_title(doc.lines[context.line_index])):
            yield text, "line"
    if heading_title and papers_in_section > 1:
        yield heading_title, "shared heading"


def _link_text(line: str, column: int) -> str | None:
    """Text of the Markdown link whose URL holds the reference at `column`, unless generic."""
    for link in MD_LINK_RE.finditer(line):
        if link.start(2) <= column < link.end(2):
            text = link[1].strip().strip("*_`").strip()
            return text if _is_title_like(text) else None
    return None


def _line_title(line: str) -> str | None:
    """The line without its references, links to them and list marker, if it reads as a title."""
    if len(line) > MAX_LINE_TITLE_CHARS:
        return None
    text = _visible(line)
    # One English word is more likely "See" than a title; CJK titles have no spaces.
    long_enough = len(text.split()) >= 2 or has_cjk(text)
    return text if long_enough and _is_title_like(text) else None


def _visible(text: str) -> str:
    """Text as a reader sees it, minus references and URLs: generic links are dropped,
    other Markdown links become their text."""
    text = MD_LINK_RE.sub(lambda m: "" if _is_generic(m[1]) else m[1], text)
    for ref in reversed(find_refs(text)):
        text = text[: ref.start] + text[ref.end :]
    text = _URL_RE.sub("", text)
    list_marker = _LIST_MARKER_RE.match(text)
    if list_marker is not None:
        text = text[list_marker.end() :]
    return collapse(text.replace("**", "").replace("`", "")).strip(_EDGE_PUNCTUATION)


def _is_title_like(text: str) -> bool:
    return (
        len(text) <= MAX_LINE_TITLE_CHARS
        and "://" not in text
        and not find_refs(text)
        and not _is_generic(text)
    )


def _is_generic(text: str) -> bool:
    words = _WORD_RE.findall(text.lower())
    return all(word in _GENERIC_WORDS for word in words)  # also true when there are none

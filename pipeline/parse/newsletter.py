"""Numbered newsletter: `### N. 中文标题`, then bold-labelled fields.

    ### 4. Transformer^2：自适应大语言模型
    **原文标题：** Transformer^2: Self-adaptive LLMs      (may wrap onto indented lines)
    **摘要：**
    <abstract>
    **论文链接：** [HuggingFace](https://huggingface.co/papers/ID) | [arXiv](https://arxiv.org/abs/ID)

The link field may be empty (`[]()`): such an entry is found by its title later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.ids import find_refs
from pipeline.model import DigestEntry, Problem
from pipeline.parse.document import (
    Block,
    LayoutResult,
    TextDoc,
    attach_link,
    heading_blocks,
    mark_missing,
)
from pipeline.parse.markdown import collapse, has_cjk, heading

LAYOUT = "newsletter"
# **label：** value (or **label**：value). Spaces and colons around the label are
# trimmed in code: optional runs next to each other in a pattern backtrack quadratically.
_FIELD_RE = re.compile(r"[ \t]*\*\*(?P<label>[^*\n]*)\*\*(?P<value>.*)")
_LABEL_TRIM = " \t：:"
_FIELD_KINDS = {
    "原文标题": "title",
    "英文标题": "title",
    "original title": "title",
    "摘要": "abstract",
    "abstract": "abstract",
    "论文链接": "link",
    "链接": "link",
    "paper link": "link",
    "link": "link",
}
# The field that marks the layout: an English title under a translated heading.
_TITLE_FIELD_RE = re.compile(
    r"^[ \t]*\*\*[ \t]*(?:原文标题|英文标题|original title)[ \t]*[：:]?\*\*",
    re.MULTILINE | re.IGNORECASE,
)
_NUMBER_RE = re.compile(r"\d+[ \t]*[.、．)）][ \t]*")
_URL_RE = re.compile(r"https?://[^\s()<>\[\]]+")


def parse_newsletter(doc: TextDoc) -> LayoutResult | None:
    """The entries, or None when the text is not a newsletter (has no title field)."""
    level = _entry_level(doc)
    if level is None:
        return None
    entries: list[DigestEntry] = []
    problems: list[Problem] = []
    blocks = heading_blocks(doc.lines, level)
    for block in blocks:
        number = _NUMBER_RE.match(block.heading_text)
        fields = _fields(doc.lines, block)
        if number is None and not fields:
            continue  # a section heading at entry level (statistics, word cloud, ...)
        entry = DigestEntry(
            digest=doc.source,
            position=len(entries) + 1,
            layout=LAYOUT,
            line=block.heading_index + 1,
        )
        heading_title = block.heading_text[number.end() :] if number else block.heading_text
        _fill_titles(entry, heading_title, fields.get("title"))
        if "abstract" in fields:
            entry.abstract = "\n".join(fields["abstract"].value).strip() or None
        _fill_link(entry, fields.get("link"), problems)
        entries.append(entry)
    return LayoutResult(LAYOUT, entries, problems, blocks[0].heading_index if blocks else 0)


def _entry_level(doc: TextDoc) -> int | None:
    """Level of the heading above the first title field, or None without one."""
    title_field = _TITLE_FIELD_RE.search(doc.text)
    if title_field is None:
        return None
    field_line = doc.text.count("\n", 0, title_field.start())
    for index in range(field_line - 1, -1, -1):
        found = heading(doc.lines[index])
        if found is not None:
            return found[0]
    return None


@dataclass
class _Field:
    line: int  # 1-based line of the label
    value: list[str]  # the text after the label, then the lines below it


def _fields(lines: list[str], block: Block) -> dict[str, _Field]:
    """Each labelled field of an entry (title, abstract, link)."""
    fields: dict[str, _Field] = {}
    current: _Field | None = None
    for index in range(block.body_start, block.body_end):
        line = lines[index]
        match = _FIELD_RE.fullmatch(line) if "**" in line[:8] else None
        kind = _FIELD_KINDS.get(match["label"].strip(_LABEL_TRIM).lower()) if match else None
        if match is None or kind is None:
            if current is not None:
                current.value.append(line)
            continue
        current = _Field(index + 1, [match["value"].lstrip(_LABEL_TRIM)])
        fields.setdefault(kind, current)  # a repeated field: the first one counts
    return fields


def _first_paragraph(value_lines: list[str]) -> str:
    """The value's first run of non-blank lines, as written (wrapped titles keep their wrap)."""
    paragraph: list[str] = []
    for line in value_lines:
        if line.strip():
            paragraph.append(line)
        elif paragraph:
            break
    return "\n".join(paragraph).strip()


def _fill_titles(entry: DigestEntry, heading_title: str, title_field: _Field | None) -> None:
    heading_title = heading_title.strip()
    if has_cjk(heading_title):
        entry.title_translated = heading_title
    title_raw = _first_paragraph(title_field.value) if title_field else ""
    if not title_raw and heading_title and not has_cjk(heading_title):
        title_raw = heading_title  # an English heading is the title when the field is absent
    if title_raw:
        entry.title_raw, entry.title = title_raw, collapse(title_raw)
    else:
        entry.warnings.append("no English title")


def _fill_link(entry: DigestEntry, link_field: _Field | None, problems: list[Problem]) -> None:
    if link_field is None:
        mark_missing(entry, "no paper link field", problems, "missing_link")
        return
    link_text = _first_paragraph(link_field.value)
    other_url = _URL_RE.search(link_text)
    url = other_url.group(0) if other_url is not None else None  # []() says "no link"
    attach_link(entry, find_refs(link_text), url, problems, link_field.line, "paper link")

"""Hugging Face daily-papers JSON, in the three shapes the dumps have had.

1. a list of objects with a `paper` object (id, title, authors[].name, summary, ...);
2. the same list with each object written as a Python-repr string;
3. a `{status, date, count, data: [...]}` wrapper around either list.
"""

from __future__ import annotations

import json
import re
import reprlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.ids import parse_ref
from pipeline.model import DigestEntry, Problem
from pipeline.parse.document import LayoutResult, attach_refs, mark_missing, parse_problem
from pipeline.parse.markdown import collapse, first_date
from pipeline.parse.pyliteral import read_python_literal

LAYOUT = "hf_json"
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# What reading a Python-repr item can raise on bad input (literal_eval's own list).
_LITERAL_ERRORS = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)


@dataclass
class JsonRead:
    value: Any = None
    error: str | None = None  # why the text is not JSON
    error_line: int | None = None


@dataclass
class HfDump:
    items: list[Any]  # Python-repr strings already read into dicts
    date: date | None  # from the wrapper's `date`
    count: int | None  # the wrapper's `count`, if any

    @property
    def has_paper_objects(self) -> bool:
        """Items carry Hugging Face's `paper` object (a bare list of records may not be HF's)."""
        return any(
            isinstance(item, dict) and isinstance(item.get("paper"), dict) for item in self.items
        )


def read_json(text: str) -> JsonRead:
    # Floats stay text: an ID written as a number (2503.02130) must keep its last zero.
    try:
        return JsonRead(json.loads(text, parse_float=str))
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        return JsonRead(error=f"{error.msg} ({where})", error_line=error.lineno)
    except ValueError as error:  # an integer of thousands of digits
        return JsonRead(error=str(error))
    except RecursionError:
        return JsonRead(error="nested too deeply to read")


def as_hf_dump(value: Any) -> HfDump | None:
    """The dump inside a decoded JSON value, or None when it is no daily-papers dump."""
    wrapper_date, count = None, None
    items = value
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        items = value["data"]
        date_text = value.get("date")
        wrapper_date = first_date(date_text) if isinstance(date_text, str) else None
        count = value.get("count") if isinstance(value.get("count"), int) else None
    if not isinstance(items, list):
        return None
    items = [_read_item(item) for item in items]
    if items and all(_paper_of(item) is None for item in items):
        return None  # a list, but of something other than papers
    return HfDump(items, wrapper_date, count)


def parse_hf_dump(source: str, dump: HfDump) -> LayoutResult:
    entries: list[DigestEntry] = []
    problems: list[Problem] = []
    if dump.count is not None and dump.count != len(dump.items):
        problems.append(
            parse_problem(
                source,
                "count_mismatch",
                f"wrapper says count={dump.count} but holds {len(dump.items)} items",
            )
        )
    for index, item in enumerate(dump.items, start=1):
        paper = _paper_of(item)
        if paper is None:
            problems.append(
                parse_problem(source, "bad_item", f"item {index} is not a paper: {_brief(item)}")
            )
            continue
        entry = DigestEntry(digest=source, position=len(entries) + 1, layout=LAYOUT)
        _fill_entry(entry, paper, item, problems)
        entries.append(entry)
    return LayoutResult(LAYOUT, entries, problems)


def _read_item(item: Any) -> Any:
    """A Python-repr string item read into its value; other items as they are."""
    if not isinstance(item, str):
        return item
    try:
        return read_python_literal(item)
    except _LITERAL_ERRORS:
        return item


def _paper_of(item: Any) -> dict[str, Any] | None:
    """The paper object of one item: item.paper, or the item itself in a bare list."""
    if not isinstance(item, dict):
        return None
    paper = item.get("paper", item)
    if isinstance(paper, dict) and ("id" in paper or "title" in paper):
        return paper
    return None


def _fill_entry(
    entry: DigestEntry, paper: dict[str, Any], item: dict[str, Any], problems: list[Problem]
) -> None:
    title = _text(paper.get("title"))
    if title is not None:
        entry.title_raw, entry.title = title, collapse(title)
    entry.abstract = _text(paper.get("summary"))
    authors = paper.get("authors")
    if isinstance(authors, list):
        names = [_text(author.get("name")) for author in authors if isinstance(author, dict)]
        entry.authors = [name for name in names if name and name.strip()]
    if item is not paper and isinstance(item.get("publishedAt"), str):
        # The item's own publishedAt is the day it was listed; paper.publishedAt is arXiv's.
        entry.digest_date = first_date(item["publishedAt"])
    paper_id = paper.get("id")
    if paper_id is None or paper_id == "":
        mark_missing(entry, "paper has no id", problems, "missing_id")
        return
    id_text = _text(paper_id)
    if id_text is None:
        # A number may still be an ID (its trailing zeros are lost); anything else is not.
        id_text = str(paper_id) if isinstance(paper_id, int | float) else _brief(paper_id)
        entry.warnings.append(f"paper.id is a {type(paper_id).__name__}, not a string")
    attach_refs(entry, [parse_ref(id_text)], problems)


def _text(value: Any) -> str | None:
    """A string field, storable as UTF-8: a lone surrogate (a \\ud800 escape in the JSON)
    becomes U+FFFD. None for anything that is not a string."""
    if not isinstance(value, str):
        return None
    if value.isascii() or _LONE_SURROGATE_RE.search(value) is None:
        return value
    return _LONE_SURROGATE_RE.sub("\ufffd", value)


def _brief(item: Any) -> str:
    """A short repr for messages; reprlib also stops at depth, where repr could recurse."""
    return reprlib.repr(item)

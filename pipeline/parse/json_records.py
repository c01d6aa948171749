"""JSON of any shape and JSON Lines: the objects that carry an arXiv ID, link or title.

A record is an object with a title field or an ID/link field holding an arXiv reference
(records.field_role names them). In a JSON document the records are the collection (a
list, or an object keyed by ID) holding the most of them, found breadth-first through the
objects that are not records themselves: `[{...}, ...]`, `{papers: [{...}]}`,
`{data: {items: [...]}}`, `{"2501.01234": {...}}`. The fields of a record are never
searched for more records (an `AI: {...}` object or a `references` list inside a paper
makes no entries). A single paper object is one entry. In JSON Lines every line is read on
its own: an object is a record, or holds a collection of them.

The Hugging Face daily-papers shapes are hf_json.py's; this reader sees the rest.
"""

from __future__ import annotations

import re
from collections import deque
from functools import lru_cache
from typing import Any

from pipeline.parse.document import LayoutResult, TextDoc, parse_problem
from pipeline.parse.hf_json import read_json
from pipeline.parse.records import (
    EntryMaker,
    Field,
    Record,
    Role,
    field_role,
    has_paper_signal,
    record_refs,
)

LAYOUT_JSON = "json"
LAYOUT_JSONL = "jsonl"
_MAX_NODES = 100_000  # containers looked at when searching a document for its records
_MIN_JSONL_SHARE = 0.8  # of the non-blank lines that must be JSON (half in a .json* file)
_JSON_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".jsonlines"})
_JSONL_GIVE_UP_AFTER = 20  # non-blank lines read before a file that is mostly not JSON stops
_STARTS_LIKE_JSON_RE = re.compile(r"\s*[\[{]")


def read_json_records(doc: TextDoc, suffix: str) -> LayoutResult | None:
    """Entries of a JSON or JSON Lines file of records, or None when it is neither (or
    holds no records)."""
    if _STARTS_LIKE_JSON_RE.match(doc.text) is None:
        return None
    read = read_json(doc.text)
    if read.error is None:
        return _read_document(doc, read.value)
    return _read_lines(doc, suffix)


def _read_document(doc: TextDoc, value: Any) -> LayoutResult | None:
    found = _find_records(value)
    if found is None:
        return None
    records, key = found
    if not has_paper_signal(records):
        return None
    maker = EntryMaker(doc.source, LAYOUT_JSON, "field")
    for record in records:
        maker.add(record)
    return maker.result(_header_end(doc, key))


def _read_lines(doc: TextDoc, suffix: str) -> LayoutResult | None:
    records: list[Record] = []
    problems = []
    json_lines = nonblank = 0
    for index, line in enumerate(doc.lines):
        stripped = line.strip()
        if not stripped:
            continue
        nonblank += 1
        read = read_json(stripped) if stripped[0] in "[{" else None
        if read is None or read.error is not None:
            why = read.error if read is not None else "not a JSON value"
            problems.append(
                parse_problem(doc.source, "invalid_json_line", f"not JSON: {why}", index + 1)
            )
            if nonblank >= _JSONL_GIVE_UP_AFTER and json_lines * 2 < nonblank:
                return None  # mostly not JSON: some other format that starts with [ or {
            continue
        json_lines += 1
        found = _find_records(read.value)
        if found is not None:
            for record in found[0]:
                record.line = index + 1
                records.append(record)
    share = 0.5 if suffix in _JSON_SUFFIXES else _MIN_JSONL_SHARE
    if json_lines < 2 or json_lines < share * nonblank or not has_paper_signal(records):
        return None
    maker = EntryMaker(doc.source, LAYOUT_JSONL, "field")
    maker.problems.extend(problems)
    for record in records:
        maker.add(record)
    return maker.result()


@lru_cache(maxsize=4096)
def _role(name: str) -> tuple[Role, int]:
    return field_role(name)


def _fields(obj: dict[Any, Any]) -> list[Field]:
    return [Field(str(key), value, *_role(str(key))) for key, value in obj.items()]


def _as_record(obj: dict[Any, Any]) -> Record | None:
    """`obj` as a record: itself, or the one record-like object inside it (the `paper` of
    `{paper: {...}, upvotes: 3}`) with the outer object's plain fields added."""
    fields = _fields(obj)
    if _is_record(fields):
        return Record(fields)
    inner = [value for value in obj.values() if isinstance(value, dict)]
    if len(inner) == 1:
        inner_fields = _fields(inner[0])
        if _is_record(inner_fields):
            outer = [item for item in fields if not isinstance(item.value, dict | list)]
            return Record(inner_fields + outer)
    return None


def _is_record(fields: list[Field]) -> bool:
    for item in fields:
        if item.role == "title" and isinstance(item.value, str) and item.value.strip():
            return True
    own = [item for item in fields if item.role in ("id", "link")]
    return bool(own) and any(ref.valid for ref in record_refs(own) or ())


def _find_records(value: Any) -> tuple[list[Record], str | None] | None:
    """The records of a JSON value and the key of the collection holding them (None at
    the top), or None when it holds none.

    An object that is a record itself is one paper when its own ID or link fields name
    one (its lists, references say, are its fields); with a title alone it may be a
    digest wrapped around its papers, so a collection inside it wins.
    """
    top = _as_record(value) if isinstance(value, dict) else None
    if top is not None and _names_a_paper(top):
        return [top], None
    best: tuple[int, list[Record], str | None] | None = None
    queue: deque[tuple[Any, str | None]] = deque([(value, None)])
    seen = 0
    while queue and seen < _MAX_NODES:
        node, key = queue.popleft()
        seen += 1
        records: list[Record] = []
        if isinstance(node, list):
            for item in node:
                record = _as_record(item) if isinstance(item, dict) else None
                if record is not None:
                    records.append(record)
                elif isinstance(item, dict | list):
                    queue.append((item, key))
        elif isinstance(node, dict):
            keyed = []
            for name, item in node.items():
                record = _as_record(item) if isinstance(item, dict) else None
                if record is not None:
                    # An object keyed by ID: the key is one of the record's fields.
                    record.fields.insert(0, Field("key", str(name), "id"))
                    keyed.append(record)
                elif isinstance(item, dict | list):
                    queue.append((item, str(name)))
            records = keyed if len(keyed) >= 2 else []
        if records and (best is None or len(records) > best[0]):
            best = (len(records), records, key)
    if best is not None:
        return best[1], best[2]
    return ([top], None) if top is not None else None


def _names_a_paper(record: Record) -> bool:
    own = [item for item in record.fields if item.role in ("id", "link")]
    return any(ref.valid for ref in record_refs(own) or ())


def _header_end(doc: TextDoc, key: str | None) -> int:
    """Lines before the collection: where the document's own date may be."""
    if key is None:
        return 0
    at = doc.text.find(f'"{key}"')
    return doc.line_index(at) if at >= 0 else 0

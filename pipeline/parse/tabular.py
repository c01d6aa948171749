"""CSV and TSV exports of papers: one entry per data row.

The delimiter is sniffed (csv.Sniffer, on the first lines only: its patterns are slow on
long samples) among comma, tab and semicolon, and checked on the whole file: the rows
must have the header's column count (more cells only when the extra ones are empty).
Markdown pipe tables are not CSV (the Markdown reader has them). A file is a table when
its first row is a header naming a title or arXiv/link column (records.field_role), or
when, without such names, one column holds arXiv references row after row (then the
first row is a header only if it holds none, and the title is the wordiest column).
Prose with commas is neither, so a Markdown or plain-text file is not mistaken for CSV.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from pipeline.ids import find_field_refs, read_id_field
from pipeline.parse.decode import MAX_DIGEST_BYTES
from pipeline.parse.document import LayoutResult, TextDoc, parse_problem
from pipeline.parse.records import EntryMaker, Field, Record, field_role, has_paper_signal

LAYOUT = "csv"
_DELIMITERS = ",\t;"
_SNIFF_LINES = 20
_SNIFF_CHARS = 8192
_CHECK_ROWS = 500  # rows checked for a consistent column count (the rest are just read)
_TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".tab"})
# Share of the checked data rows that must have the header's column count.
_CONSISTENT_SHARE = 0.9
_CONSISTENT_SHARE_TABLE_SUFFIX = 0.6
_MAX_HEADER_CELL = 60  # characters: longer is a value, not a column name
_WORD_RE = re.compile(r"[^\W\d_]{2,}")
_NAMED_ROLES = frozenset({"title", "id", "link"})
_MIN_HEADERLESS_ROWS = 3  # data rows a headerless table needs, unless its suffix says CSV
_MARKDOWN_LINE_RE = re.compile(r"[ \t]*(?:[-*+][ \t]|\d{1,9}[.)][ \t]|>|```|~~~)")

# The csv module refuses fields over 128 KiB by default (process-wide); a digest may hold
# a longer one (a cell of thousands of links), and is capped in size before it gets here.
csv.field_size_limit(max(csv.field_size_limit(), MAX_DIGEST_BYTES))


def read_table(doc: TextDoc, suffix: str) -> LayoutResult | None:
    """Entries of a CSV/TSV file of papers, or None when the text is no such table."""
    text = doc.text
    first = text.lstrip()[:1]
    if not first or first in "|#[{<@":
        return None  # Markdown (tables, headings), JSON, HTML/XML, BibTeX
    table_suffix = suffix in _TABLE_SUFFIXES
    best = None  # the dialect whose rows fit the header best; the first one on a tie
    for dialect in _dialects(text):
        table = _check(text, dialect, table_suffix)
        if table is not None and (best is None or table[2] > best[1][2]):
            best = (dialect, table)
    if best is None:
        return None
    dialect, (header, roles, _) = best
    return _read(doc, dialect, header, roles)


def _dialects(text: str) -> Iterator[type[csv.Dialect] | csv.Dialect]:
    """The sniffed dialect first, then the plain delimiters. Tabs are tried without
    quoting first: spreadsheets export TSV unquoted, and a title may start with a quote
    (`"Why Should I Trust You?": Explaining ...`)."""
    sample = "\n".join(text[:_SNIFF_CHARS].split("\n")[:_SNIFF_LINES])
    tried = set()
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        sniffed = None
    if sniffed is not None and sniffed.delimiter in _DELIMITERS:
        if sniffed.quotechar != '"':
            # An apostrophe in a title ("Let's") is no quote character in a paper list.
            sniffed.quotechar, sniffed.doublequote = '"', True
        tried.add(sniffed.delimiter)
        if sniffed.delimiter == "\t":
            yield _Unquoted
        yield sniffed
    for delimiter in _DELIMITERS:
        if delimiter not in tried and delimiter in sample:
            if delimiter == "\t":
                yield _Unquoted
            yield _plain(delimiter)


def _plain(delimiter: str) -> type[csv.Dialect]:
    return type("Plain", (csv.excel,), {"delimiter": delimiter})


class _Unquoted(csv.excel_tab):
    quoting = csv.QUOTE_NONE


def _unquote(cell: str) -> str:
    """A cell of an unquoted TSV that is quoted all the same, without its quotes."""
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        return cell[1:-1].replace('""', '"')
    return cell


def _rows(
    text: str, dialect: type[csv.Dialect] | csv.Dialect, errors: list[str] | None = None
) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, last line, cells) of every row, lines 1-based; reading stops at a row
    the csv module refuses (its message goes to `errors`)."""
    reader = csv.reader(io.StringIO(text), dialect)
    last = 0
    try:
        for row in reader:
            yield last + 1, reader.line_num, row
            last = reader.line_num
    except csv.Error as error:
        if errors is not None:
            errors.append(f"line {last + 1}: {error}")


def _check(
    text: str, dialect: type[csv.Dialect] | csv.Dialect, table_suffix: bool
) -> tuple[list[str] | None, dict[int, str], float] | None:
    """(header or None, roles by column for a headerless table, share of the rows that fit
    the header) when `text` is a table in `dialect`, else None."""
    rows = []
    for _, _, row in _rows(text, dialect):
        if any(cell.strip() for cell in row):
            rows.append(row)
            if len(rows) > _CHECK_ROWS:
                break
    if len(rows) < 2:
        return None
    header, data = rows[0], rows[1:]
    width = len(header)
    if width < 2:
        return None
    fits = sum(_fits(row, width) for row in data)
    share = _CONSISTENT_SHARE_TABLE_SUFFIX if table_suffix else _CONSISTENT_SHARE
    if fits < share * len(data) or (not table_suffix and len(data) < 2):
        return None
    if not table_suffix and _looks_like_markdown(text):
        return None
    fit_share = fits / len(data)
    if _is_named_header(header):
        return header, {}, fit_share
    # No column names: a column of references alone (a cell that is one ID or URL) makes
    # it a table; a reference inside other text is prose or Markdown, not a column.
    ref_column = _ref_column(rows, width)
    if ref_column is None or (not table_suffix and len(data) < _MIN_HEADERLESS_ROWS):
        return None
    header_row = not _is_lone_ref(header[ref_column]) and all(
        len(cell) <= _MAX_HEADER_CELL for cell in header
    )
    body = data if header_row else rows
    roles = {ref_column: "id"}
    title_column = _wordiest_column(body, width, ref_column)
    if title_column is not None:
        roles[title_column] = "title"
    return (header if header_row else None), roles, fit_share


def _fits(row: list[str], width: int) -> bool:
    return len(row) == width or (len(row) > width and not any(c.strip() for c in row[width:]))


def _is_named_header(header: list[str]) -> bool:
    cells = [cell.strip() for cell in header]
    if any(len(cell) > _MAX_HEADER_CELL or "://" in cell for cell in cells):
        return False
    if any(find_field_refs(cell) for cell in cells):
        return False
    return any(field_role(cell)[0] in _NAMED_ROLES for cell in cells if cell)


def _looks_like_markdown(text: str) -> bool:
    """List items, block quotes, code fences or inline links on many of the first lines."""
    lines = [line for line in text.split("\n", _CHECK_ROWS)[:_CHECK_ROWS] if line.strip()]
    marked = sum(1 for line in lines if _MARKDOWN_LINE_RE.match(line) or "](" in line)
    return marked * 5 > len(lines)


def _ref_column(rows: list[list[str]], width: int) -> int | None:
    """The column whose cells are each one arXiv reference, in most rows."""
    best, best_count = None, 0
    for column in range(width):
        cells = (row[column] for row in rows if column < len(row))
        count = sum(1 for cell in cells if _is_lone_ref(cell))
        if count > best_count:
            best, best_count = column, count
    return best if best_count * 2 >= len(rows) else None


def _is_lone_ref(cell: str) -> bool:
    stripped = cell.strip()
    if not stripped or any(char.isspace() for char in stripped):
        return False
    refs = read_id_field(stripped)
    return len(refs) == 1 and refs[0].valid


def _wordiest_column(rows: list[list[str]], width: int, skip: int) -> int | None:
    """The column with the most words per cell (at least two): the titles."""
    best, best_words = None, 2.0 * len(rows)
    for column in range(width):
        if column == skip:
            continue
        words = sum(len(_WORD_RE.findall(row[column])) for row in rows if column < len(row))
        if words >= best_words:
            best, best_words = column, words
    return best


def _read(
    doc: TextDoc,
    dialect: type[csv.Dialect] | csv.Dialect,
    header: list[str] | None,
    roles: dict[int, str],
) -> LayoutResult | None:
    names = [cell.strip() for cell in header] if header else []
    header_key = [_key(name) for name in names]
    maker = EntryMaker(doc.source, LAYOUT, "column", what="column")
    records: list[Record] = []
    started = header is None
    errors: list[str] = []
    for first_line, last_line, cells in _rows(doc.text, dialect, errors):
        row = [_unquote(cell) for cell in cells] if dialect is _Unquoted else cells
        if not any(cell.strip() for cell in row):
            continue
        if not started:
            started = True  # the header row
            continue
        if header and [_key(cell) for cell in row[: len(header_key)]] == header_key:
            continue  # the header repeated (files concatenated)
        fields = []
        for column, cell in enumerate(row):
            name = names[column] if column < len(names) else f"column {column + 1}"
            if column in roles:
                fields.append(Field(name, cell, roles[column]))  # type: ignore[arg-type]
            else:
                role, rank = field_role(name) if column < len(names) else ("other", 0)
                fields.append(Field(name, cell, role, rank))
        text = "\n".join(doc.lines[first_line - 1 : last_line])
        records.append(Record(fields, line=first_line, source_text=text))
    if not has_paper_signal(records):
        return None
    for record in records:
        maker.add(record)
    for error in errors:
        message = f"the rest of the table cannot be read as CSV ({error})"
        maker.problems.append(parse_problem(doc.source, "invalid_csv", message))
    return maker.result()


def _key(cell: str) -> str:
    return cell.strip().lower()

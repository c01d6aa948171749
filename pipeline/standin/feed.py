"""Atom feeds in the two dialects arXiv has served (docs/arxiv.md §4).

* "new" (the backend since 2025-11-11): namespaces declared once on the root, one-line
  title and summary, https links, entry order id, title, updated, links, summary,
  categories, published, comment, primary_category, journal_ref, authors, doi.
* "old" (the classic backend): namespaces repeated on each element, `rel="self"` feed link,
  title/comment/journal-ref hard-wrapped as in arXiv's abs files ("Title: " etc. counted in
  the 80 columns, continuation lines indented two spaces), abstract wrapped at 80.

Errors always use the 2026 error-feed shape; no old-format error sample exists.
"""

from __future__ import annotations

import base64
import hashlib
import re
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Literal
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.standin.corpus import RecordVersion

Dialect = Literal["new", "old"]
DIALECTS: tuple[Dialect, ...] = ("new", "old")

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
# arXiv wraps abs-file fields at 80 columns, counting the field label (see old samples).
WRAP_WIDTH = 79
try:
    _EASTERN: tzinfo = ZoneInfo("America/New_York")
except ZoneInfoNotFoundError:  # no tz database on this machine: EDT, as in every capture
    _EASTERN = timezone(timedelta(hours=-4))


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def one_line(text: str) -> str:
    return " ".join(text.split())


def _summary_new(text: str) -> str:
    # The new backend keeps the abstract's leading two spaces but no line breaks.
    indent = text[: len(text) - len(text.lstrip(" "))]
    return indent + one_line(text)


def _wrap_field(label: str, text: str) -> str:
    """Hard-wrap like an old abs file: label counted on line one, 2-space continuations."""
    wrapped = textwrap.fill(
        one_line(text),
        width=WRAP_WIDTH,
        initial_indent=label,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapped[len(label) :]


def _summary_old(text: str) -> str:
    # A line that starts with blanks opens a new paragraph; each paragraph keeps its indent.
    paragraphs = re.split(r"\n(?=[ \t])", text.rstrip())
    return "\n".join(_fill_paragraph(paragraph) for paragraph in paragraphs) + "\n"


def _fill_paragraph(paragraph: str) -> str:
    return textwrap.fill(
        one_line(paragraph),
        width=WRAP_WIDTH,
        initial_indent=paragraph[: len(paragraph) - len(paragraph.lstrip(" "))],
        break_long_words=False,
        break_on_hyphens=False,
    )


def _dois(doi: str | None) -> list[str]:
    return doi.split() if doi else []


def _entry_new(paper: RecordVersion) -> str:
    vid = paper.versioned_id
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{vid}</id>",
        f"    <title>{escape(one_line(paper.title))}</title>",
        f"    <updated>{paper.updated}</updated>",
        f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{vid}" rel="related"'
        ' type="application/pdf" title="pdf"/>',
        f"    <summary>{escape(_summary_new(paper.abstract))}</summary>",
    ]
    lines += [f'    <category term="{_attr(c)}" scheme="{ARXIV}"/>' for c in paper.categories]
    lines.append(f"    <published>{paper.published}</published>")
    if paper.comment:
        lines.append(f"    <arxiv:comment>{escape(one_line(paper.comment))}</arxiv:comment>")
    lines.append(f'    <arxiv:primary_category term="{_attr(paper.primary_category)}"/>')
    if paper.journal_ref:
        lines.append(
            f"    <arxiv:journal_ref>{escape(one_line(paper.journal_ref))}</arxiv:journal_ref>"
        )
    lines += _author_lines(paper.authors, "")
    # docs/arxiv.md §4: the new backend writes one arxiv:doi element and one doi
    # link per DOI (atom_extensions.py, meta.doi.split()).
    for doi in _dois(paper.doi):
        lines.append(f"    <arxiv:doi>{escape(doi)}</arxiv:doi>")
        lines.append(f'    <link rel="related" href="https://doi.org/{_attr(doi)}" title="doi"/>')
    lines.append("  </entry>")
    return "\n".join(lines)


def _author_lines(authors: Sequence[tuple[str, Sequence[str]]], ns: str) -> list[str]:
    """<author> elements; the classic dialect declares the arxiv namespace on each one."""
    lines = []
    for name, affiliations in authors:
        lines += ["    <author>", f"      <name>{escape(name)}</name>"]
        lines += [
            f"      <arxiv:affiliation{ns}>{escape(a)}</arxiv:affiliation>" for a in affiliations
        ]
        lines.append("    </author>")
    return lines


def _entry_old(paper: RecordVersion) -> str:
    vid = paper.versioned_id
    ns = f'xmlns:arxiv="{ARXIV}"'
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{vid}</id>",
        f"    <updated>{paper.updated}</updated>",
        f"    <published>{paper.published}</published>",
        f"    <title>{escape(_wrap_field('Title: ', paper.title))}</title>",
        f"    <summary>{escape(_summary_old(paper.abstract))}</summary>",
    ]
    lines += _author_lines(paper.authors, f" {ns}")
    dois = _dois(paper.doi)
    if dois:
        lines.append(f"    <arxiv:doi {ns}>{escape(' '.join(dois))}</arxiv:doi>")
        lines.append(
            f'    <link title="doi" href="http://dx.doi.org/{_attr(dois[0])}" rel="related"/>'
        )
    if paper.comment:
        comment = escape(_wrap_field("Comments: ", paper.comment))
        lines.append(f"    <arxiv:comment {ns}>{comment}</arxiv:comment>")
    if paper.journal_ref:
        journal_ref = escape(_wrap_field("Journal-ref: ", paper.journal_ref))
        lines.append(f"    <arxiv:journal_ref {ns}>{journal_ref}</arxiv:journal_ref>")
    lines += [
        f'    <link href="http://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>',
        f'    <link title="pdf" href="http://arxiv.org/pdf/{vid}" rel="related"'
        ' type="application/pdf"/>',
        f'    <arxiv:primary_category {ns} term="{_attr(paper.primary_category)}"'
        f' scheme="{ARXIV}"/>',
    ]
    lines += [f'    <category term="{_attr(c)}" scheme="{ARXIV}"/>' for c in paper.categories]
    lines.append("  </entry>")
    return "\n".join(lines)


def render_entry(paper: RecordVersion, dialect: Dialect) -> str:
    return _entry_new(paper) if dialect == "new" else _entry_old(paper)


def _feed_hash(echo: str) -> str:
    # Feed ids are a per-query hash: 27 characters of unpadded base64 (SHA-1 sized).
    return base64.b64encode(hashlib.sha1(echo.encode()).digest()).decode().rstrip("=")


def render_feed(
    papers: Sequence[RecordVersion],
    *,
    dialect: Dialect,
    search_query: str,
    id_list: str,
    start: int,
    max_results: int,
    total_results: int,
    now: datetime | None = None,
) -> bytes:
    """A result page. `total_results` is the size of the whole result set (docs/arxiv.md §4)."""
    now = now or datetime.now(UTC)
    echo = f"search_query={search_query}&id_list={id_list}&start={start}&max_results={max_results}"
    entries = [render_entry(paper, dialect) for paper in papers]
    if dialect == "new":
        link = (
            f"https://arxiv.org/api/query?search_query={quote_plus(search_query, safe=':/,')}"
            f"&start={start}&max_results={max_results}&id_list={quote(id_list, safe=':/,')}"
        )
        head = [
            "<?xml version='1.0' encoding='UTF-8'?>",
            f'<feed xmlns:opensearch="{OPENSEARCH}" xmlns:arxiv="{ARXIV}" xmlns="{ATOM}">',
            f"  <id>https://arxiv.org/api/{_feed_hash(echo)}</id>",
            f"  <title>arXiv Query: {escape(echo)}</title>",
            f"  <updated>{now.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>",
            f'  <link href="{_attr(link)}" type="application/atom+xml"/>',
            f"  <opensearch:itemsPerPage>{max_results}</opensearch:itemsPerPage>",
            f"  <opensearch:totalResults>{total_results}</opensearch:totalResults>",
            f"  <opensearch:startIndex>{start}</opensearch:startIndex>",
        ]
    else:
        # Old backend: feed <updated> is midnight US Eastern of the current day.
        midnight = now.astimezone(_EASTERN).replace(hour=0, minute=0, second=0, microsecond=0)
        ns = f'xmlns:opensearch="{OPENSEARCH}"'
        head = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<feed xmlns="{ATOM}">',
            f'  <link href="http://arxiv.org/api/query?{quote(echo, safe="")}" rel="self"'
            ' type="application/atom+xml"/>',
            f'  <title type="html">ArXiv Query: {escape(echo)}</title>',
            f"  <id>http://arxiv.org/api/{_feed_hash(echo)}</id>",
            f"  <updated>{midnight.isoformat()}</updated>",
            f"  <opensearch:totalResults {ns}>{total_results}</opensearch:totalResults>",
            f"  <opensearch:startIndex {ns}>{start}</opensearch:startIndex>",
            f"  <opensearch:itemsPerPage {ns}>{max_results}</opensearch:itemsPerPage>",
        ]
    return ("\n".join([*head, *entries, "</feed>"]) + "\n").encode("utf-8")


def error_reason(message: str) -> str:
    """The fragment arXiv puts in the error entry's id: the message with underscores."""
    return message.replace(" ", "_")


def render_error_feed(
    message: str, now: datetime | None = None, *, with_reason: bool = True
) -> bytes:
    """The 2026 error feed (error-start-not-integer sample), served with HTTP 400
    (docs/arxiv.md §4).

    `with_reason=False` gives the id of query-syntax errors, `https://arxiv.org/api/errors`
    without `#reason` (docs/arxiv.md §4: routes/classic_api/exceptions.py).
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    url = "https://arxiv.org/api/errors"
    if with_reason:
        url += f"#{error_reason(message)}"
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f'<feed xmlns:opensearch="{OPENSEARCH}" xmlns:arxiv="{ARXIV}" xmlns="{ATOM}">',
        "  <id>https://arxiv.org/</id>",
        "  <title>arXiv Search Results</title>",
        f"  <updated>{stamp}</updated>",
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>",
        "  <opensearch:totalResults>1</opensearch:totalResults>",
        "  <opensearch:startIndex>0</opensearch:startIndex>",
        "  <entry>",
        f"    <id>{escape(url)}</id>",
        "    <title>Error</title>",
        f"    <updated>{stamp}</updated>",
        f'    <link href="{_attr(url)}" rel="alternate" type="text/html"/>',
        f"    <summary>{escape(message)}</summary>",
        "    <author>",
        "      <name>arXiv api core</name>",
        "    </author>",
        "  </entry>",
        "</feed>",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")

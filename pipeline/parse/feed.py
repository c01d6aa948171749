"""RSS and Atom feeds (also RSS 1.0/RDF): every item is an entry, the channel is not.

Read with feedparser, from the decoded text (never a URL or a path: feedparser would
fetch or open one). Per item: the title (HTML tags removed, entities decoded, arXiv's old
`(arXiv:ID [cs.CL] UPDATED)` tail dropped), the guid (`https://arxiv.org/abs/ID`,
`arxiv:ID`, `oai:arXiv.org:ID`) and links first for the arXiv reference, then the links
inside the description; the description as text for the abstract; the authors.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

import feedparser

from pipeline.parse.document import LayoutResult, TextDoc, parse_problem
from pipeline.parse.records import (
    EntryMaker,
    Field,
    Record,
    author_names,
    clean_text,
    make_field,
)

LAYOUT = "feed"
# A feed's root after the XML declaration, comments, processing instructions, a doctype.
_FEED_START_RE = re.compile(
    r"\s*(?:(?:<\?[^>]*>|<!--(?:[^-]|-(?!->))*-->|<!DOCTYPE[^>\[]*(?:\[[^\]]*\])?\s*>)\s*)*"
    r"<(?:[A-Za-z_][\w.\-]*:)?(?:rss|feed|RDF)(?=[\s>/])"
)
_XML_ENCODING_RE = re.compile(r"""(\A\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_ITEM_START_RE = re.compile(r"<(?:[A-Za-z_][\w.\-]*:)?(?:item|entry)(?=[\s>/])")
_TAG_RE = re.compile(r"<[^<>]*>")
_HREF_RE = re.compile(r"""\bhref\s*=\s*["']([^"'<>]+)["']""", re.IGNORECASE)
# arXiv's RSS before 2024: `Title. (arXiv:2401.01234v1 [cs.CL])`, `... [cs.CL] UPDATED)`.
_ARXIV_TITLE_TAIL_RE = re.compile(r"\.?\s*\(arXiv:[^()]*\)\s*\Z", re.IGNORECASE)
_USED_KEYS = frozenset(
    {"title", "title_detail", "id", "guidislink", "link", "links", "summary", "summary_detail",
     "content", "author", "author_detail", "authors", "published_parsed", "updated_parsed",
     "tags"}
)  # fmt: skip


def read_feed(doc: TextDoc, suffix: str) -> LayoutResult | None:
    """Entries of an RSS/Atom feed, or None when the text is not one."""
    if _FEED_START_RE.match(doc.text) is None:
        return None
    # The text is decoded already: say so to feedparser, whatever the declaration said.
    data = _XML_ENCODING_RE.sub(r"\1\2utf-8\2", doc.text, count=1).encode("utf-8", "replace")
    try:
        parsed = feedparser.parse(
            io.BytesIO(data), response_headers={"content-type": "application/xml; charset=utf-8"}
        )
    except Exception as error:  # feedparser's parsers on hostile input: none are documented
        problem = parse_problem(doc.source, "invalid_feed", f"cannot read the feed: {error}")
        return LayoutResult(LAYOUT, [], [problem])
    maker = EntryMaker(doc.source, LAYOUT, "field")
    if parsed.get("bozo") and parsed.get("bozo_exception") is not None:
        message = f"not well-formed XML ({parsed['bozo_exception']}); read leniently"
        maker.problems.append(parse_problem(doc.source, "malformed_feed", message))
    items = parsed.get("entries") or []
    lines = _item_lines(doc, len(items))
    for index, item in enumerate(items):
        maker.add(_record(item, lines[index] if lines else None))
    if not items:
        maker.problems.append(parse_problem(doc.source, "empty_feed", "the feed has no items"))
    return maker.result(header_end=(lines[0] - 1) if lines else 0)


def _record(item: Any, line: int | None) -> Record:
    fields: list[Field] = []
    title = item.get("title")
    if isinstance(title, str):
        is_html = (item.get("title_detail") or {}).get("type") in (
            "text/html",
            "application/xhtml+xml",
        )
        text = html_to_text(title, "") if is_html else title
        fields.append(Field("title", _ARXIV_TITLE_TAIL_RE.sub("", text), "title", 0, title))
    for key in ("id", "link"):
        if isinstance(item.get(key), str):
            fields.append(Field("guid" if key == "id" else key, item[key], "link"))
    hrefs = [link.get("href") for link in item.get("links") or [] if isinstance(link, dict)]
    fields.append(Field("links", [href for href in hrefs if isinstance(href, str)], "link"))
    summary = _summary(item)
    if summary is not None:
        fields.append(Field("summary", html_to_text(summary), "abstract"))
    names = _authors(item)
    if names:
        fields.append(Field("authors", names, "authors"))
    for key, value in item.items():
        if key not in _USED_KEYS and isinstance(value, str):
            fields.append(make_field(key, value))
    if summary is not None:
        # Links in the description count only when the item's own links name no paper.
        fields.append(Field("summary links", _HREF_RE.findall(summary), "other"))
    return Record(fields, line=line)


def _summary(item: Any) -> str | None:
    summary = item.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary
    for content in item.get("content") or []:
        if isinstance(content, dict) and isinstance(content.get("value"), str):
            return content["value"]
    return None


def _authors(item: Any) -> list[str]:
    names = [
        author["name"]
        for author in item.get("authors") or []
        if isinstance(author, dict) and isinstance(author.get("name"), str)
    ]
    if not names and isinstance(item.get("author"), str):
        names = [item["author"]]
    if len(names) == 1 and names[0].count(",") >= 2:
        return author_names(names[0])  # dc:creator "A, B, C": one string for all
    return [clean_text(name) for name in names if clean_text(name)]


def html_to_text(text: str, tag_gap: str = " ") -> str:
    """Tags removed (replaced by `tag_gap`), entities decoded, whitespace collapsed."""
    return clean_text(html.unescape(_TAG_RE.sub(tag_gap, text)))


def _item_lines(doc: TextDoc, count: int) -> list[int] | None:
    """The 1-based line of each item, when the items can be told apart in the text."""
    starts = [match.start() for match in _ITEM_START_RE.finditer(doc.text)]
    if count == 0 or len(starts) != count:
        return None
    return [doc.line_index(start) + 1 for start in starts]

"""Small text helpers shared by the layouts: headings, links, dates, whitespace, scripts."""

from __future__ import annotations

import re
from datetime import date

_HEADING_RE = re.compile(r"(#{1,6})[ \t]+(.*)")
# [text](url "title"): text without nested brackets, url without spaces or parentheses.
# Possessive quantifiers (*+): blank runs inside the parentheses must not be re-split
# on failure, which would take quadratic time on a long one.
MD_LINK_RE = re.compile(r'\[([^\[\]\n]*)\]\(\s*+<?([^()\s<>]*+)>?(?:\s++"[^"\n]*+")?\s*+\)')
# A line that is nothing but one link; the text may itself hold brackets.
LINK_LINE_RE = re.compile(r"\s*\[(?P<text>.*)\]\(\s*+<?(?P<url>[^()\s<>]*+)>?\s*+\)\s*")
THEMATIC_BREAK_RE = re.compile(
    r"\s{0,3}(?:-[ \t]*){3,}|\s{0,3}(?:\*[ \t]*){3,}|\s{0,3}(?:_[ \t]*){3,}"
)
# Han, kana and hangul: a title written in them is a translation, not the English title.
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_DATE_RE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d\d)"
    r"(?:[-/._](?P<m>\d{1,2})[-/._](?P<d>\d{1,2})|年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日)"
    r"(?!\d)"
)


def heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line, or None."""
    if not line.startswith("#"):
        return None
    match = _HEADING_RE.fullmatch(line)
    if match is None:
        return None
    # Trailing #s close the heading only after a space, so `## C#` keeps its #. Done
    # with string methods: a pattern for it backtracks quadratically on long blank runs.
    text = match[2].rstrip()
    without_closing = text.rstrip("#")
    if without_closing != text and (not without_closing or without_closing[-1] in " \t"):
        text = without_closing.rstrip()
    return (len(match[1]), text) if text else None


def collapse(text: str) -> str:
    """Whitespace runs (line wraps included) to single spaces."""
    return " ".join(text.split())


def has_cjk(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def first_date(text: str) -> date | None:
    """The first real calendar date written as Y-M-D (-, /, ., _ or 年月日) in `text`."""
    for match in _DATE_RE.finditer(text):
        month, day = match["m"] or match["m2"], match["d"] or match["d2"]
        try:
            return date(int(match["y"]), int(month), int(day))
        except ValueError:  # 2025-02-30 and the like: keep looking
            continue
    return None

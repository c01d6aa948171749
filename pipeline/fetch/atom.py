"""Reading arXiv's Atom answers: refuse anything that is not a genuine feed, then map entries.

`arxiv._feed.parse` uses lxml with recover=True, so a truncated body would come back as a
shorter feed and a "Rate exceeded." body as "no results" (docs/arxiv.md §4). Every answer
is therefore checked strictly here first (size, first bytes, no DTD, strict XML, Atom root);
only a document that passed is handed, entry by entry, to arxiv._feed to build
`arxiv.Result`s, which are then mapped to `PaperRecord`s. Both dialects parse: the classic
one (namespaces on each element, wrapped text) and the one served since 2025-11-11
(namespaces on the root, one-line text, https links) (docs/arxiv.md §4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import arxiv
from arxiv import _feed
from lxml import etree

from pipeline.ids import is_valid_id
from pipeline.model import Author, PaperRecord, Problem

# A 200-ID answer is about 1 MB; arXiv's largest legal page (30000 results) is a little over
# 15 MB (docs/arxiv.md §2). Anything beyond this is refused unread.
MAX_ANSWER_BYTES = 32 * 1024 * 1024

ATOM = "{http://www.w3.org/2005/Atom}"
_NS = {"atom": ATOM[1:-1], "opensearch": "http://a9.com/-/spec/opensearch/1.1/"}

# docs/arxiv.md §5: throttled replies carry the plain-text body "Rate exceeded.",
# sometimes with status 200.
_RATE_EXCEEDED = b"rate exceeded"
_HTML_START = (b"<!doctype html", b"<html")
# A DTD is never part of an arXiv answer; refusing it outright rules out entity expansion
# ("billion laughs") and external entities whatever the parser's defaults.
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# docs/arxiv.md §3-4: entry ids are http://arxiv.org/abs/<id>v<N> (https tolerated).
_ABS_URL = re.compile(r"^https?://(?:export\.)?arxiv\.org/abs/(?P<id>.+?)v(?P<version>[1-9]\d*)$")
# docs/arxiv.md §7: the API has no withdrawn flag. A withdrawal
# is a new version (v2 or later) whose comment is the author's reason, required and free
# text (arxiv-docs withdraw.md), which need not say "withdrawn". Read from the comment:
# an explicit notice, in any version (arXiv's own wording included) ...
_WITHDRAWAL_NOTICE = re.compile(
    r"\bwithdr(?:aw|ew)|\bretract|\bremoved by arxiv|\bsubmission has been removed",
    re.IGNORECASE,
)
# ... or, from v2 on, a comment that gives a reason to abandon the paper (an error, a flaw, a
# duplicate, a replacement elsewhere) and none of what a comment of a paper in use says.
_ABANDON_REASON = re.compile(
    r"\b(?:errors?|mistakes?|flaw(?:s|ed)?|incorrect|wrong|invalid|not valid|does not hold|"
    r"duplicate[sd]?|superseded|no longer|erroneous|fatal|false)\b",
    re.IGNORECASE,
)
_IN_USE = re.compile(
    r"\b(?:pages?|pp|figures?|figs?|tables?|accepted|appear|published|proceedings|conference|"
    r"journal|workshop|code|data|revised|revision|updated?|corrected|fixed|extended|version|"
    r"v\d+)\b|https?://",
    re.IGNORECASE,
)


def is_withdrawal(comment: str | None, version: int) -> bool:
    """Whether the comment of version `version` reads as a withdrawal (see above)."""
    if not comment:
        return False
    if _WITHDRAWAL_NOTICE.search(comment):
        return True
    return version >= 2 and bool(_ABANDON_REASON.search(comment)) and not _IN_USE.search(comment)


# docs/arxiv.md §4: error feeds have one entry whose id is .../api/errors#<reason>;
# docs/arxiv.md §4: query-syntax errors have .../api/errors, without `#`.
_ERROR_ENTRY_ID = re.compile(r"/api/errors(?:#|$)")
_ARXIV_DOI = "{http://arxiv.org/schemas/atom}doi"


class BadAnswer(Exception):
    """An answer that is not a usable Atom feed.

    `retryable` says whether asking again may help (a glitch) or not (a hostile or oversized
    answer); `throttled` marks arXiv telling us to slow down (or not answering in time);
    `retry_after` is its Retry-After in seconds, when it sent one; `post_refused` marks a
    refused POST too long to send as GET.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        throttled: bool = False,
        retry_after: float | None = None,
        post_refused: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.throttled = throttled
        self.retry_after = retry_after
        self.post_refused = post_refused  # the request must be split to be sent as GET


@dataclass(frozen=True)
class Feed:
    """A strictly parsed Atom feed: its entries, and arXiv's error message if it is an error."""

    entries: list[etree._Element]
    error: str | None  # summary of an arXiv error entry ("incorrect id format for abc")
    # opensearch:totalResults, the size of the whole result set (None when absent or not a
    # number): more than the entries served means the page cut the answer.
    total_results: int | None = None


def _collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _check_first_bytes(body: bytes, content_type: str | None) -> None:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    media_type = (content_type or "").split(";")[0].strip().lower()
    if head.startswith(_RATE_EXCEEDED):
        raise BadAnswer("arXiv answered 'Rate exceeded.'", retryable=True, throttled=True)
    if media_type == "text/html" or head.startswith(_HTML_START):
        raise BadAnswer("an HTML page instead of an Atom feed", retryable=True)
    if _DECLARATION.search(body):
        raise BadAnswer(
            "refused: the answer declares a DTD or entities, which arXiv never sends",
            retryable=False,
        )
    if not head:
        raise BadAnswer("an empty body instead of an Atom feed", retryable=True)
    if not head.startswith(b"<"):
        shown = body[:60].decode("utf-8", "replace").strip()
        raise BadAnswer(f"not XML (starts with {shown!r})", retryable=True)


def read_feed(body: bytes, content_type: str | None = None) -> Feed:
    """Check `body` strictly and parse it; raise `BadAnswer` saying why it is not a feed."""
    if len(body) > MAX_ANSWER_BYTES:
        raise BadAnswer(f"refused: answer larger than {MAX_ANSWER_BYTES} bytes", retryable=False)
    _check_first_bytes(body, content_type)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=False,
    )
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        # A cut-off answer lands here: retry rather than keep the entries before the cut.
        raise BadAnswer(f"truncated or malformed XML ({exc})", retryable=True) from exc
    if root.getroottree().docinfo.internalDTD is not None:  # belt and braces
        raise BadAnswer("refused: the answer carries a DTD", retryable=False)
    if root.tag != f"{ATOM}feed":
        raise BadAnswer(f"XML whose root is {root.tag!r}, not an Atom feed", retryable=True)
    entries = root.findall("atom:entry", _NS)
    error = None
    for entry in entries:
        if _ERROR_ENTRY_ID.search((entry.findtext("atom:id", "", _NS) or "").strip()):
            error = _collapse(entry.findtext("atom:summary", "", _NS)) or "unspecified error"
    total = (root.findtext("opensearch:totalResults", "", _NS) or "").strip()
    return Feed(entries=entries, error=error, total_results=int(total) if total.isdigit() else None)


def _dois(entry: etree._Element) -> list[str]:
    """Every DOI of an entry: one arxiv:doi element per DOI in the new dialect (arxiv._feed
    reads only the first), several in one element, space-separated, in the old one
    (docs/arxiv.md §4)."""
    found = [d for e in entry.iter(_ARXIV_DOI) for d in (e.text or "").split()]
    return list(dict.fromkeys(found))


def _to_record(result: arxiv.Result, dois: list[str], fetched_at: datetime) -> PaperRecord | str:
    """The `PaperRecord` for one entry, or why the entry cannot be one."""
    match = _ABS_URL.match(result.entry_id.strip())
    if match is None:
        return "its id is not a versioned arXiv abs URL"
    arxiv_id = match["id"]
    if not is_valid_id(arxiv_id):
        return "its id holds no valid arXiv identifier"
    primary = result.primary_category.strip() or (result.categories or [""])[0].strip()
    if not primary:
        return "it has no category"
    comment = _collapse(result.comment) or None
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=int(match["version"]),
        title=_collapse(result.title),
        abstract=_collapse(result.summary),
        authors=[
            Author(_collapse(a.name), tuple(_collapse(x) for x in a.affiliation if x.strip()))
            for a in result.authors
        ],
        published=result.published,
        updated=result.updated,
        primary_category=primary,
        categories=list(dict.fromkeys([primary, *(c.strip() for c in result.categories)])),
        comment=comment,
        journal_ref=_collapse(result.journal_ref) or None,
        dois=dois,
        withdrawn=is_withdrawal(comment, int(match["version"])),
        fetched_at=fetched_at,
    )


def _entry_record(entry: etree._Element, entry_id: str, fetched_at: datetime) -> PaperRecord | str:
    """The record for one <entry>, or why there is none."""
    try:
        # arxiv._feed returns None for an entry without <id>, <updated> or <published>.
        result = _feed._build_result(entry)
    except ValueError as exc:
        return f"a timestamp does not parse ({exc})"
    if result is None:
        return "it has no <updated> or <published>" if entry_id else "it has no <id>"
    return _to_record(result, _dois(entry), fetched_at)


def feed_records(
    feed: Feed, fetched_at: datetime, source: str
) -> tuple[list[PaperRecord], list[Problem]]:
    """Map every entry of `feed` to a `PaperRecord`; each entry that can't be one is a Problem.

    `source` names the stored answer, so a problem points at the file and line. Every
    <entry> is accounted for one by one, so none is dropped unreported.
    """
    records: list[PaperRecord] = []
    problems: list[Problem] = []
    for entry in feed.entries:
        entry_id = _collapse(entry.findtext("atom:id", "", _NS))
        if _ERROR_ENTRY_ID.search(entry_id):
            continue  # the feed-level error, which the caller acts on
        mapped = _entry_record(entry, entry_id, fetched_at)
        if isinstance(mapped, PaperRecord):
            records.append(mapped)
            continue
        which = f"entry {entry_id}" if entry_id else "entry"
        problems.append(
            Problem(
                stage="fetch",
                source=source,
                kind="bad_entry",
                message=f"arXiv {which} skipped: {mapped}",
                line=entry.sourceline,
            )
        )
    return records, problems

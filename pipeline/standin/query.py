"""What `/api/query` answers for a set of parameters, before any injected fault.

docs/arxiv.md §2-3: `id_list` returns the listed papers (unversioned -> latest
version, `...v2` -> that version, nonexistent -> silently absent; an ID listed twice is
served once); the old dialect's backend answered in the listed order (2012 capture), the
new one in no particular order, from an ES filter sorted by a constant score
(docs/arxiv.md §3, imitated by ordering on a hash of the versioned ID;
`search_query` returns every match; both together filter the list by the query. One
malformed ID fails the whole request with a 400 error feed. `totalResults` counts what the
request matched (the 2026 behaviour), `start`/`max_results` (default 10) cut the page.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.standin.corpus import ISO_UTC, CorpusRecord, RecordVersion, split_requested_id
from pipeline.standin.feed import DIALECTS, Dialect, render_error_feed, render_feed
from pipeline.standin.search import (
    QuerySyntaxError,
    TitleStatistics,
    parse_search_query,
    relevance_key,
)

ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
DEFAULT_MAX_RESULTS = 10  # docs/arxiv.md §2: longer id_lists are cut to 10 without it
MAX_RESULTS_LIMIT = 30000  # docs/arxiv.md §2: above this the API answers 400
DIALECT_PARAM = "standin_dialect"  # not an arXiv parameter: asks this stand-in for a dialect
SORT_KEYS = ("relevance", "lastUpdatedDate", "submittedDate")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str = ATOM_CONTENT_TYPE


class Catalog:
    """The served papers by canonical ID; thread-safe so records can be added while serving."""

    def __init__(self, records: Iterable[CorpusRecord] = ()) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, CorpusRecord] = {}
        self._statistics: TitleStatistics | None = None
        # docs/arxiv.md §3: the API sees a paper only from the midnight after its
        # announcement; a paper whose v1 is younger than this is not served yet.
        self.index_lag = timedelta(0)
        self.add(records)

    def indexed(self, record: CorpusRecord) -> bool:
        """Whether the index has caught up with `record` (see index_lag)."""
        if not self.index_lag:
            return True
        first = datetime.strptime(record.versions[0], ISO_UTC).replace(tzinfo=UTC)
        return first <= datetime.now(UTC) - self.index_lag

    def add(self, records: Iterable[CorpusRecord]) -> None:
        """Add papers; a record with a known ID replaces the old one."""
        with self._lock:
            self._by_id.update((record.id, record) for record in records)
            self._statistics = None

    def title_statistics(self) -> TitleStatistics:
        """Word statistics of the latest titles, for relevance (computed once per change)."""
        with self._lock:
            if self._statistics is None:
                self._statistics = TitleStatistics.of(r.title for r in self._by_id.values())
            return self._statistics

    def records(self) -> list[CorpusRecord]:
        with self._lock:
            return list(self._by_id.values())

    def get(self, paper_id: str) -> CorpusRecord | None:
        with self._lock:
            return self._by_id.get(paper_id)


def requested_ids(params: Mapping[str, str]) -> list[str]:
    """The IDs of `id_list` as sent, blanks dropped."""
    return [part.strip() for part in params.get("id_list", "").split(",") if part.strip()]


class RequestError(ValueError):
    """A request arXiv answers with a 400 error feed; the message is the feed's summary."""


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        # Message and id as in the genuine 2026 capture (error-start-not-integer sample).
        raise RequestError(f"{name} must be an integer") from None
    if value < 0:
        raise RequestError(f"{name} must be non-negative")  # message text is a guess
    return value


def _papers_for_ids(catalog: Catalog, ids: list[str]) -> list[RecordVersion]:
    papers: list[RecordVersion] = []
    seen: set[tuple[str, int]] = set()
    parsed = []
    for raw in ids:
        requested = split_requested_id(raw)
        if requested is None:
            raise RequestError(
                f"incorrect id format for {raw}"
            )  # docs/arxiv.md §3: fails the batch
        parsed.append(requested)
    for base, version in parsed:
        record = catalog.get(base)
        if record is None or not catalog.indexed(record):
            continue
        shown = record.latest_version if version is None else version
        if not 1 <= shown <= record.latest_version or (base, shown) in seen:
            continue
        seen.add((base, shown))
        papers.append(record.at_version(shown))
    return papers


def _sorted(
    papers: list[RecordVersion],
    params: Mapping[str, str],
    key_for_relevance: Callable[[RecordVersion], tuple[float, str]],
) -> list[RecordVersion]:
    sort_by = params.get("sortBy", "relevance") or "relevance"
    order = params.get("sortOrder", "descending") or "descending"
    if sort_by not in SORT_KEYS:
        raise RequestError(f"sortBy must be one of {', '.join(SORT_KEYS)}")
    if order not in ("ascending", "descending"):
        raise RequestError("sortOrder must be ascending or descending")
    if sort_by == "relevance":
        ranked = sorted(papers, key=key_for_relevance)  # most relevant first
        return ranked if order == "descending" else ranked[::-1]
    field = "published" if sort_by == "submittedDate" else "updated"
    return sorted(papers, key=lambda p: (getattr(p, field), p.id), reverse=order == "descending")


def answer_query(
    catalog: Catalog,
    params: Mapping[str, str],
    dialect: Dialect,
    *,
    drop_results: bool = False,
) -> Answer:
    """The feed for `params`; `drop_results` serves the "empty page" failure (docs/arxiv.md §5)."""
    try:
        chosen = params.get(DIALECT_PARAM, dialect)
        if chosen not in DIALECTS:
            raise RequestError(f"{DIALECT_PARAM} must be one of {', '.join(DIALECTS)}")
        dialect = chosen
        start = _int_param(params, "start", 0)
        max_results = _int_param(params, "max_results", DEFAULT_MAX_RESULTS)
        if max_results > MAX_RESULTS_LIMIT:
            raise RequestError(f"max_results must be at most {MAX_RESULTS_LIMIT}")  # guessed text
        ids = requested_ids(params)
        search_query = params.get("search_query", "")
        query = parse_search_query(search_query) if search_query.strip() else None
        if ids:
            papers = _papers_for_ids(catalog, ids)  # no sorting for id_list (docs/arxiv.md §3)
            if dialect == "new":
                papers.sort(key=lambda p: hashlib.sha1(p.versioned_id.encode()).digest())
            if query is not None:
                papers = [paper for paper in papers if query.matches(paper)]
        elif query is not None:
            indexed = [r for r in catalog.records() if catalog.indexed(r)]
            latest = [r.at_version(r.latest_version) for r in indexed]
            matched = [paper for paper in latest if query.matches(paper)]
            stats = catalog.title_statistics()
            papers = _sorted(matched, params, relevance_key(query, stats))
        else:
            papers = []
    except RequestError as exc:
        return Answer(400, render_error_feed(str(exc)))
    except QuerySyntaxError as exc:
        return Answer(400, render_error_feed(str(exc), with_reason=False))
    if drop_results:
        papers = []
    body = render_feed(
        papers[start : start + max_results],
        dialect=dialect,
        search_query=search_query,
        id_list=params.get("id_list", ""),
        start=start,
        max_results=max_results,
        total_results=len(papers),
    )
    return Answer(200, body)

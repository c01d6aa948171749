"""arXiv's OAI-PMH service (docs/arxiv.md §9) as a source: a local mirror of named sets kept
up to date by `ListRecords`, and `GetRecord` for single papers whose history matters.

Format `arXivRaw`: every version's date and size and its source type (a `source_type` with
`I` is a withdrawal, the one reliable withdrawn flag: docs/arxiv.md §7), the submitter,
the license. Every request goes through the process-wide politeness gate of the query API
(`transport.GATE`: one request at a time for every arXiv host, the delay between them), and
a 503 or 429 is waited out for its Retry-After (OAI flow control) or the usual backoff.

A harvest keeps its place in the store's ledger after every page, once that page's papers
are stored: a killed harvest goes on from its last resumption token; a finished one
remembers the day it began, and the next asks `from` that day (docs/arxiv.md §9: harvest
incrementally with `from`), so a re-run with nothing new stores nothing. With `until`
(`harvest_until`), a harvest stops at that day and the next goes on `from` it.

A run asks GetRecord of the papers it found that look withdrawn (`withdrawn_histories`,
bounded by `withdrawn_lookups`), so that their withdrawn flag is arXivRaw's.

    OaiError      an OAI <error> other than noRecordsMatch (badArgument, idDoesNotExist...)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx
from lxml import etree
from tenacity import RetryCallState, Retrying, retry_if_exception

from pipeline.config import ConfigError, Settings, on_arxiv, refuse_impolite_oai_delay
from pipeline.fetch.atom import _DECLARATION, MAX_ANSWER_BYTES, BadAnswer, is_withdrawal
from pipeline.fetch.transport import (
    GATE,
    RETRYABLE_STATUS,
    THROTTLE_STATUS,
    RequestFailed,
    _retry_after_seconds,
    polite_client,
)
from pipeline.ids import is_valid_id
from pipeline.model import Author, PaperRecord, PaperVersion, Problem
from pipeline.store import MetadataStore, save_response, utc_now

OAI = "{http://www.openarchives.org/OAI/2.0/}"
RAW = "{http://arxiv.org/OAI/arXivRaw/}"
IDENTIFIER_PREFIX = "oai:arXiv.org:"  # docs/arxiv.md §9
METADATA_PREFIX = "arXivRaw"
HARVEST_LEDGER = "oai_harvest:"  # + set spec: where a harvest of that set stands
NO_RECORDS = "noRecordsMatch"  # docs/arxiv.md §9: the answer when nothing matches
BAD_TOKEN = "badResumptionToken"
WITHDRAWN_SOURCE_TYPE = "I"  # docs/arxiv.md §9: source_type codes
RESPONSE_KIND = "oai"  # kept answers are named <time>-oai-<hash>.xml.gz (store.save_response)
_SIZE = re.compile(r"^\s*(\d+)\s*kb\s*$", re.IGNORECASE)
# Authors of the raw string: split at commas and " and " outside parentheses, which hold
# affiliations ("A. Author (Univ. X), B. Author and C. Author").
_AUTHOR_SEPARATOR = re.compile(r",\s*(?:and\s+)?|\s+and\s+")


class OaiError(Exception):
    """An OAI-PMH <error> answer (other than noRecordsMatch)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"OAI error {code}: {message}")
        self.code = code


@dataclass
class HarvestReport:
    """What one harvest of a set did."""

    records: int = 0  # papers stored
    pages: int = 0
    requests: int = 0
    resumed: bool = False  # began from a kept resumption token
    problems: list[str] = field(default_factory=list)


def _collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _split_authors(raw: str) -> list[Author]:
    """The raw authors string as names in order, parenthesised affiliations apart."""
    pieces: list[str] = []
    depth = start = position = 0
    while position < len(raw):
        char = raw[position]
        depth = depth + 1 if char == "(" else max(0, depth - 1) if char == ")" else depth
        separator = _AUTHOR_SEPARATOR.match(raw, position) if depth == 0 else None
        if separator:
            pieces.append(raw[start:position])
            start = position = separator.end()
        else:
            position += 1
    pieces.append(raw[start:])
    authors = []
    for piece in pieces:
        name, _, rest = piece.partition("(")
        affiliations = tuple(a for a in (_collapse(x) for x in rest.rstrip(") ").split(";")) if a)
        if _collapse(name):
            authors.append(Author(_collapse(name), affiliations))
    return authors


def raw_record(metadata: etree._Element, fetched_at: datetime) -> PaperRecord | str:
    """The PaperRecord of one <arXivRaw> element, or why it cannot be one."""
    arxiv_id = _collapse(metadata.findtext(f"{RAW}id"))
    if not is_valid_id(arxiv_id):
        return f"its id {arxiv_id!r} is not a valid arXiv identifier"
    versions = []
    for element in metadata.findall(f"{RAW}version"):
        number = (element.get("version") or "").removeprefix("v")
        try:
            submitted = parsedate_to_datetime(_collapse(element.findtext(f"{RAW}date")))
        except (TypeError, ValueError):
            return f"version {number or '?'} has no readable date"
        size = _SIZE.match(element.findtext(f"{RAW}size") or "")
        source_type = _collapse(element.findtext(f"{RAW}source_type")) or None
        if not number.isdigit():
            return "a version has no number"
        versions.append(
            PaperVersion(int(number), submitted, int(size[1]) if size else None, source_type)
        )
    if not versions:
        return "it has no versions"
    versions.sort()
    categories = list(dict.fromkeys(_collapse(metadata.findtext(f"{RAW}categories")).split()))
    if not categories:
        return "it has no category"
    comment = _collapse(metadata.findtext(f"{RAW}comments")) or None
    latest = versions[-1]
    withdrawn = WITHDRAWN_SOURCE_TYPE in (latest.source_type or "") or is_withdrawal(
        comment, latest.version
    )
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=latest.version,
        title=_collapse(metadata.findtext(f"{RAW}title")),
        abstract=_collapse(metadata.findtext(f"{RAW}abstract")),
        authors=_split_authors(metadata.findtext(f"{RAW}authors") or ""),
        published=versions[0].submitted,
        updated=latest.submitted,
        primary_category=categories[0],  # docs/arxiv.md §9: primary first
        categories=categories,
        comment=comment,
        journal_ref=_collapse(metadata.findtext(f"{RAW}journal-ref")) or None,
        dois=_collapse(metadata.findtext(f"{RAW}doi")).split(),
        withdrawn=withdrawn,
        fetched_at=fetched_at,
        source="oai",
        license=_collapse(metadata.findtext(f"{RAW}license")) or None,
        versions=versions,
    )


def read_oai(body: bytes) -> etree._Element:
    """The OAI-PMH document in `body`, strictly parsed (BadAnswer if it is not one)."""
    if _DECLARATION.search(body[:4096]):
        raise BadAnswer("refused: the answer declares a DTD or entities", retryable=False)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise BadAnswer(f"truncated or malformed XML ({exc})", retryable=True) from exc
    if root.tag != f"{OAI}OAI-PMH":
        raise BadAnswer(f"XML whose root is {root.tag!r}, not OAI-PMH", retryable=True)
    return root


class OaiSession:
    """Requests to the OAI-PMH service: one connection, the shared gate, retries."""

    def __init__(self, settings: Settings) -> None:
        refuse_impolite_oai_delay(settings)
        self.settings = settings
        self.requests = 0
        self._client = polite_client(settings)

    def __enter__(self) -> OaiSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.close()

    def ask(self, params: dict[str, str]) -> tuple[etree._Element, datetime]:
        """The OAI document answering `params` and when it came; RequestFailed when no try
        gave one, OaiError for an OAI error other than noRecordsMatch."""
        attempts = 0

        def attempt() -> tuple[etree._Element, datetime]:
            nonlocal attempts
            attempts += 1
            return self._exchange(params)

        retrying = Retrying(
            stop=self._should_stop,
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, BadAnswer) and e.retryable),
            sleep=GATE.pause,
            reraise=True,
        )
        try:
            root, received = retrying(attempt)
        except BadAnswer as exc:
            raise RequestFailed(f"OAI: {exc.reason} (after {attempts} tries)", attempts) from exc
        error = root.find(f"{OAI}error")
        if error is not None and error.get("code") != NO_RECORDS:
            raise OaiError(error.get("code") or "?", _collapse(error.text))
        return root, received

    def _should_stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.settings.max_attempts:
            return True
        exc = state.outcome.exception() if state.outcome else None
        return (
            isinstance(exc, BadAnswer)
            and exc.retry_after is not None
            and exc.retry_after > self.settings.max_backoff_seconds
        )

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when the service sent one (OAI flow control), else exponential."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, BadAnswer) and exc.retry_after is not None:
            return exc.retry_after
        wait = self.settings.delay_seconds * 2**state.attempt_number
        return min(wait, self.settings.max_backoff_seconds)

    def _exchange(self, params: dict[str, str]) -> tuple[etree._Element, datetime]:
        self.requests += 1
        with GATE.turn(self.settings.delay_seconds):
            try:
                response = self._client.get(self.settings.oai_url, params=params)
            except httpx.TransportError as exc:
                raise BadAnswer(f"no answer ({exc or type(exc).__name__})", retryable=True) from exc
        status = response.status_code
        if status != 200:
            raise BadAnswer(
                f"HTTP {status}",
                retryable=status in RETRYABLE_STATUS,
                throttled=status in THROTTLE_STATUS,
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        if len(response.content) > MAX_ANSWER_BYTES:
            raise BadAnswer("refused: answer larger than the cap", retryable=False)
        request_key = str(sorted(params.items()))
        save_response(self.settings.paths, RESPONSE_KIND, request_key, response.content)
        return read_oai(response.content), utc_now()


def is_oai_answer(name: str) -> bool:
    """Whether a kept answer's file name is that of an OAI-PMH answer."""
    return f"-{RESPONSE_KIND}-" in name


def answer_records(body: bytes, received: datetime) -> tuple[list[PaperRecord], list[str]]:
    """The papers of a kept OAI-PMH answer (BadAnswer if it is not one), for rebuild-store."""
    return _page_records(read_oai(body), received)


def _page_records(root: etree._Element, received: datetime) -> tuple[list[PaperRecord], list[str]]:
    records, problems = [], []
    for record in root.iter(f"{OAI}record"):
        identifier = _collapse(record.findtext(f"{OAI}header/{OAI}identifier"))
        header = record.find(f"{OAI}header")
        if header is None:  # required by OAI-PMH: a damaged answer, not a paper to trust
            problems.append("a record without its OAI-PMH header: skipped")
            continue
        if header.get("status") == "deleted":
            continue  # docs/arxiv.md §9: deletedRecord is persistent; nothing to keep
        metadata = record.find(f"{OAI}metadata/{RAW}arXivRaw")
        mapped = raw_record(metadata, received) if metadata is not None else "no arXivRaw"
        if isinstance(mapped, PaperRecord):
            records.append(mapped)
        else:
            problems.append(f"{identifier}: skipped: {mapped}")
    return records, problems


def harvest(settings: Settings, store: MetadataStore, set_spec: str) -> HarvestReport:
    """Bring the store's copy of `set_spec` up to date by ListRecords, page by page."""
    report = HarvestReport()
    until = settings.harvest_until
    key = HARVEST_LEDGER + set_spec
    state: dict[str, Any] = store.get_ledger(key) or {"from": None, "token": None}
    report.resumed = bool(state.get("token"))
    with OaiSession(settings) as session:
        try:
            while True:
                if state.get("token"):
                    params = {"verb": "ListRecords", "resumptionToken": state["token"]}
                else:
                    params = {"verb": "ListRecords", "metadataPrefix": METADATA_PREFIX}
                    params |= {"set": set_spec} if set_spec else {}
                    params |= {"from": state["from"]} if state.get("from") else {}
                    params |= {"until": until} if until else {}
                try:
                    root, received = session.ask(params)
                except OaiError as exc:
                    if exc.code != BAD_TOKEN or not state.get("token"):
                        raise
                    state["token"] = None  # expired or refused: begin again from `from`
                    continue
                if "started" not in state:  # the first page of this harvest
                    state["started"] = _collapse(root.findtext(f"{OAI}responseDate"))[:10]
                records, problems = _page_records(root, received)
                store.put_papers(records)
                report.records += len(records)
                report.problems += problems
                report.pages += 1
                token = _collapse(root.findtext(f".//{OAI}resumptionToken"))
                if token:
                    state["token"] = token
                    store.put_ledger(key, state)  # after the page's papers: safe to kill
                    continue
                # Complete up to `until` (inclusive) or to the day it began.
                done_to = min(state["started"], until) if until else state["started"]
                store.put_ledger(key, {"from": done_to, "token": None})
                return report
        finally:
            report.requests = session.requests


def get_record(settings: Settings, store: MetadataStore, arxiv_id: str) -> PaperRecord:
    """One paper by GetRecord, with its whole version history, stored with source oai."""
    with OaiSession(settings) as session:
        root, received = session.ask(
            {
                "verb": "GetRecord",
                "identifier": IDENTIFIER_PREFIX + arxiv_id,
                "metadataPrefix": METADATA_PREFIX,
            }
        )
    records, problems = _page_records(root, received)
    if not records:
        raise OaiError("idDoesNotExist", problems[0] if problems else f"{arxiv_id}: no record")
    store.put_papers(records)
    return records[0]


@dataclass
class HistoryReport:
    """What asking OAI-PMH for the papers that look withdrawn did."""

    stored: list[str] = field(default_factory=list)  # IDs whose arXivRaw record is stored now
    requests: int = 0
    problems: list[Problem] = field(default_factory=list)


def asks_oai_for_histories(settings: Settings) -> bool:
    """Whether a run may send GetRecord for papers that look withdrawn: not offline, not
    turned off, and OAI-PMH on arXiv's own host only when the query API is too (a run
    against a stand-in or a mirror sends nothing to arXiv)."""
    return (
        not settings.offline
        and settings.withdrawn_lookups > 0
        and on_arxiv(settings.oai_url) == on_arxiv(settings.api_url)
    )


def withdrawn_histories(
    settings: Settings, store: MetadataStore, ids: Sequence[str]
) -> HistoryReport:
    """Each of `ids` (papers that look withdrawn, docs/arxiv.md §7) by GetRecord, its
    arXivRaw record stored with source oai: its versions and withdrawn flag are then the
    authoritative history's. At most `withdrawn_lookups` of them, in the order given; the
    first request without an answer (OAI-PMH unreachable, failing) ends the lookups, the
    rest wait for a later run, as do the papers past the bound."""
    report = HistoryReport()
    try:
        session = OaiSession(settings)
    except ConfigError as exc:  # a delay below arXiv's 3 s for its own OAI host
        report.problems.append(Problem("fetch", settings.oai_url, "history_skipped", str(exc)))
        return report
    with session:
        for arxiv_id in ids[: settings.withdrawn_lookups]:
            params = {
                "verb": "GetRecord",
                "identifier": IDENTIFIER_PREFIX + arxiv_id,
                "metadataPrefix": METADATA_PREFIX,
            }
            try:
                root, received = session.ask(params)
            except OaiError as exc:
                message = f"{arxiv_id}: no version history from OAI-PMH: {exc}"
                report.problems.append(Problem("fetch", arxiv_id, "history_missing", message))
                continue
            except RequestFailed as exc:
                message = (
                    f"{arxiv_id}: no version history from OAI-PMH ({exc.reason}); "
                    "papers that look withdrawn are asked again next run"
                )
                report.problems.append(Problem("fetch", arxiv_id, "history_failed", message))
                break
            records, problems = _page_records(root, received)
            report.problems += [
                Problem("fetch", arxiv_id, "history_missing", problem) for problem in problems
            ]
            mine = [r for r in records if r.arxiv_id == arxiv_id]
            store.put_papers(mine)
            report.stored += [r.arxiv_id for r in mine]
        report.requests = session.requests
    return report

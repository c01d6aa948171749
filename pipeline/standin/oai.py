"""What `/oai` answers, like `https://oaipmh.arxiv.org/oai` (docs/arxiv.md §9), before faults.

Verbs `ListRecords` and `GetRecord` in format `arXivRaw`. Records are ordered by datestamp
(the latest version's day here; arXiv's is the last metadata change) and ID; `from`/`until`
are inclusive days; `set` is `group[:archive[:CATEGORY]]` (`cs:cs:AI`, `physics:hep-th`).
A page holds `page_size` records; its resumptionToken is the URL-encoded request plus
`skip=N`, with an expirationDate at the next UTC midnight, and the last page has an empty
`<resumptionToken/>`. Errors are OAI `<error code=...>` answers with HTTP 200:
badArgument, badResumptionToken, badVerb, cannotDisseminateFormat, idDoesNotExist,
noRecordsMatch. Layout as in arxiv-samples/oai-arxivraw-getrecord-hep-th-9711200.xml.

The corpus has no submitter, sizes or source types: the submitter is the first author,
every version's size is the abstract's length in kB (at least 1), and no source_type is
served.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape, quoteattr

from pipeline.standin.corpus import CorpusRecord
from pipeline.standin.query import Answer, Catalog

OAI_CONTENT_TYPE = "text/xml; charset=utf-8"
OAI_BASE_URL = "https://oaipmh.arxiv.org/oai"
PREFIX = "oai:arXiv.org:"
DEFAULT_PAGE_SIZE = 2500  # docs/arxiv.md §9: ListRecords page size at HEAD
# Category archives outside the physics group keep their group's name (cs:cs:AI, math:math:NA).
_GROUPS = ("cs", "econ", "eess", "math", "q-bio", "q-fin", "stat")
_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
    'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
)


def set_spec(category: str) -> str:
    """The OAI set of an arXiv category (docs/arxiv.md §9: group:archive:CATEGORY)."""
    archive, _, sub = category.partition(".")
    group = archive if archive in _GROUPS else "physics"
    return ":".join(part for part in (group, archive, sub) if part)


def _in_set(record: CorpusRecord, wanted: str) -> bool:
    parts = wanted.split(":")
    return any(set_spec(c).split(":")[: len(parts)] == parts for c in record.categories)


def _stamp(iso: str) -> datetime:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def datestamp(record: CorpusRecord) -> date:
    return _stamp(record.versions[-1]).date()


def _text(tag: str, value: str | None) -> str:
    return f"<{tag}>{escape(value)}</{tag}>\n" if value else ""


def _raw_record(record: CorpusRecord) -> str:
    versions = "".join(
        f'<version version="v{n}"><date>{_stamp(at):%a, %d %b %Y %H:%M:%S GMT}</date>'
        f"<size>{max(1, len(record.abstract) // 1000)}kb</size></version>\n"
        for n, at in enumerate(record.versions, 1)
    )
    authors = ", ".join(
        name + (f" ({', '.join(affiliations)})" if affiliations else "")
        for name, affiliations in record.authors
    )
    sets = "".join(
        f"<setSpec>{s}</setSpec>" for s in dict.fromkeys(set_spec(c) for c in record.categories)
    )
    return (
        f"<record><header><identifier>{PREFIX}{record.id}</identifier>"
        f"<datestamp>{datestamp(record).isoformat()}</datestamp>{sets}</header>\n"
        '<metadata><arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://arxiv.org/OAI/arXivRaw/ '
        'https://oaipmh.arxiv.org/OAI/arXivRaw.xsd">\n'
        + _text("id", record.id)
        + _text("submitter", record.authors[0][0] if record.authors else None)
        + versions
        + _text("title", record.title)
        + _text("authors", authors)
        + _text("categories", " ".join(record.categories))
        + _text("comments", record.comment)
        + _text("journal-ref", record.journal_ref)
        + _text("doi", record.doi)
        + _text("abstract", record.abstract)
        + "</arXivRaw></metadata></record>\n"
    )


def _document(params: Mapping[str, str], body: str, now: datetime) -> Answer:
    attributes = "".join(f" {k}={quoteattr(v)}" for k, v in params.items() if k != "standin")
    return Answer(
        200,
        (
            _HEAD
            + f"<responseDate>{now:%Y-%m-%dT%H:%M:%SZ}</responseDate>\n"
            + f"<request{attributes}>{OAI_BASE_URL}</request>\n"
            + body
            + "</OAI-PMH>\n"
        ).encode(),
        OAI_CONTENT_TYPE,
    )


def _error(params: Mapping[str, str], code: str, message: str, now: datetime) -> Answer:
    return _document(params, f'<error code="{code}">{escape(message)}</error>\n', now)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def answer_oai(
    catalog: Catalog, params: Mapping[str, str], page_size: int, now: datetime
) -> Answer:
    """The OAI-PMH answer to `params` over the catalog's records."""
    verb = params.get("verb")
    if verb == "GetRecord":
        return _get_record(catalog, params, now)
    if verb != "ListRecords":
        return _error(params, "badVerb", f"verb {verb!r} is not served here", now)
    request = dict(params)
    skip = 0
    if "resumptionToken" in params:
        if set(params) != {"verb", "resumptionToken"}:
            return _error(params, "badArgument", "resumptionToken is an exclusive argument", now)
        request = dict(parse_qsl(params["resumptionToken"]))
        if not request.get("skip", "").isdigit() or request.get("verb") != "ListRecords":
            return _error(params, "badResumptionToken", "the token is not one of ours", now)
        skip = int(request.pop("skip"))
    if request.get("metadataPrefix") != "arXivRaw":
        return _error(params, "cannotDisseminateFormat", "only arXivRaw is served here", now)
    try:
        since, until = _day(request.get("from")), _day(request.get("until"))
    except ValueError:
        return _error(params, "badArgument", "from and until are YYYY-MM-DD", now)
    matching = sorted(
        (
            r
            for r in catalog.records()
            if (since is None or datestamp(r) >= since)
            and (until is None or datestamp(r) <= until)
            and (not request.get("set") or _in_set(r, request["set"]))
        ),
        key=lambda r: (datestamp(r), r.id),
    )
    if not matching:
        return _error(params, "noRecordsMatch", "no records match these arguments", now)
    page = matching[skip : skip + page_size]
    if skip + page_size < len(matching):
        token = urlencode({**request, "skip": str(skip + page_size)})
        expires = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
        resumption = (
            f'<resumptionToken expirationDate="{expires:%Y-%m-%dT%H:%M:%SZ}">'
            f"{escape(token)}</resumptionToken>\n"
        )
    else:
        resumption = "<resumptionToken/>\n"
    records = "".join(_raw_record(r) for r in page)
    return _document(params, f"<ListRecords>\n{records}{resumption}</ListRecords>\n", now)


def _get_record(catalog: Catalog, params: Mapping[str, str], now: datetime) -> Answer:
    if params.get("metadataPrefix") != "arXivRaw":
        return _error(params, "cannotDisseminateFormat", "only arXivRaw is served here", now)
    identifier = params.get("identifier", "")
    record = catalog.get(identifier.removeprefix(PREFIX)) if identifier.startswith(PREFIX) else None
    if record is None:
        return _error(params, "idDoesNotExist", f"{identifier} is not known", now)
    return _document(params, f"<GetRecord>\n{_raw_record(record)}</GetRecord>\n", now)

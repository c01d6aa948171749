"""The stand-in's Atom output against genuine arXiv captures, and through arxiv.py's parser."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import arxiv
import httpx
import pytest
from arxiv import _feed

from pipeline.standin import CorpusRecord, StandIn
from pipeline.standin.corpus import split_requested_id
from pipeline.standin.feed import Dialect, render_entry, render_error_feed, render_feed

GENUINE = Path(__file__).parent / "fixtures" / "standin" / "genuine"
CAPTURES_WITH_ENTRIES = sorted(
    path.name for path in GENUINE.glob("*format-*.xml") if b"arxiv.org/abs/" in path.read_bytes()
)
# Lines that differ by nature between two answers to the same query: the per-query hash id
# of the feed and the time it was generated.
VOLATILE_FEED_LINE = re.compile(r"^  <(id|updated)>.*</\1>$")


def genuine_entries(name: str) -> list[tuple[str, int, str]]:
    """(paper id, version, exact entry text) for each entry of a capture."""
    text = (GENUINE / name).read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"  <entry>.*?</entry>", text, re.S):
        entry_id = re.search(r"<id>http://arxiv.org/abs/(.*?)</id>", block)
        assert entry_id, f"{name}: entry without an abs id"
        requested = split_requested_id(entry_id.group(1))
        assert requested and requested[1], entry_id.group(1)
        found.append((requested[0], requested[1], block))
    return found


def stable_lines(feed: str) -> list[str]:
    return [line for line in feed.splitlines() if not VOLATILE_FEED_LINE.match(line)]


@pytest.mark.parametrize("name", CAPTURES_WITH_ENTRIES)
def test_entries_reproduce_genuine_captures_byte_for_byte(
    name: str, standin_corpus: list[CorpusRecord]
) -> None:
    by_id = {record.id: record for record in standin_corpus}
    dialect: Dialect = "old" if "oldformat" in name else "new"
    entries = genuine_entries(name)
    assert entries
    for paper_id, version, block in entries:
        assert render_entry(by_id[paper_id].at_version(version), dialect) == block


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("idlist-1-entry-collaboration-author-newformat-2026.xml", {"max_results": "1"}),
        ("idlist-oldstyle-id-hep-th-9711200-newformat-2026.xml", {"max_results": "1"}),
        ("idlist-1-entry-doi-journalref-oldformat-2020.xml", {"standin_dialect": "old"}),
        ("idlist-2-entries-oldformat-2012.xml", {"standin_dialect": "old"}),
    ],
)
def test_served_id_list_feed_equals_capture_apart_from_id_and_time(
    name: str, params: dict[str, str], standin: StandIn
) -> None:
    genuine = (GENUINE / name).read_text(encoding="utf-8")
    id_list = re.search(r"id_list=([^&]*)&amp;", genuine)
    assert id_list
    answer = httpx.get(standin.url, params={"id_list": id_list.group(1), **params})
    assert answer.status_code == 200
    served = answer.text
    if 'encoding="utf-8"' in genuine:  # the 2012 capture spells the encoding in lower case
        served = served.replace('encoding="UTF-8"', 'encoding="utf-8"')
    assert stable_lines(served) == stable_lines(genuine)


def test_empty_result_feed_matches_capture() -> None:
    genuine = (GENUINE / "empty-zero-results-newformat-2026.xml").read_text(encoding="utf-8")
    served = render_feed(
        [],
        dialect="new",
        search_query='all:"zzqqxx not a real phrase anywhere"',
        id_list="",
        start=0,
        max_results=5,
        total_results=0,
    ).decode()
    assert stable_lines(served) == stable_lines(genuine)


def test_error_feed_matches_capture_exactly() -> None:
    genuine = (GENUINE / "error-start-not-integer-newformat-2026.xml").read_bytes()
    captured_at = datetime(2026, 8, 14, 0, 41, 35, tzinfo=UTC)
    assert render_error_feed("start must be an integer", now=captured_at) == genuine


def test_served_error_for_non_integer_start(standin: StandIn) -> None:
    answer = httpx.get(standin.url, params={"search_query": "all:electron", "start": "nope"})
    assert answer.status_code == 400
    assert "<id>https://arxiv.org/api/errors#start_must_be_an_integer</id>" in answer.text


def assert_result_is_record(result: arxiv.Result, record: CorpusRecord, version: int) -> None:
    """An arxiv.Result parsed from the stand-in holds the record's data at `version`."""
    paper = record.at_version(version)

    def flat(text: str | None) -> str | None:
        return " ".join(text.split()) if text is not None else None

    assert result.entry_id == f"http://arxiv.org/abs/{record.id}v{version}"
    assert flat(result.title) == flat(paper.title)
    assert flat(result.summary) == flat(record.abstract)
    assert [(a.name, a.affiliation) for a in result.authors] == record.authors
    assert result.primary_category == record.primary_category
    assert result.categories == record.categories
    assert flat(result.comment) == flat(paper.comment)
    assert flat(result.journal_ref) == flat(record.journal_ref)
    # arxiv._feed reads the first arxiv:doi element only: every DOI in the old dialect's one
    # element, the first DOI in the new dialect (one element each, docs/arxiv.md §4).
    first = record.doi.split()[0] if record.doi else None
    assert result.doi in (record.doi, first)
    assert result.published.strftime("%Y-%m-%dT%H:%M:%SZ") == record.versions[0]
    assert result.updated.strftime("%Y-%m-%dT%H:%M:%SZ") == record.versions[version - 1]
    assert result.pdf_url is not None
    assert result.pdf_url.endswith(f"arxiv.org/pdf/{record.id}v{version}")


@pytest.mark.parametrize("dialect", ["new", "old"])
def test_both_dialects_parse_with_arxiv_into_the_records(
    dialect: str, standin_corpus: list[CorpusRecord]
) -> None:
    by_id = {record.id: record for record in standin_corpus}
    several_dois = next(r.id for r in standin_corpus if r.doi and " " in r.doi)
    wanted = [
        "hep-th/9711200",  # old-style ID, v3, doi + journal_ref
        "cond-mat/0107042",  # affiliations
        "1001.1001",  # comment that the old dialect wraps
        "0704.0001",  # Kaggle text with hard wraps
        several_dois,
        "2601.00001",  # withdrawn: latest comment is the withdrawal
        "2601.00003",  # TeX in the title
        "1207.7214",  # author name with a leading space
    ]
    with StandIn(standin_corpus, dialect=dialect) as server:  # type: ignore[arg-type]
        answer = httpx.post(server.url, data={"id_list": ",".join(wanted)})
    parsed = _feed.parse(answer.content)
    assert not parsed.malformed
    assert parsed.header.total_results == len(wanted) == len(parsed.results)
    shown = {r.get_short_id().rsplit("v", 1)[0]: r for r in parsed.results}
    assert sorted(shown) == sorted(wanted)
    for paper_id, result in shown.items():
        record = by_id[paper_id]
        assert_result_is_record(result, record, record.latest_version)


@pytest.mark.parametrize("dialect", ["new", "old"])
def test_old_versions_show_their_own_title_comment_and_date(
    dialect: str, standin_corpus: list[CorpusRecord]
) -> None:
    by_id = {record.id: record for record in standin_corpus}
    with StandIn(standin_corpus, dialect=dialect) as server:  # type: ignore[arg-type]
        answer = httpx.get(server.url, params={"id_list": "2601.00001v1,2601.00002v1"})
    withdrawn_v1, renamed_v1 = _feed.parse(answer.content).results
    assert_result_is_record(withdrawn_v1, by_id["2601.00001"], 1)
    assert "withdrawn" not in (withdrawn_v1.comment or "")
    assert_result_is_record(renamed_v1, by_id["2601.00002"], 1)
    assert renamed_v1.title != " ".join(by_id["2601.00002"].title.split())


def test_old_dialect_wraps_one_line_sources(standin_corpus: list[CorpusRecord]) -> None:
    # 1207.7214 came from a new-format capture: one-line title and abstract.
    with StandIn(standin_corpus, dialect="old") as server:
        text = httpx.get(server.url, params={"id_list": "1207.7214"}).text
    entry = text.split("<entry>")[1]
    title = re.search(r"<title>(.*?)</title>", entry, re.S)
    summary = re.search(r"<summary>(.*?)</summary>", entry, re.S)
    assert title and summary
    first, *rest = title.group(1).split("\n")
    assert rest and all(line.startswith("  ") and line[2] != " " for line in rest)
    assert len("Title: " + first) < 80
    lines = html.unescape(summary.group(1)).splitlines()  # wrapped before XML escaping
    assert len(lines) > 5 and all(len(line) < 80 for line in lines)
    assert 'xmlns:arxiv="http://arxiv.org/schemas/atom" term="hep-ex"' in entry


@pytest.mark.parametrize("dialect", ["new", "old"])
def test_several_dois_are_one_element_each_in_the_new_dialect(
    dialect: Dialect, standin_corpus: list[CorpusRecord]
) -> None:
    # docs/arxiv.md §4: atom_extensions.py writes one arxiv:doi (and doi link) per
    # DOI of meta.doi.split(); the old backend wrote them space-separated in one element.
    doi, record = next((r.doi, r) for r in standin_corpus if r.doi and " " in r.doi)
    with StandIn(standin_corpus, dialect=dialect) as server:
        text = httpx.get(server.url, params={"id_list": record.id}).text
    elements = re.findall(r"<arxiv:doi[^>]*>([^<]*)</arxiv:doi>", text)
    expected = doi.split() if dialect == "new" else [doi]
    assert elements == expected
    assert text.count('title="doi"') == (len(expected) if dialect == "new" else 1)

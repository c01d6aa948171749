"""The Atom layer on genuine arXiv answers (both dialects) and on hostile or broken bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.fetch.atom import (
    MAX_ANSWER_BYTES,
    BadAnswer,
    feed_records,
    is_withdrawal,
    read_feed,
)
from pipeline.model import Author, PaperRecord, Problem

GENUINE = Path(__file__).parent / "fixtures" / "standin" / "genuine"
FETCHED_AT = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def records_of(name: str) -> tuple[list[PaperRecord], list[Problem]]:
    feed = read_feed((GENUINE / name).read_bytes())
    return feed_records(feed, FETCHED_AT, name)


def test_old_dialect_wrapped_title_and_abstract_are_collapsed() -> None:
    records, problems = records_of("idlist-2-entries-oldformat-2012.xml")
    assert problems == []
    assert [(r.arxiv_id, r.version) for r in records] == [("1205.1001", 1), ("1001.1001", 1)]
    first = records[0]
    assert first.title == (
        "Membrane lateral structure: The influence of immobilized particles on domain size"
    )
    assert first.abstract.startswith("In experiments on model membranes, a formation of large")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.categories == ["cond-mat.soft", "physics.bio-ph"]
    assert first.primary_category == "cond-mat.soft"
    assert first.published == datetime(2012, 5, 4, 16, 23, 5, tzinfo=UTC)
    assert first.fetched_at == FETCHED_AT
    assert first.dois == [] and first.journal_ref is None and not first.withdrawn
    # The old dialect wraps comments too; the wrap is layout, not content.
    assert records[1].comment is not None and "Chromospheric Structure" in records[1].comment


def test_new_dialect_with_doi_journal_ref_and_padded_author() -> None:
    (record,), problems = records_of("idlist-1-entry-collaboration-author-newformat-2026.xml")
    assert problems == []
    assert (record.arxiv_id, record.version) == ("1207.7214", 2)
    assert record.authors == [Author("The ATLAS Collaboration")]
    assert record.dois == ["10.1016/j.physletb.2012.08.020"]
    assert record.journal_ref == "Phys.Lett. B716 (2012) 1-29"
    assert record.updated == datetime(2012, 8, 31, 19, 29, 54, tzinfo=UTC)
    assert record.published == datetime(2012, 7, 31, 11, 59, 59, tzinfo=UTC)


def test_old_style_ids_and_affiliations() -> None:
    records, problems = records_of("search-10-entries-affiliation-oldstyle-ids-newformat-2025.xml")
    assert problems == []
    by_id = {r.arxiv_id: r for r in records}
    assert len(by_id) == 10
    stanford = by_id["cond-mat/0107042"]
    assert stanford.authors and all(a.affiliations for a in stanford.authors)
    assert "Stanford University" in stanford.authors[0].affiliations
    assert by_id["hep-th/0505137"].version == 1


def test_error_feed_is_recognised() -> None:
    feed = read_feed((GENUINE / "error-start-not-integer-newformat-2026.xml").read_bytes())
    assert feed.error == "start must be an integer"
    assert feed_records(feed, FETCHED_AT, "x") == ([], [])


def test_an_error_id_without_a_reason_is_an_error_too() -> None:
    # docs/arxiv.md §4: query-syntax errors have the link .../api/errors, no `#`.
    body = (GENUINE / "error-start-not-integer-newformat-2026.xml").read_bytes()
    body = body.replace(b"/api/errors#start_must_be_an_integer", b"/api/errors")
    assert b"/api/errors#" not in body
    feed = read_feed(body)
    assert feed.error == "start must be an integer"
    assert feed_records(feed, FETCHED_AT, "x") == ([], [])


def test_every_doi_is_kept_in_both_dialects() -> None:
    # docs/arxiv.md §4: one arxiv:doi element per DOI in the new dialect (arxiv._feed
    # keeps only the first); the old dialect put them space-separated in one element.
    body = (GENUINE / "idlist-1-entry-collaboration-author-newformat-2026.xml").read_bytes()
    one = b"<arxiv:doi>10.1016/j.physletb.2012.08.020</arxiv:doi>"
    assert one in body
    two = body.replace(one, one + b"\n    <arxiv:doi>10.5281/zenodo.1</arxiv:doi>")
    (record,), _ = feed_records(read_feed(two), FETCHED_AT, "x")
    assert record.dois == ["10.1016/j.physletb.2012.08.020", "10.5281/zenodo.1"]
    spaced = body.replace(one, one.replace(b"</", b" 10.5281/zenodo.1</"))
    (record,), _ = feed_records(read_feed(spaced), FETCHED_AT, "x")
    assert record.dois == ["10.1016/j.physletb.2012.08.020", "10.5281/zenodo.1"]


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (b"<id>http://arxiv.org/abs/1001.1001v1</id>", b"", "entry skipped: it has no <id>"),
        (b"<id>http://arxiv.org/abs/1001.1001v1</id>", b"<id></id>", "it has no <id>"),
        (b"<published>2010-01-06T22:12:29Z</published>", b"", "no <updated> or <published>"),
        (b"<updated>2010-01-06T22:12:29Z</updated>", b"<updated>soon</updated>", "timestamp"),
        (b"abs/1001.1001v1</id>", b"abs/1001.1001</id>", "not a versioned arXiv abs URL"),
        (b"abs/1001.1001v1</id>", b"abs/1001.99999v1</id>", "no valid arXiv identifier"),
    ],
    ids=["no-id", "empty-id", "no-published", "bad-timestamp", "unversioned", "bad-id"],
)
def test_unusable_entry_is_a_problem_naming_file_and_line(
    old: bytes, new: bytes, says: str
) -> None:
    body = (GENUINE / "idlist-2-entries-oldformat-2012.xml").read_bytes()
    assert old in body
    records, problems = feed_records(
        read_feed(body.replace(old, new)), FETCHED_AT, "arxiv/responses/a.xml.gz"
    )
    assert [r.arxiv_id for r in records] == ["1205.1001"]
    (problem,) = problems
    assert problem.kind == "bad_entry" and says in problem.message
    assert problem.source == "arxiv/responses/a.xml.gz" and problem.line == 47  # 2nd <entry>


def test_withdrawn_comes_from_the_comment() -> None:
    body = (GENUINE / "idlist-2-entries-oldformat-2012.xml").read_bytes()
    body = body.replace(b"submitted to PCCP", b"This paper has been withdrawn by the author")
    records, _ = feed_records(read_feed(body), FETCHED_AT, "x")
    assert [r.withdrawn for r in records] == [True, False]


@pytest.mark.parametrize(
    ("comment", "version", "withdrawn"),
    [
        ("This paper has been withdrawn by the author due to an error", 2, True),
        ("This submission has been removed by arXiv administrators", 3, True),
        ("Retracted: the data were mislabelled", 2, True),
        ("Lemma 4.2 is false, so the main theorem does not hold", 2, True),
        ("Duplicate of arXiv:2401.01234", 2, True),
        ("Lemma 4.2 is false, so the main theorem does not hold", 1, False),  # no withdrawal v1
        ("v2: corrected an error in Lemma 3; 18 pages", 2, False),
        ("Accepted at ICML 2025; fixed a mistake in Table 2", 2, False),
        ("12 pages, 3 figures", 2, False),
        (None, 2, False),
    ],
)
def test_withdrawal_is_read_from_the_comment_not_only_the_word(
    comment: str | None, version: int, withdrawn: bool
) -> None:
    # docs/arxiv.md §7 (arxiv-docs withdraw.md): a withdrawal is a new version whose
    # comment is the author's reason, which need not say "withdrawn".
    assert is_withdrawal(comment, version) is withdrawn


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feed [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>&lol3;</id></entry></feed>"""


TRUNCATED = (GENUINE / "idlist-2-entries-oldformat-2012.xml").read_bytes()[:1500]


@pytest.mark.parametrize(
    ("body", "content_type", "retryable", "says"),
    [
        (BILLION_LAUGHS, "application/atom+xml", False, "DTD"),
        (b"Rate exceeded.", "text/plain", True, "Rate exceeded"),
        (b"<!DOCTYPE html><html><body>blocked</body></html>", "text/html", True, "HTML"),
        (b"<html><body>oops</body></html>", None, True, "HTML"),
        (TRUNCATED, None, True, "truncated"),
        (b"", None, True, "empty"),
        (b'{"json": true}', "application/json", True, "not XML"),
        (b'<?xml version="1.0"?><rss><channel/></rss>', None, True, "not an Atom feed"),
    ],
)  # fmt: skip
def test_bodies_that_are_not_feeds_are_refused(
    body: bytes, content_type: str | None, retryable: bool, says: str
) -> None:
    with pytest.raises(BadAnswer) as caught:
        read_feed(body, content_type)
    assert caught.value.retryable is retryable
    assert says in caught.value.reason


def test_oversized_body_is_refused_before_parsing() -> None:
    with pytest.raises(BadAnswer, match="larger than") as caught:
        read_feed(b"<" + b" " * MAX_ANSWER_BYTES)
    assert not caught.value.retryable

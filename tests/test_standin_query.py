"""What the stand-in answers over HTTP: id_list, search_query, paging (docs/arxiv.md §2-3)."""

from __future__ import annotations

import httpx
import pytest
from arxiv import _feed

from pipeline.standin import CorpusRecord, StandIn


def fetch(server: StandIn, method: str = "GET", **params: str) -> _feed.ParsedFeed:
    if method == "GET":
        answer = httpx.get(server.url, params=params)
    else:
        answer = httpx.post(server.url, data=params)
    assert answer.status_code == 200, answer.text
    parsed = _feed.parse(answer.content)
    assert not parsed.malformed
    return parsed


def ids_of(parsed: _feed.ParsedFeed) -> list[str]:
    return [r.entry_id.removeprefix("http://arxiv.org/abs/") for r in parsed.results]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_id_list_returns_listed_papers_at_latest_version_in_no_set_order(
    method: str, standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    by_id = {record.id: record for record in standin_corpus}
    wanted = ["hep-th/9711200", "1706.03762", "0704.0001"]
    parsed = fetch(standin, method, id_list=",".join(wanted))
    expected = [f"{i}v{by_id[i].latest_version}" for i in wanted]
    # docs/arxiv.md §3: an ES filter with a constant score, so not the listed order.
    assert sorted(ids_of(parsed)) == sorted(expected) and ids_of(parsed) != expected
    assert standin.log[-1].method == method
    assert standin.log[-1].ids == wanted


def test_versioned_id_returns_that_version(
    standin: StandIn, standin_corpus: list[CorpusRecord]
) -> None:
    record = next(r for r in standin_corpus if r.id == "2408.08872")
    assert record.latest_version > 2
    (result,) = fetch(standin, id_list="2408.08872v2").results
    assert result.entry_id.endswith("2408.08872v2")
    assert result.updated.strftime("%Y-%m-%dT%H:%M:%SZ") == record.versions[1]
    assert result.published.strftime("%Y-%m-%dT%H:%M:%SZ") == record.versions[0]


def test_nonexistent_ids_are_silently_absent(standin: StandIn) -> None:
    # 0808.05394: well-formed 5-digit number in 2008 (1.3); 1706.03762v99: no such version.
    parsed = fetch(standin, id_list="0000.0000,1207.7214,0808.05394,1706.03762v99")
    assert ids_of(parsed) == ["1207.7214v2"]
    assert parsed.header.total_results == 1


@pytest.mark.parametrize("bad", ["abc", "0112019", "2408.887", "hep-th/97112"])
def test_one_malformed_id_fails_the_whole_batch_with_400(bad: str, standin: StandIn) -> None:
    answer = httpx.get(standin.url, params={"id_list": f"1207.7214,{bad}"})
    assert answer.status_code == 400
    assert f"<id>https://arxiv.org/api/errors#incorrect_id_format_for_{bad}</id>" in answer.text
    assert f"<summary>incorrect id format for {bad}</summary>" in answer.text
    assert "<title>Error</title>" in answer.text
    assert _feed.parse(answer.content).results == []  # the error entry has no <published>


def test_subject_class_alias_of_old_style_id_is_served(standin: StandIn) -> None:
    # docs/arxiv.md §8: a subject class inside an old-style ID (math.GT/0309136) is a legacy alias.
    parsed = fetch(standin, id_list="cond-mat.SC/0107042")
    assert ids_of(parsed) == ["cond-mat/0107042v1"]


def test_long_get_is_refused_with_414_but_post_works(standin: StandIn) -> None:
    many = ",".join(f"2401.{n:05d}" for n in range(800))  # ~700 IDs gave 414 (docs/arxiv.md §2)
    assert httpx.get(standin.url, params={"id_list": many}).status_code == 414
    assert httpx.post(standin.url, data={"id_list": many, "max_results": "800"}).status_code == 200
    assert [entry.status for entry in standin.log] == [414, 200]


def test_max_results_defaults_to_ten_and_total_counts_all(standin: StandIn) -> None:
    snapshot_ids = [f"0704.{n:04d}" for n in range(1, 16)]
    parsed = fetch(standin, id_list=",".join(snapshot_ids))
    shown = [i.split("v")[0] for i in ids_of(parsed)]
    assert len(shown) == 10 and set(shown) <= set(snapshot_ids)
    assert parsed.header.total_results == 15
    assert parsed.header.items_per_page == 10


def test_start_pages_through_a_search(standin: StandIn) -> None:
    whole = fetch(standin, search_query="cat:hep-ph", max_results="100")
    total = whole.header.total_results
    assert total > 5 and len(whole.results) == total
    pages = [
        ids_of(fetch(standin, search_query="cat:hep-ph", start=str(s), max_results="4"))
        for s in range(0, total, 4)
    ]
    assert [i for page in pages for i in page] == ids_of(whole)
    assert all(len(page) == 4 for page in pages[:-1])


def test_search_combines_terms(standin: StandIn) -> None:
    both = fetch(standin, search_query='ti:"attention is all you need" AND au:vaswani')
    assert ids_of(both) == ["1706.03762v7"]
    either = fetch(standin, search_query="ti:transfusion OR ti:sapiens")
    assert sorted(ids_of(either)) == ["2408.11039v1", "2408.12569v3"]
    without = fetch(standin, search_query='ti:"all you need" ANDNOT au:vaswani')
    assert ids_of(without) == ["2501.06425v1"]
    # Transfusion is cs.AI + cs.CV, Sapiens cs.CV only; OR binds looser than AND.
    grouped = fetch(standin, search_query="(ti:sapiens OR ti:transfusion) AND cat:cs.AI")
    assert ids_of(grouped) == ["2408.11039v1"]
    ungrouped = fetch(standin, search_query="ti:sapiens OR ti:transfusion AND cat:cs.AI")
    assert sorted(ids_of(ungrouped)) == ["2408.11039v1", "2408.12569v3"]


def test_exact_title_match_ranks_first(standin: StandIn) -> None:
    parsed = fetch(standin, search_query='ti:"Attention Is All You Need"')
    assert ids_of(parsed)[0] == "1706.03762v7"
    assert "2501.06425v1" in ids_of(parsed)  # "Tensor Product Attention Is All You Need"


def test_id_list_with_search_query_filters(standin: StandIn) -> None:
    parsed = fetch(standin, id_list="1706.03762,2501.06425,1207.7214", search_query="cat:cs.CL")
    assert ids_of(parsed) == ["1706.03762v7", "2501.06425v1"]
    assert parsed.header.total_results == 2


def test_malformed_search_query_gets_400(standin: StandIn) -> None:
    answer = httpx.get(standin.url, params={"search_query": "ti:(transformer"})
    assert answer.status_code == 400
    # docs/arxiv.md §4: query-syntax errors have the id without `#reason`.
    assert "<id>https://arxiv.org/api/errors</id>" in answer.text


def test_dialect_can_be_requested_per_query(standin: StandIn) -> None:
    new = httpx.get(standin.url, params={"id_list": "1207.7214"}).text
    old = httpx.get(standin.url, params={"id_list": "1207.7214", "standin_dialect": "old"}).text
    assert new.startswith("<?xml version='1.0'") and 'rel="self"' not in new
    assert old.startswith('<?xml version="1.0"') and 'rel="self"' in old


def test_added_records_are_served(standin: StandIn, standin_corpus: list[CorpusRecord]) -> None:
    extra = CorpusRecord(
        id="2602.00042",
        title="A Record Added While Serving",
        abstract="Added by a test.",
        authors=[("Test Author", [])],
        primary_category="cs.DL",
        categories=["cs.DL"],
        comment=None,
        journal_ref=None,
        doi=None,
        versions=["2026-02-01T00:00:00Z"],
    )
    assert fetch(standin, id_list="2602.00042").results == []
    standin.add_records([extra])
    assert ids_of(fetch(standin, id_list="2602.00042")) == ["2602.00042v1"]
    assert len(standin.records) == len(standin_corpus) + 1


def test_unknown_dialect_request_is_an_error(standin: StandIn) -> None:
    answer = httpx.get(standin.url, params={"id_list": "1207.7214", "standin_dialect": "x"})
    assert answer.status_code == 400
    assert "standin_dialect must be one of new, old" in answer.text

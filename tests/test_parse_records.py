"""Readers for record-shaped digests (pipeline.parse.records): CSV/TSV, JSON and JSON
Lines that are not Hugging Face dumps, BibTeX, RSS/Atom.

Every wild sample of these formats is checked entry by entry against its hand-made truth
table; one structural variant per format that no sample has (renamed columns, other field
orders, extra fields) must read as well; Markdown and plain text must not be taken for any
of them; no reader raises on arbitrary input or is slow on long input.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.ids import find_field_refs, is_valid_id, read_id_field
from pipeline.model import DigestEntry
from pipeline.parse.decode import decode_digest_bytes
from pipeline.parse.document import LayoutResult, TextDoc
from pipeline.parse.records import BLOCK_TEXT_MAX, field_role, read_records

WILD = Path(__file__).parent / "fixtures" / "wild"
OTHER_FIXTURES = Path(__file__).parent / "fixtures"

# sample file -> (layout, title_source of a titled entry)
SAMPLES = {
    "PatrickWiloak__papers.csv": ("csv", "column"),
    "MrSyee__papers.tsv": ("csv", "column"),
    "Straw674__2025-05-01_AI_enhanced_.jsonl": ("jsonl", "field"),
    "hiroki-takeda__2026-07-13-hep-th.json": ("json", "field"),
    "tlringer__peerreviewed.bib": ("bibtex", "field"),
    "kentaroh-toyoda__rss.xml": ("feed", "field"),
    "huangboming__feed.xml": ("feed", "field"),
}


def read(text: str, suffix: str, source: str = "digests/x") -> LayoutResult | None:
    return read_records(TextDoc(source, text), suffix)


def entries_of(text: str, suffix: str, layout: str) -> list[DigestEntry]:
    result = read(text, suffix)
    assert result is not None, "not recognised"
    assert result.layout == layout
    assert_consistent(result, "digests/x")
    return result.entries


def assert_consistent(result: LayoutResult, source: str) -> None:
    assert [e.position for e in result.entries] == list(range(1, len(result.entries) + 1))
    for entry in result.entries:
        assert entry.digest == source
        assert entry.layout == result.layout
        assert (entry.id_status == "ok") == (entry.arxiv_id is not None)
        assert entry.arxiv_id is None or is_valid_id(entry.arxiv_id)
        assert entry.id_status != "invalid_id" or entry.link
        assert (entry.title is None) == (entry.title_source == "none")
        assert entry.block_text is None or len(entry.block_text) <= BLOCK_TEXT_MAX
    for problem in result.problems:
        assert (problem.stage, problem.source) == ("parse", source)


def truth_rows(name: str) -> list[dict[str, str]]:
    stem = Path(name).stem
    with (WILD / "truth" / f"{stem}.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


# --- the wild samples, every entry ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_wild_sample_matches_truth(name: str) -> None:
    path = WILD / "files" / name
    decoded = decode_digest_bytes(path.read_bytes(), name)
    # MrSyee__papers.tsv holds a raw 0xFF byte: it is read, the byte replaced.
    assert decoded.text is not None
    layout, title_source = SAMPLES[name]
    result = read_records(TextDoc(name, decoded.text), path.suffix.lower())
    assert result is not None
    assert result.layout == layout
    assert_consistent(result, name)
    truth = truth_rows(name)
    got = [(e.position, e.arxiv_id or "", e.title) for e in result.entries]
    want = [(int(t["position"]), t["arxiv_id"], t["title_en"] or None) for t in truth]
    assert got == want
    for entry in result.entries:
        assert entry.title_source == (title_source if entry.title else "none")
        assert entry.block_text
        if entry.arxiv_id is None:
            assert entry.id_status == "missing" and entry.warnings


def test_csv_sample_details() -> None:
    text = decode_digest_bytes((WILD / "files" / "PatrickWiloak__papers.csv").read_bytes(), "x")
    assert text.text is not None
    entries = entries_of(text.text, ".csv", "csv")
    first = entries[0]
    assert first.line == 2 and first.link == "https://arxiv.org/abs/1706.03762"
    assert first.authors is not None and first.authors[:2] == ["Ashish Vaswani", "Noam Shazeer"]
    assert first.block_text is not None and first.block_text.startswith("1,architectures,")
    blog = entries[22]  # a system card on cdn.openai.com: kept, with its link
    assert blog.id_status == "missing" and blog.link is not None
    assert blog.link.startswith("https://cdn.openai.com/")
    empty_url = entries[38]  # RLVR: the url cell is empty
    assert empty_url.link is None and empty_url.title is not None


def test_tsv_with_replacement_character() -> None:
    # What the decoder gives for the raw 0xFF byte of MrSyee__papers.tsv.
    raw = (WILD / "files" / "MrSyee__papers.tsv").read_bytes()
    entries = entries_of(raw.decode("utf-8", "replace"), ".tsv", "csv")
    assert entries[0].title == "Recurrent Experience Replay in Distributed Reinforcement Learning"
    assert entries[0].link == "https://openreview.net/forum?id=r1lyTjAqYX"
    assert [e.arxiv_id for e in entries[2:4]] == ["1710.02298", "1707.06347"]


def test_json_sample_details() -> None:
    text = (WILD / "files" / "hiroki-takeda__2026-07-13-hep-th.json").read_text("utf-8")
    result = read(text, ".json")
    assert result is not None
    first = result.entries[0]
    assert first.title_translated == "一般化Poissonシグマ模型からの因子化代数と量子群"
    assert first.version == 1  # from arxivVersion
    assert first.authors == ["Keyou Zeng"]
    # The header before `papers` holds the report date.
    assert "2026-07-13" in "\n".join(TextDoc("x", text).lines[: result.header_end])


def test_jsonl_sample_details() -> None:
    text = (WILD / "files" / "Straw674__2025-05-01_AI_enhanced_.jsonl").read_text("utf-8")
    entries = entries_of(text, ".jsonl", "jsonl")
    assert [e.line for e in entries] == list(range(1, 16))
    assert entries[0].abstract is not None and entries[0].abstract.startswith("A limit on")
    assert entries[0].title_translated is None  # the AI object's Chinese text is no title


def test_bibtex_sample_details() -> None:
    text = (WILD / "files" / "tlringer__peerreviewed.bib").read_text("utf-8")
    entries = entries_of(text, ".bib", "bibtex")
    assert entries[0].line == 1 and entries[0].link == "https://arxiv.org/abs/2006.04757"
    assert entries[4].title_raw == "{T}actic{T}oe: {L}earning to reason with {HOL4} Tactics"
    assert entries[6].authors is not None and entries[6].authors[1:3] == [
        "François Chollet",
        "Niklas Eén",
    ]
    assert entries[10].authors is not None and entries[10].authors[0] == "Kühlwein, Daniel"
    assert entries[1].link == "https://people.cs.umass.edu/~brun/pubs/pubs/First22icse.pdf"
    assert entries[9].line == 108  # the indented @inproceedings after an entry closed on doi


def test_feed_sample_details() -> None:
    text = (WILD / "files" / "huangboming__feed.xml").read_text("utf-8")
    result = read(text, ".xml")
    assert result is not None and result.header_end == 10  # the channel lines
    first = result.entries[0]
    assert first.line == 11
    assert first.abstract is not None and first.abstract.startswith("Authors: Minghe Shen")
    assert "<" not in first.abstract


# --- structural variants no sample has -------------------------------------------------


def test_csv_renamed_columns_other_order_semicolons() -> None:
    text = (
        "arXiv URL;Paper Title;Authors;Year\n"
        'https://arxiv.org/pdf/2501.01234v2;"Deep Nets; Shallow Minds";A. One, B. Two;2025\n'
        "arXiv:2412.00001;Second Paper;C. Three;2024\n"
        ";Not on arXiv;D. Four;2023\n"
        "arXiv URL;Paper Title;Authors;Year\n"  # the header again (files concatenated)
        ";;;\n"
    )
    entries = entries_of(text, ".txt", "csv")
    assert [(e.arxiv_id, e.version, e.title) for e in entries] == [
        ("2501.01234", 2, "Deep Nets; Shallow Minds"),
        ("2412.00001", None, "Second Paper"),
        (None, None, "Not on arXiv"),
    ]
    assert entries[0].authors == ["A. One", "B. Two"]
    assert [e.line for e in entries] == [2, 3, 4]
    assert entries[2].id_status == "missing" and entries[2].warnings


def test_csv_cjk_headers_and_translated_title_column() -> None:
    text = (
        "论文标题,中文标题,链接,作者\n"
        "Attention Is All You Need,注意力就是你所需要的,1706.03762,Vaswani\n"
    )
    (entry,) = entries_of(text, ".csv", "csv")
    assert entry.title == "Attention Is All You Need"
    assert entry.title_translated == "注意力就是你所需要的"
    assert entry.arxiv_id == "1706.03762" and entry.title_source == "column"


def test_csv_quoted_newlines_and_crlf() -> None:
    text = (
        'title,abstract,link\r\n"A Title, With Comma","Line one\r\nline two",'
        "https://arxiv.org/abs/2501.00002\r\nB,b,https://arxiv.org/abs/2501.00003\r\n"
    )
    entries = entries_of(text, ".csv", "csv")
    assert [(e.title, e.line) for e in entries] == [("A Title, With Comma", 2), ("B", 4)]
    assert entries[0].abstract == "Line one\r\nline two"


def test_csv_headerless_with_a_reference_column() -> None:
    text = (
        "2501.00010\tLearning to Learn Things Quickly\n"
        "2501.00011\tAnother Long Paper Title Here\n"
        "2501.00012\tThird Paper With a Title\n"
    )
    entries = entries_of(text, ".tsv", "csv")
    assert [(e.arxiv_id, e.title) for e in entries] == [
        ("2501.00010", "Learning to Learn Things Quickly"),
        ("2501.00011", "Another Long Paper Title Here"),
        ("2501.00012", "Third Paper With a Title"),
    ]


def test_tsv_unquoted_title_starting_with_a_quote() -> None:
    text = (
        "Title\tarXiv\tNotes\n"
        '"Why Should I Trust You?": Explaining the Predictions\t1602.04938\tLIME\n'
        '"Quoted Whole"\thttps://arxiv.org/abs/1602.04939\t\n'
    )
    entries = entries_of(text, ".tsv", "csv")
    assert [e.title for e in entries] == [
        '"Why Should I Trust You?": Explaining the Predictions',
        "Quoted Whole",
    ]


def test_csv_zotero_export_shape() -> None:
    text = (
        '"Key","Item Type","Publication Year","Author","Title","Publication Title","Url",'
        '"Abstract Note","Extra"\n'
        '"AB12","preprint","2024","Lee, Ann; Chen, Bo","Small Models Win","arXiv",'
        '"http://arxiv.org/abs/2401.00020","We show it.","arXiv: 2401.00020"\n'
        '"CD34","journalArticle","2023","Diaz, Cy","A Journal Paper","Nature",'
        '"https://www.nature.com/articles/x","",""\n'
    )
    entries = entries_of(text, ".csv", "csv")
    assert [(e.arxiv_id, e.title) for e in entries] == [
        ("2401.00020", "Small Models Win"),
        (None, "A Journal Paper"),
    ]
    assert entries[0].authors == ["Lee, Ann", "Chen, Bo"]
    assert entries[0].abstract == "We show it."
    assert entries[1].link == "https://www.nature.com/articles/x"


def test_csv_invalid_id_is_reported() -> None:
    text = "title,arxiv_id\nBroken,2405.2097\nFine,2405.20970\n"
    result = read(text, ".csv")
    assert result is not None
    assert [e.id_status for e in result.entries] == ["invalid_id", "ok"]
    assert any(p.kind == "invalid_id" for p in result.problems)


@pytest.mark.parametrize(
    "text",
    [
        "| Title | arXiv |\n|---|---|\n| A | https://arxiv.org/abs/2501.00001 |\n",
        "Title | arXiv\n--- | ---\nA | https://arxiv.org/abs/2501.00001\nB | x\n",
        "We read three papers, two of them twice, and liked them.\n"
        "The first, by far, was the best, we think.\nThe rest, sadly, was not, really.\n",
        "- [Title, with, commas](https://arxiv.org/abs/2501.00001)\n" * 5,
        "1. A, B, https://arxiv.org/abs/2501.00001\n2. C, D, https://arxiv.org/abs/2501.00002\n"
        "3. E, F, https://arxiv.org/abs/2501.00003\n",
        "# Papers, 2025\n\nSome text, with, commas.\nMore text, with, commas.\n",
        "name,email\nAda,ada@example.org\nBob,bob@example.org\n",
        "Dear reader, the list is below.\nhttps://arxiv.org/abs/2501.00001, nice\n",
    ],
)
def test_markdown_and_prose_are_not_tables(text: str) -> None:
    assert read(text, ".md") is None
    assert read(text, ".txt") is None


def test_json_object_keyed_by_id_and_nested_wrapper() -> None:
    keyed = json.dumps(
        {
            "2501.00001": {"paperTitle": "Keyed One", "authors": [{"name": "A"}]},
            "2501.00002": {"paperTitle": "Keyed Two", "abstract": "Text."},
        }
    )
    entries = entries_of(keyed, ".json", "json")
    assert [(e.arxiv_id, e.title) for e in entries] == [
        ("2501.00001", "Keyed One"),
        ("2501.00002", "Keyed Two"),
    ]
    assert entries[0].authors == ["A"] and entries[1].abstract == "Text."
    wrapped = json.dumps(
        {
            "title": "Daily digest 2025-03-04",
            "meta": {"source": "https://arxiv.org/list/cs.CL/new"},
            "data": {
                "items": [
                    {"arxiv_url": "https://arxiv.org/abs/2503.00001v3", "name": "Paper A"},
                    {"arxiv_url": "https://example.org/b.pdf", "name": "Paper B"},
                ]
            },
        }
    )
    entries = entries_of(wrapped, ".json", "json")
    assert [(e.arxiv_id, e.version, e.title, e.link) for e in entries] == [
        ("2503.00001", 3, "Paper A", "https://arxiv.org/abs/2503.00001v3"),
        (None, None, "Paper B", "https://example.org/b.pdf"),
    ]


def test_json_number_id_keeps_its_zero_and_nested_objects_make_no_entries() -> None:
    text = (
        '{"papers": [{"arxiv_id": 2503.02130, "title": "Zero Kept",'
        ' "references": [{"title": "Cited", "id": "2401.00001"}],'
        ' "review": {"title": "Reviewer notes", "url": "https://arxiv.org/abs/2402.00002"}}]}'
    )
    (entry,) = entries_of(text, ".json", "json")
    assert (entry.arxiv_id, entry.title) == ("2503.02130", "Zero Kept")
    assert entry.warnings == []


def test_json_links_object() -> None:
    text = json.dumps(
        {"results": [{"name": "N", "links": {"code": "https://github.com/x/y",
                                             "paper": "https://arxiv.org/pdf/2404.00011"}}]}
    )  # fmt: skip
    (entry,) = entries_of(text, ".json", "json")
    assert (entry.arxiv_id, entry.title) == ("2404.00011", "N")


def test_json_single_paper_and_non_paper_json() -> None:
    (entry,) = entries_of('{"eprint": "hep-th/9901001", "title": "Old Style"}', ".json", "json")
    assert entry.arxiv_id == "hep-th/9901001"
    assert read('{"name": "tool", "version": "1.0", "deps": [{"name": "x"}]}', ".json") is None
    assert read("[1, 2, 3]", ".json") is None
    assert read('{"users": [{"name": "Ada"}, {"name": "Bob"}]}', ".json") is None


def test_jsonl_other_field_order_extra_field_and_bad_line() -> None:
    text = (
        '{"summary": "S1", "link": "http://arxiv.org/abs/2502.00001v1", "Title": "T1",'
        ' "extra": {"x": 1}}\n'
        "\n"
        '{"guid": "oai:arXiv.org:2502.00002", "title_zh": "中文标题", "score": 0.5}\n'
        "{not json\n"
        '{"title": "T3", "url": "https://openreview.net/forum?id=abc"}\n'
    )
    result = read(text, ".json")  # JSON Lines in a .json file
    assert result is not None and result.layout == "jsonl"
    assert_consistent(result, "digests/x")
    got = [(e.line, e.arxiv_id, e.title, e.title_translated) for e in result.entries]
    assert got == [
        (1, "2502.00001", "T1", None),
        (3, "2502.00002", None, "中文标题"),
        (5, None, "T3", None),
    ]
    assert result.entries[0].abstract == "S1"
    assert [p.line for p in result.problems if p.kind == "invalid_json_line"] == [4]


BIB_VARIANTS = r"""
@string{nips = {Advances in Neural Information Processing Systems}}
% a comment line
@Article{Vaswani2017,
  Author = {Ashish Vaswani and Noam Shazeer and {Google Brain}},
  Title = {Attention Is {All} You Need},
  Journal = {arXiv preprint arXiv:1706.03762},
  Year = {2017}
}
@misc{dbl, title = {Deep {R}esidual Learning}, eprint = {1512.03385},
  archivePrefix = {arXiv}, primaryClass = {cs.CV}}
@misc{url, title = "360 $^\circ$ Views of $T\bar{T}$", url = {https://arxiv.org/abs/2501.00005v2}}
@article{corr, title = {Old CoRR Entry}, journal = {CoRR}, volume = {abs/1905.09381}}
@article{doi, title = {By DOI}, doi = {10.48550/arXiv.2401.00007}}
@article{hal, title = {Not arXiv}, eprint = {hal-01234}, archivePrefix = {HAL},
  url = {https://hal.science/hal-01234}}
@article{eprinturl, title = {Eprint URL}, eprint = {https://arxiv.org/abs/2402.00008}}
@article{percent, title = {50% Fewer Tokens with \textsc{Bert} -- A Study},
  author = {M{\"u}ller, J.}}
@article{dup, title = {First of Two}, eprint = {2403.00009}}
@article{dup, title = {Second of Two}, eprint = {2403.00010}}
"""


def test_bibtex_variants() -> None:
    entries = entries_of(BIB_VARIANTS, ".txt", "bibtex")  # mostly bib: read as BibTeX
    got = [(e.arxiv_id, e.title) for e in entries]
    assert got == [
        ("1706.03762", "Attention Is All You Need"),
        ("1512.03385", "Deep Residual Learning"),
        ("2501.00005", r"360 $^\circ$ Views of $T\bar{T}$"),
        ("1905.09381", "Old CoRR Entry"),
        ("2401.00007", "By DOI"),
        (None, "Not arXiv"),
        ("2402.00008", "Eprint URL"),
        (None, "50% Fewer Tokens with Bert -- A Study"),
        ("2403.00009", "First of Two"),
        ("2403.00010", "Second of Two"),
    ]
    assert entries[0].authors == ["Ashish Vaswani", "Noam Shazeer", "Google Brain"]
    assert entries[2].version == 2
    assert entries[5].link == "https://hal.science/hal-01234"
    assert entries[7].authors == ["Müller, J."]


def test_markdown_with_a_bibtex_block_is_not_bibtex() -> None:
    text = (
        "# Awesome list\n\n"
        + "".join(
            f"- [Paper {i}](https://arxiv.org/abs/2501.{i:05d}) by someone\n" for i in range(30)
        )
        + "\n## Citation\n\n```bibtex\n@article{me2025, title={Awesome}, year={2025}}\n```\n"
    )
    assert read(text, ".md") is None


ATOM = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!-- arXiv API answer -->
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title type="html">ArXiv Query: search_query=all:electron</title>
  <link href="http://arxiv.org/api/query" rel="self"/>
  <id>http://arxiv.org/api/abc</id>
  <entry>
    <id>http://arxiv.org/abs/2501.01234v2</id>
    <title>A Wrapped
      Title &amp; More</title>
    <summary>  The abstract.  </summary>
    <author><name>Jane Doe</name></author>
    <author><name>Rui Zhang</name></author>
    <link href="http://arxiv.org/pdf/2501.01234v2" rel="related" type="application/pdf"/>
  </entry>
  <entry>
    <id>tag:blog.example.org,2025:post-7</id>
    <title type="html">&lt;b&gt;Bold&lt;/b&gt; blog post</title>
    <link href="https://blog.example.org/post-7"/>
    <content type="html">See &lt;a href="https://arxiv.org/abs/2502.00042"&gt;the
      paper&lt;/a&gt;.</content>
  </entry>
  <entry>
    <id>tag:blog.example.org,2025:post-8</id>
    <title>Only a blog</title>
    <link href="https://blog.example.org/post-8"/>
  </entry>
</feed>
"""

RSS_ARXIV = """<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>cs.CL updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.CL</link>
<item><title>Old Style Title. (arXiv:2401.00001v1 [cs.CL])</title>
<link>https://arxiv.org/abs/2401.00001</link><description>arXiv:2401.00001v1 Announce Type: new
Abstract: Text.</description><guid isPermaLink="false">oai:arXiv.org:2401.00001v1</guid>
<dc:creator>Ann Lee, Bo Chen, Cy Diaz</dc:creator></item>
<item><title>基于大模型的方法</title><guid>arxiv:2401.00002</guid></item>
</channel></rss>
"""

RDF = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://example.org/"><title>Papers</title><link>http://example.org/</link></channel>
<item rdf:about="http://arxiv.org/abs/2403.00003"><title>RDF Item</title>
<link>http://arxiv.org/abs/2403.00003</link></item>
</rdf:RDF>
"""


def test_atom_feed() -> None:
    result = read(ATOM, ".xml")
    assert result is not None and result.layout == "feed"
    assert_consistent(result, "digests/x")
    got = [(e.arxiv_id, e.version, e.title, e.link) for e in result.entries]
    assert got == [
        ("2501.01234", 2, "A Wrapped Title & More", "http://arxiv.org/abs/2501.01234v2"),
        ("2502.00042", None, "Bold blog post", "https://arxiv.org/abs/2502.00042"),
        (None, None, "Only a blog", "https://blog.example.org/post-8"),
    ]
    assert result.entries[0].authors == ["Jane Doe", "Rui Zhang"]
    assert result.entries[0].abstract == "The abstract."
    assert [e.line for e in result.entries] == [7, 16, 23]


def test_rss_of_arxiv_and_rdf() -> None:
    result = read(RSS_ARXIV, ".rss")
    assert result is not None
    assert [(e.arxiv_id, e.version, e.title, e.title_translated) for e in result.entries] == [
        ("2401.00001", None, "Old Style Title", None),
        ("2401.00002", None, None, "基于大模型的方法"),
    ]
    assert result.entries[0].authors == ["Ann Lee", "Bo Chen", "Cy Diaz"]
    result = read(RDF, ".rdf")
    assert result is not None
    assert [(e.arxiv_id, e.title) for e in result.entries] == [("2403.00003", "RDF Item")]


def test_feed_without_items_and_html_are_handled() -> None:
    result = read("<rss><channel><title>Empty</title></channel></rss>", ".xml")
    assert result is not None and result.entries == []
    assert [p.kind for p in result.problems] == ["empty_feed"]
    assert (
        read("<html><body><a href='https://arxiv.org/abs/2501.00001'>x</a></body></html>", "")
        is None
    )


# --- names, references -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("Title", "title"), ("Paper Title", "title"), ("paper_title", "title"), ("標題", "title"),
        ("タイトル", "title"), ("제목", "title"), ("论文", "title"), ("name", "title"),
        ("titleJa", "translated"), ("title_zh", "translated"), ("中文标题", "translated"),
        ("arXiv URL", "link"), ("Paper Link", "link"), ("pdf", "link"), ("abs", "link"),
        ("arxivId", "id"), ("arXiv ID", "id"), ("eprint", "id"), ("Arxiv", "id"), ("id", "id"),
        ("Authors", "authors"), ("作者", "authors"), ("Abstract", "abstract"),
        ("summary", "abstract"), ("摘要", "abstract"), ("Abbr.", "other"), ("year", "other"),
        ("subtitle", "other"), ("arxivVersion", "version"),
    ],
)  # fmt: skip
def test_field_roles(name: str, role: str) -> None:
    assert field_role(name)[0] == role


def test_field_reference_forms() -> None:
    forms = {
        "oai:arXiv.org:2501.01234v2": ("2501.01234", 2),
        "arXiv 2607.26998": ("2607.26998", None),
        "arXiv preprint 2006.04757": ("2006.04757", None),
        "arXiv preprint arXiv:2006.04757": ("2006.04757", None),
        "arxiv.org:hep-th/9901001": ("hep-th/9901001", None),
    }
    for text, (arxiv_id, version) in forms.items():
        (ref,) = find_field_refs(text)
        assert (ref.arxiv_id, ref.version) == (arxiv_id, version), text
    assert find_field_refs("arXiv papers/123 and arXiv preprint, 2020") == []
    (near_miss,) = read_id_field(" 2405.2097 ")
    assert not near_miss.valid


# --- never raises, never slow ------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SUFFIXES = st.sampled_from([".csv", ".tsv", ".json", ".jsonl", ".bib", ".xml", ".txt", ".md", ""])
FRAGMENTS = st.sampled_from(
    ["\n", ",", "\t", ";", '"', "'", "title", "arxiv_id", "url", "Paper Title", "\r\n",
     "https://arxiv.org/abs/2501.01234", "2405.2097", "oai:arXiv.org:2501.00001v1", "{", "}",
     "[", "]", ":", "@article{k,", "title={", "{T}ac", "\\'e", "$x$", "\\url{", "}}", "%",
     "<rss>", "<item>", "<title>", "</title>", "<link>", "</item>", "&lt;b&gt;", "<feed>",
     "<entry>", "<?xml version='1.0'?>", '{"title": "T", "id": "2501.00001"}', "|", "---",
     "中文", "\ufffd", " and ", "\\", "$"]
)  # fmt: skip
TEXTS = st.one_of(st.text(max_size=300), st.lists(FRAGMENTS | st.text(max_size=4)).map("".join))
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["2501.01234", "https://arxiv.org/abs/2503.02130v2", "2405.2097"]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["title", "id", "arxivId", "url", "papers", "authors", "x", "titleJa"])
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@PROPERTY_SETTINGS
@given(text=TEXTS, suffix=SUFFIXES)
@example(text="title,url\n\x00,\n", suffix=".csv")
@example(text="@article{", suffix=".bib")
@example(text="<rss><item><title>" + "{" * 50, suffix=".xml")
@example(text="@misc{k, title={" + "{" * 3000 + "x" + "}" * 3000 + "}}", suffix=".bib")
def test_never_raises_on_text(text: str, suffix: str) -> None:
    result = read(text, suffix)
    if result is not None:
        assert_consistent(result, "digests/x")


@PROPERTY_SETTINGS
@given(value=JSON_VALUES, lines=st.booleans())
def test_never_raises_on_json(value: object, lines: bool) -> None:
    if lines and isinstance(value, list):
        text = "\n".join(json.dumps(item) for item in value)
    else:
        text = json.dumps(value)
    result = read(text, ".jsonl" if lines else ".json")
    if result is not None:
        assert_consistent(result, "digests/x")


CELLS = st.sampled_from(
    ["Title", "arXiv", "url", "A Paper, Quoted", "https://arxiv.org/abs/2501.00001", "", " ",
     "2501.00002", '"', "x\ny", "Some Long Title Words", "中文标题"]
)  # fmt: skip


@PROPERTY_SETTINGS
@given(
    rows=st.lists(st.lists(CELLS | st.text(max_size=8), max_size=6), max_size=8),
    delimiter=st.sampled_from([",", "\t", ";", "|"]),
    suffix=SUFFIXES,
)
def test_never_raises_on_csvish(rows: list[list[str]], delimiter: str, suffix: str) -> None:
    out = []
    for row in rows:
        out.append(delimiter.join(f'"{c}"' if delimiter in c or '"' in c else c for c in row))
    result = read("\n".join(out), suffix)
    if result is not None:
        assert_consistent(result, "digests/x")


LINKS = " ".join(f"https://arxiv.org/abs/2501.{i:05d}" for i in range(12_000))  # ~0.4 MB
LONG_INPUTS = {
    "csv cell": ('title,url\n"A paper","' + LINKS + '"\n', ".csv", "csv"),
    "csv quotes": ('"a",' * 250_000 + "\n", ".csv", None),
    "json field": (json.dumps({"papers": [{"title": "T", "url": LINKS}]}), ".json", "json"),
    "jsonl line": (json.dumps({"title": "T", "url": LINKS}) + '\n{"title": "U"}\n', "", "jsonl"),
    "bib note": ("@article{a, title={T}, note={" + LINKS + "}}\n", ".bib", "bibtex"),
    "bib title": ("@article{a, title={" + "{T}actic \\'e " * 70_000 + "}}\n", ".bib", "bibtex"),
    "feed item": (f"<rss><item><title>T</title><description>{LINKS}</description></item></rss>",
                  ".xml", "feed"),
    "markdown": ("- [Title, with, commas](https://arxiv.org/abs/2501.00001)\n" * 18_000,
                 ".md", None),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(LONG_INPUTS))
def test_long_lines_are_quick(name: str) -> None:
    text, suffix, layout = LONG_INPUTS[name]
    started = time.perf_counter()
    result = read(text, suffix)
    elapsed = time.perf_counter() - started
    assert (result.layout if result else None) == layout
    assert elapsed < 2.0, f"{name}: {elapsed:.2f} s for {len(text)} characters"


def _csv(n: int) -> str:
    rows = (f'{i},"Title {i}, comma",https://arxiv.org/abs/2501.{i:05d}' for i in range(n))
    return "n,title,url\n" + "\n".join(rows)


def _jsonl(n: int) -> str:
    return "\n".join(json.dumps({"id": f"2501.{i:05d}", "title": f"T {i}"}) for i in range(n))


def _bib(n: int) -> str:
    return "\n".join(
        f"@misc{{k{i}, title={{{{T}}i $x$ {i}}}, eprint={{2501.{i:05d}}}}}" for i in range(n)
    )


def _feed(n: int) -> str:
    items = (
        f"<item><title>T {i}</title><link>https://arxiv.org/abs/2501.{i:05d}</link></item>"
        for i in range(n)
    )
    return "<rss><channel>" + "".join(items) + "</channel></rss>"


@pytest.mark.parametrize(
    ("build", "suffix"), [(_csv, ".csv"), (_jsonl, ".jsonl"), (_bib, ".bib"), (_feed, ".xml")]
)
def test_time_grows_linearly(build: Callable[[int], str], suffix: str) -> None:
    def seconds(n: int) -> float:
        text = build(n)
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            result = read(text, suffix)
            best = min(best, time.perf_counter() - started)
        assert result is not None and len(result.entries) == n
        return best

    small, large = seconds(500), seconds(4000)
    assert large < 8 * small * 2.5, f"500 entries: {small:.3f} s, 4000: {large:.3f} s"


def test_other_fixtures_are_not_records() -> None:
    """Markdown, HTML and plain-text digests are left to the document reader."""
    paths = [p for p in (WILD / "files").iterdir() if p.name not in SAMPLES]
    paths += [p for p in (OTHER_FIXTURES / "digests").iterdir() if p.suffix != ".json"]
    paths += list((OTHER_FIXTURES / "demo").iterdir())
    for path in paths:
        decoded = decode_digest_bytes(path.read_bytes(), path.name)
        assert decoded.text is not None
        assert read_records(TextDoc(path.name, decoded.text), path.suffix.lower()) is None, path

"""Real digests in the Markdown, HTML and plain-text families parse entry for entry as their
hand-checked truth says (tests/fixtures/wild: byte copies, see its README). The record-shaped
ones (CSV, JSON, BibTeX, feeds) are checked in test_parse_records.py."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.model import STRONG_TITLE_SOURCES
from pipeline.parse import parse_digest

FIXTURES = Path(__file__).parent / "fixtures"
WILD = FIXTURES / "wild"
SAMPLES = FIXTURES / "digests"

# file -> layout the content is read as
DOCUMENTS = {
    "Fatflower__52_week.md": "markdown",
    "RobertoMav__papers.txt": "text",
    "TioeAre__today_md.md": "markdown",
    "Tony-tpc__report_2025-10-13.md": "markdown",
    "Willjay5991__arxiv.txt": "text",
    "csyanghan__README.md": "markdown",
    "gisbi-kim__2026-04-21.html": "html",
    "hayashikoki225__2026-07-03.md": "markdown",
    "janilbols-w__2026-w32.md": "markdown",
    "pranavbelhekar01__README.md": "markdown",
    "russel0719__CV_Daily_Trend_2026-06-12.md": "markdown",
    "zubair-irshad__README.md": "markdown",
}


def truth(name: str) -> list[dict[str, str]]:
    with (WILD / "truth" / f"{Path(name).stem}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def ws(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_wild_document_matches_truth(name: str) -> None:
    parsed = parse_digest(WILD / "files" / name, WILD)
    assert parsed.layout == DOCUMENTS[name]
    rows = truth(name)
    assert len(parsed.entries) == len(rows)
    for entry, row in zip(parsed.entries, rows, strict=True):
        where = f"{name} entry {row['position']}"
        assert entry.position == int(row["position"]), where
        assert (entry.arxiv_id or "") == row["arxiv_id"], where
        assert ws(entry.title) == ws(row["title_en"]), where
        assert entry.title_source != "none" if entry.title else entry.title_source == "none"
        assert entry.block_text, where


def test_title_sources_say_where_the_title_was_found() -> None:
    def sources(name: str) -> set[str]:
        return {e.title_source for e in parse_digest(WILD / "files" / name, WILD).entries}

    assert sources("csyanghan__README.md") == {"column"}  # |date|**title**|authors|link|
    assert sources("Fatflower__52_week.md") == {"link text"}  # N. [Title](abs link)
    assert sources("Tony-tpc__report_2025-10-13.md") == {"heading"}  # ## N. Title
    assert sources("gisbi-kim__2026-04-21.html") == {"emphasis"}  # <a><strong>Title
    assert sources("zubair-irshad__README.md") == {"quoted"}  # **Name**: "Title"
    assert sources("RobertoMav__papers.txt") == {"line", "none"}  # N. Name: URL
    assert sources("Willjay5991__arxiv.txt") == {"field"}  # Title: ... (wrapped)
    assert {"column", "emphasis", "quoted", "link text", "heading", "field"} <= set(
        STRONG_TITLE_SOURCES
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "digests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_layout_keeps_entries_with_missing_empty_or_text_only_links(
    tmp_path: Path,
) -> None:
    text = (SAMPLES / "sample-digest.md").read_text(encoding="utf-8")
    text = text.replace("](https://arxiv.org/abs/2408.08872)", "]()")  # empty link
    text = text.replace("(https://arxiv.org/abs/2408.08459)", "(https://arxiv.org/abs/)")
    text = text.replace("[自动化设计智能体系统](https://arxiv.org/abs/2408.08435)\n", "")
    text = text.replace(
        "[LongVILA: 扩展长视频上下文视觉语言模型](https://arxiv.org/abs/2408.10188)",
        "LongVILA: 扩展长视频上下文视觉语言模型（arXiv:2408.10188）",
    )
    parsed = parse_digest(write(tmp_path, "seed.md", text), tmp_path)
    got = [(e.position, e.arxiv_id, e.id_status, e.title_source) for e in parsed.entries]
    assert len(got) == 12  # every entry, in order
    assert got[:4] == [
        (1, None, "missing", "heading"),
        (2, None, "missing", "heading"),
        (3, None, "missing", "heading"),
        (4, "2408.10188", "ok", "heading"),
    ]
    titles = [e.title for e in parsed.entries[:4]]
    assert titles == [
        "xGen-MM (BLIP-3): A Family of Open Large Multimodal Models",
        "JPEG-LM: LLMs as Image Generators with Canonical Codec Representations",
        "Automated Design of Agentic Systems",
        "LongVILA: Scaling Long-Context Visual Language Models for Long Videos",
    ]
    assert parsed.entries[0].title_translated == "xGen-MM (BLIP-3): 一个开放的大型多模态模型家族"
    assert parsed.entries[1].link == "https://arxiv.org/abs/"
    assert [e.arxiv_id for e in parsed.entries[4:]] == [
        "2408.10198", "2408.09174", "2408.10914", "2408.11039", "2408.11318", "2408.11796",
        "2408.12599", "2408.12569",
    ]  # fmt: skip
    assert [(p.kind, p.line) for p in parsed.problems] == [
        ("missing_link", 2),
        ("no_arxiv_link", 8),
        ("missing_link", 14),
    ]
    assert all(e.warnings for e in parsed.entries[:3])


# --- structural variants not in the samples -----------------------------------------


def test_table_with_renamed_columns_and_other_order(tmp_path: Path) -> None:
    text = (
        "# Weekly\n\n| arXiv | Paper Title | Authors | Stars |\n|---|---|---|---|\n"
        "| [2405.17893](https://arxiv.org/abs/2405.17893v2) | Arithmetic Reasoning with LLM |"
        " Xiaocheng Yang et.al. | 12 |\n"
        "| [link](https://arxiv.org/pdf/2405.17604) | **LoRA-XS: Low-Rank Adaptation** | A. B |"
        " 3 |\n"
        "| — | A Paper Not On arXiv | C. D | 1 |\n"
    )
    parsed = parse_digest(write(tmp_path, "weekly.md", text), tmp_path)
    got = [(e.arxiv_id, e.version, e.title, e.title_source) for e in parsed.entries]
    assert got == [
        ("2405.17893", 2, "Arithmetic Reasoning with LLM", "column"),
        ("2405.17604", None, "LoRA-XS: Low-Rank Adaptation", "column"),
        (None, None, "A Paper Not On arXiv", "column"),  # a row of the paper table
    ]
    assert parsed.entries[0].authors == ["Xiaocheng Yang et.al."]


def test_per_paper_headings_at_another_level_with_generic_subheadings(tmp_path: Path) -> None:
    text = (
        "# Digest 2025-03-01\n\n## Papers\n\n"
        "#### 1. First Paper Title\n\n##### Links\n\n- [arXiv](https://arxiv.org/abs/2501.00001)\n\n"
        "#### 2. Second Paper Title\n\n##### Links\n\n- [PDF](https://arxiv.org/pdf/2501.00002v3)\n"
        "- [HF](https://huggingface.co/papers/2501.00002)\n\n"
        "#### 3. Third Paper Title\n\nNo link today.\n"
    )
    parsed = parse_digest(write(tmp_path, "d.md", text), tmp_path)
    got = [(e.line, e.arxiv_id, e.title, e.title_source) for e in parsed.entries]
    assert got == [
        (5, "2501.00001", "First Paper Title", "heading"),
        (11, "2501.00002", "Second Paper Title", "heading"),
        (18, None, "Third Paper Title", "heading"),
    ]
    assert parsed.entries[1].link == "https://arxiv.org/pdf/2501.00002v3"


def test_html_cards_with_an_extra_field_and_prose_mentions(tmp_path: Path) -> None:
    text = (
        "<html><head><style>.x{}</style><script>var u='https://arxiv.org/abs/2501.09999'"
        "</script></head><body><h1>Briefing</h1>"
        "<article class='card'><h3>Paper one</h3><p><b>Score</b>: 9</p>"
        "<p><a href='https://arxiv.org/abs/2501.00001'>A Title Of The First Paper</a></p></article>"
        "<article class='card'><details><summary><b>2. Second Paper Title</b></summary>"
        "<p>Authors: A. B, C. D</p><a href='https://arxiv.org/pdf/2501.00002'>pdf</a>"
        "</details></article>"
        "<p>This week's trend, as the first paper "
        "(<a href='https://arxiv.org/abs/2501.00001'>here</a>) and the second show, "
        + "is a long paragraph of prose about both papers. "
        * 6
        + "</p><footer><a href='https://arxiv.org/list/cs.AI/new'>cs.AI</a></footer>"
        "</body></html>"
    )
    parsed = parse_digest(write(tmp_path, "b.html", text), tmp_path)
    got = [(e.arxiv_id, e.title, e.title_source) for e in parsed.entries]
    assert got == [
        ("2501.00001", "A Title Of The First Paper", "link text"),
        ("2501.00002", "Second Paper Title", "heading"),
    ]
    assert parsed.entries[1].authors == ["A. B", "C. D"]


def test_plain_list_of_links_with_comments(tmp_path: Path) -> None:
    text = (
        "# One link per line. # starts a comment\n"
        "https://arxiv.org/abs/1706.03762\n"
        "arxiv.org/pdf/1810.04805v2.pdf\n"
        "# seen at a talk\n"
        "https://huggingface.co/papers/2501.00001\n"
    )
    parsed = parse_digest(write(tmp_path, "links.txt", text), tmp_path)
    got = [(e.arxiv_id, e.version, e.title) for e in parsed.entries]
    assert got == [("1706.03762", None, None), ("1810.04805", 2, None), ("2501.00001", None, None)]
    assert all(e.title_source == "none" for e in parsed.entries)


def test_a_line_of_12000_links_parses_in_linear_time(tmp_path: Path) -> None:
    import time

    links = " ".join(
        f"[Study number {i}](https://arxiv.org/abs/2501.{i:05d})" for i in range(1, 12001)
    )
    path = write(tmp_path, "long.md", f"# Many\n\n{links}\n")
    started = time.perf_counter()
    parsed = parse_digest(path, tmp_path)
    elapsed = time.perf_counter() - started
    assert len(parsed.entries) == 12000
    assert parsed.entries[-1].title == "Study number 12000"
    assert elapsed < 5  # generous for a loaded CI machine; make bench reports the real figure

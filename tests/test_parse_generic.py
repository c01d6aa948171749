"""Layouts nobody specified: every arXiv reference becomes an entry, titled from the
nearest heading, link text or table cell."""

from __future__ import annotations

from pathlib import Path

from pipeline.model import ParsedDigest
from pipeline.parse import parse_digest


def parse_text(tmp_path: Path, name: str, text: str) -> ParsedDigest:
    path = tmp_path / "digests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    parsed = parse_digest(path, tmp_path)
    assert parsed.layout in ("markdown", "text")
    assert [e.position for e in parsed.entries] == list(range(1, len(parsed.entries) + 1))
    return parsed


TABLE = """# Reading group

| # | Title | Link | Date |
|---|-------|------|------|
| 1 | Attention Is All You Need | [arXiv](https://arxiv.org/abs/1706.03762v7) | 2017-06-12 |
| 2 | **BERT**: Pre-training of Deep Bidirectional Transformers | arxiv.org/pdf/1810.04805v2.pdf | |
| 3 | 旧论文 | arXiv:hep-th/9711200v3 | 1997 |
| 4 | Attention Is All You Need | [HF](https://huggingface.co/papers/1706.03762) | again |
"""


def test_markdown_table_of_versioned_links_takes_the_title_column(tmp_path: Path) -> None:
    parsed = parse_text(tmp_path, "table.md", TABLE)
    got = [(e.line, e.arxiv_id, e.version, e.title, e.title_translated) for e in parsed.entries]
    assert got == [
        (5, "1706.03762", 7, "Attention Is All You Need", None),
        (6, "1810.04805", 2, "BERT: Pre-training of Deep Bidirectional Transformers", None),
        (7, "hep-th/9711200", 3, None, "旧论文"),
        # The same paper in another row stays a separate entry (a duplicate in the digest).
        (8, "1706.03762", None, "Attention Is All You Need", None),
    ]
    assert parsed.entries[1].link == "arxiv.org/pdf/1810.04805v2.pdf"
    assert parsed.problems == []


def test_table_without_a_title_column_takes_the_longest_plain_cell(tmp_path: Path) -> None:
    text = (
        "| Paper link | Notes |\n|---|---|\n"
        "| https://arxiv.org/abs/2501.06425 | Tensor Product Attention Is All You Need |\n"
    )
    [entry] = parse_text(tmp_path, "notitle.md", text).entries
    assert (entry.arxiv_id, entry.title) == (
        "2501.06425",
        "Tensor Product Attention Is All You Need",
    )


ENGLISH_NEWSLETTER = """# AI Papers Daily — 2025-01-15

Today's picks, summarised by GPT.

## 1. Tensor Product Attention Is All You Need
**Summary:** A new attention mechanism that shrinks the KV cache.
👉 [Read the paper](https://huggingface.co/papers/2501.06425)

## 2. VideoAuteur: Towards Long Narrative Video Generation
**Summary:** Long cooking videos, step by step.
👉 [Read on Hugging Face](https://huggingface.co/papers/2501.06173) · [PDF](https://arxiv.org/pdf/2501.06173v1)

## 3. A paper without any link
**Summary:** Nothing to find here.
"""


def test_english_newsletter_linking_to_hugging_face_takes_headings(tmp_path: Path) -> None:
    parsed = parse_text(tmp_path, "gpt-digest.md", ENGLISH_NEWSLETTER)
    assert parsed.digest_date is not None and parsed.digest_date.isoformat() == "2025-01-15"
    got = [(e.line, e.arxiv_id, e.version, e.link, e.title) for e in parsed.entries]
    assert got == [
        (
            5,  # an entry starts at its own heading
            "2501.06425",
            None,
            "https://huggingface.co/papers/2501.06425",
            "Tensor Product Attention Is All You Need",
        ),
        # Hugging Face and arXiv links to one paper: one entry, the arXiv link kept.
        (
            9,
            "2501.06173",
            1,
            "https://arxiv.org/pdf/2501.06173v1",
            "VideoAuteur: Towards Long Narrative Video Generation",
        ),
        # Numbered like its siblings but without a link: kept, to be found by title.
        (13, None, None, None, "A paper without any link"),
    ]
    assert [e.title_source for e in parsed.entries] == ["heading"] * 3
    assert all(e.warnings == [] for e in parsed.entries[:2])
    assert parsed.entries[2].id_status == "missing"
    assert "no arXiv link" in parsed.entries[2].warnings[0]
    assert [(p.kind, p.line) for p in parsed.problems] == [("missing_link", 13)]


READING_LIST = """My reading list

## Transformers
- Attention Is All You Need (arXiv:1706.03762)
- [BERT: Pre-training of Deep Bidirectional Transformers](https://arxiv.org/abs/1810.04805)

## Geometry
See arXiv:math.GT/0309136 and arXiv:2408.1234x.

## Sapiens: Foundation for Human Vision Models
arXiv:2408.12569v1

## 注意力就是你所需要的
arXiv:1706.03762v5
"""


def test_reading_list_with_arxiv_refs_and_headings(tmp_path: Path) -> None:
    parsed = parse_text(tmp_path, "reading.txt", READING_LIST)
    got = [(e.line, e.link, e.arxiv_id, e.version, e.id_status, e.title) for e in parsed.entries]
    assert got == [
        (4, "arXiv:1706.03762", "1706.03762", None, "ok", "Attention Is All You Need"),
        (
            5,
            "https://arxiv.org/abs/1810.04805",
            "1810.04805",
            None,
            "ok",
            "BERT: Pre-training of Deep Bidirectional Transformers",
        ),
        (8, "arXiv:math.GT/0309136", "math/0309136", None, "ok", None),
        (8, "arXiv:2408.1234x", None, None, "invalid_id", None),
        (
            10,
            "arXiv:2408.12569v1",
            "2408.12569",
            1,
            "ok",
            "Sapiens: Foundation for Human Vision Models",
        ),
        (13, "arXiv:1706.03762v5", "1706.03762", 5, "ok", None),
    ]
    geometry = parsed.entries[2]
    assert geometry.warnings == [
        "no title found near the reference (under the heading 'Geometry', shared with other "
        "entries)"
    ]
    assert (geometry.title, geometry.title_source) == (None, "none")
    assert parsed.entries[5].title_translated == "注意力就是你所需要的"
    assert [(p.kind, p.line) for p in parsed.problems] == [("invalid_id", 8)]


def test_chinese_only_newsletter_keeps_the_translated_title(tmp_path: Path) -> None:
    text = (
        "## 张量积注意力机制\n扩展语言模型……论文：https://arxiv.org/abs/2501.06425获取更多。\n\n"
        "## 三维中的非常见物体\n链接：[论文](https://arxiv.org/abs/2501.07574)\n"
    )
    parsed = parse_text(tmp_path, "zh.md", text)
    got = [(e.arxiv_id, e.title, e.title_translated, e.warnings) for e in parsed.entries]
    assert got == [
        ("2501.06425", None, "张量积注意力机制", []),
        ("2501.07574", None, "三维中的非常见物体", []),
    ]


def test_reference_with_nothing_around_it_is_kept_and_flagged(tmp_path: Path) -> None:
    [entry] = parse_text(tmp_path, "bare.txt", "https://arxiv.org/abs/2401.00001\n").entries
    assert (entry.arxiv_id, entry.title, entry.title_translated) == ("2401.00001", None, None)
    assert entry.warnings == ["no title found near the reference"]


BLOG_POST = """<div class="post">
<h2>1. Agents that Learn to Plan</h2>
<p>This paper proposes a planner. It builds on <a href="https://arxiv.org/abs/2210.03629">ReAct</a>.</p>
<p><a href="https://arxiv.org/pdf/2503.11111v2">Read the paper</a></p>
<h2>2. Faster Attention Kernels</h2>
<p>Kernels, fused. See <a href="https://arxiv.org/abs/2205.14135">FlashAttention</a> for it.</p>
<p><a href="https://arxiv.org/pdf/2503.22222">Read the paper</a></p>
</div>
"""


def test_a_short_summary_citing_another_paper_is_prose_not_an_entry(tmp_path: Path) -> None:
    # An e-mail or blog digest: a heading per paper, a two-sentence summary that links a
    # paper it builds on, and the paper's own link in a paragraph of its own.
    path = tmp_path / "digests" / "post.html"
    path.parent.mkdir(parents=True)
    path.write_text(BLOG_POST, encoding="utf-8")
    parsed = parse_digest(path, tmp_path)
    got = [(e.arxiv_id, e.title, e.title_source) for e in parsed.entries]
    assert got == [
        ("2503.11111", "Agents that Learn to Plan", "heading"),
        ("2503.22222", "Faster Attention Kernels", "heading"),
    ]


def test_org_mode_links_in_a_plain_text_reading_list(tmp_path: Path) -> None:
    text = (
        "* Reading list\n"
        "- [[https://arxiv.org/abs/2503.55555][Long Context Is Not Enough]]\n"
        "- [[https://arxiv.org/abs/2503.66666v2][Tokenizers Matter]] -- great read\n"
        "- [[https://arxiv.org/abs/2503.77777]]\n"
    )
    parsed = parse_text(tmp_path, "papers.txt", text)
    got = [(e.arxiv_id, e.version, e.title, e.title_source) for e in parsed.entries]
    assert got == [
        ("2503.55555", None, "Long Context Is Not Enough", "link text"),
        ("2503.66666", 2, "Tokenizers Matter", "link text"),
        ("2503.77777", None, None, "none"),
    ]
    assert not [p for p in parsed.problems if p.kind == "missing_link"]  # `* Reading list`


def test_citation_paragraphs_take_the_title_before_the_authors(tmp_path: Path) -> None:
    text = (
        "Papers of the week\n\n"
        "Attention Is All You Need. Vaswani, Shazeer, Parmar and others. NeurIPS 2017. "
        "[arXiv](https://arxiv.org/abs/1706.03762)\n\n"
        "Man vs. Machine in Go. Silver et al. Nature 2016. [arXiv](https://arxiv.org/abs/1712.01815)\n\n"
        "Thanks for reading!\n"
    )
    parsed = parse_text(tmp_path, "week.md", text)
    got = [(e.arxiv_id, e.title) for e in parsed.entries]
    assert got == [
        ("1706.03762", "Attention Is All You Need"),
        ("1712.01815", "Man vs. Machine in Go"),
    ]
    assert not parsed.problems  # the introduction and the sign-off are no entries

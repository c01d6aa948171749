"""Bad input: each case is a Problem naming the file (and line), never an exception,
and the rest of the file or folder is still read."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.model import ParsedDigest
from pipeline.parse import MAX_DIGEST_BYTES, parse_all, parse_digest, problems_of

SAMPLES = Path(__file__).parent / "fixtures" / "digests"


def write_digest(raw: Path, name: str, content: bytes | str) -> Path:
    path = raw / "digests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def parse_bytes(raw: Path, name: str, content: bytes | str) -> ParsedDigest:
    return parse_digest(write_digest(raw, name, content), raw)


def kinds(parsed: ParsedDigest) -> list[str]:
    return [problem.kind for problem in parsed.problems]


def entry_summary(parsed: ParsedDigest) -> list[tuple[str | None, str | None, str | None]]:
    return [(e.arxiv_id, e.title, e.title_translated) for e in parsed.entries]


def sample(name: str) -> ParsedDigest:
    return parse_digest(SAMPLES / name, SAMPLES.parent)


# --- encodings -----------------------------------------------------------------------


def test_gb18030_digest_is_decoded_and_reported(tmp_path: Path) -> None:
    text = (SAMPLES / "sample-digest.md").read_text(encoding="utf-8")
    parsed = parse_bytes(tmp_path, "gbk.md", text.encode("gb18030"))
    assert entry_summary(parsed) == entry_summary(sample("sample-digest.md"))
    [problem] = parsed.problems
    assert (problem.kind, problem.source, problem.line) == ("encoding", "digests/gbk.md", 3)
    assert "decoded as gb18030" in problem.message


def test_big5_digest_is_told_apart_from_gb18030(tmp_path: Path) -> None:
    # GB18030 accepts these bytes too, as nonsense; the punctuation tells which is right.
    text = (
        "## Attention Is All You Need\n"
        "[注意力就是你所需要的：一個新模型。](https://arxiv.org/abs/1706.03762)\n"
        "這是一個摘要，關於注意力機制。我們提出了新的網絡架構，完全基於注意力。\n"
    )
    parsed = parse_bytes(tmp_path, "big5.md", text.encode("big5"))
    assert kinds(parsed) == ["encoding"] and "decoded as big5" in parsed.problems[0].message
    [entry] = parsed.entries
    assert entry.title_translated == "注意力就是你所需要的：一個新模型。"
    assert (
        entry.abstract == "這是一個摘要，關於注意力機制。我們提出了新的網絡架構，完全基於注意力。"
    )


def test_undecodable_bytes_are_reported_with_their_line(tmp_path: Path) -> None:
    parsed = parse_bytes(
        tmp_path, "bad.md", b"## Title\n[x](https://arxiv.org/abs/2401.00001)\n\xff\xff\n"
    )
    # The good entry is kept; the bad bytes are replaced and reported with their line.
    assert [(e.arxiv_id, e.title) for e in parsed.entries] == [("2401.00001", "Title")]
    [problem] = parsed.problems
    assert (problem.kind, problem.line, problem.source) == ("undecodable", 3, "digests/bad.md")
    assert "utf-8, gb18030, big5" in problem.message and "U+FFFD" in problem.message


def test_utf8_byte_order_mark_is_dropped_and_reported(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + (SAMPLES / "2025-01-14_daily_paper.md").read_bytes()
    parsed = parse_bytes(tmp_path, "2025-01-14_bom.md", data)
    assert kinds(parsed) == ["bom"]
    assert parsed.problems[0].message.startswith("read fine;")  # a note, not a fault
    original = sample("2025-01-14_daily_paper.md")
    assert entry_summary(parsed) == entry_summary(original)
    assert [e.line for e in parsed.entries] == [e.line for e in original.entries]


def test_utf16_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    text = (SAMPLES / "sample-digest.md").read_text(encoding="utf-8")
    parsed = parse_bytes(tmp_path, "utf16.md", text.encode("utf-16"))
    assert entry_summary(parsed) == entry_summary(sample("sample-digest.md"))
    assert kinds(parsed) == ["encoding"] and "utf-16" in parsed.problems[0].message


# --- files that hold no digest ---------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    parsed = parse_bytes(tmp_path, "empty.md", content)
    assert (parsed.layout, parsed.entries) == (None, [])
    assert kinds(parsed)[-1] == "empty"
    assert parsed.problems[-1].source == "digests/empty.md"


def test_binary_file_is_not_read_as_text(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
    parsed = parse_bytes(tmp_path, "picture.md", png)
    assert (parsed.layout, parsed.entries, kinds(parsed)) == (None, [], ["binary"])


def test_too_large_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_digest(tmp_path, "huge.md", b"")
    with path.open("r+b") as handle:  # sparse: no 64 MiB written to disk
        handle.truncate(MAX_DIGEST_BYTES + 1)
    parsed = parse_digest(path, tmp_path)
    # Read, its NUL bytes would have made it "binary": the size check came first.
    assert (kinds(parsed), parsed.entries, parsed.size_bytes) == (
        ["too_large"],
        [],
        MAX_DIGEST_BYTES + 1,
    )
    assert "64 MiB" in parsed.problems[0].message


def test_missing_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    parsed = parse_digest(tmp_path / "digests" / "gone.md", tmp_path)
    assert (kinds(parsed), parsed.digest) == (["unreadable"], "digests/gone.md")


def test_text_without_any_reference_says_so(tmp_path: Path) -> None:
    parsed = parse_bytes(tmp_path, "notes.md", "# Notes\n\nNothing about papers here.\n")
    assert (parsed.layout, parsed.entries, kinds(parsed)) == ("markdown", [], ["no_entries"])


# --- JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [{"name": "package", "version": "1.0"}, [1, 2, 3], ["a", "b"], "just a string"]
)
def test_json_that_is_not_a_digest(tmp_path: Path, content: object) -> None:
    parsed = parse_bytes(tmp_path, "other.json", json.dumps(content))
    assert (parsed.entries, kinds(parsed)) == ([], ["not_a_digest"])


def test_json_that_is_not_a_digest_still_gives_its_references(tmp_path: Path) -> None:
    content = {"project": "demo", "cite": "https://arxiv.org/abs/2401.00001v2"}
    parsed = parse_bytes(tmp_path, "project.json", json.dumps(content))
    assert kinds(parsed) == ["not_a_digest"]
    assert [(e.arxiv_id, e.version, e.layout) for e in parsed.entries] == [
        ("2401.00001", 2, "text")
    ]


def test_invalid_json_falls_back_to_a_text_scan(tmp_path: Path) -> None:
    broken = '[\n  {"paper": {"id": "2401.00001"}, "url": "https://arxiv.org/abs/2401.00001"},\n  {'
    parsed = parse_bytes(tmp_path, "broken.json", broken)
    assert kinds(parsed) == ["invalid_json"]
    assert parsed.problems[0].line == 3 and "read as plain text" in parsed.problems[0].message
    assert [(e.arxiv_id, e.layout) for e in parsed.entries] == [("2401.00001", "text")]


def test_json_too_deep_or_with_a_huge_number_is_reported(tmp_path: Path) -> None:
    deep = parse_bytes(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    huge = parse_bytes(tmp_path, "huge.json", '[{"paper": {"id": ' + "9" * 5000 + "}}]")
    assert kinds(deep)[0] == kinds(huge)[0] == "invalid_json"
    assert "too deeply" in deep.problems[0].message and "digits" in huge.problems[0].message
    # Deep, but not too deep to read: reported as a bad item, without recursing again.
    nested = "[" * 900 + "]" * 900
    text = f'{{"date": {nested}, "data": [{nested}, {{"paper": {{"id": {nested}}}}}]}}'
    odd = parse_bytes(tmp_path, "nested.json", text)
    assert kinds(odd) == ["bad_item", "invalid_id"]
    assert odd.entries[0].warnings[0] == "paper.id is a list, not a string"


def test_truncated_hf_dump_reports_invalid_json_and_no_entries(tmp_path: Path) -> None:
    data = (SAMPLES / "2024-05-29.json").read_bytes()[:3000]
    parsed = parse_bytes(tmp_path, "2024-05-29.json", data)
    # The only IDs left are inside thumbnail URLs, which are not references.
    assert (parsed.entries, kinds(parsed)) == ([], ["invalid_json", "no_entries"])


def test_hf_wrapper_with_odd_items(tmp_path: Path) -> None:
    good = {"paper": {"id": "2501.06425", "title": "Tensor Product\n  Attention", "authors": []}}
    repr_item = str(
        {"paper": {"id": "2501.06173", "title": "VideoAuteur", "authors": [{"name": "A"}]}}
    )
    float_id = "{'paper': {'id': 2503.02130, 'title': 'Float'}}"  # Python reads 2503.0213
    dump = {
        "status": "ok",
        "date": "2025-01-14",
        "count": 8,
        "data": [good, 42, {"paper": {"title": "No ID here"}}, repr_item, "{'broken': ", float_id],
    }
    text = json.dumps(dump)
    # An ID written as a JSON number must keep its trailing zero.
    text = text.replace('"data": [', '"data": [{"paper": {"id": 2503.02130, "title": "Numeric"}}, ')
    parsed = parse_bytes(tmp_path, "wrapped.json", text)
    assert parsed.layout == "hf_json" and parsed.digest_date == date(2025, 1, 14)
    assert [(e.position, e.arxiv_id, e.title, e.id_status) for e in parsed.entries] == [
        (1, "2503.02130", "Numeric", "ok"),
        (2, "2501.06425", "Tensor Product Attention", "ok"),
        (3, None, "No ID here", "missing"),
        (4, "2501.06173", "VideoAuteur", "ok"),
        (5, None, "Float", "invalid_id"),
    ]
    assert parsed.entries[0].warnings == []
    assert parsed.entries[3].authors == ["A"]
    assert parsed.entries[4].warnings[0] == "paper.id is a float, not a string"
    assert parsed.entries[4].link == "2503.0213"
    assert kinds(parsed) == ["count_mismatch", "bad_item", "missing_id", "bad_item", "invalid_id"]
    assert "count=8 but holds 7 items" in parsed.problems[0].message
    assert "item 3" in parsed.problems[1].message and "item 6" in parsed.problems[3].message


def test_hf_dump_without_a_date_in_its_name_takes_the_listing_day(tmp_path: Path) -> None:
    items = json.loads((SAMPLES / "2024-05-29.json").read_text(encoding="utf-8"))
    parsed = parse_bytes(tmp_path, "daily.json", json.dumps(items))
    assert parsed.digest_date == date(2024, 5, 29)  # every item's publishedAt
    assert {e.digest_date for e in parsed.entries} == {date(2024, 5, 29)}


# --- Markdown entries with something missing ------------------------------------------

HEADING_LINK = """# Digest 2024-08-20

## Paper One
[论文一](https://arxiv.org/abs/2408.08872)
Abstract one.

## Paper Two
Abstract two, but the link line is missing.

## Paper Three
[论文三](https://arxiv.org/abs/2408.1234x)
Abstract three.

## Paper Four
[论文四](https://github.com/someone/code)
"""


def test_heading_without_link_and_other_broken_entries(tmp_path: Path) -> None:
    parsed = parse_bytes(tmp_path, "digest.md", HEADING_LINK)
    assert parsed.layout == "heading_link" and parsed.digest_date == date(2024, 8, 20)
    assert [(e.title, e.arxiv_id, e.id_status, e.link) for e in parsed.entries] == [
        ("Paper One", "2408.08872", "ok", "https://arxiv.org/abs/2408.08872"),
        ("Paper Two", None, "missing", None),
        ("Paper Three", None, "invalid_id", "https://arxiv.org/abs/2408.1234x"),
        ("Paper Four", None, "missing", "https://github.com/someone/code"),
    ]
    assert parsed.entries[1].abstract == "Abstract two, but the link line is missing."
    assert parsed.entries[1].warnings == ["heading without a link line"]
    # The entry's heading line when its link is missing, else the line of the bad link.
    assert [(p.kind, p.line) for p in parsed.problems] == [
        ("missing_link", 7),
        ("invalid_id", 11),
        ("no_arxiv_link", 15),
    ]
    assert all(p.source == "digests/digest.md" for p in parsed.problems)
    assert "2408 IDs have 5 digits" in parsed.problems[1].message


NEWSLETTER = """# 论文日报 2025-01-14

### 1. 第一篇

**原文标题：** First Paper

**摘要：**
摘要一。

**论文链接：** [HuggingFace](https://huggingface.co/papers/2501.00001) | [arXiv](https://arxiv.org/abs/2501.00002v3)

---

### 2. 第二篇

**原文标题：** Second Paper
  With a Wrapped Title

**摘要：**
摘要二，没有链接字段。

---

### 3. 第三篇

**原文标题：** Third Paper

**论文链接：** [arXiv](https://arxiv.org/abs/2501.1234)

---

### 4. 第四篇

**原文标题：** Fourth Paper

**论文链接：** [Code](https://github.com/x/y)
"""


def test_newsletter_entries_with_missing_disagreeing_or_bad_links(tmp_path: Path) -> None:
    parsed = parse_bytes(tmp_path, "letter.md", NEWSLETTER)
    assert parsed.layout == "newsletter" and parsed.digest_date == date(2025, 1, 14)
    assert [(e.title, e.arxiv_id, e.version, e.id_status) for e in parsed.entries] == [
        ("First Paper", "2501.00002", 3, "ok"),
        ("Second Paper With a Wrapped Title", None, None, "missing"),
        ("Third Paper", None, None, "invalid_id"),
        ("Fourth Paper", None, None, "missing"),
    ]
    first = parsed.entries[0]
    assert first.link == "https://arxiv.org/abs/2501.00002v3"  # the arXiv link wins
    assert first.warnings == [
        "links disagree: using 'https://arxiv.org/abs/2501.00002v3', "
        "also linked https://huggingface.co/papers/2501.00001"
    ]
    assert parsed.entries[1].abstract == "摘要二，没有链接字段。"
    # The entry's heading line when its link is missing, else the line of the bad link.
    assert [(p.kind, p.line) for p in parsed.problems] == [
        ("missing_link", 14),
        ("invalid_id", 28),
        ("no_arxiv_link", 36),
    ]


def test_date_in_the_name_wins_over_the_header_and_the_clash_is_reported(tmp_path: Path) -> None:
    parsed = parse_bytes(tmp_path, "2025-01-13.md", NEWSLETTER)
    assert parsed.digest_date == date(2025, 1, 13)
    assert "date_conflict" in kinds(parsed)


# --- folders --------------------------------------------------------------------------


def test_parse_all_reports_other_files_and_keeps_going(tmp_path: Path) -> None:
    write_digest(tmp_path, "a/good.md", HEADING_LINK)
    write_digest(tmp_path, "a/picture.png", b"\x89PNG\r\n")
    write_digest(tmp_path, "b/empty.txt", b"")
    write_digest(tmp_path, "b/list.markdown", "- arXiv:1706.03762 Attention Is All You Need\n")
    write_digest(tmp_path, "README", "notes")
    parsed = parse_all(tmp_path)
    assert [p.digest for p in parsed] == [
        "digests/README",
        "digests/a/good.md",
        "digests/a/picture.png",
        "digests/b/empty.txt",
        "digests/b/list.markdown",
    ]
    assert [(p.kind, p.source) for p in problems_of(parsed) if p.kind != "missing_link"] == [
        ("unsupported_file", "digests/README"),
        ("invalid_id", "digests/a/good.md"),
        ("no_arxiv_link", "digests/a/good.md"),
        ("unsupported_file", "digests/a/picture.png"),
        ("empty", "digests/b/empty.txt"),
    ]
    assert len(parsed[1].entries) == 4 and parsed[4].entries[0].arxiv_id == "1706.03762"


def test_missing_or_empty_digests_folder(tmp_path: Path) -> None:
    [missing] = parse_all(tmp_path)
    assert (missing.digest, kinds(missing)) == ("digests", ["missing_folder"])
    (tmp_path / "digests").mkdir()
    [empty] = parse_all(tmp_path)
    assert kinds(empty) == ["no_digests"]


# --- pathological lines ---------------------------------------------------------------

BLANKS = " " * 200_000  # quadratic backtracking over this would take many minutes


ARXIV_LINK = "https://arxiv.org/abs/2401.00001"
# name -> (text, IDs of the entries expected)
PATHOLOGICAL = {
    "heading.md": (
        f"## Title{BLANKS}x\n[中]({BLANKS}\n## T\n[x]({ARXIV_LINK})\n",
        [None, "2401.00001"],
    ),
    "fields.md": (
        f"### 1. 题\n**原文标题：**{BLANKS}x\n**{BLANKS}\n**论文链接：** [a]({BLANKS}b\n",
        [None],
    ),
    "table.md": (
        f"| a | [b]({ARXIV_LINK}) |\n{BLANKS}-\n[x]({BLANKS}u{BLANKS}\n",
        ["2401.00001"],
    ),
    "refs.txt": (
        f"arXiv:{'a' * 200_000} arXiv:hep-th{BLANKS}/9901001 arXiv:2401.00001v{'9' * 5000}\n",
        [None],
    ),
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_lines_are_read_in_linear_time(tmp_path: Path, name: str) -> None:
    text, arxiv_ids = PATHOLOGICAL[name]
    parsed = parse_bytes(tmp_path, name, text)
    assert [e.arxiv_id for e in parsed.entries] == arxiv_ids

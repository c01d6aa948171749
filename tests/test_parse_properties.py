"""Properties: the parser never raises, whatever the file holds, and what it returns
is consistent; the fast Python-literal reader agrees with ast.literal_eval."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.ids import is_valid_id
from pipeline.model import ParsedDigest
from pipeline.parse import entries_frame, parse_digest
from pipeline.parse.pyliteral import read_python_literal

SUFFIXES = st.sampled_from([".md", ".markdown", ".txt", ".json"])
# Fragments of the real layouts, so that random files come close to each of them.
LAYOUT_FRAGMENTS = st.sampled_from(
    ["\n", "## ", "### 1. ", "**原文标题：** ", "**摘要：**\n", "**论文链接：** ", "[]()", "---\n",
     "[中文](https://arxiv.org/abs/2408.08872)", "arXiv:2408.1234x", "| a | b |\n|---|---|\n",
     "https://huggingface.co/papers/2501.06425", '[{"paper": {"id": "2501.06425"}}]', "{'paper': ",
     "\r\n", "\ufeff", "Title words", "2025-01-08", "  ", "获取", "|"]
)  # fmt: skip
TEXTS = st.one_of(st.text(), st.lists(LAYOUT_FRAGMENTS | st.text(max_size=5)).map("".join))
# Fixtures and @given: the one file is simply overwritten by each example.
FILE_EXAMPLES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_consistent(parsed: ParsedDigest, source: str) -> None:
    assert parsed.digest == source
    assert [e.position for e in parsed.entries] == list(range(1, len(parsed.entries) + 1))
    for entry in parsed.entries:
        assert entry.digest == source
        assert (entry.id_status == "ok") == (entry.arxiv_id is not None)
        assert entry.arxiv_id is None or is_valid_id(entry.arxiv_id)
        assert entry.id_status != "invalid_id" or entry.link
    for problem in parsed.problems:
        assert (problem.stage, problem.source) == ("parse", source)
    if parsed.layout is None:
        assert parsed.entries == [] and parsed.problems
    assert entries_frame([parsed]).height == len(parsed.entries)


@FILE_EXAMPLES
@given(data=st.binary(max_size=2000), suffix=SUFFIXES)
@example(data=b"\xff\xfe\x00", suffix=".md")  # UTF-16 mark, odd length
@example(data=b"\xef\xbb\xbf\r\n", suffix=".json")
def test_parse_digest_never_raises_on_bytes(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / "digests" / f"random{suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    assert_consistent(parse_digest(path, tmp_path), f"digests/random{suffix}")


@FILE_EXAMPLES
@given(text=TEXTS, suffix=SUFFIXES)
@example(text="## T\n[x](https://arxiv.org/abs/2408.1234x)\n", suffix=".md")
@example(text="[\"{'paper': {'id': 1}}\", 3]", suffix=".json")
@example(
    text='[{"paper": {"id": "\\ud800", "title": "\\udfff", "authors": [{"name": "\\ud83d"}]}}]',
    suffix=".json",
)
def test_parse_digest_never_raises_on_text(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / "digests" / f"random{suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert_consistent(parse_digest(path, tmp_path), f"digests/random{suffix}")


# --- Python literals ------------------------------------------------------------------

ALL_CHARACTERS = st.text(st.characters(exclude_categories=()))  # surrogates included
LITERALS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)  # repr(inf) is no literal
    | ALL_CHARACTERS,
    lambda inner: st.lists(inner) | st.dictionaries(ALL_CHARACTERS, inner),
    max_leaves=20,
)


@given(LITERALS)
def test_python_literal_reader_reads_what_repr_wrote(value: object) -> None:
    assert read_python_literal(repr(value)) == value


def outcome(read: object, text: str) -> object:
    try:
        value = read(text)  # type: ignore[operator]
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "error"
    return repr(value)


LITERAL_FRAGMENTS = st.sampled_from(
    ["'", '"', "\\", "x41", "u", "d83d", "n", "True", "true", "None", "NaN", "{", "}", ": ",
     ", ", "[", "]", "(", "1", "e5", ".", "-", "b", " ", "\n", "\x00", "\t"]
)  # fmt: skip


# Python itself warns about unknown escapes such as \/ while reading them.
@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
@given(st.text() | st.lists(LITERAL_FRAGMENTS).map("".join))
@example("'a\\/b'")
@example("'\\ud83d\\ude00'")
@example("true")
@example("[1, 2,]")
def test_python_literal_reader_agrees_with_literal_eval(text: str) -> None:
    assert outcome(read_python_literal, text) == outcome(ast.literal_eval, text)


@pytest.mark.parametrize(
    "text",
    ["{'a': (1, 2)}", "{1: 'x'}", "u'x'", "'\\N{BULLET}'", "1_000",
     # past 64 bits orjson would read a float (2**64 even equals its float)
     "[18446744073709551616]", "{'n': -9223372036854775809}", "123456789012345678901234567890"],
)  # fmt: skip
def test_python_literal_reader_falls_back_for_what_json_cannot_say(text: str) -> None:
    assert repr(read_python_literal(text)) == repr(ast.literal_eval(text))

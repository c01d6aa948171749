"""arXiv references: every link form, the ID rules, and the traps digests set."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import ids
from pipeline.ids import OLD_STYLE_ARCHIVES, ArxivRef, find_refs, is_valid_id, normalize_id


def only_ref(text: str) -> ArxivRef:
    refs = find_refs(text)
    assert len(refs) == 1, refs
    return refs[0]


@pytest.mark.parametrize(
    ("text", "arxiv_id", "version"),
    [
        ("https://arxiv.org/abs/2408.08872", "2408.08872", None),
        ("http://arxiv.org/abs/2408.08872v2", "2408.08872", 2),
        ("https://www.arxiv.org/abs/2408.08872v12", "2408.08872", 12),
        ("https://export.arxiv.org/abs/2408.08872", "2408.08872", None),
        ("arxiv.org/pdf/2408.08872v3.pdf", "2408.08872", 3),
        # docs/arxiv.md §8: arXiv drops a .pdf, .ps or .gz suffix too.
        ("arxiv.org/pdf/2408.08872v3.ps", "2408.08872", 3),
        ("arXiv:hep-th/9901001.gz", "hep-th/9901001", None),
        ("https://arxiv.org/pdf/2408.08872", "2408.08872", None),
        ("https://arxiv.org/html/2408.08872v1", "2408.08872", 1),
        ("https://arxiv.org/abs/arXiv:2408.08872v1", "2408.08872", 1),
        ("https://ar5iv.labs.arxiv.org/html/1706.03762", "1706.03762", None),
        ("arXiv:1706.03762v5", "1706.03762", 5),
        ("ARXIV: 1706.03762", "1706.03762", None),
        ("https://huggingface.co/papers/2501.06425", "2501.06425", None),
        ("https://www.alphaxiv.org/abs/2501.06425", "2501.06425", None),
        ("https://doi.org/10.48550/arXiv.2202.01037", "2202.01037", None),
        ("10.48550/ARXIV.2202.01037", "2202.01037", None),
        ("10.48550/arxiv.cmp-lg/9704001", "cmp-lg/9704001", None),
        ("arXiv:hep-th/9901001v2", "hep-th/9901001", 2),
        ("https://arxiv.org/abs/math.GT/0309136", "math/0309136", None),
        ("arXiv:0704.0001", "0704.0001", None),
        ("arXiv:1412.9999", "1412.9999", None),
        ("arXiv:1501.00001", "1501.00001", None),
        # docs/arxiv.md §8: a v0 is dropped when normalising.
        ("arXiv:2401.00001v0", "2401.00001", None),
    ],
)
def test_each_link_form_gives_the_canonical_id_and_version(
    text: str, arxiv_id: str, version: int | None
) -> None:
    ref = only_ref(f"see {text} for details")
    assert (ref.arxiv_id, ref.version, ref.valid, ref.raw) == (arxiv_id, version, True, text)
    assert normalize_id(text) == (arxiv_id, version)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("arXiv:2408.1234x", "2408 IDs have 5 digits"),
        ("arXiv:2408.123", "2408 IDs have 5 digits after the dot, not 3"),
        ("https://arxiv.org/abs/0808.05394", "0808 IDs have 4 digits"),
        ("arXiv:2413.01234", "2413 is not a month"),
        ("arXiv:0612.1234", "0612 is not a month of the new scheme"),
        ("arXiv:2401.00001x", "'x' after the ID is not a version"),
        ("arXiv:2401.00001v01", "'v01' after the ID"),
        ("arXiv:hep-th/9913001", "9913 is not a month"),
        ("arXiv:hep-th/0704001", "0704 is not a month of the old scheme"),
        ("arXiv:stat/0601001", "'stat' is not an archive that had old-style IDs"),
        ("arXiv:hep-th/990100", "old-style IDs have 7 digits"),
    ],
)
def test_near_misses_are_kept_as_invalid_with_a_reason(text: str, why: str) -> None:
    ref = only_ref(f"({text})")
    assert (ref.valid, ref.arxiv_id, ref.version, ref.raw) == (False, None, None, text)
    assert ref.why_invalid is not None and why in ref.why_invalid
    assert normalize_id(text) is None


def test_url_running_into_chinese_text_stops_at_the_id() -> None:
    text = "代码可从https://arxiv.org/abs/2501.01234获取。"
    ref = only_ref(text)
    assert (ref.raw, ref.arxiv_id) == ("https://arxiv.org/abs/2501.01234", "2501.01234")
    assert text[ref.start : ref.end] == ref.raw


def test_ids_stay_strings_with_trailing_zeros() -> None:
    assert normalize_id("2503.02130") == ("2503.02130", None)
    assert only_ref("arXiv:2503.02130v2").arxiv_id == "2503.02130"


def test_thumbnail_urls_are_not_references() -> None:
    # shared/digests/README.md: IDs inside Hugging Face thumbnail URLs are not entries.
    text = '"thumbnail": "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2501.03262.png"'
    assert find_refs(text) == []


def test_words_and_other_hosts_are_not_references() -> None:
    assert find_refs("arXiv: a preprint server; see myarxiv.org/abs/2401.00001") == []
    assert find_refs("https://github.com/arxiv/2401.00001 and arxiv.org/list/cs.AI") == []


def test_offsets_and_order_over_several_references() -> None:
    text = "A [HF](https://huggingface.co/papers/2501.06425) | [arXiv](https://arxiv.org/abs/2501.06425v2)"
    refs = find_refs(text)
    assert [(r.arxiv_id, r.version) for r in refs] == [("2501.06425", None), ("2501.06425", 2)]
    assert [text[r.start : r.end] for r in refs] == [r.raw for r in refs]


def test_sentence_punctuation_after_an_id_is_not_part_of_it() -> None:
    assert only_ref("as shown in arXiv:2401.00001.").raw == "arXiv:2401.00001"
    assert only_ref("(https://arxiv.org/abs/2401.00001)").raw == "https://arxiv.org/abs/2401.00001"


@pytest.mark.parametrize(
    ("arxiv_id", "valid"),
    [
        ("2408.08872", True),
        ("0704.0001", True),
        ("hep-th/9901001", True),
        ("math/0309136", True),
        ("math.GT/0309136", False),  # not canonical
        ("2408.08872v2", False),  # versioned
        ("HEP-TH/9901001", False),  # not canonical
        ("0808.05394", False),
        ("2408.1234", False),
        ("abc", False),
        ("", False),
    ],
)
def test_is_valid_id_accepts_only_canonical_unversioned_ids(arxiv_id: str, valid: bool) -> None:
    assert is_valid_id(arxiv_id) is valid


def test_normalize_id_takes_bare_ids_and_links() -> None:
    assert normalize_id(" 2408.08872v3 ") == ("2408.08872", 3)
    assert normalize_id("math.GT/0309136") == ("math/0309136", None)
    assert normalize_id("2408.08872v2.gz") == ("2408.08872", 2)  # a file name, as arXiv reads it
    assert normalize_id("https://arxiv.org/abs/2408.08872/") == ("2408.08872", None)
    assert normalize_id("https://huggingface.co/papers/2501.06425") == ("2501.06425", None)
    assert normalize_id("not an id") is None
    assert normalize_id("see arXiv:2408.08872") is None  # a sentence, not a reference


# --- properties -----------------------------------------------------------------------

new_style_ids = st.builds(
    lambda yymm, number: f"{yymm:04d}.{number:0{4 if yymm <= 1412 else 5}d}",
    st.integers(7, 99)
    .flatmap(lambda yy: st.integers(1, 12).map(lambda mm: yy * 100 + mm))
    .filter(lambda yymm: yymm >= 704),
    st.integers(0, 9999),
)
old_style_yymm = st.one_of(
    st.integers(91, 99).flatmap(lambda yy: st.integers(1, 12).map(lambda mm: yy * 100 + mm)),
    st.integers(0, 7).flatmap(lambda yy: st.integers(1, 12).map(lambda mm: yy * 100 + mm)),
).filter(lambda yymm: yymm >= 9108 or yymm <= 703)
old_style_ids = st.builds(
    lambda archive, yymm, number: f"{archive}/{yymm:04d}{number:03d}",
    st.sampled_from(sorted(OLD_STYLE_ARCHIVES)),
    old_style_yymm,
    st.integers(0, 999),
)
LINK_FORMS = [
    "https://arxiv.org/abs/{id}{v}",
    "http://www.arxiv.org/abs/{id}{v}",
    "https://export.arxiv.org/abs/{id}{v}",
    "arxiv.org/pdf/{id}{v}.pdf",
    "https://arxiv.org/html/{id}{v}",
    "https://arxiv.org/abs/arXiv:{id}{v}",
    "arXiv:{id}{v}",
    "ARXIV:{id}{v}",
    "https://huggingface.co/papers/{id}{v}",
    "https://www.alphaxiv.org/abs/{id}{v}",
    "https://doi.org/10.48550/arXiv.{id}{v}",
]
# What may come right before and after a reference in real text.
BEFORE = st.sampled_from([" ", "\n", "(", "<", "[", "见", "：", "|"])
AFTER = st.sampled_from([" ", "\n", ")", ">", "]", "获取", "。", ",", "|"])


@given(
    prefix=st.text(),
    before=BEFORE,
    arxiv_id=st.one_of(new_style_ids, old_style_ids),
    version=st.one_of(st.none(), st.integers(1, 999)),
    form=st.sampled_from(LINK_FORMS),
    after=AFTER,
    suffix=st.text(),
)
def test_a_planted_reference_is_found_with_its_id_and_version(
    prefix: str,
    before: str,
    arxiv_id: str,
    version: int | None,
    form: str,
    after: str,
    suffix: str,
) -> None:
    reference = form.format(id=arxiv_id, v=f"v{version}" if version else "")
    start = len(prefix) + len(before)
    refs = find_refs(prefix + before + reference + after + suffix)
    found = [r for r in refs if (r.start, r.end) == (start, start + len(reference))]
    assert len(found) == 1, (reference, refs)
    assert (found[0].arxiv_id, found[0].version, found[0].raw) == (arxiv_id, version, reference)


@given(st.text())
def test_find_refs_never_raises(text: str) -> None:
    for ref in find_refs(text):
        assert text[ref.start : ref.end] == ref.raw
        assert ref.valid == (ref.arxiv_id is not None)
        assert ref.arxiv_id is None or is_valid_id(ref.arxiv_id)
    normalize_id(text)
    is_valid_id(text)


# Chunks built like references, with parts missing or garbled, so that near-misses,
# overlaps and anchors without a reference are common.
CHUNKS = st.tuples(
    st.sampled_from(["", " ", "\n", "获", "x", ".", "/", "cdn-thumbnails."]),
    st.sampled_from(["", "https://", "http://www.", "https://dx."]),
    st.sampled_from(
        ["", "arxiv.org/abs/", "arxiv.org/pdf/", "arXiv:", "huggingface.co/papers/",
         "doi.org/10.48550/arXiv.", "10.48550/arxiv.", "alphaxiv.org/abs/", "Xiv", "hugging"]
    ),
    st.sampled_from(["", "2401.00001", "0808.0539", "hep-th/9901001", "math.GT/0309136", "2401"]),
    st.sampled_from(["", "v2", "x", ".pdf", "v0"]),
).map("".join)  # fmt: skip


@given(st.lists(CHUNKS, max_size=12).map("".join))
def test_anchor_search_finds_exactly_what_the_plain_pattern_finds(text: str) -> None:
    # On long texts find_refs only runs the pattern near anchors: same result.
    expected = [m.span() for m in ids._REF_RE.finditer(text)]
    assert [m.span() for m in ids._matches_near_anchors(text)] == expected


def test_long_texts_give_the_same_references_as_short_ones() -> None:
    chunk = "见https://arxiv.org/abs/2501.01234获取 [HF](https://huggingface.co/papers/2501.06425) "
    long_text = chunk * 40  # well over the length where find_refs switches to anchors
    assert len(find_refs(long_text)) == 80
    assert find_refs(long_text)[-2:] == [
        ArxivRef(
            r.raw,
            r.arxiv_id,
            r.version,
            r.valid,
            r.start + 39 * len(chunk),
            r.end + 39 * len(chunk),
        )
        for r in find_refs(chunk)
    ]

"""arXiv identifiers: find references in text, check them, and bring them to canonical form.

A reference is any of the link forms digests use (abs/pdf/html URLs, `arXiv:ID`,
Hugging Face and alphaXiv paper pages, the 10.48550 DataCite DOI). Each is split into
the canonical unversioned ID and the version it names. Something shaped like an ID
that breaks arXiv's rules is still returned, flagged invalid, so that it can be
reported instead of being sent to arXiv (one malformed ID fails a whole batch,
docs/arxiv.md §3).

IDs are strings everywhere: `2503.02130` must keep its trailing zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# docs/arxiv.md §8: old-style IDs run from 1991-08 (hep-th/9108001) to 2007-03,
# the new scheme starts at 0704; 4 digits after the dot up to 1412, 5 digits from 1501.
FIRST_OLD_STYLE_YYMM = 9108
LAST_OLD_STYLE_YYMM = 703
FIRST_NEW_STYLE_YYMM = 704
LAST_FOUR_DIGIT_YYMM = 1412

# Archives that issued old-style IDs: the primary archives in arXiv's OAI metadata
# (docs/arxiv.md §8), less eess, econ, q-fin and stat, which began after 2007-03.
OLD_STYLE_ARCHIVES = frozenset(
    {
        "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an",
        "chao-dyn", "chem-ph", "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an",
        "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math", "math-ph", "mtrl-th",
        "nlin", "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph", "q-alg", "q-bio",
        "quant-ph", "solv-int", "supr-con",
    }
)  # fmt: skip

# Where a reference starts. docs/arxiv.md §8: abs/pdf/html pages (also on
# export. and the ar5iv mirror, and abs/arXiv:ID), Hugging Face and alphaXiv paper pages,
# and the DataCite DOI 10.48550/arXiv.ID (DOIs are case-insensitive).
_LINK_PREFIX = (
    r"(?:https?://)?(?:"
    r"(?:www\.|export\.|ar5iv\.labs\.|ar5iv\.)?arxiv\.org/(?:abs|pdf|html)/(?:arxiv:)?"
    r"|(?:www\.)?huggingface\.co/papers/"
    r"|(?:www\.)?alphaxiv\.org/abs/"
    r"|(?:(?:dx\.)?doi\.org/)?10\.48550/arxiv\."
    r")"
)
_TEXT_PREFIX = r"arxiv:[ \t]?"
# Shaped like an ID: YYMM.digits, or archive[.SC]/digits. `tail` holds whatever letters
# and digits stick to it (a version, or junk such as the x of 2408.1234x); the rules are
# checked in code, not in the pattern, so that a near-miss is kept and can be reported.
# docs/arxiv.md §8: a .pdf, .ps or .gz suffix is dropped.
_ID_SHAPE = (
    r"(?P<id>\d{4}\.\d+|[a-z][a-z\-]*(?:\.[a-z][a-z\-]*)?/\d+)"
    r"(?P<tail>[a-z0-9]*)(?:\.(?:pdf|ps|gz))?"
)
# ASCII: text after an ID may be Chinese (`2501.01234获取`), which must end the ID, and
# IGNORECASE alone would let `[a-z]` match the Kelvin sign.
_FLAGS = re.IGNORECASE | re.ASCII
# Not preceded by a host or word character, so `cdn-thumbnails.huggingface.co/...` and
# `foo.arxiv.org` are not references (shared/digests/README.md, 2024-05-29.json).
_REF_RE = re.compile(rf"(?<![a-z0-9_.\-])(?:{_LINK_PREFIX}|{_TEXT_PREFIX}){_ID_SHAPE}", _FLAGS)
# Every reference contains "xiv" (arxiv.org, arXiv:, alphaxiv, the DOI's arXiv.) or
# "hugging". Finding those literals first and trying the full pattern only near them is
# several times faster than letting the pattern try every position of a long digest.
_ANCHOR_RES = (re.compile("[xX][iI][vV]"), re.compile("[hH][uU][gG][gG][iI][nN][gG]"))
_ANCHOR_LOOKBACK = 40  # the longest prefix before an anchor, https://dx.doi.org/10.48550/ar, is 30
_ANCHOR_LOOKAHEAD = 120  # enough for the rest of any prefix and ID; the tail is re-matched
_SHORT_TEXT = 1000  # below this many characters, trying every position is quicker
_WHOLE_REF_RE = re.compile(rf"/?(?:{_LINK_PREFIX}|{_TEXT_PREFIX})?{_ID_SHAPE}/?", _FLAGS)

_NEW_ID_RE = re.compile(r"(?P<yymm>\d{4})\.(?P<number>\d+)", re.ASCII)
_OLD_ID_RE = re.compile(
    r"(?P<archive>[a-z][a-z\-]*)(?:\.[a-z][a-z\-]*)?/(?P<yymm>\d{4})(?P<number>\d*)", _FLAGS
)
# docs/arxiv.md §8: v[1-9]\d*; when normalising input a v0 is dropped. More
# than six digits is no real version (and int() refuses thousands of digits).
_VERSION_RE = re.compile(r"v(?P<n>[1-9]\d{0,5}|0)", _FLAGS)


@dataclass(frozen=True, slots=True)
class ArxivRef:
    """One reference found in text; offsets are into the text searched."""

    raw: str  # the reference exactly as written
    arxiv_id: str | None  # canonical, unversioned; None when not valid
    version: int | None
    valid: bool
    start: int
    end: int
    why_invalid: str | None = None  # for a person, e.g. "0808 IDs have 4 digits after the dot"


def find_refs(text: str) -> list[ArxivRef]:
    """Every arXiv reference in `text`, in order, valid or not."""
    if len(text) < _SHORT_TEXT:
        matches: Iterable[re.Match[str]] = _REF_RE.finditer(text)
    else:
        matches = _matches_near_anchors(text)
    return [_ref_from_match(match, match.start(), match.end()) for match in matches]


def _matches_near_anchors(text: str) -> Iterator[re.Match[str]]:
    """What `_REF_RE.finditer(text)` finds, with the pattern run only near anchors."""
    anchors = sorted(m.start() for anchor_re in _ANCHOR_RES for m in anchor_re.finditer(text))
    searched_to = 0
    for anchor in anchors:
        if anchor < searched_to:
            continue
        window_start = max(searched_to, anchor - _ANCHOR_LOOKBACK)
        found = _REF_RE.search(text, window_start, anchor + _ANCHOR_LOOKAHEAD)
        if found is None:
            continue
        # The window may have cut a long tail short: match again without the end limit.
        match = _REF_RE.match(text, found.start()) or found
        yield match
        searched_to = match.end()


def parse_ref(text: str) -> ArxivRef:
    """`text` (stripped) read as a single reference: a bare ID or any link form."""
    stripped = text.strip()
    match = _WHOLE_REF_RE.fullmatch(stripped)
    if match is None:
        return ArxivRef(stripped, None, None, False, 0, len(stripped), "not an arXiv ID or link")
    return _ref_from_match(match, 0, len(stripped))


def normalize_id(text: str) -> tuple[str, int | None] | None:
    """(canonical ID, version) for a bare ID or a link, or None when it is not valid."""
    ref = parse_ref(text)
    return (ref.arxiv_id, ref.version) if ref.arxiv_id is not None else None


def is_valid_id(arxiv_id: str) -> bool:
    """True for a canonical, unversioned ID such as `2408.08872` or `hep-th/9901001`."""
    return _canonical(arxiv_id)[0] == arxiv_id


def _ref_from_match(match: re.Match[str], start: int, end: int) -> ArxivRef:
    canonical, why_invalid = _canonical(match["id"])
    tail = match["tail"]
    version_match = _VERSION_RE.fullmatch(tail) if tail else None
    if canonical is not None and tail and version_match is None:
        canonical, why_invalid = None, f"{tail!r} after the ID is not a version (v1, v2, ...)"
    if canonical is None:
        return ArxivRef(match.group(0), None, None, False, start, end, why_invalid)
    version = int(version_match["n"]) if version_match else 0
    return ArxivRef(match.group(0), canonical, version or None, True, start, end)  # v0: none


def _canonical(id_text: str) -> tuple[str | None, str | None]:
    """(canonical unversioned ID, None), or (None, why not) for an ID without prefix/version."""
    new = _NEW_ID_RE.fullmatch(id_text)
    if new is not None:
        return _check_new_style(id_text, int(new["yymm"]), new["number"])
    old = _OLD_ID_RE.fullmatch(id_text)
    if old is None:
        return None, "not an arXiv ID"
    archive, yymm = old["archive"].lower(), int(old["yymm"])
    if archive not in OLD_STYLE_ARCHIVES:
        return None, f"{archive!r} is not an archive that had old-style IDs"
    if len(old["number"]) != 3:
        return None, "old-style IDs have 7 digits after the archive (YYMMNNN)"
    if not _month_ok(yymm) or LAST_OLD_STYLE_YYMM < yymm < FIRST_OLD_STYLE_YYMM:
        return None, f"{yymm:04d} is not a month of the old scheme (1991-08 to 2007-03)"
    # docs/arxiv.md §8: the subject class (math.GT/...) is a legacy alias; drop it.
    return f"{archive}/{id_text[-7:]}", None


def _check_new_style(id_text: str, yymm: int, number: str) -> tuple[str | None, str | None]:
    if not _month_ok(yymm) or yymm < FIRST_NEW_STYLE_YYMM:
        return None, f"{yymm:04d} is not a month of the new scheme (from 0704)"
    digits = 4 if yymm <= LAST_FOUR_DIGIT_YYMM else 5
    if len(number) != digits:
        return None, f"{yymm:04d} IDs have {digits} digits after the dot, not {len(number)}"
    return id_text, None


def _month_ok(yymm: int) -> bool:
    return 1 <= yymm % 100 <= 12


# Field values (JSON, CSV, BibTeX, feeds) name papers in two forms running text rarely
# uses: arXiv's OAI identifier (`oai:arXiv.org:2501.01234v1`, the guid of arXiv's own RSS)
# and an ID after the word arXiv with a space (`arXiv 2501.01234`, `journal = {arXiv
# preprint 2501.01234}`, `arXiv ID: ...`). Only full ID shapes count here, not any word/digits.
_FIELD_REF_RE = re.compile(
    r"(?<![a-z0-9_.\-])(?:oai:)?arxiv(?:\.org:|(?:[ \t]+preprint)?[ \t]+(?:id[ \t]*:?[ \t]*)?)"
    r"(?P<id>\d{4}\.\d+|[a-z][a-z\-]*(?:\.[a-z]{2})?/\d{7})"
    r"(?P<tail>[a-z0-9]*)(?:\.(?:pdf|ps|gz))?",
    _FLAGS,
)


def find_field_refs(text: str) -> list[ArxivRef]:
    """Every arXiv reference in a field value, in order: what `find_refs` finds, plus the
    OAI identifier form (`oai:arXiv.org:ID`) and `arXiv ID` written with a space."""
    refs = find_refs(text)
    if _ANCHOR_RES[0].search(text) is None:
        return refs
    extra: list[ArxivRef] = []
    index = 0  # both lists run in text order: one pass skips matches overlapping a ref
    for match in _FIELD_REF_RE.finditer(text):
        while index < len(refs) and refs[index].end <= match.start():
            index += 1
        if index < len(refs) and refs[index].start < match.end():
            continue
        extra.append(_ref_from_match(match, match.start(), match.end()))
    return sorted([*refs, *extra], key=lambda ref: ref.start) if extra else refs


def read_id_field(text: str) -> list[ArxivRef]:
    """The references in a field meant to hold one arXiv ID (`arxiv_id`, `eprint`, ...):
    the whole value as one reference when it is shaped like one (valid, or a near-miss such
    as `2405.2097` that is to be reported), else what `find_field_refs` finds in it."""
    stripped = text.strip()
    if _WHOLE_REF_RE.fullmatch(stripped):
        return [parse_ref(stripped)]
    return find_field_refs(text)

"""Evidence in the entry's own text: is arXiv's title (or are its authors) written there?

The parser's title is a guess of where the title sits; the block text is what the digest
actually wrote around the reference. Finding the linked paper's title in it (normalised as
titles are compared, with a few typos, TeX written as Unicode, or cut short at the end)
confirms the link whatever the guess was. docs/reconcile.md 2.1 states the rules.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from pipeline.model import PaperRecord
from pipeline.reconcile.rules import (
    BLOCK_AUTHOR_MATCHES,
    CUT_TITLE_MIN_WORDS,
    CUT_TITLE_SHARE,
    LABEL_WORDS,
    MAX_NAME_WORDS,
    MIN_HEAD_CHARS,
    NEAR_SIMILARITY,
)
from pipeline.reconcile.titles import compare_titles, normalize_title

# Pieces of the block that normalise on their own: HTML tags (skipped), and runs of text
# between whitespace and brackets, so that `href="…"><strong>Title` does not glue the URL
# to the title's first word.
_PIECE = re.compile(r"<[^<>]*>|[^\s<>()\[\]]+")
# What may follow a title the digest cut short: the end of the line or block, an ellipsis,
# closing markup or a field separator. Anything else is more words of another title.
_AFTER_CUT = re.compile(r"[ \t]*(?:$|[\n\r…*_\]\)<|\"”'’,;]|\.\.\.|\.\s*$)")
_LEADING_JUNK = "*_~`#>|,;:-–—•·"
_TRAILING_JUNK = "*_~`|,;:-–—.…"
_PAIRS = {")": "(", "]": "[", "}": "{", "”": "“", "’": "‘", "»": "«"}
_QUOTES = "\"'"


@dataclass(frozen=True, slots=True)
class BlockWords:
    """The block's normalised words, each with the character range of its piece."""

    text: str
    words: tuple[str, ...]
    starts: tuple[int, ...]  # start offset in `text` of the piece each word came from
    ends: tuple[int, ...]

    @property
    def joined(self) -> str:
        return " ".join(self.words)


@lru_cache(maxsize=1 << 12)
def block_words(text: str) -> BlockWords:
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for piece in _PIECE.finditer(text):
        raw = piece.group()
        if raw.startswith("<"):
            continue
        for word in normalize_title(html.unescape(raw)).split():
            words.append(word)
            starts.append(piece.start())
            ends.append(piece.end())
    return BlockWords(text, tuple(words), tuple(starts), tuple(ends))


@dataclass(frozen=True, slots=True)
class FoundTitle:
    """Where the block writes arXiv's title."""

    span: str  # the text as the digest wrote it, markup trimmed, whitespace collapsed
    words: tuple[str, ...]  # its normalised words
    cut: bool  # the digest wrote only the start of the title
    score: float  # similarity of the span with arXiv's title (its start, when cut)


def _trim(span: str) -> str:
    """Markup and separators around a span, and brackets or quotes it does not open."""
    span = " ".join(span.split())
    while True:
        before = span
        span = span.lstrip(_LEADING_JUNK + " ").rstrip(_TRAILING_JUNK + " ")
        if span[-1:] in _PAIRS and span.count(_PAIRS[span[-1]]) < span.count(span[-1]):
            span = span[:-1]
        if span[:1] in _PAIRS.values():
            closer = next(c for c, o in _PAIRS.items() if o == span[0])
            if span.count(closer) < span.count(span[0]):
                span = span[1:]
        for quote in _QUOTES:
            if span.count(quote) % 2 and (span.startswith(quote) or span.endswith(quote)):
                span = span[1:] if span.startswith(quote) else span[:-1]
        if span == before:
            return span


_INNER_MARKUP = re.compile(r"<[^<>]*>|\*\*|__|`")


def _span(block: BlockWords, first: int, last: int) -> str:
    """The words first..last as the digest wrote them, without markup (tags, emphasis)."""
    return _trim(_INNER_MARKUP.sub("", block.text[block.starts[first] : block.ends[last]]))


def _word_bounds(block: BlockWords, start: int, end: int) -> tuple[int, int] | None:
    """The words of `block.joined` that the character range [start, end) touches."""
    first = block.joined.count(" ", 0, start)
    last = block.joined.count(" ", 0, max(start, end - 1))
    return (first, last) if first <= last < len(block.words) else None


def _full_match(block: BlockWords, title: str, norm: str) -> FoundTitle | None:
    """The whole title, equal or respelled (a few typos, TeX vs Unicode, word breaks)."""
    joined = block.joined
    if len(joined) < len(norm) - 2:
        return None
    if f" {norm} " in f" {joined} ":
        first = joined.count(" ", 0, f" {joined} ".index(f" {norm} "))
        last = first + len(norm.split()) - 1
        return FoundTitle(_span(block, first, last), block.words[first : last + 1], False, 100.0)
    aligned = fuzz.partial_ratio_alignment(norm, joined, score_cutoff=NEAR_SIMILARITY)
    if aligned is None:
        return None
    bounds = _word_bounds(block, aligned.dest_start, aligned.dest_end)
    if bounds is None:
        return None
    first, last = bounds
    best: FoundTitle | None = None
    # The alignment may stop inside a word or take one too many: try the neighbours.
    for a in range(max(0, first - 1), first + 2):
        for b in range(max(a, last - 1), min(len(block.words), last + 2)):
            words = block.words[a : b + 1]
            cmp = compare_titles(" ".join(words), title)
            good = cmp.verdict in ("equal", "spelling") and cmp.score >= NEAR_SIMILARITY
            if good and (best is None or cmp.score > best.score):
                best = FoundTitle(_span(block, a, b), words, False, cmp.score)
    return best


_WORD_END = re.compile(r"[\W_]*$")


def _text_end(block: BlockWords, index: int) -> int:
    """Where the letters of word `index`'s piece end (before trailing markup such as `**,`)."""
    piece = block.text[block.starts[index] : block.ends[index]]
    found = _WORD_END.search(piece)
    return block.starts[index] + (found.start() if found else len(piece))


def _cut_match(block: BlockWords, norm: str) -> FoundTitle | None:
    """The start of the title, at least CUT_TITLE_SHARE of it, ending where the digest's
    title ends (line end, ellipsis, closing markup); the last word may be cut inside."""
    title_words = norm.split()
    words = block.words
    for start, word in enumerate(words):
        if word != title_words[0]:
            continue
        count = 1
        while (
            count < len(title_words)
            and start + count < len(words)
            and words[start + count] == title_words[count]
        ):
            count += 1
        if count == len(title_words):
            continue  # the whole title: not a cut (and not respelled, or _full_match had it)
        nxt = start + count
        if nxt < len(words) and title_words[count].startswith(words[nxt]):
            count += 1  # a word cut inside ("Chain-of-Though" for "Chain-of-Thought")
        last = start + count - 1
        written = " ".join(words[start : last + 1])
        if count < CUT_TITLE_MIN_WORDS or len(written) < CUT_TITLE_SHARE * len(norm):
            continue
        if last + 1 < len(words) and block.starts[last + 1] == block.starts[last]:
            continue  # the piece goes on with other words: not where the title stops
        if _AFTER_CUT.match(block.text, _text_end(block, last)) is None:
            continue  # more text follows on the line: another title, not a cut one
        score = fuzz.ratio(written, " ".join(title_words[:count]))
        return FoundTitle(_span(block, start, last), words[start : last + 1], True, score)
    return None


@lru_cache(maxsize=1 << 12)
def find_title(block_text: str | None, title: str) -> FoundTitle | None:
    """arXiv's `title` written in the block: whole (also with a few typos), or cut short."""
    if not block_text:
        return None
    norm = normalize_title(title)
    if not norm:
        return None
    block = block_words(block_text)
    return _full_match(block, title, norm) or _cut_match(block, norm)


def contains_words(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    """Whether `inner` is a run of consecutive words of `outer`."""
    return _find_words(outer, inner) is not None


def _find_words(outer: tuple[str, ...], inner: tuple[str, ...]) -> int | None:
    """Where `inner` first starts as a run of consecutive words of `outer`, or None."""
    width = len(inner)
    if width == 0:
        return None
    return next((i for i in range(len(outer) - width + 1) if outer[i : i + width] == inner), None)


def name_as_label(block_text: str | None, digest_title: str, arxiv_title: str) -> str | None:
    """arXiv's name for the paper (its title before the colon: `ManiCM` of `ManiCM: Real-time
    3D Diffusion Policy ...`) when the entry labels itself with it just before its own title
    (`* **ManiCM**: "Diffusion Guided Multi-Task 3D Policy Learning"`): within LABEL_WORDS
    words in front of the title, not inside it and not later in the text ("improves on
    Llama 2"), where an entry names other papers."""
    head, colon, _ = arxiv_title.partition(":")
    name = tuple(normalize_title(head).split())
    if not colon or len(name) > MAX_NAME_WORDS or len("".join(name)) < MIN_HEAD_CHARS:
        return None
    title = tuple(normalize_title(digest_title).split())
    words = block_words(block_text).words if block_text else ()
    start = _find_words(words, title)
    if start is None or contains_words(title, name):
        return None
    return (
        head.strip() if contains_words(words[max(0, start - LABEL_WORDS) : start], name) else None
    )


def _name_forms(name: str) -> list[tuple[str, ...]]:
    """How a digest may write an author: given + family (all words), family + given, and
    initial + family ("X. Liu", "X Liu")."""
    if "," in name:
        family, _, given = name.partition(",")
        name = f"{given} {family}"
    words = tuple(normalize_title(name).split())
    if len(words) < 2:
        return []
    return [words, (words[-1], *words[:-1]), (words[0][0], words[-1]), (words[0], words[-1])]


def authors_in_block(block_text: str | None, record: PaperRecord) -> list[str]:
    """arXiv's author names that the block writes (full name, either order, or initial and
    family name), in arXiv's order."""
    if not block_text or not record.authors:
        return []
    words = block_words(block_text).words
    return [
        author.name
        for author in record.authors
        if any(contains_words(words, form) for form in _name_forms(author.name))
    ]


def authors_corroborate(found: list[str], record: PaperRecord) -> bool:
    """The first author is written in the block, or at least BLOCK_AUTHOR_MATCHES are."""
    if not found:
        return False
    return found[0] == record.authors[0].name or len(found) >= BLOCK_AUTHOR_MATCHES


# How a digest marks a title it cut: an ellipsis, or a hyphen with nothing after it.
_CUT_MARKS = ("…", "...", "-")
# ... or words no title ends with.
_DANGLING = frozenset({"a", "an", "the", "of", "and", "or", "for", "with", "to", "via", "by"})


def cut_prefix_share(digest_title: str, arxiv_title: str) -> float | None:
    """The share of arXiv's title the digest wrote, when the digest wrote its start and cut
    it: its last word cut inside ("Chain-of-Though"), or an ellipsis, a dangling hyphen or a
    word no title ends with ("of", "the") at the end ("Learning How to…", "Meta Chain-of").
    None when it is not such a start, or keeps less than CUT_TITLE_SHARE and
    CUT_TITLE_MIN_WORDS."""
    written = normalize_title(digest_title).split()
    full = normalize_title(arxiv_title).split()
    k = len(written)
    if k < CUT_TITLE_MIN_WORDS or k > len(full) or written[:-1] != full[: k - 1]:
        return None
    last, theirs = written[-1], full[k - 1]
    if last == theirs:
        marked = digest_title.rstrip(" *_)]").endswith(_CUT_MARKS) or last in _DANGLING
        if k == len(full) or not marked:
            return None  # the whole title, or a whole-word shortening (today's rules)
    elif not theirs.startswith(last):
        return None
    share = len(" ".join(written)) / len(" ".join(full))
    return share if share >= CUT_TITLE_SHARE else None

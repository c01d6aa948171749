"""English titles from the evidence inside an entry's block, and what is never a title.

A digest puts many things next to a paper's title: numbering (`1.`, `[3]`), dates, author
lists (`X et.al.`), labels (`Paper:`, `论文链接：`), category tags (`(from hep-ph)`), reader
marks, emoji. `clean_title` strips them; `is_title_like` rejects what is no title at all
(a generic link text, an ID, a URL, a score).
"""

from __future__ import annotations

import re

from pipeline.ids import find_refs
from pipeline.parse.markdown import collapse

MAX_TITLE_CHARS = 300  # longer text is prose, not a title
# Link texts and leftovers that name a place, not a paper.
GENERIC_WORDS = frozenset(
    {
        "read", "the", "paper", "papers", "more", "here", "link", "links", "full", "text",
        "pdf", "abs", "abstract", "arxiv", "hf", "hugging", "face", "huggingface", "alphaxiv",
        "on", "at", "view", "code", "project", "page", "html", "doi", "see", "also", "and",
        "or", "via", "in", "from", "preprint", "this", "our", "source", "webpage", "website",
        "github", "demo", "video", "blog", "slides", "poster", "dataset", "data", "model",
        "models", "home", "homepage", "url", "download", "null", "none", "back", "to", "top",
        "summary", "details", "open", "review", "openreview", "bibtex", "cite", "citation",
        "论文", "链接", "原文", "论文链接", "原文链接", "阅读原文", "查看论文", "全文", "论文地址",
        "地址", "代码", "项目", "项目主页", "リンク", "論文", "링크", "논문",
    }
)  # fmt: skip
# Headings over a paper's parts, not over papers: walked past to the entry's own heading.
GENERIC_HEADINGS = frozenset(
    {
        "abstract", "summary", "links", "link", "paper", "papers", "authors", "code",
        "resources", "method", "methods", "results", "overview", "contributions", "tldr",
        "tl;dr", "评价", "摘要", "链接", "简介", "总结", "点评", "要点", "概要", "要約",
        "リンク", "요약", "링크", "평가",
    }
)  # fmt: skip
_WORD_RE = re.compile(r"[^\W\d_]+")
_NUMBERING_RE = re.compile(
    r"^\s*(?:#\s*|no\.\s*)?(?:\(?\d{1,3}[.)．、:：](?!\d)|\[\d{1,4}\]|\d{1,3}\s+[-–—]|[①-⑳])\s*",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"^\s*\d{4}[-./]\d{1,2}[-./]\d{1,2}(?!\d)\s*[,，;|·-]?\s*")
_CATEGORY_TAG_RE = re.compile(
    r"\s*\((?:from\s[^()]*|[a-z\-]+(?:\.[A-Za-z\-]+)?(?:,\s*(?:replaced|cross-list|new))*|"
    r"printed|read|todo|done|new|replaced|cross-list)\)\s*$",
    re.IGNORECASE,
)
_AUTHORS_TAIL_RE = re.compile(r"[,，;]\s*[^,，;]*\bet\.?\s?al\.?.*$", re.IGNORECASE)
_LABEL_RE = re.compile(
    r"^\s*(?:paper|title|paper title|original title|english title|link|url|标题|原文标题|"
    r"英文标题|论文标题|论文|题目|タイトル|論文|제목|논문)\s*[:：]\s*",
    re.IGNORECASE,
)
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u2190-\u21ff\u2300-\u23ff]+"
)
# Bounded runs: an unbounded `\S+` before the host would backtrack quadratically.
_URL_RE = re.compile(r"(?:[a-z][a-z0-9+.-]{0,20}://|www\.)\S+|[\w.-]{1,80}\.(?:com|org|io|net)/\S*")
_LEAD = " \t\n-–—:：|*_>#.,;，。；、"
_TRAIL = " \t\n-–—:：|*_>#.,;，。；、"
_PAIRS = (("(", ")"), ("（", "）"), ("[", "]"), ("“", "”"), ('"', '"'), ("'", "'"), ("‘", "’"))
_BARE_ID_RE = re.compile(r"\s*(?:arxiv:\s*)?\d{4}\.\d{4,5}(?:v\d+)?\s*", re.IGNORECASE)
_SCORE_RE = re.compile(r"^[\d\s./%·:-]+")


def clean_title(text: str) -> str:
    """The title inside `text`: numbering, dates, labels, category tags, emoji, author
    tails and edge punctuation removed; whitespace collapsed. Text far longer than a
    title is returned as it is (it is prose, and is_title_like refuses it)."""
    if len(text) > 2 * MAX_TITLE_CHARS:
        return text
    text = _EMOJI_RE.sub("", collapse(text))
    for _ in range(3):  # `1. 2024-05-01, Title` and `[3] Paper: Title` take two passes
        before = text
        text = _NUMBERING_RE.sub("", text, count=1)
        text = _DATE_RE.sub("", text, count=1)
        text = _LABEL_RE.sub("", text, count=1)
        if text == before:
            break
    text = _CATEGORY_TAG_RE.sub("", text)
    text = _AUTHORS_TAIL_RE.sub("", text)
    return _strip_edges(text)


def _strip_edges(text: str) -> str:
    """Edge punctuation off; a bracket or quote at an edge goes only when it is unpaired
    inside the title (`(1D) Ordered Tokens` keeps its parenthesis, `"Title",` loses both)."""
    while True:
        before = text
        text = text.strip(_LEAD[0]).lstrip(_LEAD).rstrip(_TRAIL)
        for opener, closer in _PAIRS:
            if text.startswith(opener) and _unpaired(text, opener, closer):
                text = text[len(opener) :]
            if text.endswith(closer) and _unpaired(text, opener, closer):
                text = text[: -len(closer)]
            if opener != closer and text.endswith(opener):
                text = text[: -len(opener)]
        if text == before:
            return text


def _unpaired(text: str, opener: str, closer: str) -> bool:
    if opener == closer:
        return text.count(opener) % 2 == 1
    return text.count(opener) != text.count(closer)


def is_title_like(text: str) -> bool:
    """Text that can be a title: not empty, not generic, no URL or arXiv reference in it,
    not a score or date, short enough, no TeX math left open (emphasis that a `**` inside the
    math ended early, as in `**[8] $D_s^{**}$ ...**`)."""
    if not text or len(text) > MAX_TITLE_CHARS or "://" in text or find_refs(text):
        return False
    if _unpaired(text.replace("\\$", ""), "$", "$"):
        return False
    if _SCORE_RE.fullmatch(text) or _BARE_ID_RE.fullmatch(text):
        return False
    return not is_generic(text)


def is_generic(text: str) -> bool:
    words = _WORD_RE.findall(text.lower())
    return all(word in GENERIC_WORDS for word in words)  # also true when there are none


def is_generic_heading(text: str) -> bool:
    words = clean_title(text).lower()
    return words in GENERIC_HEADINGS or not _WORD_RE.search(words)


def without_urls(text: str) -> str:
    # One join (the references come in order, apart): a copy of the text per reference was
    # quadratic on a line of 100,000 links.
    pieces, at = [], 0
    for ref in find_refs(text):
        pieces += [text[at : ref.start], " "]
        at = ref.end
    pieces.append(text[at:])
    return _URL_RE.sub(" ", "".join(pieces))

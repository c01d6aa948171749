"""Record-shaped digests: CSV/TSV, JSON and JSON Lines that are not Hugging Face dumps,
BibTeX, RSS/Atom. One entry per record, read from its named fields.

Each reader (tabular.py, json_records.py, bibtex.py, feed.py) recognises its format by
content and turns the file into `Record`s, lists of named fields; `build_entry` here makes
the entry of one record the same way for all of them:

- a field's role comes from its name, matched case-insensitively and without spaces or
  punctuation (`Paper Title`, `paper_title` and `paperTitle` are one name), over the names
  digests use in English, Chinese, Japanese and Korean (`field_role`);
- the English title is the best-ranked title field that is not written in CJK script; a
  CJK title (a `titleJa` field, or a title that is CJK) is the translated title;
- the arXiv reference comes from the ID fields (id, arxiv_id, eprint, ...) and link fields
  (url, link, pdf, guid, ...) first, and only when they hold none from the other fields,
  never from the title, abstract or authors (an abstract may cite other papers);
- a record with a title but no arXiv reference is still an entry, with its link as written
  and a warning: it goes to title search. A record with neither is no paper, and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.ids import ArxivRef, find_field_refs, read_id_field
from pipeline.model import DigestEntry, Problem, TitleSource
from pipeline.parse.document import LayoutResult, TextDoc, attach_refs, mark_missing
from pipeline.parse.markdown import collapse

Role = Literal["title", "translated", "authors", "abstract", "id", "link", "version", "other"]

BLOCK_TEXT_MAX = 4000  # characters of a record's text kept on its entry
_MAX_LIST_ITEMS = 200  # list items of one field looked at (a field may hold thousands)

# Names are compared as `_norm` gives them: lower case, letters and digits only.
# Title names by rank: 0 is the plain English title, 3 a name that is only sometimes one.
_TITLE_NAMES = {
    "title": 0, "titleen": 0, "entitle": 0, "englishtitle": 0, "titleenglish": 0,
    "originaltitle": 0, "titleoriginal": 0, "英文标题": 0, "英文题目": 0, "英文名": 0,
    "papertitle": 1, "articletitle": 1, "titlename": 1, "标题": 1, "题目": 1, "論文タイトル": 1,
    "论文标题": 1, "论文题目": 1, "论文名称": 1, "タイトル": 1, "表題": 1, "제목": 1,
    "논문제목": 1, "標題": 1, "題目": 1,
    "paper": 2, "papername": 2, "article": 2, "论文": 2, "論文": 2, "논문": 2, "文章": 2,
    "name": 3, "名称": 3, "名前": 3, "이름": 3,
}  # fmt: skip
_LANGUAGE_TAGS = (
    "zh", "cn", "zhcn", "zhtw", "zhhans", "zhhant", "tw", "ja", "jp", "ko", "kr", "chinese",
    "japanese", "korean", "translated", "translation", "trans", "local", "native", "cjk",
)  # fmt: skip
_TRANSLATED_MARKS = ("中文", "译", "譯", "翻訳", "和訳", "日本語", "邦題", "한국어", "번역", "한글")
_AUTHOR_NAMES = frozenset({"by", "creator", "creators", "作者", "著者", "저자", "作者们"})
_ABSTRACT_NAMES = {
    "abstract": 0, "abstracttext": 0, "paperabstract": 0, "摘要": 0, "概要": 1, "要約": 1,
    "초록": 0, "요약": 1, "summary": 1, "tldr": 3, "description": 2, "desc": 2, "简介": 2,
    "contentsnippet": 3,
}  # fmt: skip
_ID_NAMES = frozenset(
    {"id", "ids", "arxivid", "arxiv", "arxivids", "eprint", "eprintid", "paperid", "arxivno",
     "arxivnumber", "arxivref", "arxividentifier", "identifier", "arxivkey", "arxivcode"}
)  # fmt: skip
# `id` and `identifier` often hold a database number or key: only an ID-shaped value counts.
_AMBIGUOUS_ID_NAMES = frozenset({"id", "ids", "identifier", "key"})
_LINK_PARTS = ("url", "link", "pdf", "href", "doi", "guid", "uri", "arxiv", "链接", "連結",
               "网址", "地址", "リンク", "링크", "주소")  # fmt: skip
_LINK_NAMES = frozenset({"abs", "html", "src", "source", "sources", "permalink", "web", "page"})
_VERSION_NAMES = frozenset({"version", "arxivversion", "ver", "latestversion"})
_NEW_STYLE_SHAPE_RE = re.compile(r"\d{4}\.\d", re.ASCII)
_VERSION_VALUE_RE = re.compile(r"\s*v?([1-9]\d{0,5})\s*", re.IGNORECASE | re.ASCII)
_URL_RE = re.compile(r"(?:https?|ftp|file)://[^\s<>\"'{}]+|www\.[^\s<>\"'{}]+", re.IGNORECASE)
_CJK_CHAR_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_LATIN_LETTER_RE = re.compile(r"[A-Za-z]")
# Not text: the replacement character (a byte the decoder could not read) and controls.
_NOT_TEXT_RE = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AUTHOR_KEYS = ("name", "fullname", "full_name", "author", "display_name")
_AUTHOR_SPLIT_RE = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*")


def field_role(name: str) -> tuple[Role, int]:
    """What a field or column holds, judged by its name, and its rank among the fields of
    that role (lower is better)."""
    norm = _norm(name)
    if not norm:
        return "other", 0
    if _is_translated_name(norm):
        return "translated", 0
    if "author" in norm or norm in _AUTHOR_NAMES:
        return "authors", 0
    if norm in _ABSTRACT_NAMES:
        return "abstract", _ABSTRACT_NAMES[norm]
    if "abstract" in norm:
        return "abstract", 1
    if norm in _TITLE_NAMES and _TITLE_NAMES[norm] < 2:
        return "title", _TITLE_NAMES[norm]
    if "title" in norm and not norm.startswith("sub"):
        return "title", 1
    if norm in _VERSION_NAMES:
        return "version", 0
    if norm in _ID_NAMES or (norm.startswith("arxiv") and norm.endswith("id")):
        return "id", 0
    if norm in _LINK_NAMES or any(part in norm for part in _LINK_PARTS):
        return "link", 0
    if norm in _TITLE_NAMES:
        return "title", _TITLE_NAMES[norm]
    return "other", 0


def _norm(name: str) -> str:
    return "".join(char for char in name.lower() if char.isalnum())


def _is_translated_name(norm: str) -> bool:
    for word in ("title", "name"):
        if norm.startswith(word) and norm[len(word) :] in _LANGUAGE_TAGS:
            return True
        if norm.endswith(word) and norm[: -len(word)] in _LANGUAGE_TAGS:
            return True
    return any(mark in norm for mark in _TRANSLATED_MARKS) and not any(
        part in norm for part in ("摘要", "概要", "作者", "链接", "url", "link")
    )


@dataclass(slots=True)
class Field:
    name: str
    value: Any  # str, a number (as text), a list, a dict, None
    role: Role
    rank: int = 0
    raw: str | None = None  # the value as written when `value` is decoded (BibTeX)


def make_field(name: str, value: Any, raw: str | None = None) -> Field:
    role, rank = field_role(name)
    return Field(name, value, role, rank, raw)


@dataclass(slots=True)
class Record:
    fields: list[Field]
    line: int | None = None  # 1-based line where the record starts, when known
    source_text: str | None = None  # the record as written, for block_text
    link: str | None = None  # the record's non-arXiv link, when the reader knows it best
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EntryMaker:
    """Numbers the entries of one file and builds them from its records."""

    source: str
    layout: str
    title_source: TitleSource  # "field", or "column" for CSV
    what: str = "field"  # how messages name a field: "column 'url'", "field 'url'"
    entries: list[DigestEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, record: Record) -> DigestEntry | None:
        """The entry of `record` (appended), or None when the record is no paper."""
        entry = build_entry(
            record, self.source, self.layout, len(self.entries) + 1, self.title_source,
            self.problems, self.what,
        )  # fmt: skip
        if entry is not None:
            self.entries.append(entry)
        return entry

    def result(self, header_end: int = 0) -> LayoutResult:
        return LayoutResult(self.layout, self.entries, self.problems, header_end)


def build_entry(
    record: Record,
    source: str,
    layout: str,
    position: int,
    title_source: TitleSource,
    problems: list[Problem],
    what: str = "field",
) -> DigestEntry | None:
    """The entry of one record, or None when it has no title and no link (no paper)."""
    entry = DigestEntry(digest=source, position=position, layout=layout, line=record.line)
    _fill_titles(entry, record.fields, title_source)
    entry.abstract = _best_text(record.fields, "abstract")
    entry.authors = _authors(record.fields)
    refs = record_refs(record.fields)
    url, url_field = (record.link, None) if record.link else _first_url(record.fields)
    if refs is None and url is None and entry.title is None and entry.title_translated is None:
        return None
    entry.warnings.extend(record.warnings)
    entry.block_text = (
        _bounded(record.source_text) if record.source_text else fields_text(record.fields)
    )
    if refs:
        attach_refs(entry, refs, problems)
        if entry.arxiv_id is not None and entry.version is None:
            entry.version = _version(record.fields)
    elif url is not None:
        entry.link = url
        where = f"{what} {url_field!r}" if url_field else "link"
        mark_missing(entry, f"{where} {url!r} is not an arXiv link", problems, "no_arxiv_link")
    else:
        mark_missing(entry, "no arXiv ID or link; to be found by title", problems)
    return entry


def record_refs(fields: list[Field]) -> list[ArxivRef] | None:
    """The arXiv references of a record, its ID and link fields first (None: none at all).

    The other fields (not title, abstract or authors) count only when the ID and link
    fields hold no valid reference; nested objects are never searched.
    """
    own: list[ArxivRef] = []
    for wanted in ("id", "link"):
        for item in fields:
            if item.role == wanted:
                own.extend(_field_refs(item))
    if any(ref.valid for ref in own):
        return own
    others = [ref for item in fields if item.role == "other" for ref in _field_refs(item)]
    if any(ref.valid for ref in others):
        return own + others
    return (own or others) or None


def _field_refs(item: Field) -> list[ArxivRef]:
    refs: list[ArxivRef] = []
    # An ID or link field may be an object of links (`links: {abs: ..., pdf: ...}`).
    value = item.value
    if isinstance(value, dict):
        value = [text for text in list(value.values())[:_MAX_LIST_ITEMS] if isinstance(text, str)]
    for text in _strings(value):
        if item.role != "id":
            found = find_field_refs(text)
            if not found and item.role == "link":
                # A link column holding a bare ID (`1706.03762`): only a valid one counts.
                found = [ref for ref in read_id_field(text) if ref.valid]
            refs.extend(found)
            continue
        found = read_id_field(text)
        if _norm(item.name) in _AMBIGUOUS_ID_NAMES:
            found = [r for r in found if r.valid or _NEW_STYLE_SHAPE_RE.search(r.raw)]
        refs.extend(found)
    return refs


def _strings(value: Any) -> list[str]:
    """The text of a field: a string, or the strings of a list (one level deep)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value[:_MAX_LIST_ITEMS] if isinstance(item, str)]
    return []


def _fill_titles(entry: DigestEntry, fields: list[Field], title_source: TitleSource) -> None:
    english: tuple[int, int, str, str] | None = None
    translated: tuple[int, int, str] | None = None
    for index, item in enumerate(fields):
        if item.role not in ("title", "translated") or not isinstance(item.value, str):
            continue
        clean = clean_text(item.value)
        if not clean:
            continue
        if item.role == "translated" or is_cjk_title(clean):
            rank = item.rank + (10 if item.role == "title" else 0)
            if translated is None or (rank, index) < translated[:2]:
                translated = (rank, index, clean)
        elif english is None or (item.rank, index) < english[:2]:
            english = (item.rank, index, item.raw if item.raw is not None else item.value, clean)
    if english is not None:
        entry.title_raw, entry.title, entry.title_source = english[2], english[3], title_source
    if translated is not None:
        entry.title_translated = translated[2]


def clean_text(text: str) -> str:
    """A title as the truth gives it: whitespace collapsed, no unreadable characters."""
    return collapse(_NOT_TEXT_RE.sub("", text))


def is_cjk_title(text: str) -> bool:
    """Written in Chinese, Japanese or Korean: CJK characters are at least a quarter of
    its letters (`基于Transformer的方法` is Chinese; `A 中文 benchmark` is English)."""
    cjk = len(_CJK_CHAR_RE.findall(text))
    if cjk == 0:
        return False
    return cjk * 4 >= cjk + len(_LATIN_LETTER_RE.findall(text))


def _best_text(fields: list[Field], role: Role) -> str | None:
    best: tuple[int, int, str] | None = None
    for index, item in enumerate(fields):
        if item.role != role or not isinstance(item.value, str) or not item.value.strip():
            continue
        if best is None or (item.rank, index) < best[:2]:
            best = (item.rank, index, item.value)
    return best[2] if best else None


def _authors(fields: list[Field]) -> list[str] | None:
    for item in fields:
        if item.role != "authors" or item.value is None:
            continue
        names = author_names(item.value)
        if names:
            return names
    return None


def author_names(value: Any) -> list[str]:
    """Names from an author field: a list of names or of {name: ...} objects, or one
    string of names separated by `;`, `,`, `and` or `&` (a lone "Last, First" stays whole:
    one comma with a one-word part before it, or a particle such as `van`)."""
    if isinstance(value, list):
        names = []
        for item in value[: _MAX_LIST_ITEMS * 5]:
            if isinstance(item, dict):
                item = next((item[k] for k in _AUTHOR_KEYS if isinstance(item.get(k), str)), None)
            if isinstance(item, str) and clean_text(item):
                names.append(clean_text(item))
        return names
    if not isinstance(value, str):
        return []
    text = clean_text(value)
    if not text:
        return []
    if ";" in text:  # the strongest separator: "Lee, Ann; Chen, Bo" (Zotero, Scopus)
        return [name.strip() for name in text.split(";") if name.strip()]
    if text.count(",") == 1 and " and " not in text and "&" not in text:
        last = text.split(",")[0].split()
        if len(last) < 2 or last[0][:1].islower():
            return [text]  # "Vaswani, Ashish", "van Dyk, David": one name, last name first
    return [name for name in _AUTHOR_SPLIT_RE.split(text) if name]


def _first_url(fields: list[Field]) -> tuple[str | None, str | None]:
    """The first URL in the ID and link fields, and the field's name."""
    for wanted in ("link", "id"):
        for item in fields:
            if item.role == wanted:
                for text in _strings(item.value):
                    match = _URL_RE.search(text)
                    if match is not None:
                        return match.group(0), item.name
    return None, None


def _version(fields: list[Field]) -> int | None:
    for item in fields:
        if item.role == "version" and isinstance(item.value, str | int):
            match = _VERSION_VALUE_RE.fullmatch(str(item.value))
            if match is not None:
                return int(match[1])
    return None


def fields_text(fields: Iterable[Field]) -> str:
    """A record's fields as `name: value` lines (nested objects as `name.key`), bounded."""
    lines: list[str] = []
    budget = BLOCK_TEXT_MAX
    for item in fields:
        for name, text in _flat(item.name, item.value, 0):
            line = f"{name}: {text}"
            lines.append(line[:budget])
            budget -= len(line) + 1
            if budget <= 0:
                return "\n".join(lines)[:BLOCK_TEXT_MAX]
    return "\n".join(lines)


def _flat(name: str, value: Any, depth: int) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        if value.strip():
            yield name, value[:BLOCK_TEXT_MAX]
    elif isinstance(value, bool | int | float):
        yield name, str(value)
    elif isinstance(value, list):
        texts = [item for item in value[:_MAX_LIST_ITEMS] if isinstance(item, str | int | float)]
        if texts:
            yield name, ", ".join(str(item) for item in texts)[:BLOCK_TEXT_MAX]
        if depth < 2:
            for item in value[:_MAX_LIST_ITEMS]:
                if isinstance(item, dict | list):
                    yield from _flat(name, item, depth + 1)
    elif isinstance(value, dict) and depth < 2:
        for key, item in list(value.items())[:_MAX_LIST_ITEMS]:
            yield from _flat(f"{name}.{key}", item, depth + 1)


def _bounded(text: str) -> str:
    return text[:BLOCK_TEXT_MAX]


def has_paper_signal(records: Iterable[Record]) -> bool:
    """Whether records are papers: one of them names an arXiv paper, or they have a real
    title field (not only a `name`, which lists of tools and people have too)."""
    for record in records:
        for item in record.fields:
            if item.role == "title" and item.rank < 3 and _strings(item.value):
                return True
        if any(ref.valid for ref in record_refs(record.fields) or ()):
            return True
    return False


def read_records(doc: TextDoc, suffix: str) -> LayoutResult | None:
    """Entries of a record-shaped file (CSV/TSV, non-HF JSON, JSON Lines, BibTeX, RSS/Atom),
    or None when the content is none of these (then the Markdown/HTML/text reader runs).

    The content decides; `suffix` (lower case, with the dot) only makes a reader readier
    to accept what is borderline for it.
    """
    # Imported here: the readers build on this module.
    from pipeline.parse.bibtex import read_bibtex
    from pipeline.parse.feed import read_feed
    from pipeline.parse.json_records import read_json_records
    from pipeline.parse.tabular import read_table

    for reader in (read_feed, read_json_records, read_bibtex, read_table):
        result = reader(doc, suffix)
        if result is not None:
            return result
    return None

"""Entries from a document tree (tree.py): written once for Markdown, HTML and plain text.

An entry is a featured paper: the largest block that references that paper and no other,
the section, list item, table row or card that carries it. Found in two passes:

1. References in structure (headings, items, rows, cards, short paragraphs): each block
   whose subtree references exactly one paper, and whose parent references more, is an
   entry. A block holding several papers is split by its titled links or its lines.
2. References only in prose (long paragraphs), to papers no structured block features:
   the same rule over what pass 1 left. A prose mention of a paper featured elsewhere
   (a weekly-trend paragraph) is no entry; inside an entry it is a warning.

A block that the structure shows to be an entry like its siblings (an item of the paper
list, a row of the paper table, a heading among per-paper headings) but that references no
paper stays an entry, to be found by title. Titles come from the best evidence in the
entry's own block, each with its source (titles.py cleans them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from pipeline.ids import ArxivRef, find_refs, parse_ref
from pipeline.model import DigestEntry, Problem, TitleSource
from pipeline.parse.document import LayoutResult, TextDoc, attach_refs, mark_missing
from pipeline.parse.markdown import collapse, has_cjk
from pipeline.parse.records import field_role
from pipeline.parse.titles import (
    clean_title,
    is_generic,
    is_generic_heading,
    is_title_like,
    without_urls,
)
from pipeline.parse.tree import Link, Node

MAX_BLOCK_TEXT_CHARS = 4000
PROSE_CHARS = 240  # a paragraph this long (links aside) is prose, not an entry's link line
TITLE_LABELS = frozenset(
    {
        "title", "paper title", "original title", "english title", "标题", "原文标题",
        "英文标题", "论文标题", "题目", "タイトル", "原題", "제목", "논문 제목", "영문 제목",
    }
)  # fmt: skip
AUTHOR_LABELS = frozenset({"authors", "author", "作者", "著者", "저자"})
ABSTRACT_LABELS = frozenset({"abstract", "summary", "摘要", "要約", "概要", "요약", "초록"})
_LABEL_LINE_RE = re.compile(r"\s*[-*•]?\s*(?P<label>[^:：\n]{1,24}?)\s*[:：]\s*(?P<value>.*)")
_QUOTED_RE = re.compile(r"[\"“]([^\"“”\n]{8,300}?)[\"”]")
_PAPERISH_LINK_RE = re.compile(r"^\W*(?:paper|pdf|arxiv|abs|论文|論文|논문)\b|^\W*\d{4}\.\d", re.I)
_NUMBERED_RE = re.compile(r"\s*(?:\(?\d{1,4}[.)．、:：]|\[\d{1,4}\]|#\d)")
_SITE_PATH_ID_RE = re.compile(
    r"(?:^|/)(?:arxiv[-_:]?|papers/)(?P<id>\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]{1,30}/\d{7}(?:v\d+)?)"
    r"(?=[/?#.]|$)",
    re.IGNORECASE,
)
_ANY_URL_RE = re.compile(r"[a-z][a-z0-9+.-]{0,20}://|www\.", re.IGNORECASE)
_ARXIV_URL_RE = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/", re.IGNORECASE)
_ID_IN_PATH_RE = re.compile(r"/(?:[a-z]{1,20}/)?(?P<id>\d{4}\.\d{4,5}(?:v\d+)?)(?![\d])", re.I)
_AUTHOR_SPLIT_RE = re.compile(r"\s*(?:[,;，；、]|\band\b)\s*")


@dataclass(frozen=True, slots=True)
class _Ref:
    ref: ArxivRef
    link: Link | None  # the link whose URL holds it; None for a reference in the text
    leaf: Node

    @property
    def key(self) -> str:
        return self.ref.arxiv_id or self.ref.raw.lower()


def refs_in_url(url: str) -> list[ArxivRef]:
    """arXiv references in a link target: any form find_refs knows, also URL-encoded
    (`login?next=%2Fpapers%2FID`) or in a site's own path (`../papers/arxiv-ID/`)."""
    if not url or url.startswith("#"):
        return []
    decoded = unquote(url)
    found = find_refs(decoded)
    if found:
        return found
    site = _SITE_PATH_ID_RE.search(decoded)
    if site is None and _ARXIV_URL_RE.search(decoded):  # a mangled path (`/abpdfs/ID`)
        site = _ID_IN_PATH_RE.search(decoded)
    if site is None:
        return []
    ref = parse_ref(site["id"])
    return [ArxivRef(url, ref.arxiv_id, ref.version, ref.valid, 0, len(url), ref.why_invalid)]


_SIBLING_KINDS = frozenset({"item", "row", "card", "section"})
_Unit = tuple[Node, str | None, list[Node]]  # block, paper key (None: no reference), ancestors


class _Extractor:
    def __init__(self, doc: TextDoc, tree: Node, layout: str) -> None:
        self.doc, self.tree, self.layout = doc, tree, layout
        self.refs: dict[int, list[_Ref]] = {}
        self.prose: set[int] = set()
        for leaf in tree.leaves():
            found = self._leaf_refs(leaf)
            if found:
                self.refs[id(leaf)] = found
                if _is_prose(leaf):
                    self.prose.add(id(leaf))
        self.featured = {
            r.key for leaf_id, refs in self.refs.items() if leaf_id not in self.prose for r in refs
        }
        self._keys: dict[tuple[int, bool], frozenset[str]] = {}
        self.entries: list[DigestEntry] = []
        self.problems: list[Problem] = []
        self.section_levels: Counter[int] = Counter()

    @staticmethod
    def _leaf_refs(leaf: Node) -> list[_Ref]:
        found = [_Ref(ref, link, leaf) for link in leaf.links for ref in refs_in_url(link.url)]
        found += [_Ref(ref, None, leaf) for ref in find_refs(leaf.text)]
        return found

    def keys(self, node: Node, prose_pass: bool) -> frozenset[str]:
        """The papers `node` references: in structure, or (prose pass) only in prose to
        papers that no structured block features."""
        cache_key = (id(node), prose_pass)
        if cache_key not in self._keys:
            if node.is_leaf:
                in_prose = id(node) in self.prose
                refs = self.refs.get(id(node), [])
                if prose_pass:
                    found = {r.key for r in refs if in_prose and r.key not in self.featured}
                else:
                    found = set() if in_prose else {r.key for r in refs}
                self._keys[cache_key] = frozenset(found)
            else:
                self._keys[cache_key] = frozenset().union(
                    *(self.keys(child, prose_pass) for child in node.children)
                )
        return self._keys[cache_key]

    # -- finding the entry blocks -----------------------------------------------------

    def units(self) -> list[_Unit]:
        """Every entry block in document order."""
        found = self._walk(self.tree, [])
        for node, key, _ in found:
            if key is not None and node.kind == "section":
                self.section_levels[node.level] += 1
        return found

    def _walk(self, node: Node, ancestors: list[Node]) -> list[_Unit]:
        for prose_pass in (False, True):
            keys = self.keys(node, prose_pass)
            if keys:
                break
        else:
            return []
        if len(keys) == 1 and not self._lists_it_twice(node, keys, prose_pass):
            return [(node, next(iter(keys)), ancestors)]
        if node.is_leaf:
            return [(part, key, ancestors) for part, key in self._split(node, keys)]
        inner = [*ancestors, node]
        per_child = [self._walk(child, inner) for child in node.children]
        alone = [
            index
            for index, units in enumerate(per_child)
            if len(units) == 1 and units[0][0] is node.children[index]
        ]
        for index in self._like_siblings(node, alone):
            per_child[index] = [(node.children[index], None, inner)]
        return [unit for units in per_child for unit in units]

    def _lists_it_twice(self, node: Node, keys: frozenset[str], prose_pass: bool) -> bool:
        """The same paper in two alike children (items, rows, cards) that give it titles
        of their own is listed twice: two entries, not one."""
        carriers = [child for child in node.children if self.keys(child, prose_pass)]
        while len(carriers) == 1 and not carriers[0].is_leaf:  # look inside a lone wrapper
            carriers = [child for child in carriers[0].children if self.keys(child, prose_pass)]
        if len(carriers) < 2 or any(c.kind not in _SIBLING_KINDS for c in carriers):
            return False
        if len({c.signature for c in carriers}) != 1:
            return False
        key = next(iter(keys))
        titles = set()
        for child in carriers:
            refs = [r for leaf in child.leaves() for r in self.refs.get(id(leaf), [])]
            anchors = list(dict.fromkeys(r.leaf for r in refs if r.key == key))
            first = next(self._candidates(child, anchors, child.leaves(), refs), None)
            if first is not None:
                titles.add(first[0])
        return len(titles) >= 2

    def _like_siblings(self, node: Node, entry_indexes: list[int]) -> list[int]:
        """Children without a reference that are shaped like the entry children (same tag
        and class, a row of the same table): entries too. Among sections, only those
        between entry sections, or numbered like them."""
        if len(entry_indexes) < 2:
            return []
        children = node.children
        signatures = Counter(children[i].signature for i in entry_indexes)
        signature, count = signatures.most_common(1)[0]
        if 2 * count < len(entry_indexes):
            return []
        first, last = entry_indexes[0], entry_indexes[-1]
        numbered = 2 * sum(_is_numbered(children[i]) for i in entry_indexes) > len(entry_indexes)
        shapes = {_shape(children[i]) for i in entry_indexes}
        found: list[int] = []
        entries = set(entry_indexes)
        for index, child in enumerate(children):
            if index in entries or child.signature != signature or child.is_header:
                continue
            if self.keys(child, False) or self.keys(child, True) or not child.visible_text():
                continue
            between = first < index < last
            if child.kind == "section" and not self._like_entry_section(
                child, numbered, between, shapes
            ):
                continue
            # A bare paragraph before or after the paper paragraphs is their introduction
            # or sign-off (`Papers of the week`), unless it holds a link like theirs.
            if child.kind == "paragraph" and not (
                between or any(leaf.links for leaf in child.leaves())
            ):
                continue
            found.append(index)
        return found

    @staticmethod
    def _like_entry_section(
        section: Node, numbered: bool, between: bool, shapes: set[tuple[str, ...]]
    ) -> bool:
        """A heading without a reference among per-paper headings is an entry when it is
        numbered like them, or (unnumbered) stands between them, is built like them or
        holds a link (an empty one too), and is not a generic heading (`Summary`)."""
        heading = _own_heading(section)
        if heading is None or is_generic_heading(heading.text):
            return False
        if numbered:
            return _is_numbered(section)
        has_link = any(leaf.links for leaf in section.leaves())
        return between or has_link or _shape(section) in shapes

    def _split(self, leaf: Node, keys: frozenset[str]) -> Iterator[tuple[Node, str]]:
        """A leaf referencing several papers: one part per titled link or per line, else
        one entry for the first paper-like link (the others are warned about)."""
        refs = [r for r in self.refs.get(id(leaf), []) if r.key in keys]
        by_link: dict[str, Link] = {}
        for r in refs:
            if r.link is not None:
                by_link.setdefault(r.key, r.link)
        texts = [clean_title(link.text) for link in by_link.values()]
        if (
            len(by_link) == len(keys)
            and all(is_title_like(text) for text in texts)
            and len(set(texts)) == len(texts)
        ):
            refs_by_key: dict[str, list[_Ref]] = {}
            for r in refs:
                refs_by_key.setdefault(r.key, []).append(r)
            strong = set(leaf.strong)
            for key, link in by_link.items():
                part = Node("paragraph", leaf.line, text=link.text, links=[link])
                part.strong = [link.text] if link.text in strong else []
                self.refs[id(part)] = [_Ref(r.ref, r.link, part) for r in refs_by_key[key]]
                yield part, key
            return
        lines = [line for line in leaf.text.split("\n") if line.strip()]
        line_keys = [{r.key for r in self._leaf_refs(Node("paragraph", text=ln))} for ln in lines]
        linked = [(ln, ks) for ln, ks in zip(lines, line_keys, strict=True) if ks]
        if len(linked) >= 2 and all(len(ks) == 1 for _, ks in linked):
            for offset, (line, line_refs) in enumerate(linked):
                part = Node("paragraph", (leaf.line or 0) + offset, text=line)
                part.links = [link for link in leaf.links if link.text and link.text in line]
                self.refs[id(part)] = self._leaf_refs(part) or [
                    r for r in refs if r.key in line_refs
                ]
                yield part, next(iter(line_refs))
            return
        # Papers named in the text or by bare links are each featured; a link titled
        # "Webpage" or "Project" that happens to point at arXiv is not.
        featured = list(dict.fromkeys(r.key for r in refs if not _secondary_link(r.link)))
        if len(featured) >= 2:
            refs_by_key = {}
            for r in refs:
                refs_by_key.setdefault(r.key, []).append(r)
            for key in featured:
                mine = refs_by_key[key]
                links = list(dict.fromkeys(r.link for r in mine if r.link is not None))
                text = " ".join(link.text for link in links) or mine[0].ref.raw
                part = Node("paragraph", leaf.line, text=text, links=links)
                self.refs[id(part)] = [_Ref(r.ref, r.link, part) for r in mine]
                yield part, key
            return
        paperish = [r for r in refs if r.link is not None and _PAPERISH_LINK_RE.match(r.link.text)]
        yield leaf, (featured or [r.key for r in paperish] or [refs[0].key])[0]

    # -- one entry --------------------------------------------------------------------

    def entry(self, node: Node, key: str | None, ancestors: list[Node]) -> DigestEntry:
        entry = DigestEntry(
            digest=self.doc.source,
            position=len(self.entries) + 1,
            layout=self.layout,
            line=node.line,
        )
        leaves = node.leaves() if not node.is_leaf else [node]
        own_refs = [r for leaf in leaves for r in self.refs.get(id(leaf), []) if r.key == key]
        structured = [r for r in own_refs if id(r.leaf) not in self.prose] or own_refs
        anchors = list(dict.fromkeys(r.leaf for r in structured)) if key else leaves
        english, translated = self._titles(node, key, anchors, leaves, structured, ancestors)
        if english is not None:
            text, source = english
            entry.title_raw, entry.title, entry.title_source = text, collapse(text), source
        entry.title_translated = translated
        entry.authors = _authors(leaves)
        entry.abstract = _abstract(leaves, anchors, self.prose)
        block_text = node.visible_text()
        entry.block_text = block_text[:MAX_BLOCK_TEXT_CHARS] or None
        if key is None:
            self._no_reference(entry, node)
        else:
            attach_refs(entry, [r.ref for r in structured], self.problems)
            others = sorted(
                {r.ref.raw for leaf in leaves for r in self.refs.get(id(leaf), []) if r.key != key}
            )
            if others:
                entry.warnings.append(f"the entry also references {', '.join(others)}")
        if english is None and translated is None:
            # A heading over several entries names none of them: it is said, not taken.
            shared = _shared_heading(ancestors)
            under = f" (under the heading {shared!r}, shared with other entries)" if shared else ""
            entry.warnings.append(f"no title found near the reference{under}")
        self.entries.append(entry)
        return entry

    def _no_reference(self, entry: DigestEntry, node: Node) -> None:
        links = [link for leaf in node.leaves() for link in leaf.links]
        url = next((link.url for link in links if link.url and not link.url.startswith("#")), None)
        if url is not None:
            entry.link = url
            warning = f"link {url!r} is not an arXiv link; to be found by title"
            mark_missing(entry, warning, self.problems, "no_arxiv_link")
        else:
            empty = any(not link.url for link in links)
            what = "its link is empty" if empty else "it has no arXiv link"
            warning = f"listed like the entries around it, but {what}; to be found by title"
            mark_missing(entry, warning, self.problems, "missing_link")

    def _titles(
        self,
        node: Node,
        key: str | None,
        anchors: list[Node],
        leaves: list[Node],
        refs: list[_Ref],
        ancestors: list[Node],
    ) -> tuple[tuple[str, TitleSource] | None, str | None]:
        english: tuple[str, TitleSource] | None = None
        # Only a block with CJK text can hold a translated title: otherwise stop at the first.
        translated: str | None = None if any(has_cjk(leaf.text) for leaf in leaves) else ""
        for text, source in self._candidates(node, anchors, leaves, refs):
            if has_cjk(text):
                translated = translated or text
            elif english is None:
                english = (text, source)
            if english is not None and translated is not None:
                break
        return english, translated or None

    def _candidates(
        self, node: Node, anchors: list[Node], leaves: list[Node], refs: list[_Ref]
    ) -> Iterator[tuple[str, TitleSource]]:
        for leaf in leaves:
            for value in _labelled(leaf.text, TITLE_LABELS):
                yield value, "field"
        for leaf in anchors:
            if leaf.kind == "row" and leaf.header and leaf.cells:
                for name, cell in zip(leaf.header, leaf.cells, strict=False):
                    if field_role(name)[0] == "title" and _ok(cell):
                        yield clean_title(cell), "column"
        for leaf in anchors:
            for strong in leaf.strong:
                if not _is_label(leaf.text, strong) and _ok(strong):
                    yield clean_title(strong), "emphasis"
        for leaf in anchors:
            for quoted in _QUOTED_RE.findall(leaf.text):
                if len(quoted.split()) >= 2 and _ok(quoted):
                    yield clean_title(quoted), "quoted"
        links = [r.link for r in refs] if refs else [k for leaf in leaves for k in leaf.links]
        for link in links:
            if link is not None and _ok(link.text):
                yield clean_title(link.text), "link text"
        heading = _own_heading(node)
        if heading is not None and self._heading_is_own(node, heading, refs):
            for strong in heading.strong:
                if _ok(strong):
                    yield clean_title(strong), "heading"
            if _ok(heading.text):
                yield clean_title(heading.text), "heading"
        for leaf in anchors:
            if (text := _line_title(leaf)) is not None:
                yield text, "line"

    def _heading_is_own(self, node: Node, heading: Node, refs: list[_Ref]) -> bool:
        """A section's heading names its paper when headings of that level head one paper
        each (a digest of per-paper headings), or when it holds the link or a number."""
        if any(r.leaf is heading for r in refs) or _is_numbered(node):
            return True
        return node.kind != "section" or self.section_levels[node.level] >= 2


def _secondary_link(link: Link | None) -> bool:
    """A link whose text names a kind of page (Webpage, Code) rather than the paper."""
    if link is None or not link.text or _PAPERISH_LINK_RE.match(link.text):
        return False
    return is_generic(link.text) and not find_refs(link.text) and "://" not in link.text


def _is_prose(leaf: Node) -> bool:
    """A paragraph of running text: long, or sentences with its links inside them (`It
    builds on [ReAct](...), which ...`), not a paragraph that is a link or a label and one."""
    if leaf.kind != "paragraph" or leaf.in_item:
        return False
    text = leaf.text
    for link_text in dict.fromkeys(link.text for link in leaf.links):  # each text once
        text = text.replace(link_text, "")
    text = without_urls(text)
    if len(text) > PROSE_CHARS:
        return True
    return (
        bool(leaf.links)
        and len(_WORD_RE.findall(text)) >= PROSE_WORDS
        and _SENTENCE_END_RE.search(text) is not None
    )


# Running text around a link: this many words besides the links' own, and a full stop.
PROSE_WORDS = 6
_WORD_RE = re.compile(r"\w+")
_SENTENCE_END_RE = re.compile(r"\w[)\]\"”’']?[.!?。](?:\s|$)")


def _is_numbered(node: Node) -> bool:
    heading = _own_heading(node)
    text = heading.text if heading is not None else (node.leaves() or [node])[0].text
    return _NUMBERED_RE.match(text) is not None


def _shared_heading(ancestors: list[Node]) -> str | None:
    """The nearest heading above the entry that is not generic, cleaned."""
    for ancestor in reversed(ancestors):
        heading = _own_heading(ancestor)
        if heading is not None and _ok(heading.text) and not is_generic_heading(heading.text):
            return clean_title(heading.text)
    return None


def _shape(node: Node) -> tuple[str, ...]:
    return tuple(child.kind for child in node.children)


def _own_heading(node: Node) -> Node | None:
    while node.kind in ("section", "card") and node.children:
        first = node.children[0]
        if first.kind == "heading":
            return first
        if len(node.children) != 1:
            return None
        node = first
    return None


def _ok(text: str) -> bool:
    return is_title_like(text) and is_title_like(clean_title(text))


def _is_label(text: str, strong: str) -> bool:
    """`**Paper:** ...`, `**Name**: "..."`: emphasis that labels what follows."""
    if strong.rstrip().endswith((":", "：")):
        return True
    at = text.find(strong)
    after = text[at + len(strong) : at + len(strong) + 2].lstrip() if at >= 0 else ""
    return after.startswith((":", "："))


def _labelled(text: str, labels: frozenset[str]) -> Iterator[str]:
    """Titles from `Label: value` lines whose label is one of `labels`."""
    for value in _labelled_raw(text, labels):
        title = clean_title(value)
        if is_title_like(title):
            yield title


# A reference written as a citation, `Title. Vaswani, Shazeer and others. NeurIPS 2017`: the
# title ends at the full stop before the names (not an initial's, nor that of `vs.`, `cf.`).
_CITATION_TAIL_RE = re.compile(
    r"(?<=\w\w)(?<!\bvs)(?<!\bVs)(?<!\bcf)(?<!\bal)\.\s+(?:[A-Z][\w'’.-]*\s?){1,4}(?:,|\s(?:and|&)\s|\set\.?\s?al\b).*$"
)


def _line_title(leaf: Node) -> str | None:
    """The text before the reference on its line (`N. Title: URL`), or after it."""
    text = leaf.text
    if leaf.kind == "row" and leaf.cells:
        cells = [clean_title(cell) for cell in leaf.cells]
        plain = [c for c in cells if is_title_like(c) and "et al" not in c.lower()]
        return max(plain, key=len) if plain else None
    for link in leaf.links:
        if refs_in_url(link.url) and link.text:
            text = text.replace(link.text, " \x00 ", 1)
    marks = [r.start for r in find_refs(text)] + [m.start() for m in _ANY_URL_RE.finditer(text)]
    if "\x00" in text:
        marks.append(text.index("\x00"))
    cut = min(marks, default=len(text))
    for piece in (text[:cut], text[cut:]):
        piece = piece.split("\n")[-1] if piece is text[:cut] else piece.split("\n")[0]
        candidate = _CITATION_TAIL_RE.sub("", clean_title(without_urls(piece.replace("\x00", " "))))
        long_enough = len(candidate.split()) >= 1 or has_cjk(candidate)
        if long_enough and is_title_like(candidate) and not is_generic(candidate):
            return candidate
    return None


def _authors(leaves: list[Node]) -> list[str] | None:
    for leaf in leaves:
        for value in _labelled_raw(leaf.text, AUTHOR_LABELS):
            names = [name.strip() for name in _AUTHOR_SPLIT_RE.split(value) if name.strip()]
            if names:
                return names
        if leaf.kind == "row" and leaf.header and leaf.cells:
            for name, cell in zip(leaf.header, leaf.cells, strict=False):
                if field_role(name)[0] == "authors" and cell.strip():
                    return [n.strip() for n in _AUTHOR_SPLIT_RE.split(cell) if n.strip()]
    return None


def _labelled_raw(text: str, labels: frozenset[str]) -> Iterator[str]:
    """Values of `Label: value` lines whose label is one of `labels`, with the indented
    lines that continue them (a wrapped title, a long author list)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        match = _LABEL_LINE_RE.match(line)
        if match is None or match["label"].strip("*_ ").lower() not in labels:
            continue
        value = [match["value"]]
        for following in lines[index + 1 :]:
            if not following[:1].isspace() or not following.strip():
                break
            value.append(following.strip())
        yield " ".join(value)


def _abstract(leaves: list[Node], anchors: list[Node], prose: set[int]) -> str | None:
    for leaf in leaves:
        for value in _labelled_raw(leaf.text, ABSTRACT_LABELS):
            if value.strip():
                return value.strip()
    long = [leaf.text for leaf in leaves if leaf not in anchors and _is_prose(leaf)]
    return "\n\n".join(long) or None


def parse_tree(doc: TextDoc, tree: Node, layout: str) -> LayoutResult:
    """The entries of a document tree (one per featured paper, in document order)."""
    extractor = _Extractor(doc, tree, layout)
    units = extractor.units()
    for node, key, ancestors in units:
        extractor.entry(node, key, ancestors)
    entries = extractor.entries
    header_end = (entries[0].line or 1) - 1 if entries else len(doc.lines)
    return LayoutResult(layout, entries, extractor.problems, header_end=header_end)

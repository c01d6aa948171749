"""One document model for Markdown, HTML and plain text: a tree of blocks.

Every reader yields the same nodes, so entry extraction (extract.py) is written once:

    root / section (a heading and what it governs) / card (div, article, details, ...)
    list / item, table / row (cells with the table's header), paragraph, heading

Leaves (heading, paragraph, item without nested blocks, row) carry their visible text
(markup removed, links replaced by their text, line breaks kept), their links and their
strong emphasis. Markdown is rendered by cmark-gfm (GitHub's own renderer, so a README
reads as GitHub shows it) and parsed as HTML with the page's HTML, by lxml; plain text
has a small reader of its own (paragraphs, list items, separator lines, label lines).
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from typing import Literal

import lxml.etree
import lxml.html
from cmarkgfm import _cmark, cmark
from cmarkgfm.cmark import Options

NodeKind = Literal[
    "root", "section", "card", "list", "item", "table", "row", "paragraph", "heading"
]


@dataclass(frozen=True, slots=True)
class Link:
    text: str  # visible text of the link ("" for an empty link)
    url: str  # the href as written ("" for `[text]()`)


@dataclass(slots=True, eq=False)  # compared and hashed by identity
class Node:
    kind: NodeKind
    line: int | None = None  # 1-based line in the source where the node starts
    level: int = 0  # headings: 1..6, a <summary> 7
    signature: str = ""  # tag and class: siblings with equal signatures are alike
    children: list[Node] = field(default_factory=list)
    text: str = ""  # leaves: the visible text
    links: list[Link] = field(default_factory=list)
    strong: list[str] = field(default_factory=list)  # **bold**, <b>, <strong>, in order
    cells: list[str] | None = None  # rows: visible text of each cell
    header: list[str] | None = None  # rows: the table's header cells, when it has one
    is_header: bool = False  # rows: the header row itself
    in_item: bool = False  # paragraphs: the text of a list item (never prose)

    @property
    def is_leaf(self) -> bool:
        return not self.children and self.kind != "section"

    def leaves(self) -> list[Node]:
        if self.is_leaf:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def visible_text(self) -> str:
        return "\n".join(leaf.text for leaf in self.leaves() if leaf.text)


# --- HTML (and Markdown rendered to HTML) -----------------------------------------------

_SKIPPED_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "head", "svg", "math", "nav", "footer",
        "iframe", "object", "button", "form", "select", "textarea", "img", "video", "audio",
    }
)  # fmt: skip
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
_LIST_TAGS = frozenset({"ul", "ol", "dl", "menu"})
_ITEM_TAGS = frozenset({"li", "dt", "dd"})
_LEAF_BLOCK_TAGS = frozenset({"p", "pre", "figcaption", "caption", "address", "summary"})
_CONTAINER_TAGS = frozenset(
    {
        "div", "section", "article", "details", "blockquote", "main", "header", "aside",
        "figure", "body", "html", "center", "fieldset", "hgroup", "search",
    }
)  # fmt: skip
_BLOCK_TAGS = (
    frozenset(_HEADING_TAGS) | _LIST_TAGS | _ITEM_TAGS | _LEAF_BLOCK_TAGS | _CONTAINER_TAGS
) | {"table", "tr", "hr", "thead", "tbody", "tfoot"}
_STRONG_TAGS = frozenset({"b", "strong"})
_SOURCEPOS_RE = re.compile(r"(\d+):")
_CMARK_OPTIONS = Options.CMARK_OPT_SOURCEPOS | Options.CMARK_OPT_UNSAFE
_WHITESPACE_RE = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES_RE = re.compile(r" *\n[ \n]*")


def markdown_tree(text: str) -> Node:
    """Markdown (CommonMark + GitHub tables, autolinks, raw HTML) as a tree."""
    return html_tree(_github_markdown_to_html(text), native_lines=False)


_GITHUB_EXTENSIONS = ("table", "autolink", "tagfilter", "strikethrough", "tasklist")
# cmarkgfm's github_flavored_markdown_to_html frees neither the document it parsed (its cffi
# layer lacks cmark_node_free) nor the HTML it rendered: ~10 bytes kept per byte of
# Markdown, 430 MB for one 4 MB line of bold. The same steps here, freeing both through the
# library itself (the module already loaded: dlopen hands back the same copy), with the
# free() its default allocator uses.
_CMARK_LIBRARY = ctypes.CDLL(_cmark.__file__)
for _function in (_CMARK_LIBRARY.cmark_node_free, _CMARK_LIBRARY.free):
    _function.argtypes = [ctypes.c_void_p]
    _function.restype = None


def _address(pointer: object) -> int:
    return int(_cmark.ffi.cast("uintptr_t", pointer))


def _github_markdown_to_html(text: str) -> str:
    """cmarkgfm.github_flavored_markdown_to_html(text, _CMARK_OPTIONS), without the leak."""
    cmark.core_extensions_ensure_registered()
    parser = cmark.parser_new(options=_CMARK_OPTIONS | Options.CMARK_OPT_GITHUB_PRE_LANG)
    try:
        for name in _GITHUB_EXTENSIONS:
            cmark.parser_attach_syntax_extension(parser, cmark.find_syntax_extension(name))
        cmark.parser_feed(parser, text)
        root = cmark.parser_finish(parser)
        try:
            extensions = cmark.parser_get_syntax_extensions(parser)
            options = _CMARK_OPTIONS | Options.CMARK_OPT_GITHUB_PRE_LANG
            html = _cmark.lib.cmark_render_html(root, options, extensions)
            try:
                return _cmark.ffi.string(html).decode("utf-8")
            finally:
                _CMARK_LIBRARY.free(_address(html))
        finally:
            _CMARK_LIBRARY.cmark_node_free(_address(root))
    finally:
        cmark.parser_free(parser)


def html_tree(html: str, native_lines: bool = True) -> Node:
    """An HTML page as a tree. `native_lines`: element source lines are the file's lines
    (false for Markdown rendered to HTML, whose lines come from data-sourcepos)."""
    root = Node("root", line=1)
    if not html.strip():
        return root
    try:
        document = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return root
    body = document.find("body")
    builder = _HtmlBuilder(native_lines)
    root.children = builder.children_of(body if body is not None else document, 1)
    return nest_sections(root)


class _HtmlBuilder:
    def __init__(self, native_lines: bool) -> None:
        self.native_lines = native_lines

    def line_of(self, element: lxml.html.HtmlElement, fallback: int) -> int:
        pos = element.get("data-sourcepos")
        if pos is not None and (match := _SOURCEPOS_RE.match(pos)) is not None:
            return int(match[1])
        if self.native_lines and element.sourceline:
            return int(element.sourceline)
        return fallback

    def children_of(self, element: lxml.html.HtmlElement, line: int) -> list[Node]:
        """Block nodes of `element`'s content; runs of inline content become paragraphs."""
        nodes: list[Node] = []
        inline = _Inline()
        inline.add_text(element.text)
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in _BLOCK_TAGS:
                nodes.extend(inline.flush(line))
                line = self.line_of(child, line)
                node = self.block(child, tag, line)
                if node is not None:
                    nodes.append(node)
            elif tag and tag not in _SKIPPED_TAGS:
                inline.add_element(child)
            inline.add_text(child.tail)
        nodes.extend(inline.flush(line))
        return nodes

    def block(self, element: lxml.html.HtmlElement, tag: str, line: int) -> Node | None:
        signature = f"{tag}.{element.get('class', '')}"
        if tag == "hr":
            return Node("paragraph", line, signature="hr")
        if tag in _HEADING_TAGS or tag == "summary":
            leaf = _leaf_of(element, "heading", line, signature)
            leaf.level = _HEADING_TAGS.get(tag, 7)
            return leaf
        if tag == "table":
            return self.table(element, line, signature)
        if tag in ("tr", "thead", "tbody", "tfoot"):  # stray table parts: read as text
            return _leaf_of(element, "paragraph", line, signature)
        children = self.children_of(element, line)
        if tag in _LIST_TAGS:
            return Node("list", line, signature=signature, children=children) if children else None
        if tag in _ITEM_TAGS:
            return _item(children, line, signature)
        if tag in _LEAF_BLOCK_TAGS:
            if len(children) == 1 and children[0].is_leaf:
                children[0].signature = signature
                return children[0]
            return Node("card", line, signature=signature, children=children) if children else None
        if not children:
            return None
        if len(children) == 1 and tag != "details":
            return children[0]  # a wrapper around one block adds nothing
        return nest_sections(Node("card", line, signature=signature, children=children))

    def table(self, element: lxml.html.HtmlElement, line: int, signature: str) -> Node:
        rows: list[Node] = []
        header: list[str] | None = None
        for tr in element.iter("tr"):
            cells = [cell for cell in tr if isinstance(cell.tag, str) and cell.tag in ("td", "th")]
            row_line = self.line_of(tr, line)
            inline = _Inline()
            texts: list[str] = []
            for cell in cells:
                before = len(inline.parts)
                inline.add_element(cell, keep_tail=False)
                texts.append(_clean("".join(inline.parts[before:])))
                inline.add_text(" | ")
            if inline.parts and inline.parts[-1] == " | ":
                inline.parts.pop()
            row = inline.node("row", row_line, f"tr.{tr.get('class', '')}")
            row.cells = texts
            parent = tr.getparent()
            in_head = parent is not None and parent.tag == "thead"
            if header is None and (in_head or (cells and all(c.tag == "th" for c in cells))):
                row.is_header, header = True, texts
            else:
                row.header = header
            rows.append(row)
        return Node("table", line, signature=signature, children=rows)


def _item(children: list[Node], line: int, signature: str) -> Node | None:
    if not children:
        return None
    for child in children:
        if child.kind == "paragraph":
            child.in_item = True
    return Node("item", line, signature=signature, children=children)


def _leaf_of(element: lxml.html.HtmlElement, kind: NodeKind, line: int, signature: str) -> Node:
    inline = _Inline()
    inline.add_text(element.text)
    for child in element:
        inline.add_element(child)
    return inline.node(kind, line, signature)


class _Inline:
    """Collects inline content: visible text, links, strong spans."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.links: list[Link] = []
        self.strong: list[str] = []

    def add_text(self, text: str | None) -> None:
        if text:
            self.parts.append(text)

    def add_element(self, element: lxml.html.HtmlElement, keep_tail: bool = True) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag == "br":
            self.parts.append("\n")
        elif tag and tag not in _SKIPPED_TAGS:
            start = len(self.parts)
            self.add_text(element.text)
            for child in element:
                self.add_element(child)
            inner = "".join(self.parts[start:])
            if tag == "a":
                self.links.append(Link(_clean(inner), (element.get("href") or "").strip()))
            elif tag in _STRONG_TAGS and inner.strip():
                self.strong.append(_clean(inner))
        if keep_tail:
            self.add_text(element.tail)

    def flush(self, line: int) -> list[Node]:
        node = self.node("paragraph", line, "")
        self.parts, self.links, self.strong = [], [], []
        return [node] if node.text or node.links else []

    def node(self, kind: NodeKind, line: int, signature: str) -> Node:
        return Node(
            kind,
            line,
            signature=signature,
            text=_clean("".join(self.parts)),
            links=list(self.links),
            strong=list(self.strong),
        )


def _clean(text: str) -> str:
    """Visible text: runs of spaces to one, blank lines dropped, line breaks kept."""
    return _BLANK_LINES_RE.sub("\n", _WHITESPACE_RE.sub(" ", text)).strip()


def nest_sections(node: Node) -> Node:
    """Make flat headings into sections: a heading governs what follows it up to the next
    heading of its level or above (a <summary> governs the rest of its card), as a reader
    sees it. Runs between thematic breaks (`---`) are grouped when the headings leave
    several blocks side by side, so a file of hr-separated entries has one node per entry."""
    children = node.children
    if any(child.kind == "heading" for child in children):
        node.children = _nest(children, 0)
    elif any(child.signature == "hr" for child in children):
        node.children = _group_by_breaks(children, node.line)
    return node


def _nest(children: list[Node], above: int) -> list[Node]:
    out: list[Node] = []
    index = 0
    while index < len(children):
        child = children[index]
        if child.kind != "heading":
            out.append(child)
            index += 1
            continue
        end = index + 1
        while end < len(children) and not (
            children[end].kind == "heading" and children[end].level <= child.level
        ):
            end += 1
        body = _nest(children[index + 1 : end], child.level)
        body = [part for part in body if part.signature != "hr"]
        out.append(Node("section", child.line, child.level, f"h{child.level}", [child, *body]))
        index = end
    return out


def _group_by_breaks(children: list[Node], line: int | None) -> list[Node]:
    groups: list[list[Node]] = [[]]
    for child in children:
        if child.signature == "hr":
            groups.append([])
        else:
            groups[-1].append(child)
    out: list[Node] = []
    for group in groups:
        if len(group) == 1:
            out.append(group[0])
        elif group:
            out.append(Node("card", group[0].line or line, signature="hr-group", children=group))
    return out


# --- plain text ---------------------------------------------------------------------------

_SEPARATOR_RE = re.compile(r"\s*(?:[-=_*~#]\s*){3,}|\s*\\\\\s*")
_MARKER_RE = re.compile(r"(?P<indent>\s*)(?:[-*+•·▪◦]|\(?\d{1,4}[.):：、]|\[\d{1,4}\])\s+\S")
_COMMENT_RE = re.compile(r"\s*(?:#|//|;)")
MAX_TEXT_HEADING_CHARS = 80


def text_tree(text: str) -> Node:
    """Plain text: blank lines end paragraphs; list-marker lines are items (indented lines
    below continue them); lines of dashes or `\\\\` separate entries; a short line that
    introduces items (`Agents:`) heads a section; `#` lines are comments."""
    lines = text.split("\n")
    root = Node("root", line=1)
    parts: list[Node] = []
    paragraph: list[str] = []
    start = 0

    def flush() -> None:
        if paragraph:
            body, links = _inline_links("\n".join(paragraph).strip())
            parts.append(Node("paragraph", start + 1, text=body, links=links))
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip() or _COMMENT_RE.match(line):
            flush()
        elif _SEPARATOR_RE.fullmatch(line):
            flush()
            parts.append(Node("paragraph", index + 1, signature="hr"))
        elif _MARKER_RE.match(line):
            flush()
            indent = len(line) - len(line.lstrip())
            end = index + 1
            while end < len(lines) and _continues(lines[end], indent):
                end += 1
            body, links = _inline_links("\n".join(part.strip() for part in lines[index:end]))
            # Items of one list share their marker: `* Reading list` heads `- ...` items.
            signature = f"text-item{_marker_kind(line)}"
            leaf = Node("paragraph", index + 1, signature=signature, text=body, in_item=True)
            leaf.links = links
            parts.append(Node("item", index + 1, signature=signature, children=[leaf]))
            index = end
            continue
        elif _introduces_items(lines, index):
            flush()
            parts.append(Node("heading", index + 1, level=1, text=line.strip()))
        else:
            if not paragraph:
                start = index
            paragraph.append(line)
        index += 1
    flush()
    root.children = parts
    return nest_sections(root)


# Org-mode links, `[[https://arxiv.org/abs/ID][Title]]`: the one inline link syntax of plain
# text reading lists (Markdown's `[Title](URL)` makes a file Markdown).
_ORG_LINK_RE = re.compile(r"\[\[(?P<url>[^\[\]\s]+)\](?:\[(?P<text>[^\[\]]*)\])?\]")


def _inline_links(text: str) -> tuple[str, list[Link]]:
    """The text as a reader sees it (a described link shows its description) and its links."""
    links: list[Link] = []

    def shown(found: re.Match[str]) -> str:
        links.append(Link(found["text"] or "", found["url"]))
        return found["text"] or found["url"]

    return _ORG_LINK_RE.sub(shown, text), links


def _marker_kind(line: str) -> str:
    """`-`, `*`, `•` ... for bullets, `1.` for numbers: what a list's items have in common."""
    marker = line.lstrip()[:1]
    return ":n" if marker.isdigit() or marker in "([" else f":{marker}"


def _continues(line: str, indent: int) -> bool:
    stripped = line.strip()
    if not stripped or _SEPARATOR_RE.fullmatch(line) or _MARKER_RE.match(line):
        return False
    return len(line) - len(line.lstrip()) > indent


def _introduces_items(lines: list[str], index: int) -> bool:
    line = lines[index]
    if len(line) > MAX_TEXT_HEADING_CHARS or line[:1].isspace() or "://" in line:
        return False
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return line.rstrip().endswith(":") and _MARKER_RE.match(following) is not None

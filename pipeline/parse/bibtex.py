"""BibTeX reading lists: every bib entry is an entry, most of them without an arXiv ID.

Read with bibtexparser (v2); titles, authors and abstracts are LaTeX-decoded with
pylatexenc (`{T}actic{T}oe` -> TacticToe, `Fran{\\c{c}}ois` -> François), TeX math kept
verbatim (`$T\\bar{T}$`). The arXiv ID comes from, in this order: `eprint` (unless
`archivePrefix`/`eprinttype` names another archive; also a full URL), `arxiv`/`arxivId`
fields, `url`, `doi` (10.48550/arXiv.ID), DBLP's `journal = {CoRR}` + `volume = {abs/ID}`,
then any other field: `journal = {arXiv preprint arXiv:ID}`, `note = {\\url{...}}`,
`howpublished`. An entry without one keeps its first non-arXiv link (`url`, a `\\url` in a
note, the DOI) and goes to title search.

A file is BibTeX when it is mostly bib entries (a Markdown page ending in a citation block
is not); with a `.bib` suffix, any entry will do.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import bibtexparser
from bibtexparser import model as bib
from bibtexparser.middlewares import RemoveEnclosingMiddleware
from pylatexenc import latexwalker
from pylatexenc.latex2text import (
    LatexNodes2Text,
    MacroTextSpec,
    SpecialsTextSpec,
    get_default_latex_context_db,
)

from pipeline.parse.document import LayoutResult, TextDoc, parse_problem
from pipeline.parse.records import BLOCK_TEXT_MAX, EntryMaker, Field, Record, make_field

LAYOUT = "bibtex"
_BIB_SUFFIXES = frozenset({".bib", ".bibtex"})
_ENTRY_START_RE = re.compile(r"^[ \t]*@[A-Za-z]+[ \t]*[{(]", re.MULTILINE)
_MAX_OTHER_SHARE = 0.3  # of the file's non-blank characters outside entries, at most
_LATEX_CHARS_RE = re.compile(r"[\\$~%]|``|''")  # braces alone are just removed
_DECODE_MAX = 20_000  # characters: a longer value only loses its braces (pylatexenc is slow)
_BARE_PERCENT_RE = re.compile(r"(?<!\\)%")
_URL_MACRO_RE = re.compile(r"\\(?:url|href)\s*\{([^{}]*)\}")
_BRACES_RE = re.compile(r"[{}]")
_NAME_FIELDS = frozenset({"author", "editor"})
_DECODED_FIELDS = frozenset({"title", "abstract"})
_LINK_FIELDS = ("url", "howpublished", "note", "doi", "pdf", "link")
_CORR_JOURNALS = frozenset({"corr", "arxiv", "corr abs"})

# Kept as written: macros that only set type (\mbox, \texttt), dashes (no en dash from --),
# \url; pylatexenc's defaults drop the first and turn the others into typography.
_TEXT_MACROS = ("mbox", "hbox", "text", "textrm", "texttt", "textsf", "textnormal", "textup",
                "textsc", "textmd", "url", "path", "nolinkurl")  # fmt: skip


def _decoder() -> LatexNodes2Text:
    context = get_default_latex_context_db()
    context.add_context_category(
        "digest-bibtex",
        prepend=True,
        macros=[MacroTextSpec(name, simplify_repl="%s") for name in _TEXT_MACROS]
        + [
            MacroTextSpec("LaTeX", simplify_repl="LaTeX"),
            MacroTextSpec("TeX", simplify_repl="TeX"),
        ],
        specials=[
            SpecialsTextSpec("--", "--"),
            SpecialsTextSpec("---", "---"),
            SpecialsTextSpec("``", '"'),
            SpecialsTextSpec("''", '"'),
        ],
    )
    return LatexNodes2Text(latex_context=context, math_mode="verbatim")


_DECODER = _decoder()
_UNENCLOSE = RemoveEnclosingMiddleware(allow_inplace_modification=True)
# Made once: pylatexenc builds its default macro database anew for every walker otherwise.
_WALKER_CONTEXT = latexwalker.get_default_latex_context_db()
# pylatexenc warns on every unknown macro, bibtexparser on every block it cannot read
# (which becomes a problem here): neither belongs on a scheduled job's console.
logging.getLogger("pylatexenc").setLevel(logging.ERROR)
logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)


def read_bibtex(doc: TextDoc, suffix: str) -> LayoutResult | None:
    """Entries of a BibTeX file, or None when the text is not mostly bib entries."""
    if _ENTRY_START_RE.search(doc.text) is None:
        return None
    try:
        library = bibtexparser.parse_string(doc.text)
    except Exception as error:  # the parser's own failures on bad input: none are documented
        if suffix not in _BIB_SUFFIXES:
            return None
        problem = parse_problem(doc.source, "invalid_bibtex", f"cannot read as BibTeX: {error}")
        return LayoutResult(LAYOUT, [], [problem])
    entries: list[bib.Entry] = []
    problems = []
    other_chars = 0
    for block in library.blocks:
        if isinstance(block, bib.Entry):
            entries.append(block)
        elif isinstance(block, bib.DuplicateBlockKeyBlock):
            # The same key twice: a reading list listing a paper twice, both are entries.
            # bibtexparser leaves the second one as split, its values still in braces.
            duplicate = block.ignore_error_block
            if isinstance(duplicate, bib.Entry):
                unenclosed = _UNENCLOSE.transform_entry(duplicate, library)
                entries.append(unenclosed if isinstance(unenclosed, bib.Entry) else duplicate)
        elif isinstance(block, bib.ParsingFailedBlock):
            line = block.start_line + 1 if block.start_line is not None else None
            why = str(block.error) or type(block.error).__name__
            message = f"a bib entry that cannot be read was skipped ({why})"
            problems.append(parse_problem(doc.source, "bad_bib_entry", message, line))
            other_chars += _nonblank(block.raw or "")
        elif isinstance(block, bib.ImplicitComment):
            other_chars += _nonblank(block.comment)
    if not entries and not problems:
        return None
    total = _nonblank(doc.text)
    if suffix not in _BIB_SUFFIXES and (not entries or other_chars > _MAX_OTHER_SHARE * total):
        return None
    maker = EntryMaker(doc.source, LAYOUT, "field")
    maker.problems.extend(problems)
    for entry in entries:
        maker.add(_record(entry))
    return maker.result()


def _record(entry: bib.Entry) -> Record:
    fields: list[Field] = []
    values = {item.key.lower(): item.value for item in entry.fields}
    archive = _text(values.get("archiveprefix") or values.get("eprinttype")).strip().lower()
    for item in entry.fields:
        name = item.key.lower()
        raw = _text(item.value)
        if name in _NAME_FIELDS:
            fields.append(make_field(name, [_decode(n) for n in _split_names(raw)], raw))
        elif name in _DECODED_FIELDS:
            fields.append(make_field(name, _decode(raw), raw))
        elif name.startswith("bib") or name == "timestamp":
            fields.append(Field(name, raw, "other"))  # DBLP's own record: biburl, bibsource
        elif name == "eprint" and archive and archive != "arxiv":
            fields.append(Field(f"eprint ({archive})", raw, "other"))
        elif name == "volume" and _text(values.get("journal")).strip().lower() in _CORR_JOURNALS:
            volume = raw.strip()
            fields.append(
                Field(name, volume[4:] if volume.lower().startswith("abs/") else raw, "id")
            )
        else:
            fields.append(make_field(name, raw))
    fields.append(Field("key", entry.key, "other"))
    line = entry.start_line + 1 if entry.start_line is not None else None
    source_text = (entry.raw or "")[:BLOCK_TEXT_MAX] or None
    return Record(fields, line=line, source_text=source_text, link=_link(values))


def _link(values: dict[str, Any]) -> str | None:
    """The entry's own link for a person to follow: url, a \\url in a note, the DOI."""
    for name in _LINK_FIELDS:
        text = _text(values.get(name)).strip()
        if not text:
            continue
        macro = _URL_MACRO_RE.search(text)
        if macro is not None:
            return macro.group(1).strip()
        if name in ("url", "doi", "pdf", "link") and "\\" not in text:
            return text
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _decode(text: str) -> str:
    """LaTeX to text, math kept; braces just removed when pylatexenc cannot read it."""
    if len(text) > _DECODE_MAX or _LATEX_CHARS_RE.search(text) is None:
        return _BRACES_RE.sub("", text)
    try:
        walker = latexwalker.LatexWalker(
            _BARE_PERCENT_RE.sub(r"\\%", text), latex_context=_WALKER_CONTEXT, tolerant_parsing=True
        )
        nodes, _, _ = walker.get_latex_nodes()
        return _DECODER.nodelist_to_text(nodes)
    except (Exception, RecursionError):  # pylatexenc raises assorted errors on bad TeX
        return _BRACES_RE.sub("", text)


def _split_names(text: str) -> list[str]:
    """BibTeX's name list: split on `and` outside braces (`{Barnes and Noble}` is one)."""
    names: list[str] = []
    depth, start, index = 0, 0, 0
    lower = text.lower()
    while index < len(text):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif (
            depth == 0
            and char.isspace()
            and lower.startswith("and", index + 1)
            and index + 4 < len(text)
            and text[index + 4].isspace()
        ):
            names.append(text[start:index])
            index += 4
            start = index
            continue
        index += 1
    names.append(text[start:])
    return [" ".join(name.split()) for name in names if name.strip()]


def _nonblank(text: str) -> int:
    return len(text) - sum(text.count(space) for space in " \t\n\r")

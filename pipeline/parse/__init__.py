"""Parse stage: digest files under <raw>/digests -> DigestEntry, one ParsedDigest per file.

What a file is, is decided by its content (the suffix is a hint), never asked for:

    hf_json       Hugging Face daily-papers JSON (hf_json.py)
    csv, json, jsonl, bibtex, feed
                  record-shaped files: one entry per record (records.py and its readers)
    newsletter    numbered newsletter with bold-labelled fields (newsletter.py)
    heading_link  `## Title` + `[译名](arXiv link)` + abstract, exactly (heading_link.py)
    markdown, html, text
                  anything else, read into one document tree (tree.py) from which the
                  entries are extracted by one set of rules (extract.py, titles.py)

Bad input never raises: it becomes a Problem naming the file (and line), and the other
files and entries are still read. decode.py turns bytes into text. docs/formats.md lists
what is read from each format.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.model import ParsedDigest, Problem
from pipeline.parse.decode import MAX_DIGEST_BYTES, read_digest_text
from pipeline.parse.document import LayoutResult, TextDoc, parse_problem
from pipeline.parse.extract import parse_tree
from pipeline.parse.frame import ENTRY_SCHEMA, entries_frame
from pipeline.parse.heading_link import parse_heading_link
from pipeline.parse.hf_json import as_hf_dump, parse_hf_dump, read_json
from pipeline.parse.markdown import first_date
from pipeline.parse.newsletter import parse_newsletter
from pipeline.parse.records import read_records
from pipeline.parse.tree import html_tree, markdown_tree, text_tree
from pipeline.store import DIGESTS_SUBDIR, path_name

__all__ = [
    "ENTRY_SCHEMA",
    "MAX_DIGEST_BYTES",
    "SUPPORTED_SUFFIXES",
    "DigestJob",
    "entries_frame",
    "iter_digests",
    "list_digests",
    "parse_all",
    "parse_digest",
    "problems_of",
    "summary_line",
]

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdx", ".rmd"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
# The suffix is a hint: what a file is decides by its content (a .txt may be Markdown).
SUPPORTED_SUFFIXES = frozenset(
    {
        *MARKDOWN_SUFFIXES, *HTML_SUFFIXES, ".txt", ".text", ".json", ".jsonl", ".ndjson",
        ".csv", ".tsv", ".tab", ".bib", ".bibtex", ".xml", ".rss", ".atom", ".eml",
    }
)  # fmt: skip
_HTML_START_RE = re.compile(r"\s*(?:<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)
# Markdown constructs a plain-text file does not have: a heading, a link, a table row, bold.
# A `# ` line alone is not one: in a text file it is a comment. Link text holds no `[`, so
# that a line of 200,000 `[` is one linear scan, not a quadratic one.
_MARKDOWN_SIGNS_RE = re.compile(
    r"^#{2,6} \S|\[[^\[\]\n]*\]\([^)\n]*\)|^\s*\|.*\|\s*$|\*\*[^*\n]+\*\*", re.M
)
HEADER_MAX_LINES = 30  # a digest's date, when its text gives one, is near the top
_STARTS_LIKE_JSON_RE = re.compile(r"\s*[\[{]")
_NOT_A_DIGEST = (
    "JSON, but not a Hugging Face daily-papers dump (no items with paper.id or paper.title); "
    "read as plain text instead"
)
_FOLDER_SYMLINK = (
    "a symlink to the folder {target}: not followed (a link can loop or lead out of the "
    "digests folder); move or copy the folder in, or link its files one by one"
)
_ESCAPED_NAME = (
    "read fine; informational: the file name is not UTF-8 (another system's encoding?); "
    "its bytes that are not are escaped as \\xNN in the tables"
)


def parse_all(raw_dir: Path) -> list[ParsedDigest]:
    """Every digest under <raw_dir>/digests (recursively), sorted by relative path."""
    return list(iter_digests(raw_dir))


def iter_digests(raw_dir: Path, only: Collection[str] | None = None) -> Iterator[ParsedDigest]:
    """`parse_all` one file at a time, so a caller can keep only what it needs of each;
    with `only`, just the files of these names (relative to the raw folder, as entries
    name their digest)."""
    for job in list_digests(raw_dir, only):
        yield job.parse()


@dataclass(frozen=True)
class DigestJob:
    """One file to parse, or, with `problem` (kind, message), one that is not parsed: its
    result is a placeholder reporting the problem. Picklable, for parse workers."""

    source: str  # as entries and problems name the file
    path: Path
    raw_dir: Path
    problem: tuple[str, str] | None = None

    def parse(self) -> ParsedDigest:
        if self.problem is not None:
            return _placeholder(self.source, *self.problem)
        return parse_digest(self.path, self.raw_dir)


def list_digests(raw_dir: Path, only: Collection[str] | None = None) -> list[DigestJob]:
    """What `iter_digests` parses, in its order, without parsing anything yet.

    Files of other types, unreadable folders, and a missing or empty digests folder are
    listed as placeholders that report a problem, so that nothing is passed over silently.
    """
    digests_dir = raw_dir / DIGESTS_SUBDIR
    if not digests_dir.is_dir():
        message = f"no digests folder at {digests_dir}"
        return [DigestJob(DIGESTS_SUBDIR, digests_dir, raw_dir, ("missing_folder", message))]
    jobs: list[DigestJob] = []

    def report_walk_error(error: OSError) -> None:
        path = Path(error.filename or digests_dir)
        problem = ("unreadable", f"cannot list: {error.strerror}")
        jobs.append(DigestJob(_source(path, raw_dir), path, raw_dir, problem))

    for folder, subfolders, names in os.walk(digests_dir, onerror=report_walk_error):
        for name in subfolders:  # os.walk lists a symlinked folder here and does not enter it
            if os.path.islink(path := Path(folder, name)):
                message = _FOLDER_SYMLINK.format(target=path_name(Path(os.readlink(path))))
                problem = ("folder_symlink", message)
                jobs.append(DigestJob(_source(path, raw_dir), path, raw_dir, problem))
        for name in names:
            path = Path(folder, name)
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                jobs.append(DigestJob(_source(path, raw_dir), path, raw_dir))
            else:
                supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
                problem = ("unsupported_file", f"not a digest file type ({supported}); skipped")
                jobs.append(DigestJob(_source(path, raw_dir), path, raw_dir, problem))
    if not jobs:
        message = f"{digests_dir} holds no files"
        return [DigestJob(DIGESTS_SUBDIR, digests_dir, raw_dir, ("no_digests", message))]
    jobs.sort(key=lambda job: job.source)
    return [job for job in jobs if only is None or job.source in only]


def parse_digest(path: Path, raw_dir: Path) -> ParsedDigest:
    """Read one digest file. Never raises for bad input: problems are returned instead."""
    source = _source(path, raw_dir)
    decoded = read_digest_text(path, source)
    named = path.relative_to(raw_dir) if path.is_relative_to(raw_dir) else path
    if any("\udc80" <= char <= "\udcff" for char in str(named)):  # os.fsdecode's escapes
        decoded.problems.insert(0, parse_problem(source, "file_name", _ESCAPED_NAME))
    if decoded.text is None:
        return ParsedDigest(source, None, None, [], decoded.problems, decoded.size_bytes)
    doc = TextDoc(source, decoded.text)
    result, text_date = _parse_layout(doc, path.suffix.lower())
    problems = decoded.problems + result.problems
    name_date = first_date(path.name) or first_date(source)
    if name_date and text_date and name_date != text_date:
        message = f"file name says {name_date}, the digest says {text_date}; using the name"
        problems.append(parse_problem(source, "date_conflict", message))
    digest_date = _apply_date(result, name_date or text_date)
    if not result.entries and not any(p.kind == "not_a_digest" for p in problems):
        message = f"no entries found ({result.layout} layout): no arXiv reference or paper"
        problems.append(parse_problem(source, "no_entries", message))
    return ParsedDigest(
        source, result.layout, digest_date, result.entries, problems, decoded.size_bytes
    )


def problems_of(parsed: list[ParsedDigest]) -> list[Problem]:
    return [problem for digest in parsed for problem in digest.problems]


def summary_line(p: ParsedDigest) -> str:
    """One line per file, e.g. `digests/x.md: newsletter, 2025-01-08, 15 entries
    (15 by title only, 0 invalid IDs), 0 problems`."""
    by_title = sum(entry.id_status == "missing" for entry in p.entries)
    invalid = sum(entry.id_status == "invalid_id" for entry in p.entries)
    when = p.digest_date.isoformat() if p.digest_date else "no date"
    return (
        f"{p.digest}: {p.layout or 'unreadable'}, {when}, "
        f"{_count(len(p.entries), 'entry', 'entries')} "
        f"({by_title} by title only, {_count(invalid, 'invalid ID', 'invalid IDs')}), "
        f"{_count(len(p.problems), 'problem', 'problems')}"
    )


def _parse_layout(doc: TextDoc, suffix: str) -> tuple[LayoutResult, date | None]:
    """The layout's entries, and the date the digest's own text gives (if any)."""
    json_read = None
    if suffix == ".json" or _STARTS_LIKE_JSON_RE.match(doc.text):
        json_read = read_json(doc.text)
        dump = as_hf_dump(json_read.value) if json_read.error is None else None
        if dump is not None and (dump.has_paper_objects or not _has_records(doc, suffix)):
            return parse_hf_dump(doc.source, dump), dump.date
    records = read_records(doc, suffix)
    if records is not None:
        header = doc.lines[: min(records.header_end, HEADER_MAX_LINES)]
        return records, first_date("\n".join(header))
    if json_read is not None and suffix == ".json":
        # Not a digest we know, or not JSON at all: still look for arXiv references.
        result = parse_tree(doc, text_tree(doc.text), "text")
        if json_read.error is None:
            problem = parse_problem(doc.source, "not_a_digest", _NOT_A_DIGEST)
        else:
            message = f"invalid JSON: {json_read.error}; read as plain text instead"
            problem = parse_problem(doc.source, "invalid_json", message, json_read.error_line)
        result.problems.insert(0, problem)
        return result, None
    result = _parse_document(doc, suffix)
    header = doc.lines[: min(result.header_end, HEADER_MAX_LINES)]
    return result, first_date("\n".join(header))


def _has_records(doc: TextDoc, suffix: str) -> bool:
    return read_records(doc, suffix) is not None


def _parse_document(doc: TextDoc, suffix: str) -> LayoutResult:
    """Markdown (the two seed layouts exactly, when they fit), HTML or plain text, read
    into one document tree (tree.py)."""
    if suffix in HTML_SUFFIXES or _HTML_START_RE.match(doc.text):
        return parse_tree(doc, html_tree(doc.text), "html")
    if suffix in MARKDOWN_SUFFIXES or _MARKDOWN_SIGNS_RE.search(doc.text) is not None:
        seed = parse_newsletter(doc) or parse_heading_link(doc)
        return seed or parse_tree(doc, markdown_tree(doc.text), "markdown")
    return parse_tree(doc, text_tree(doc.text), "text")


def _apply_date(result: LayoutResult, digest_date: date | None) -> date | None:
    """Give every entry the digest's date; without one, entries keep their own (HF JSON
    items carry the day they were listed), and the digest has a date if they all agree."""
    if digest_date is not None:
        for entry in result.entries:
            entry.digest_date = digest_date
        return digest_date
    own_dates = {entry.digest_date for entry in result.entries}
    return own_dates.pop() if len(own_dates) == 1 else None


def _source(path: Path, raw_dir: Path) -> str:
    """The path as problems and entries name it: relative to the raw folder, POSIX, bytes
    that are not UTF-8 escaped (store.path_name)."""
    return path_name(path.relative_to(raw_dir) if path.is_relative_to(raw_dir) else path)


def _placeholder(source: str, kind: str, message: str) -> ParsedDigest:
    return ParsedDigest(source, None, None, [], [parse_problem(source, kind, message)])


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"

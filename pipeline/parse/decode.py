"""Digest file -> text: size cap, encodings Chinese digests really use, line ends.

Everything that can go wrong here is an expected property of the input, so it comes
back as a Problem (and no text when the file cannot be read), never as an exception.
A byte-order mark and CRLF line ends are harmless; they are still recorded (kinds `bom`,
`crlf`, messages starting "read fine;") so that an analyst can see what was normalised,
since the problems table has no severity column to mark them as notes.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.model import Problem
from pipeline.parse.document import parse_problem

MAX_DIGEST_BYTES = 64 * 1024 * 1024  # larger files are refused unread
# Checked in this order: the UTF-32 marks begin with the UTF-16 ones.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Tried when a file without a byte-order mark is not UTF-8: simplified Chinese (GB18030
# covers GBK and GB2312), then traditional. GB18030 accepts almost any Big5 byte pair
# (as nonsense), so when both decode, the one that reads as Chinese wins: the one with
# more full-width punctuation, which every Chinese digest is full of. Ties go to GB18030.
FALLBACK_ENCODINGS = ("gb18030", "big5")
_CHINESE_PUNCTUATION = "，。、：；？！（）「」《》“”"


@dataclass
class DecodedDigest:
    text: str | None  # None: nothing could be read, the problems say why
    size_bytes: int
    problems: list[Problem] = field(default_factory=list)


def read_digest_text(path: Path, source: str, limit: int = MAX_DIGEST_BYTES) -> DecodedDigest:
    """Read and decode one digest file; `source` names it in problems.

    Only a regular file is opened (a FIFO would block, a device never end), and never more
    than `limit` bytes are read from it, whatever its size says (/proc's files say 0).
    """
    try:
        status = os.stat(path)  # (follows a symlink: what it points at is what is read)
        kind = _file_kind(status.st_mode)
        if kind is not None:
            return _not_a_file(source, kind)
        if status.st_size > limit:
            message = f"{status.st_size} bytes, {_over(limit)}"
            return _unreadable(source, status.st_size, "too_large", message)
        # O_NONBLOCK: should the path have become a FIFO since, opening does not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        with open(fd, "rb", closefd=True) as handle:
            kind = _file_kind(os.fstat(fd).st_mode)
            if kind is not None:
                return _not_a_file(source, kind)
            data = handle.read(limit + 1)
    except OSError as error:
        return _unreadable(source, 0, "unreadable", f"cannot read the file: {error.strerror}")
    if len(data) > limit:
        message = f"more than {limit} bytes read, {_over(limit)}; not read further"
        return _unreadable(source, len(data), "too_large", message)
    return decode_digest_bytes(data, source)


_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def _not_a_file(source: str, kind: str) -> DecodedDigest:
    message = f"{kind}, not a regular file: not read"
    return _unreadable(source, 0, "not_a_file", message)


def _over(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"over the {limit // (1024 * 1024)} MiB cap"
    return f"over the cap of {limit} bytes"


def decode_digest_bytes(data: bytes, source: str) -> DecodedDigest:
    size = len(data)
    if not data or data.isspace():  # (isspace stops at the first other byte; strip copies)
        return _unreadable(source, size, "empty", "the file is empty")
    problems: list[Problem] = []
    encoding = next((name for bom, name in _BYTE_ORDER_MARKS if data.startswith(bom)), None)
    if encoding is None and b"\x00" in data:
        return _unreadable(source, size, "binary", "binary file (NUL bytes), not a text digest")
    if encoding is not None:
        text = _decode_with_mark(data, encoding, source, problems)
    else:
        text = _decode_without_mark(data, source, problems)
    if text is None:
        return DecodedDigest(None, size, problems)
    if "\r" in text:
        message = "read fine; informational: CRLF (or CR) line ends, read as LF"
        problems.append(parse_problem(source, "crlf", message))
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text or text.isspace():
        problems.append(parse_problem(source, "empty", "the file holds no text"))
        return DecodedDigest(None, size, problems)
    return DecodedDigest(text, size, problems)


def _decode_with_mark(
    data: bytes, encoding: str, source: str, problems: list[Problem]
) -> str | None:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        problems.append(
            parse_problem(
                source, "undecodable", f"starts with a {encoding} byte-order mark but {error}"
            )
        )
        return None
    if encoding == "utf-8-sig":
        message = "read fine; informational: a UTF-8 byte-order mark at the start, ignored"
        problems.append(parse_problem(source, "bom", message))
    else:
        problems.append(
            parse_problem(source, "encoding", f"decoded as {encoding} (byte-order mark), not UTF-8")
        )
    return text


def _decode_without_mark(data: bytes, source: str, problems: list[Problem]) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad_byte = error.start
    bad_line = data.count(b"\n", 0, bad_byte) + 1
    decoded = [(name, text) for name in FALLBACK_ENCODINGS if (text := _decode_or_none(data, name))]
    if not decoded:
        # Losing a whole digest to a stray byte would lose every good entry in it: the
        # bad bytes become U+FFFD and the rest is read.
        tried = ", ".join(("utf-8", *FALLBACK_ENCODINGS))
        message = (
            f"not valid text in any of {tried} (first bad byte at line {bad_line}); "
            "read as UTF-8 with the bad bytes replaced by U+FFFD"
        )
        problems.append(parse_problem(source, "undecodable", message, bad_line))
        return data.decode("utf-8", errors="replace")
    encoding, text = max(decoded, key=lambda pair: _punctuation_count(pair[1]))
    message = f"not valid UTF-8 (byte {bad_byte}, line {bad_line}); decoded as {encoding}"
    problems.append(parse_problem(source, "encoding", message, bad_line))
    return text


def _decode_or_none(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _punctuation_count(text: str) -> int:
    return sum(text.count(mark) for mark in _CHINESE_PUNCTUATION)


def _unreadable(source: str, size: int, kind: str, message: str) -> DecodedDigest:
    return DecodedDigest(None, size, [parse_problem(source, kind, message)])

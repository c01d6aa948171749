"""Read a Python literal (the repr of a dict) as ast.literal_eval would, but fast.

Older Hugging Face dumps store each paper as `str(dict)`. ast.literal_eval needs about
0.8 ms for one such 4 kB item, too slow for big digests, so the common case is rewritten
to JSON (quotes, True/False/None, escapes) and read with json. Anything the rewrite
cannot carry over exactly goes to ast.literal_eval instead. Never eval.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

# A quoted string (either quote) or a name. Names need no word boundary: outside strings
# only True/False/None are portable, and anything else sends the text to literal_eval.
_TOKEN_RE = re.compile(
    r"""'([^'\\\n]*(?:\\.[^'\\\n]*)*)'|"([^"\\\n]*(?:\\.[^"\\\n]*)*)"|([A-Za-z_]\w*)""",
    re.DOTALL,
)
# Inside a string: an escape, or a double quote that JSON needs escaped.
_BODY_RE = re.compile(
    r'\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))|"', re.DOTALL
)
_SAME_ESCAPE = {"\\": "\\\\", '"': '\\"', "'": "'", "n": "\\n", "r": "\\r", "t": "\\t"}
_JSON_NAMES = {"True": "true", "False": "false", "None": "null"}
_SURROGATES = range(0xD800, 0xE000)  # json would join a pair of them; Python keeps two


class _NotPortable(ValueError):
    """The literal holds something the JSON rewrite would not read the same way."""


def read_python_literal(text: str) -> Any:
    """Value of the Python literal `text`; raises what ast.literal_eval raises."""
    try:
        return json.loads(_TOKEN_RE.sub(_json_token, text))
    except ValueError:  # not portable, or not valid as JSON: let Python decide
        return ast.literal_eval(text)


def _json_token(match: re.Match[str]) -> str:
    single_quoted, double_quoted, name = match.groups()
    if name is not None:
        if name not in _JSON_NAMES:  # true, NaN, b'' prefixes, 1e5's e5: let Python decide
            raise _NotPortable(name)
        return _JSON_NAMES[name]
    body = single_quoted if single_quoted is not None else double_quoted
    if "\\" in body or '"' in body:
        body = _BODY_RE.sub(_json_escape, body)
    return '"' + body + '"'


def _json_escape(match: re.Match[str]) -> str:
    hex2, hex4, hex8, other = match.groups()
    if match[0] == '"':
        return '\\"'
    if hex2 is not None:
        return "\\u00" + hex2
    code = int(hex4 or hex8 or "0", 16) if other is None else None
    if code is not None:
        if code in _SURROGATES or code > 0x10FFFF:
            raise _NotPortable(match[0])
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)
    mapped = _SAME_ESCAPE.get(other)
    if mapped is None:  # \a, octal, \N{...}, line continuation, unknown escapes
        raise _NotPortable(match[0])
    return mapped

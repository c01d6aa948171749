"""How arXiv's search backend analyses titles, as far as the stand-in imitates it.

docs/arxiv.md §6: a `ti:` query is matched against two analyses of the title, and a
document matches when either does:

* `title` -- the standard analyzer: UAX#29 words (`let's`, `qwen2.5`, `v3.2`, `pi_0` stay
  single words; hyphens, slashes and TeX markup break words), lower case, no stopwords;
* `title.english` -- the English analyzer: the same words, the possessive `'s` stripped,
  English stopwords removed but leaving their position as a gap, Porter-stemmed.

The query's own text goes through the same analyzer as the field it is matched against, so
a quoted phrase is not literal: "a survey of X" matches "The Survey on X" through the
English field, and "modelling" matches "modeling". This is arXiv's behaviour, not our
client's: the stand-in must be able to disagree with `pipeline.fetch.titles`.

Words are the Unicode default word boundaries of the `regex` module (UAX#29, as Lucene's
standard tokenizer splits: `dog's` one word, each CJK ideograph a word of its own). Accents
are kept: arXiv's title analyzers have no ASCII folding (docs/arxiv.md §6), so
`schrodinger` does not find "Schrödinger". TeX accent commands become the accented letter
first, as arXiv's indexer turns `Koll\'ar` into `Kollár` (docs/arxiv.md §6).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import regex

# Splits text at UAX#29 word boundaries ((?w): Unicode default word boundaries).
_BOUNDARY = regex.compile(r"(?w)\b")
# TeX accent commands and the combining mark each stands for: \'a, {\"o}, \c{c}, \v s ...
_TEX_ACCENT_MARKS = {
    "'": "\u0301", '"': "\u0308", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a",
}  # fmt: skip
_TEX_ACCENT = re.compile(r"\{?\\(?:([.'\"`^~=])\s*|([uvHckr])(?:\s+|(?=\{)))\{?\\?([A-Za-z])\}?\}?")


def _tex_accents(text: str) -> str:
    """`text` with TeX accent commands as accented letters (NFC); a dotless `\\i` is an i."""
    if "\\" not in text:
        return text
    marked = _TEX_ACCENT.sub(lambda m: m[3] + _TEX_ACCENT_MARKS[m[1] or m[2]], text)
    return unicodedata.normalize("NFC", marked)


# Lucene's English stop set, which the English analyzer removes (positions kept as gaps).
_STOP_TEXT = """a an and are as at be but by for if in into is it no not of on or such that the
    their then there these they this to was will with"""
STOPWORDS = frozenset(_STOP_TEXT.split())

Positions = tuple[tuple[int, str], ...]


@functools.lru_cache(maxsize=16384)
def standard_words(text: str) -> tuple[str, ...]:
    """UAX#29 words (pieces between word boundaries holding a letter or digit), lower case,
    accents kept."""
    pieces = _BOUNDARY.split(_tex_accents(text))
    return tuple(p.lower() for p in pieces if any(c.isalnum() for c in p))


@functools.lru_cache(maxsize=16384)
def english_positions(text: str) -> Positions:
    """(position, stem) of the English analysis; stopwords leave their position empty."""
    found: list[tuple[int, str]] = []
    for position, word in enumerate(standard_words(text)):
        word = word.removesuffix("'s").removesuffix("’s")  # the possessive filter
        if word and word not in STOPWORDS:
            found.append((position, porter_stem(word)))
    return tuple(found)


def _standard_positions(text: str) -> Positions:
    return tuple(enumerate(standard_words(text)))


def _phrase_in(doc: Positions, query: Positions) -> bool:
    """Every query term at the same offset from the first one, as a phrase query does."""
    if not query:
        return False
    at = {(p, w) for p, w in doc}
    first = query[0][0]
    return any(
        all((start + p - first, w) in at for p, w in query)
        for start, word in doc
        if word == query[0][1]
    )


def title_matches(title: str, query_text: str) -> bool:
    """Whether a `ti:` term (one word or a quoted phrase) matches `title` on arXiv."""
    if _phrase_in(_standard_positions(title), _standard_positions(query_text)):
        return True
    return _phrase_in(english_positions(title), english_positions(query_text))


# --- Porter's stemmer (M. F. Porter, 1980), as Lucene's PorterStemFilter applies it ------

_VOWELS = frozenset("aeiou")


def _is_consonant(word: str, i: int) -> bool:
    if word[i] in _VOWELS:
        return False
    if word[i] == "y":
        return i == 0 or not _is_consonant(word, i - 1)
    return True


def _measure(stem: str) -> int:
    """m in [C](VC)^m[V]."""
    forms = "".join("c" if _is_consonant(stem, i) else "v" for i in range(len(stem)))
    return len(re.findall(r"v+c+", forms))


def _has_vowel(stem: str) -> bool:
    return any(not _is_consonant(stem, i) for i in range(len(stem)))


def _double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and _is_consonant(word, len(word) - 1)


def _cvc(word: str) -> bool:
    if len(word) < 3:
        return False
    i = len(word) - 1
    return (
        _is_consonant(word, i - 2)
        and not _is_consonant(word, i - 1)
        and _is_consonant(word, i)
        and word[i] not in "wxy"
    )


def _replace(word: str, rules: list[tuple[str, str]], min_measure: int) -> str:
    for suffix, replacement in rules:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem + replacement if _measure(stem) > min_measure else word
    return word


_STEP2 = [
    ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"),
    ("izer", "ize"), ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"),
    ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"),
    ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"),
    ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"),
]  # fmt: skip
_STEP3 = [
    ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"),
    ("ful", ""), ("ness", ""),
]  # fmt: skip
_STEP4_TEXT = "al ance ence er ic able ible ant ement ment ent ion ou ism ate iti ous ive ize"
_STEP4 = sorted(_STEP4_TEXT.split(), key=len, reverse=True)  # the longest suffix decides


@functools.lru_cache(maxsize=16384)
def porter_stem(word: str) -> str:
    """The Porter stem of a lower-case word; words of one or two letters stay as they are."""
    if len(word) <= 2 or not word.isalpha():
        return word
    # step 1a
    if word.endswith(("sses", "ies")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    # step 1b
    if word.endswith("eed"):
        if _measure(word[:-3]) > 0:
            word = word[:-1]
    else:
        for suffix in ("ed", "ing"):
            if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
                word = word[: -len(suffix)]
                if word.endswith(("at", "bl", "iz")):
                    word += "e"
                elif _double_consonant(word) and word[-1] not in "lsz":
                    word = word[:-1]
                elif _measure(word) == 1 and _cvc(word):
                    word += "e"
                break
    # step 1c
    if word.endswith("y") and _has_vowel(word[:-1]):
        word = word[:-1] + "i"
    word = _replace(word, _STEP2, 0)
    word = _replace(word, _STEP3, 0)
    # step 4
    for suffix in _STEP4:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if _measure(stem) > 1 and (suffix != "ion" or stem.endswith(("s", "t"))):
                word = stem
            break
    # step 5
    if word.endswith("e"):
        stem = word[:-1]
        if _measure(stem) > 1 or (_measure(stem) == 1 and not _cvc(stem)):
            word = stem
    if word.endswith("ll") and _measure(word) > 1:
        word = word[:-1]
    return word

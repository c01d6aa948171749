"""Title normalisation and comparison: what "the same title" means (docs/reconcile.md).

Normalisation removes what a digest or arXiv changes without changing the title: Unicode
forms, case, whitespace and line wraps, punctuation, TeX markup and accents. Comparison then
works at two levels: a character score for "how close" and a word-level diff for "what
changed", because a near miss such as "Attention Is Not All You Need" scores 93 against
"Attention Is All You Need" and is still a different paper.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from pipeline.reconcile.rules import (
    MIN_HEAD_CHARS,
    MIN_SHORTENED_CHARS,
    SPELLING_BLOCK_SIMILARITY,
)

# --- normalisation ------------------------------------------------------------------


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# TeX commands whose argument is the text (formatting, fonts, accents over a braced letter).
_TEX_DROP_COMMANDS = _word_set(
    """emph textbf textit texttt textsc textsf textrm textup textnormal textmd text mbox hbox
    mathrm mathbf mathit mathcal mathbb mathfrak mathsf mathtt mathscr mathnormal boldsymbol bm
    operatorname underline overline widehat widetilde hat tilde bar vec dot ddot acute grave
    check breve textsuperscript textsubscript left right big bigl bigr displaystyle textstyle
    scriptstyle it bf rm em sc tt sf sl up"""
)
# TeX letters without a Unicode decomposition, and the Greek letters, by command name.
_TEX_LETTERS = {
    "ss": "ss",
    "o": "o",
    "l": "l",
    "ae": "ae",
    "oe": "oe",
    "aa": "a",
    "i": "i",
    "j": "j",
    **{
        name: unicodedata.lookup(f"GREEK SMALL LETTER {name.upper()}")
        for name in _word_set(
            """alpha beta gamma delta epsilon zeta eta theta iota kappa lamda mu nu xi omicron
            pi rho sigma tau upsilon phi chi psi omega"""
        )
    },
    "lambda": "λ",
    "varepsilon": "ε",
    "vartheta": "θ",
    "varphi": "φ",
    "varrho": "ρ",
    "varsigma": "σ",
    "varpi": "π",
}
# Math symbols are punctuation for comparison purposes; "\times" must not become a word.
_TEX_SYMBOLS = _word_set(
    """ldots dots cdots cdot times to rightarrow leftarrow leftrightarrow mapsto infty pm mp
    leq geq le ge neq approx sim propto in notin subset subseteq cup cap forall exists partial
    nabla sum prod int quad qquad star ast circ bullet prime"""
)
# Unicode letters that NFKD does not split into base letter + mark.
_LETTER_FOLDS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "þ": "th", "æ": "ae", "œ": "oe", "ŀ": "l"}
)

_TEX_MARKERS = re.compile(r"[\\${}]")
_TEX_LINE_BREAK = re.compile(r"\\\\")
_TEX_SYMBOL_ACCENT = re.compile(r"""\\[`'^"~=.](?=\s*[{\w])""")
_TEX_LETTER_ACCENT = re.compile(r"\\[uvhcdbtrk](?:\s*(?=\{)|\s+(?=\w))")
_TEX_COMMAND = re.compile(r"\\([a-z]+)\*?")
_TEX_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)
# '+' stays: "REINFORCE++" and "C++" name something other than "REINFORCE" and "C".
_NOT_TITLE_CHAR = re.compile(r"[^\w+]+|_+")


def _tex_command(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _TEX_DROP_COMMANDS:
        return ""
    if name in _TEX_SYMBOLS:
        return " "
    return _TEX_LETTERS.get(name, f" {name} ")


def _strip_tex(text: str) -> str:
    text = _TEX_LINE_BREAK.sub(" ", text)
    text = _TEX_SYMBOL_ACCENT.sub("", text)  # the accented letter follows; the accent goes
    text = _TEX_LETTER_ACCENT.sub("", text)
    text = _TEX_COMMAND.sub(_tex_command, text)
    text = _TEX_ESCAPE.sub(r"\1", text)  # \& \% \_ \{ -> the character itself
    # Math delimiters go without a space ("$k$-NN", "Transformer$^2$"); braces too,
    # so "Sch{\"o}n" and "{BERT}" keep their words whole.
    return text.replace("$", "").replace("{", "").replace("}", "")


@lru_cache(maxsize=1 << 18)
def normalize_title(title: str) -> str:
    """The form titles are compared in: lower-case words separated by single spaces.

    NFKC and case-folding first (so TeX commands are matched case-insensitively), then TeX
    (`$...$`, `\\emph{..}`, accents such as `\\'e`, braces), then accents and other marks are
    dropped, and everything that is neither a letter, a digit nor '+' becomes a space.
    Cached: the same titles recur across digests and between the two stages that ask.
    """
    text = unicodedata.normalize("NFKC", title).casefold()
    if _TEX_MARKERS.search(text):
        text = _strip_tex(text)
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
        text = unicodedata.normalize("NFC", text.translate(_LETTER_FOLDS))
    return " ".join(_NOT_TITLE_CHAR.sub(" ", text).split())


_ASCII_WORD_CHAR = re.compile(r"[A-Za-z0-9]")


def has_words(title: str) -> bool:
    """Whether `normalize_title(title)` is non-empty, without normalising the usual title:
    an ASCII letter or digit outside TeX survives every step."""
    if _ASCII_WORD_CHAR.search(title) and not _TEX_MARKERS.search(title):
        return True
    return bool(normalize_title(title))


def _compact(normalized: str) -> str:
    return normalized.replace(" ", "")


def titles_equal(a: str, b: str) -> bool:
    """Equal after normalisation, also when only word boundaries differ ("pre-training")."""
    norm_a, norm_b = normalize_title(a), normalize_title(b)
    return norm_a == norm_b or _compact(norm_a) == _compact(norm_b)


def title_similarity(a: str, b: str) -> float:
    """0..100: rapidfuzz's plain `fuzz.ratio` (normalised Indel similarity) of the normalised
    titles.

    Chosen over the token/partial scorers on purpose: `token_set_ratio` and `partial_ratio`
    score 100 when one title is contained in the other ("X" vs "X for Y"), and
    `token_sort_ratio` ignores word order, so all three score some different papers 100. `ratio`
    counts every inserted or deleted character, is symmetric and needs no tuning.
    """
    return fuzz.ratio(normalize_title(a), normalize_title(b))


# --- word-level comparison ----------------------------------------------------------

TitleVerdict = Literal["equal", "spelling", "words", "critical"]

# A change in one of these flips or quantifies the claim: "Not All You Need", "Part 2".
_NEGATIONS = _word_set(
    "not no non without never nor neither none nothing cannot isn aren don doesn didn won"
)
_NUMBER_WORDS = _word_set(
    """zero one two three four five six seven eight nine ten eleven twelve twenty thirty
    hundred thousand million billion trillion first second third fourth fifth single double
    triple half"""
)


@dataclass(frozen=True, slots=True)
class TitleComparison:
    """How two titles differ.

    verdict:
      equal    -- the same after normalisation (also when only word boundaries differ:
                  "pre-training" / "pretraining");
      spelling -- every changed stretch is a close respelling of the same words
                  ("modelling" / "modeling", "LLM" / "LLMs"), no digits or negations touched;
      words    -- whole words added, removed or replaced;
      critical -- a negation or a number (digits or number words) was added, removed or
                  changed: the titles claim different things.
    """

    score: float  # title_similarity, 0..100
    verdict: TitleVerdict
    detail: str  # what changed, for a person


_DIGIT = re.compile(r"\d")


def _has_critical_change(old: list[str], new: list[str]) -> str | None:
    old_neg = sorted(t for t in old if t in _NEGATIONS)
    new_neg = sorted(t for t in new if t in _NEGATIONS)
    if old_neg != new_neg:
        return f"negation differs ({' '.join(old_neg) or '-'} / {' '.join(new_neg) or '-'})"
    old_num = [t for t in old if t in _NUMBER_WORDS or _DIGIT.search(t)]
    new_num = [t for t in new if t in _NUMBER_WORDS or _DIGIT.search(t)]
    if old_num != new_num:
        return f"number differs ({' '.join(old_num) or '-'} / {' '.join(new_num) or '-'})"
    return None


def _changed_blocks(a: list[str], b: list[str]) -> list[tuple[list[str], list[str]]]:
    """The stretches between the common words, as (words of a, words of b) pairs."""
    blocks: list[tuple[list[str], list[str]]] = []
    pending_a: list[str] = []
    pending_b: list[str] = []
    for op in Indel.opcodes(a, b):
        if op.tag == "equal":
            if pending_a or pending_b:
                blocks.append((pending_a, pending_b))
                pending_a, pending_b = [], []
            continue
        pending_a += a[op.src_start : op.src_end]
        pending_b += b[op.dest_start : op.dest_end]
    if pending_a or pending_b:
        blocks.append((pending_a, pending_b))
    return blocks


@lru_cache(maxsize=1 << 16)
def compare_titles(a: str, b: str) -> TitleComparison:
    """Compare two titles as written (normalised here). Symmetric in its verdict.
    Cached: the same digest title meets the same arXiv title in every digest listing it."""
    norm_a, norm_b = normalize_title(a), normalize_title(b)
    score = fuzz.ratio(norm_a, norm_b)
    if titles_equal(a, b):
        return TitleComparison(score, "equal", "equal")
    verdict: TitleVerdict = "spelling"
    details: list[str] = []
    for old, new in _changed_blocks(norm_a.split(), norm_b.split()):
        critical = _has_critical_change(old, new)
        if critical:
            return TitleComparison(score, "critical", critical)
        joined_old, joined_new = "".join(old), "".join(new)
        if old and new and fuzz.ratio(joined_old, joined_new) >= SPELLING_BLOCK_SIMILARITY:
            details.append(f"{' '.join(old)} / {' '.join(new)}")
            continue
        verdict = "words"
        if not new:
            details.append(f"removed: {' '.join(old)}")
        elif not old:
            details.append(f"added: {' '.join(new)}")
        else:
            details.append(f"{' '.join(old)} / {' '.join(new)}")
    return TitleComparison(score, verdict, "; ".join(details))


def _head(title: str) -> str:
    """The part before the first colon ("Sa2VA" in "Sa2VA: Marrying SAM2 ..."), compacted."""
    head, colon, _ = title.partition(":")
    return _compact(normalize_title(head)) if colon else ""


def titles_related(a: str, b: str) -> bool:
    """Whether two differing titles plausibly name one paper renamed or shortened: they share
    the name before the colon, one is a whole-word stretch of the other, or one is the
    other's acronym (`PPO`, `Proximal Policy Optimization Algorithms`)."""
    head_a = _head(a)
    if len(head_a) >= MIN_HEAD_CHARS and head_a == _head(b):
        return True
    norm_a, norm_b = normalize_title(a), normalize_title(b)
    shorter, longer = sorted((norm_a, norm_b), key=len)
    if len(shorter) >= MIN_SHORTENED_CHARS and f" {shorter} " in f" {longer} ":
        return True
    return is_acronym_of(a, b) or is_acronym_of(b, a)


# An acronym as digests write a paper's nickname: one word of three to ten letters, two or
# more of them capitals (`PPO`, `DDPM`, `DiT`); two letters would spell too many titles.
_ACRONYM = re.compile(r"(?=(?:[a-z]*[A-Z]){2})[A-Za-z]{3,10}")
_ACRONYM_SKIPPED = frozenset({"a", "an", "the", "of", "for", "from", "with", "to", "in", "on"})


def is_acronym_of(short: str, title: str) -> bool:
    """Whether `short` spells the initials of consecutive words of `title`, its capitals at
    least (`PPO` of `Proximal Policy Optimization Algorithms`, `RLHF` of `... Reinforcement
    Learning from Human Feedback`: little words may be skipped)."""
    short = short.strip()
    if not _ACRONYM.fullmatch(short):
        return False
    letters = short.lower()
    words = normalize_title(title).split()
    for start in range(len(words)):
        i, k = start, 0
        while i < len(words) and k < len(letters):
            if words[i][0] == letters[k]:
                k += 1
            elif words[i] not in _ACRONYM_SKIPPED or i == start:
                break
            i += 1
        if k == len(letters):
            return True
    return False


# `Title (GPT-3)`: a name in brackets after a title. Not one that makes it another paper or
# another version of it: `(Part 2)`, `(Extended Abstract)`, `(v2)`.
_NICKNAME = re.compile(r"^(?P<title>.+?)\s*\((?P<name>[^()]{2,40})\)\s*$")
_NOT_NICKNAMES = frozenset(
    {
        "part", "vol", "volume", "extended", "abstract", "version", "technical", "report",
        "student", "short", "full", "supplementary", "appendix", "preprint", "draft", "paper",
        "revised", "corrected", "erratum", "corrigendum", "long", "invited", "talk", "thesis",
    }
)  # fmt: skip


def without_nickname(title: str) -> str | None:
    """The title without a nickname in brackets at its end (`... Learners (GPT-3)`), or None
    when it has none. A nickname is one to three words, none a number or a word that names a
    part or version of a paper."""
    found = _NICKNAME.match(title)
    if found is None:
        return None
    words = found["name"].split()
    if not 1 <= len(words) <= 3 or not found["name"][0].isupper():
        return None
    if any(w.lower().strip(".,") in _NOT_NICKNAMES or w.isdigit() for w in words):
        return None
    if re.fullmatch(r"v\d+", words[0], re.I):
        return None
    return found["title"]

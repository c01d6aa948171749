"""Title normalisation and comparison (pipeline.reconcile.titles)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.reconcile import normalize_title, title_similarity
from pipeline.reconcile.titles import compare_titles, has_words, titles_related

ARXIV_TITLE = "Attention Is All You Need"


@pytest.mark.parametrize(
    ("digest_title", "arxiv_title"),
    [
        # line wrap as in old-format arXiv answers and in newsletters
        (
            "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language\n  Models",
            "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language Models",
        ),
        ("attention is all you need", ARXIV_TITLE),  # case
        ("ATTENTION  IS\tALL YOU NEED ", ARXIV_TITLE),  # case and whitespace
        ("Attention Is All You Need.", ARXIV_TITLE),  # punctuation
        ("Transformer^2: Self-adaptive LLMs", "Transformer$^2$: Self-adaptive LLMs"),  # TeX math
        ("Transformer²: Self-adaptive LLMs", "Transformer$^2$: Self-adaptive LLMs"),  # NFKC
        ("σ-GPTs: A New Approach", "$\\sigma$-GPTs: A New Approach"),  # Greek macro
        ("Learning with \\emph{Noisy} Labels", "Learning with Noisy Labels"),  # \emph{}
        ("Schrödinger Bridges", 'Schr\\"odinger Bridges'),  # TeX accent
        ("Schrödinger Bridges", 'Schr\\"{o}dinger Bridges'),  # accent with braces
        ("Schrodinger Bridges", 'Schr{\\"o}dinger Bridges'),  # folded accent, braced group
        ("Naïve Bayes", "Na\\'{\\i}ve Bayes"),  # accent over dotless i
        (
            "{BERT}: Pre-training of Deep Bidirectional Transformers",
            "BERT: Pre-training of Deep Bidirectional Transformers",
        ),  # braces that protect case in BibTeX
        ("Q&A over Tables", "Q\\&A over Tables"),  # escaped special character
        ("Self–Supervised “Learning” — Revisited", 'Self-Supervised "Learning" - Revisited'),
        ("Ｆｕｌｌｗｉｄｔｈ Title", "Fullwidth Title"),  # NFKC width
        ("Pre-training at Scale", "Pretraining at Scale"),  # only the word boundary differs
        ("Łódź Dataset", "Lodz Dataset"),  # letters NFKD does not decompose
    ],
)
def test_titles_equal_after_normalisation(digest_title: str, arxiv_title: str) -> None:
    assert compare_titles(digest_title, arxiv_title).verdict == "equal"


def test_normal_form_is_lowercase_words_separated_by_single_spaces() -> None:
    assert normalize_title("  Sch\\\"{o}n's $\\mathcal{O}(n)$ \\textbf{Fast}--Sort\n ") == (
        "schon s o n fast sort"
    )
    assert normalize_title("REINFORCE++: A Simple") == "reinforce++ a simple"  # '+' is kept
    assert normalize_title("Efficient $k$-NN Search") == "efficient k nn search"
    assert normalize_title("\\LaTeX{} Tables") == "latex tables"  # unknown command keeps name
    assert normalize_title("Sums $a \\times b$") == "sums a b"  # math symbols are punctuation


@pytest.mark.parametrize(
    ("a", "b", "verdict"),
    [
        ("Attention Is Not All You Need", ARXIV_TITLE, "critical"),  # added negation
        ("GPT-4 Technical Report", "GPT-4o Technical Report", "critical"),  # changed name/number
        ("Part 2: Scaling", "Part 3: Scaling", "critical"),
        ("Two Heads Are Better", "Three Heads Are Better", "critical"),  # number words
        (
            "Large Language Models are Zero-Shot Reasoners",
            "Large Language Models are Reasoners",
            "critical",
        ),
        ("Attention Is All You Need Today", ARXIV_TITLE, "words"),  # whole word added
        ("Attention Is What You Need", ARXIV_TITLE, "words"),  # whole word replaced
        ("Modelling Long Contexts", "Modeling Long Contexts", "spelling"),
        ("Scaling LLM Agents", "Scaling LLMs Agents", "spelling"),
    ],
)
def test_word_level_verdicts(a: str, b: str, verdict: str) -> None:
    assert compare_titles(a, b).verdict == verdict
    assert compare_titles(b, a).verdict == verdict  # symmetric


def test_near_miss_scores_high_yet_is_a_different_title() -> None:
    comparison = compare_titles("Attention Is Not All You Need", ARXIV_TITLE)
    assert comparison.score > 90  # a character scorer alone would accept it
    assert "not" in comparison.detail


def test_similarity_scorer_counts_inserted_words() -> None:
    # ratio, not token_set_ratio/partial_ratio: containment is not equality
    assert title_similarity(ARXIV_TITLE, "Attention Is All You Need for Graphs") < 85
    assert title_similarity("ATTENTION is all\n  you need", ARXIV_TITLE) == 100
    assert title_similarity("Cosmos World Models", "Segment Anything") < 40
    assert title_similarity("A B", "B A") < 100  # word order counts


def test_related_titles_share_a_name_or_are_shortened() -> None:
    assert titles_related("Sa2VA: Marrying SAM2 with LLaVA", "Sa2VA: Dense Grounded Video")
    assert titles_related("Cosmos", "Cosmos World Foundation Model Platform for Physical AI")
    assert not titles_related("A: One Thing", "A: Another Thing")  # head too short to name
    assert not titles_related("Segment Anything", "Cosmos World Foundation Model Platform")


# --- properties ---------------------------------------------------------------------

# Text like titles: letters (ASCII, accented, Greek, CJK), digits, punctuation and TeX.
_TITLE_CHARS = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?-+'\"()[]")
    + list("{}$\\^_~&%#/–—“”‘’éüßçñøÅΣσλ中文标题²½ﬁ")
)
_titles = st.lists(_TITLE_CHARS, max_size=60).map("".join)
_tex_fragments = st.sampled_from(
    ["\\emph{Word}", "$\\sigma$", "\\'e", '\\"{o}', "\\textbf{Bold} x", "$x^2$", "\\&", "\\ss"]
)
_titled = st.lists(st.one_of(_titles, _tex_fragments), min_size=1, max_size=5).map(" ".join)


@given(st.text(max_size=80))
def test_normalisation_is_idempotent_on_any_text(text: str) -> None:
    once = normalize_title(text)
    assert normalize_title(once) == once


@given(_titled)
def test_normalisation_is_idempotent_on_title_like_text(text: str) -> None:
    once = normalize_title(text)
    assert normalize_title(once) == once
    assert once == " ".join(once.split())  # single spaces, no ends


@given(_titled)
def test_normalisation_ignores_case(text: str) -> None:
    assert normalize_title(text.upper()) == normalize_title(text)
    assert normalize_title(text.lower()) == normalize_title(text)


@given(_titled, st.lists(st.sampled_from([" ", "\n", "\n  ", "\t", "  ", "\r\n"]), min_size=1))
def test_normalisation_ignores_whitespace_and_wrapping(text: str, separators: list[str]) -> None:
    words = text.split(" ")
    rewrapped = words[0]
    for index, word in enumerate(words[1:]):
        rewrapped += separators[index % len(separators)] + word
    assert normalize_title("  " + rewrapped + "\n") == normalize_title(text)


@given(_titled, _titled)
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    score = title_similarity(a, b)
    assert 0 <= score <= 100
    assert score == title_similarity(b, a)
    assert title_similarity(a, a) == 100


@given(_titled)
def test_has_words_says_whether_anything_is_left_to_compare(text: str) -> None:
    assert has_words(text) == bool(normalize_title(text))
    assert not has_words("???") and not has_words("\\emph{ }") and has_words("中文标题")

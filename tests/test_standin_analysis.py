"""The stand-in matches titles as arXiv's search backend analyses them
(docs/arxiv.md §6, not as our client phrases them."""

from __future__ import annotations

import pytest
from test_standin_search import paper

from pipeline.fetch.titles import title_phrase
from pipeline.standin.analysis import porter_stem, standard_words, title_matches
from pipeline.standin.search import parse_search_query


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("agreed", "agre"),
        ("hopping", "hop"),
        ("relational", "relat"),
        ("generalization", "gener"),
        ("modeling", "model"),
        ("modelling", "model"),
        ("reasoning", "reason"),
        ("thought", "thought"),
        ("though", "though"),
    ],
)
def test_porter_stems(word: str, stem: str) -> None:
    assert porter_stem(word) == stem


def test_words_are_uax29_like() -> None:
    assert standard_words("Let's Verify Step-by-Step") == ("let's", "verify", "step", "by", "step")
    assert standard_words("Qwen2.5-VL, DeepSeek-V3.2 and pi_0") == (
        "qwen2.5", "vl", "deepseek", "v3.2", "and", "pi_0",
    )  # fmt: skip
    assert standard_words("$\\sigma$-GPTs") == ("sigma", "gpts")


@pytest.mark.parametrize(
    ("title", "query", "expected"),
    [
        ("The Survey on Graph Networks", "a survey of graph networks", True),  # stop gaps
        ("Modeling Long Contexts", "modelling long contexts", True),  # stems
        ("Modeling Long Contexts", "modelling", True),  # a bare term, stemmed
        ("Humanity's Last Exam", "humanity", True),  # possessive stripped
        ("Let's Verify Step by Step", "let s verify step by step", False),  # our old phrase
        ("Qwen2.5-VL Technical Report", "qwen2 5 vl technical report", False),
        ("Qwen2.5-VL Technical Report", "qwen2.5 vl technical report", True),
        ("Chain-of-Thought Prompting", "chain of though", False),  # a cut word is no word
        ("Attention Is All You Need", "attention is not all you need", False),  # gap of two
        ("Attention Is All You Need", "need attention", False),  # order counts in a phrase
    ],
)
def test_title_matching(title: str, query: str, expected: bool) -> None:
    assert title_matches(title, query) is expected


@pytest.mark.parametrize(
    ("title", "old_phrase"),
    [
        ("Let's Verify Step by Step", "let s verify step by step"),
        ("Qwen2.5-VL Technical Report", "qwen2 5 vl technical report"),
        ("DeepSeek-V3.2: Pushing the Frontier", "deepseek v3 2 pushing the frontier"),
        ("Kimi k1.5: Scaling Reinforcement Learning", "kimi k1 5 scaling reinforcement learning"),
        ("Schrödinger Bridge Matching", "schrodinger bridge matching"),
    ],
)
def test_the_standin_answers_as_arxiv_not_as_our_old_phrases(title: str, old_phrase: str) -> None:
    # docs/arxiv.md §6: arXiv keeps `'` and dotted versions inside words and
    # keeps accents; the phrase builder before issue 11 split the one and folded the other.
    target = paper(title)
    assert not parse_search_query(f'ti:"{old_phrase}"').matches(target)
    assert parse_search_query(f'ti:"{title_phrase(title)}"').matches(target)


def test_distinctive_words_find_a_cut_title() -> None:
    target = paper(
        "Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Chain-of-Thought"
    )
    cut = "towards system 2 reasoning in llms learning how to think with meta chain of though"
    assert not parse_search_query(f'ti:"{cut}"').matches(target)
    query = "(ti:reasoning AND ti:learning AND ti:towards AND ti:system AND ti:think)"
    assert parse_search_query(query).matches(target)


@pytest.mark.parametrize(
    "title",
    [
        "LaViP:Language-Grounded Visual Prompts",  # `:` between letters joins (MidLetter)
        "Molecular Dynamics in the Acetonitrile:Acetylene (1:2) Co-Crystal",  # not digits
        "Scaling to 1,000 Layers; 3;4 Splits and a·b Terms",  # `,`/`;` join digits (MidNum)
        "Let's Verify Qwen2.5, e.g. DeepSeek-V3.2 and pi_0",
        "Spectral Prompt Tuning:Unveiling Unseen Classes",
    ],
)
def test_our_phrase_words_are_arxivs_words(title: str) -> None:
    # The words of our phrase must be the ones arXiv's tokenizer indexes (UAX#29 through the
    # `regex` module, not our regular expression), or the phrase cannot match.
    assert tuple(title_phrase(title).split()) == standard_words(title)


def test_tex_accents_are_indexed_as_accented_letters() -> None:
    # docs/arxiv.md §6: arXiv's indexer turns TeX accents into letters before analysis.
    assert standard_words("Koll\\'ar's Schr{\\\"o}dinger Fran\\c{c}ois na\\\"{\\i}ve") == (
        "kollár's", "schrödinger", "françois", "naïve",
    )  # fmt: skip
    assert title_matches("A transcendental approach to Koll\\'ar's injectivity theorem",
                         "approach to kollár's injectivity")  # fmt: skip

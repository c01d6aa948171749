"""Reconcile by evidence (docs/reconcile.md 2.1): arXiv's title written in the entry's own
text confirms a link, a guessed title never vetoes one, a cut title is still the title.

Entries are built as the parser emits them, with block texts copied from real digests
(tests/fixtures/wild/files) or written in their layouts.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from test_reconcile import (
    ATTENTION,
    frame,
    kinds,
    only,
    outcomes_for,
    paper,
    run,
    single,
)
from test_reconcile import entry as _entry

from pipeline.reconcile import reconcile, titles_to_search
from pipeline.reconcile.evidence import cut_prefix_share, find_title
from pipeline.write import build_tables

SAGE = paper(
    "2202.11244",
    "SAGE: SLAM with Appearance and Geometry Prior for Endoscopy",
    authors=("Xingtong Liu", "Zhaoshuo Li", "Masaru Ishii", "Gregory D. Hager"),
    published=date(2022, 2, 22),
)
# cv-arxiv-daily list layout, as the issue quotes it.
SAGE_LINE = (
    "- **2022-02-22**, **SAGE: SLAM with Appearance and Geometry Prior for Endoscopy**, "
    "Xingtong Liu et.al., Paper: [http://arxiv.org/abs/2202.11244v1]"
    "(http://arxiv.org/abs/2202.11244v1)"
)
ADD_SLAM = paper(
    "2505.19420",
    "ADD-SLAM: Adaptive Dynamic Dense SLAM with Gaussian Splatting",
    authors=("Wenhua Wu", "Chenpeng Su", "Siting Zhu", "Tianchen Deng", "Zhe Liu"),
    published=date(2025, 5, 26),
)
# TioeAre__today_md.md, lines 195-198.
ADD_SLAM_BLOCK = (
    "### [ADD-SLAM: Adaptive Dynamic Dense SLAM with Gaussian Splatting]"
    "(http://arxiv.org/abs/2505.19420)  \n"
    "Wenhua Wu, Chenpeng Su, Siting Zhu, Tianchen Deng, Zhe Liu, Hesheng Wang  \n"
    "<details>  \n  <summary>Abstract</summary>  \n"
)
META_COT = paper(
    "2501.04682",
    "Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Chain-of-Thought",
    authors=("Violet Xiang", "Charlie Snell", "Kanishk Gandhi"),
    published=date(2025, 1, 8),
)
REACT = paper(
    "2210.03629",
    "ReAct: Synergizing Reasoning and Acting in Language Models",
    authors=("Shunyu Yao", "Jeffrey Zhao", "Dian Yu"),
    published=date(2022, 10, 6),
)
LATER = date(2026, 1, 5)


def entry(position: int, title: str | None, link: str | None, **fields: object) -> dict:
    fields.setdefault("digest_date", LATER)
    return _entry(position, title, link, **fields)


# --- 1. evidence in the block ---------------------------------------------------------


def test_date_prefixed_list_line_is_confirmed_by_the_title_it_writes() -> None:
    row = entry(
        1,
        "2022-02-22, SAGE: SLAM with Appearance and Geometry Prior for Endoscopy, Xingtong "
        "Liu et.al., Paper: http://arxiv.org/abs/2202.11244v1",
        "http://arxiv.org/abs/2202.11244v1",
        title_source="line",
        block_text=SAGE_LINE,
    )
    result = run([row], [SAGE])
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("link", "2202.11244")
    assert "arXiv's title is written in the entry's text" in resolution.reason
    assert resolution.title_found == SAGE.title
    assert resolution.title_similarity == 100
    assert result.mismatches == []


def test_linked_entry_under_a_shared_heading_takes_the_title_it_writes() -> None:
    row = entry(
        1,
        "SLAM",
        "http://arxiv.org/abs/2505.19420",
        title_source="shared heading",
        block_text=ADD_SLAM_BLOCK,
    )
    result = run([row], [ADD_SLAM])
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("link", "2505.19420")
    assert resolution.title_found == ADD_SLAM.title
    assert result.mismatches == []


def test_a_few_typos_and_tex_written_as_unicode_are_still_the_title() -> None:
    typo = find_title(SAGE_LINE.replace("Geometry", "Geomtery"), SAGE.title)
    assert typo is not None and typo.span.endswith("Geomtery Prior for Endoscopy")
    unicode = find_title(
        "### Transformer²: Self-adaptive LLMs\n", "Transformer$^2$: Self-adaptive LLMs"
    )
    assert unicode is not None and unicode.span == "Transformer²: Self-adaptive LLMs"
    html = find_title(
        '<div class="paper-line1">📄 <a href="https://arxiv.org/abs/2604.15612"><strong>'
        "GaussianFlow SLAM: Monocular Gaussian Splatting SLAM Guided by GaussianFlow</strong>"
        '</a> <span class="badge badge-ro">RO</span></div>',
        "GaussianFlow SLAM: Monocular Gaussian Splatting SLAM Guided by GaussianFlow",
    )
    assert html is not None and html.span.startswith("GaussianFlow SLAM: Monocular")
    assert find_title("### Attention Is Not All You Need\n", ATTENTION.title) is None


def test_a_title_cut_short_in_the_block_confirms_the_link() -> None:
    block = (
        "| 12 | **Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Chain-of…**"
        " | [2501.04682](https://arxiv.org/abs/2501.04682) |"
    )
    row = entry(1, "12", "https://arxiv.org/abs/2501.04682", title_source="line", block_text=block)
    result = run([row], [META_COT])
    resolution = single(result)
    assert resolution.resolution == "link"
    assert "the start of arXiv's title" in resolution.reason
    differs = only(result, "title_differs")
    assert differs.digest_value == resolution.title_found
    assert differs.action == "kept the link; the digest cut arXiv's title short"


def test_a_start_followed_by_other_words_is_another_title() -> None:
    block = "- Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Agents, 2025"
    assert find_title(block, META_COT.title) is None


def test_authors_written_in_the_block_corroborate() -> None:
    row = entry(
        1,
        "2022-02-22",
        "http://arxiv.org/abs/2202.11244",
        title_source="line",
        block_text="- **2022-02-22**, **SAGE**, Xingtong Liu et.al., Paper: 2202.11244",
    )
    resolution = single(run([row], [SAGE]))
    assert resolution.resolution == "link"
    assert "authors written in the entry's text (1 of 4: Xingtong Liu)" in resolution.reason


def test_the_digest_title_is_replaced_in_the_entries_table() -> None:
    row = entry(
        1, "SLAM", "http://arxiv.org/abs/2505.19420", title_source="shared heading",
        block_text=ADD_SLAM_BLOCK,
    )  # fmt: skip
    entries = frame(row)
    papers = {ADD_SLAM.arxiv_id: ADD_SLAM}
    result = reconcile(entries, papers, outcomes_for(papers), {})
    tables = build_tables(
        entries=entries,
        papers=papers,
        resolutions=result.all_resolutions(),
        mismatches=result.mismatches,
        problems=[],
        fetch_log=[],
        runs=[],
    )
    written = tables["entries"].row(0, named=True)
    assert (written["title_digest"], written["title_source"]) == (ADD_SLAM.title, "shared heading")
    assert written["title_digest_raw"] == "SLAM"  # what the parser read stays beside it


# --- 2. the digest title weighed by its source ------------------------------------------


@pytest.mark.parametrize("source", ["line", "shared heading"])
def test_a_weak_title_never_makes_a_linked_entry_unresolved(source: str) -> None:
    # RobertoMav__papers.txt: "1. ReAct: https://arxiv.org/pdf/2210.03629 (PRINTED)"
    row = entry(
        1,
        "ReAct",
        "https://arxiv.org/pdf/2210.03629",
        title_source=source,
        block_text="\t1. ReAct: https://arxiv.org/pdf/2210.03629 (PRINTED)",
    )
    result = run([row], [REACT])
    assert (single(result).resolution, single(result).arxiv_id) == ("link", "2210.03629")
    assert kinds(result) == ["title_unchecked"]
    unchecked = only(result, "title_unchecked")
    assert (unchecked.digest_value, unchecked.arxiv_value) == ("ReAct", REACT.title)
    assert "does not name the paper" in unchecked.action


def test_plain_list_of_links_under_a_comment_line() -> None:
    block = "# transformers worth rereading\nhttps://arxiv.org/abs/1706.03762\n"
    row = entry(
        1,
        "transformers worth rereading",
        "https://arxiv.org/abs/1706.03762",
        title_source="line",
        block_text=block,
    )
    rows = frame(row)
    papers = {ATTENTION.arxiv_id: ATTENTION}
    assert titles_to_search(rows, papers, outcomes_for(papers)) == []  # nothing to search
    result = reconcile(rows, papers, outcomes_for(papers), {})
    assert (single(result).resolution, single(result).arxiv_id) == ("link", "1706.03762")
    assert kinds(result) == ["title_unchecked"]


def test_a_strong_title_naming_another_paper_is_still_searched() -> None:
    # zubair-irshad__README.md reuses an ID for a different paper: the bold name and the
    # quoted subtitle name another paper than the one linked.
    other = paper(
        "2306.17817",
        "Act3D: 3D Feature Field Transformers for Multi-Task Robotic Manipulation",
        published=date(2023, 6, 30),
    )
    right = paper(
        "2402.10885",
        "3D Diffuser Actor: Policy Diffusion with 3D Scene Representations",
        published=date(2024, 2, 16),
    )
    block = (
        '* **3D Diffuser Actor**: "Policy Diffusion with 3D Scene Representations", *arXiv*. '
        "[[Paper](https://arxiv.org/pdf/2306.17817)] [[Webpage](https://3d-diffuser-actor.github.io/)]"
    )
    title = "Policy Diffusion with 3D Scene Representations"
    row = entry(
        1, title, "https://arxiv.org/pdf/2306.17817", title_source="quoted", block_text=block
    )
    rows = frame(row)
    papers = {other.arxiv_id: other}
    assert titles_to_search(rows, papers, outcomes_for(papers)) == [title]
    result = reconcile(rows, papers, outcomes_for(papers), {title: [right]})
    resolution = single(result)
    # The search finds `3D Diffuser Actor: Policy Diffusion ...`: the entry's label and title.
    assert (resolution.resolution, resolution.arxiv_id) == ("corrected", right.arxiv_id)
    assert kinds(result) == ["id_points_elsewhere", "title_differs"]
    assert "title disagrees" in resolution.reason
    assert "label '3D Diffuser Actor' and its title" in resolution.candidates[0].why


def test_the_linked_title_named_elsewhere_does_not_confirm_a_near_miss() -> None:
    block = (
        "### Attention Is Not All You Need\nhttps://arxiv.org/abs/1706.03762\n"
        "Revisits Attention Is All You Need and finds pure attention loses rank.\n"
    )
    row = entry(
        1, "Attention Is Not All You Need", "https://arxiv.org/abs/1706.03762",
        title_source="heading", block_text=block, digest_date=None,
    )  # fmt: skip
    result = run([row], [ATTENTION], {"Attention Is Not All You Need": [ATTENTION]})
    assert single(result).resolution == "unresolved"
    assert kinds(result) == ["title_differs", "unresolved"]


def test_a_strong_short_name_inside_the_written_title_is_confirmed() -> None:
    row = entry(
        1, "SAGE", "http://arxiv.org/abs/2202.11244", title_source="emphasis",
        block_text=SAGE_LINE.replace("**SAGE: SLAM", "**SAGE**: SLAM"),
    )  # fmt: skip
    resolution = single(run([row], [SAGE]))
    assert resolution.resolution == "link"
    assert resolution.title_found == SAGE.title


def test_a_title_of_unknown_source_keeps_todays_power() -> None:
    row = entry(1, "Attention Is Not All You Need", "https://arxiv.org/abs/1706.03762")
    row["title_source"] = "none"  # parsers that do not say where the title came from
    result = run([row], [ATTENTION], {"Attention Is Not All You Need": []})
    assert single(result).resolution == "unresolved"


# --- 3. entries without a usable link ---------------------------------------------------


def test_weak_title_behind_a_missing_id_is_searched_and_says_why_it_failed() -> None:
    title = "2022-02-22, SAGE: ..., Xingtong Liu et.al."
    row = entry(1, title, "https://arxiv.org/abs/2202.99999", title_source="line")
    result = run([row], [], {title: []}, _2202_99999="not_found")
    resolution = single(result)
    assert resolution.resolution == "unresolved"
    assert resolution.reason == ("2202.99999 does not exist on arXiv; title search found nothing")
    assert kinds(result) == ["id_not_found", "unresolved"]


# --- 4. titles cut short at the source --------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Chain-of-Though",
        "Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Chain-of",
        "Towards System 2 Reasoning in LLMs: Learning How to…",
    ],
)
def test_a_title_cut_by_the_digest_is_accepted_from_the_search(title: str) -> None:
    result = run([entry(1, title, None)], [], {title: [META_COT]})
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("title", "2501.04682")
    assert kinds(result) == ["title_differs"]


@pytest.mark.parametrize(
    "title",
    [
        "Towards System 2 Reasoning…",  # too little of it left
        "Towards System 2 Reasoning in LLMs: Learning How to Think",  # whole words, no ellipsis
    ],
)
def test_too_short_or_unmarked_starts_are_not_cut_titles(title: str) -> None:
    result = run([entry(1, title, None)], [], {title: [META_COT]})
    assert single(result).resolution == "unresolved"


def test_a_cut_title_needs_the_date_or_the_authors() -> None:
    title = "Towards System 2 Reasoning in LLMs: Learning How to Think With Meta Chain-of-Though"
    undated = entry(1, title, None, digest_date=None)
    assert single(run([undated], [], {title: [META_COT]})).resolution == "unresolved"
    wrong = entry(1, title, None, authors=["Someone Else", "Another Person"])
    assert single(run([wrong], [], {title: [META_COT]})).resolution == "unresolved"
    early = entry(1, title, None, digest_date=date(2024, 12, 1))
    assert single(run([early], [], {title: [META_COT]})).resolution == "unresolved"


def test_cut_prefix_share() -> None:
    assert cut_prefix_share("Learning to See", "Learning to Seek Help from Others") is None
    share = cut_prefix_share("Towards System 2 Reasoning in LLMs: Learning How to…", META_COT.title)
    assert share is not None and 0.6 <= share < 0.7


def test_entries_frame_without_the_new_columns_still_reconciles() -> None:
    rows = frame(entry(1, ATTENTION.title, "arXiv:1706.03762")).drop(
        "title_source", "block_text", "title_raw"
    )
    papers = {ATTENTION.arxiv_id: ATTENTION}
    assert single(reconcile(rows, papers, outcomes_for(papers), {})).resolution == "link"
    assert isinstance(rows, pl.DataFrame)


def test_authors_written_outweigh_a_reworded_strong_title_only_two_or_more() -> None:
    renamed = paper(
        "2501.04002", "Scaling Laws for Sparse Retrieval", authors=("Ada Lovelace", "Alan Turing")
    )
    title = "How Dense Retrievers Learn to Forget"

    def resolve(block: str) -> str:
        row = entry(1, title, "https://arxiv.org/abs/2501.04002", block_text=block)
        return single(run([row], [renamed], {title: []})).resolution

    assert resolve(f"### {title}\nAda Lovelace, Alan Turing\n") == "link"
    # The first author alone may be the same person's other paper behind a wrong link.
    assert resolve(f"### {title}\nAda Lovelace et al.\n") == "unresolved"


# --- the entry's own label ---------------------------------------------------------------

MANICM = paper(
    "2406.01586",
    "ManiCM: Real-time 3D Diffusion Policy via Consistency Model for Robotic Manipulation",
    published=date(2024, 6, 3),
)
DNACT = paper(
    "2403.04115",
    "DNAct: Diffusion Guided Multi-Task 3D Policy Learning",
    published=date(2024, 3, 7),
)
# zubair-irshad__README.md line 44: ManiCM's link and name, DNAct's subtitle (a copy error).
MANICM_LINE = (
    '* **ManiCM**: "Diffusion Guided Multi-Task 3D Policy Learning", *arXiv Mar 2024*. '
    "[[Paper](https://arxiv.org/pdf/2406.01586)] [[Webpage](https://manicm-fast.github.io/)] "
    "[[Code](https://github.com/ManiCM-fast/ManiCM)]"
)


def test_the_entrys_label_and_link_outweigh_a_subtitle_copied_from_another_paper() -> None:
    title = "Diffusion Guided Multi-Task 3D Policy Learning"
    row = entry(
        1, title, "https://arxiv.org/pdf/2406.01586", title_source="quoted",
        block_text=MANICM_LINE,
    )  # fmt: skip
    rows, papers = frame(row), {MANICM.arxiv_id: MANICM}
    assert titles_to_search(rows, papers, outcomes_for(papers)) == []  # DNAct is never asked
    result = reconcile(rows, papers, outcomes_for(papers), {title: [DNACT]})
    resolution = single(result)
    assert (resolution.resolution, resolution.arxiv_id) == ("link", MANICM.arxiv_id)
    assert "labelled 'ManiCM'" in resolution.reason
    assert kinds(result) == ["title_differs"]


@pytest.mark.parametrize(
    "block",
    [
        # the name further on in the text: another paper the entry mentions
        '* **Llama 3**: "The Llama 3 Herd of Models". Improves on Llama 2: Open Foundation '
        "and Fine-Tuned Chat Models. [[Paper](https://arxiv.org/abs/2307.09288)]",
        # the name more than LABEL_WORDS words before the title
        "Llama 2 was last year; this week we read the new one from the same group: "
        '"The Llama 3 Herd of Models" [[Paper](https://arxiv.org/abs/2307.09288)]',
    ],
)
def test_a_name_written_anywhere_but_the_label_does_not_confirm_a_link(block: str) -> None:
    llama2 = paper(
        "2307.09288",
        "Llama 2: Open Foundation and Fine-Tuned Chat Models",
        published=date(2023, 7, 18),
    )
    title = "The Llama 3 Herd of Models"
    row = entry(1, title, "https://arxiv.org/abs/2307.09288", title_source="quoted",
                block_text=block)  # fmt: skip
    rows, papers = frame(row), {llama2.arxiv_id: llama2}
    assert titles_to_search(rows, papers, outcomes_for(papers)) == [title]
    assert single(reconcile(rows, papers, outcomes_for(papers), {})).resolution == "unresolved"


PPO = paper(
    "1707.06347",
    "Proximal Policy Optimization Algorithms",
    authors=("John Schulman", "Filip Wolski"),
    published=date(2017, 7, 20),
)


@pytest.mark.parametrize(
    ("nickname", "resolution"), [("PPO", "link"), ("TRPO", "unresolved"), ("DQN", "unresolved")]
)
def test_a_link_text_that_is_the_papers_acronym_keeps_the_link(
    nickname: str, resolution: str
) -> None:
    # An awesome list's `- [PPO](https://arxiv.org/abs/1707.06347)`: a strong title, and
    # the acronym of arXiv's; another paper's acronym is a wrong link and stays unresolved.
    row = entry(
        1, nickname, "https://arxiv.org/abs/1707.06347", title_source="link text",
        block_text=f"- [{nickname}](https://arxiv.org/abs/1707.06347)",
    )  # fmt: skip
    assert single(run([row], [PPO], {nickname: []})).resolution == resolution


MOA = paper(
    "2406.04692",
    "Mixture-of-Agents Enhances Large Language Model Capabilities",
    published=date(2024, 6, 7),
)
# RobertoMav__papers.txt's layout, with the link of another paper (1706.03762).
MISLINKED = "\t4. Mixture-of-Agents Enhances Large Language Model Capabilities: https://arxiv.org/abs/1706.03762"


@pytest.mark.parametrize(
    ("found_title", "resolution", "arxiv_id"),
    [
        (MOA.title, "corrected", MOA.arxiv_id),  # exactly the guessed title: it is that paper
        ("Mixture-of-Agents Enhances Large Language Model Reasoning", "link", "1706.03762"),
    ],
)
def test_a_weak_title_replaces_its_link_only_with_a_paper_of_exactly_that_title(
    found_title: str, resolution: str, arxiv_id: str
) -> None:
    title = MOA.title
    row = entry(4, title, "https://arxiv.org/abs/1706.03762", title_source="line",
                block_text=MISLINKED)  # fmt: skip
    rows, papers = frame(row), {ATTENTION.arxiv_id: ATTENTION}
    assert titles_to_search(rows, papers, outcomes_for(papers)) == [title]
    found = paper(MOA.arxiv_id, found_title, published=date(2024, 6, 7))
    result = reconcile(rows, papers, outcomes_for(papers), {title: [found]})
    resolved = result.all_resolutions()[0]
    assert (resolved.resolution, resolved.arxiv_id) == (resolution, arxiv_id)
    if resolution == "corrected":
        assert "id_points_elsewhere" in kinds(result, 4)
        assert "arXiv has a paper of exactly that title" in resolved.reason
    else:
        assert kinds(result, 4) == ["title_unchecked"]


GPT3 = paper(
    "2005.14165",
    "Language Models are Few-Shot Learners",
    published=date(2020, 5, 28),
)


@pytest.mark.parametrize(
    ("title", "found"),
    [
        ("Language Models are Few-Shot Learners (GPT-3)", "2005.14165"),  # a nickname
        ("Language Models are Few-Shot Learners (Part 2)", None),  # another paper
        ("Language Models are Few-Shot Learners (Extended Abstract)", None),  # another version
    ],
)
def test_a_nickname_in_brackets_after_the_title_is_left_out(title: str, found: str | None) -> None:
    # PatrickWiloak__papers.csv: editorial titles carry the paper's nickname in brackets.
    row = entry(1, title, None, title_source="column", block_text=f"4,LLM,{title},,2020")
    resolution = single(run([row], [], {title: [GPT3]}))
    assert resolution.arxiv_id == found

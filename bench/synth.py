"""Synthetic papers and digests for the benchmarks: realistic layouts and sizes, no network.

A `SynthPaper` is one made-up arXiv paper (unique title, English and Chinese text, authors,
versions). From it come the stand-in's `CorpusRecord`, the store's `PaperRecord` (as the
fetch stage would have stored it) and digest entries in the layouts of the sample digests
in tests/fixtures/digests/:

    heading_link        `## Title` / `[中文标题](https://arxiv.org/abs/ID)` / Chinese abstract
    newsletter          `### N. 中文标题` / **原文标题：** (wrapped) / **摘要：** / both links
    newsletter_no_links the same with `**论文链接：** []()`: entries found by title only
    hf_json             Hugging Face daily papers, a list of objects (indent 4)
    hf_json_repr        the same items as Python-repr strings inside a JSON list
    hf_json_wrapped     {status, date, count, data: [...]} around a list of objects

Everything is derived from a seed, so two calls with the same arguments write the same
bytes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.model import Author, PaperRecord
from pipeline.standin import CorpusRecord

# Roughly arXiv's monthly volume in 2024 (our assumption, not from the facts sheet); it
# keeps IDs within 5 digits, the form since 1501 (docs/arxiv.md §8).
PAPERS_PER_MONTH = 20000
FIRST_YEAR, FIRST_MONTH = 2024, 1
SYNTHETIC_NOTE = "synthetic (bench.synth): every field is made up"

LAYOUTS = (
    "heading_link",
    "newsletter",
    "newsletter_no_links",
    "hf_json",
    "hf_json_repr",
    "hf_json_wrapped",
)
# Share of digest files per layout in a mixed set. newsletter_no_links is set so that
# ~5% of entries carry no ID and must be resolved by title.
LAYOUT_WEIGHTS = {
    "heading_link": 0.25,
    "newsletter": 0.25,
    "newsletter_no_links": 0.05,
    "hf_json": 0.20,
    "hf_json_repr": 0.20,
    "hf_json_wrapped": 0.05,
}
# What pipeline.parse reports as the layout of each (the JSON shapes are one layout).
PARSED_LAYOUT = {
    "heading_link": "heading_link",
    "newsletter": "newsletter",
    "newsletter_no_links": "newsletter",
    "hf_json": "hf_json",
    "hf_json_repr": "hf_json",
    "hf_json_wrapped": "hf_json",
}

_SYLLABLES = (
    "vox", "la", "me", "ta", "gen", "flux", "omni", "pix", "seq", "mo", "ra", "qi", "zen", "lu",
    "ko", "sa", "ne", "vi", "dro", "ka", "fi", "tro", "lin", "mar", "cos", "ben", "hel", "io",
    "ny", "pha", "rex", "sig", "tau", "the", "ul", "yo", "zor", "ast", "bri", "cal",
)  # fmt: skip
_ADJECTIVES = (
    "Efficient", "Scalable", "Robust", "Sparse", "Unified", "Multimodal", "Adaptive",
    "Hierarchical", "Contrastive", "Self-Supervised", "Generalist", "Lightweight",
    "Interpretable", "Long-Context", "Fine-Grained", "Causal", "Compositional", "Training-Free",
    "Zero-Shot", "Differentiable", "Autoregressive", "Latent", "Open",
)  # fmt: skip
_NOUNS = (
    "Diffusion Models", "Language Models", "Vision Transformers", "Reward Models",
    "Mixture of Experts", "State Space Models", "Attention", "Tokenizers", "World Models",
    "Agents", "Retrieval", "Video Generation", "Speech Synthesis", "Graph Networks",
    "Policy Optimization", "Preference Learning", "Benchmarks", "Neural Fields", "Point Clouds",
    "Code Generation", "Reasoning Chains", "Embeddings", "Distillation",
)  # fmt: skip
_TASKS = (
    "Mathematical Reasoning", "Long Video Understanding", "Text-to-Image Generation",
    "Robot Manipulation", "Table Question Answering", "3D Reconstruction", "Code Repair",
    "Medical Imaging", "Multilingual Translation", "Document Understanding",
    "Autonomous Driving", "Protein Design", "Instruction Following", "Time Series Forecasting",
    "Open-Vocabulary Detection", "Web Navigation",
)  # fmt: skip
_TEMPLATES = (
    "{name}: {adj} {noun} for {task}",
    "{name}: Towards {adj} {task}",
    "{adj} {noun} with {name} for {task}",
    "{name}: Scaling {adj} {noun}",
    "Rethinking {noun} for {task} with {name}",
    "{name}: A {adj} Benchmark for {task}",
)
_ZH_TITLE = (
    "面向{task}的{adj}{noun}", "迈向{adj}{task}", "基于{noun}的{adj}{task}方法",
    "{task}中{noun}的{adj}扩展", "一个用于{task}的{adj}基准",
)  # fmt: skip
_ZH_ADJ = (
    "高效", "可扩展", "鲁棒", "稀疏", "统一", "多模态", "自适应", "分层", "对比", "自监督",
    "轻量", "可解释", "长上下文", "细粒度",
)  # fmt: skip
_ZH_NOUN = (
    "扩散模型", "大语言模型", "视觉Transformer", "奖励模型", "混合专家", "状态空间模型",
    "注意力机制", "智能体", "世界模型", "检索增强", "蒸馏",
)  # fmt: skip
_ZH_TASK = (
    "数学推理", "长视频理解", "文本到图像生成", "机器人操作", "表格问答", "三维重建",
    "代码修复", "医学影像", "多语言翻译", "文档理解", "自动驾驶",
)  # fmt: skip
_ZH_SENTENCES = (
    "近年来，大语言模型（LLMs）在多种任务上取得了显著进展",
    "然而，现有方法往往伴随着高昂的训练成本，且难以推广到新的场景",
    "本文提出了一种新颖的框架，通过选择性地调整权重矩阵的单一组件来适应未见过的任务",
    "我们在多个基准测试上进行了广泛的实验，结果表明该方法显著优于最先进的基线模型",
    "具体而言，与仅使用文本进行预训练相比，推理能力相对提升了8.2%",
    "此外，我们还发布了一个包含一百万条样本的大规模数据集，以推动该领域的研究",
    "代码和模型权重已在项目页面公开：https://example.github.io/project",
    "分析表明，该方法在生成长尾视觉元素方面相比向量量化模型具有显著优势",
    "为了弥合学术基准与实际应用之间的差距，我们对工业场景中的应用进行了深入研究",
    "我们进一步引入了一个两阶段训练流程，包括对齐、预训练和长短联合监督微调",
    "实验结果显示，该模型在参数更少、效率更高的情况下，性能可与GPT-4媲美",
    "这一发现表明，投资于数据质量及在预训练中保留代码具有积极意义",
)
_EN_WORDS = (
    "we", "propose", "a", "novel", "framework", "that", "the", "model", "training", "data",
    "large", "language", "models", "performance", "tasks", "results", "show", "our", "method",
    "outperforms", "existing", "approaches", "on", "benchmarks", "while", "reducing",
    "computational", "cost", "in", "addition", "introduce", "new", "dataset", "evaluation",
    "demonstrate", "significant", "improvements", "across", "diverse", "settings", "inference",
    "scaling", "attention", "tokens", "reasoning", "retrieval", "alignment", "reward", "policy",
    "generation", "video", "image", "text", "multimodal", "efficient", "robust", "sparse",
    "latent", "representation", "learning",
)  # fmt: skip
_FIRST_NAMES = (
    "Wei", "Jian", "Yu", "Xin", "Li", "Hao", "Ming", "Fang", "Anna", "Ben", "Carlos", "Diana",
    "Elena", "Farid", "Grace", "Hiro", "Ivan", "Julia", "Kenji", "Laura", "Mohamed", "Nadia",
    "Omar", "Priya", "Quentin", "Rosa", "Sofia", "Tomas", "Uma", "Victor", "Yuki",
)  # fmt: skip
_LAST_NAMES = (
    "Wang", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
    "Smith", "Garcia", "Müller", "Rossi", "Kumar", "Tanaka", "Kim", "Nguyen", "Silva", "Novak",
    "Johansson", "Dubois", "Petrov", "Okafor", "Haddad", "Costa",
)  # fmt: skip
_CATEGORIES = ("cs.CL", "cs.CV", "cs.LG", "cs.AI", "cs.RO", "stat.ML", "eess.AS")
_HF_STATUS = ("claimed_verified", "admin_assigned", "extracted_pending", "extracted_confirmed")


@dataclass(frozen=True, slots=True)
class SynthPaper:
    arxiv_id: str
    title: str  # one line, as the new API gives it
    title_zh: str  # the digests' translation: the title's name + a Chinese phrase
    abstract: str  # one paragraph, English
    abstract_zh: str
    authors: tuple[str, ...]
    versions: tuple[datetime, ...]  # UTC submission time per version, v1 first
    categories: tuple[str, ...]  # primary first
    comment: str | None

    @property
    def published(self) -> datetime:
        return self.versions[0]


def synth_papers(count: int, seed: int = 0) -> list[SynthPaper]:
    """`count` papers with unique IDs (2401.00001 onward, in submission order) and titles."""
    rng = random.Random(seed)
    names: set[str] = set()
    papers = []
    for index in range(count):
        month_index, number = divmod(index, PAPERS_PER_MONTH)
        year, month = divmod(FIRST_MONTH - 1 + month_index, 12)
        year += FIRST_YEAR
        month += 1
        # Papers are numbered in submission order through the month (days 1-28).
        day = 1 + number * 28 // PAPERS_PER_MONTH
        v1 = datetime(year, month, day, rng.randrange(24), rng.randrange(60), tzinfo=UTC)
        versions = [v1]
        for _ in range(rng.choices((0, 1, 2), weights=(70, 22, 8))[0]):
            versions.append(versions[-1] + timedelta(days=rng.randint(3, 60)))
        name = _unique_name(rng, names)
        papers.append(
            SynthPaper(
                arxiv_id=f"{year % 100:02d}{month:02d}.{number + 1:05d}",
                title=_title(rng, name),
                title_zh=f"{name}：{_zh_title(rng)}",
                abstract=" ".join(rng.choices(_EN_WORDS, k=rng.randint(140, 220))).capitalize()
                + ".",
                abstract_zh="。".join(rng.choices(_ZH_SENTENCES, k=rng.randint(6, 11))) + "。",
                authors=tuple(
                    f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
                    for _ in range(rng.randint(2, 12))
                ),
                versions=tuple(versions),
                categories=tuple(dict.fromkeys(rng.choices(_CATEGORIES, k=rng.randint(1, 3)))),
                comment=rng.choice((None, "Project page: https://example.github.io", "12 pages")),
            )
        )
    return papers


def _unique_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        parts = rng.choices(_SYLLABLES, k=rng.randint(2, 4))
        name = "".join(p.capitalize() for p in parts) + rng.choice(("", "", "-7B", "2", "++"))
        if name.lower() not in taken:
            taken.add(name.lower())
            return name


def _title(rng: random.Random, name: str) -> str:
    return rng.choice(_TEMPLATES).format(
        name=name, adj=rng.choice(_ADJECTIVES), noun=rng.choice(_NOUNS), task=rng.choice(_TASKS)
    )


def _zh_title(rng: random.Random) -> str:
    return rng.choice(_ZH_TITLE).format(
        adj=rng.choice(_ZH_ADJ), noun=rng.choice(_ZH_NOUN), task=rng.choice(_ZH_TASK)
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_corpus_record(paper: SynthPaper) -> CorpusRecord:
    """The paper as the stand-in serves it."""
    return CorpusRecord(
        id=paper.arxiv_id,
        title=paper.title,
        abstract=paper.abstract,
        authors=[(name, []) for name in paper.authors],
        primary_category=paper.categories[0],
        categories=list(paper.categories),
        comment=paper.comment,
        journal_ref=None,
        doi=None,
        versions=[_iso(v) for v in paper.versions],
        note=SYNTHETIC_NOTE,
    )


def to_paper_record(paper: SynthPaper, fetched_at: datetime) -> PaperRecord:
    """The paper as the fetch stage stores it after asking arXiv (latest version)."""
    return PaperRecord(
        arxiv_id=paper.arxiv_id,
        version=len(paper.versions),
        title=paper.title,
        abstract=paper.abstract,
        authors=[Author(name) for name in paper.authors],
        published=paper.versions[0],
        updated=paper.versions[-1],
        primary_category=paper.categories[0],
        categories=list(paper.categories),
        comment=paper.comment,
        journal_ref=None,
        dois=[],
        withdrawn=False,
        fetched_at=fetched_at,
    )


# --- digests --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestFile:
    path: Path  # relative to the digests folder
    layout: str  # one of LAYOUTS
    entries: int
    without_id: int  # entries that name their paper by title only
    size_bytes: int
    arxiv_ids: tuple[str, ...]  # the papers listed, in order


def _wrap(text: str, width: int, indent: str = "") -> str:
    """Hard-wrap at `width` columns like arXiv's old feeds and HF's paper.title/summary."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = indent + word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _heading_link(papers: Sequence[SynthPaper], day: date, rng: random.Random) -> str:
    blocks = []
    for paper in papers:
        roll = rng.random()
        if roll < 0.05:
            url = f"https://arxiv.org/pdf/{paper.arxiv_id}"
        elif roll < 0.15:
            url = f"https://arxiv.org/abs/{paper.arxiv_id}v1"  # an older version, sometimes
        else:
            url = f"https://arxiv.org/abs/{paper.arxiv_id}"
        blocks.append(f"## {paper.title}\n[{paper.title_zh}]({url})\n{paper.abstract_zh}\n\n\n\n")
    return "".join(blocks)


def _newsletter(papers: Sequence[SynthPaper], day: date, rng: random.Random, *, links: bool) -> str:
    header = (
        '\n# <img src="https://huggingface.co/front/assets/huggingface_logo-noborder.svg" '
        f'width="30"/> Hugging Face 每日论文速递 {day.isoformat()}\n\n'
        f"## 📊 今日论文统计\n- 总论文数：{len(papers)}\n"
        "- 热门领域：LLM, Transformer, Diffusion\n\n"
        "## 📝 论文详情\n\n\n"
    )
    blocks = []
    for number, paper in enumerate(papers, start=1):
        if links:
            link = (
                f"[HuggingFace](https://huggingface.co/papers/{paper.arxiv_id}) | "
                f"[arXiv](https://arxiv.org/abs/{paper.arxiv_id})"
            )
        else:
            link = "[]()"
        blocks.append(
            f"### {number}. {paper.title_zh}\n\n"
            f"**原文标题：** {_wrap(paper.title, 75, '  ')}\n\n"
            f"**摘要：**\n{paper.abstract_zh}\n\n"
            f"**论文链接：** {link}\n\n\n\n---\n\n"
        )
    return header + "".join(blocks)


def _hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _hf_item(paper: SynthPaper, day: date, rng: random.Random) -> dict[str, object]:
    listed = f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000Z"
    authors = []
    for name in paper.authors:
        author: dict[str, object] = {"_id": _hex_id(rng)}
        if rng.random() < 0.4:  # claimed by a Hugging Face user
            handle = name.split()[0].lower() + str(rng.randrange(1000))
            author["user"] = {
                "_id": _hex_id(rng),
                "avatarUrl": f"/avatars/{rng.getrandbits(128):032x}.svg",
                "isPro": False,
                "fullname": name,
                "user": handle,
                "type": "user",
            }
        author |= {
            "name": name,
            "status": rng.choice(_HF_STATUS),
            "statusLastChangedAt": listed,
            "hidden": False,
        }
        authors.append(author)
    return {
        "paper": {
            "id": paper.arxiv_id,
            "authors": authors,
            "publishedAt": paper.published.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "title": _wrap(paper.title, 72, "  "),  # paper.title keeps arXiv's wraps
            "summary": _wrap(paper.abstract, 79),
            "upvotes": rng.randrange(200),
            "discussionId": _hex_id(rng),
        },
        "publishedAt": listed,
        "title": paper.title,
        "thumbnail": "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/"
        f"{paper.arxiv_id}.png",
        "numComments": rng.randrange(10),
        "isAuthorParticipating": rng.random() < 0.3,
    }


def render_digest(
    layout: str, papers: Sequence[SynthPaper], day: date, rng: random.Random
) -> tuple[str, str]:
    """(file name, text) of one digest of `layout` dated `day` listing `papers`."""
    stamp = day.isoformat()
    if layout == "heading_link":
        return f"{stamp}_digest.md", _heading_link(papers, day, rng)
    if layout in ("newsletter", "newsletter_no_links"):
        text = _newsletter(papers, day, rng, links=layout == "newsletter")
        return f"{stamp}_daily_paper.md", text
    items = [_hf_item(p, day, rng) for p in papers]
    if layout == "hf_json":
        return f"{stamp}.json", json.dumps(items, indent=4, ensure_ascii=False)
    if layout == "hf_json_repr":
        return f"{stamp}_metadata.json", json.dumps([repr(i) for i in items], indent=4)
    if layout == "hf_json_wrapped":
        wrapper = {"status": "success", "date": stamp, "count": len(items), "data": items}
        return f"{stamp}_papers.json", json.dumps(wrapper, indent=2, ensure_ascii=False)
    raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


def _chunks(
    papers: Sequence[SynthPaper], sizes: tuple[int, int], rng: random.Random
) -> Iterator[Sequence[SynthPaper]]:
    start = 0
    while start < len(papers):
        size = rng.randint(*sizes)
        yield papers[start : start + size]
        start += size


def write_digests(
    papers: Sequence[SynthPaper],
    digests_dir: Path,
    *,
    seed: int = 0,
    layouts: Sequence[str] = LAYOUTS,
    entries_per_file: tuple[int, int] = (50, 300),
) -> list[DigestFile]:
    """Write one entry per paper into digest files of `entries_per_file` entries each, in
    folders per layout, layouts drawn by LAYOUT_WEIGHTS. A file is dated one to three
    days after its newest paper's v1, as a daily digest would be."""
    rng = random.Random(seed)
    weights = [LAYOUT_WEIGHTS[layout] for layout in layouts]
    written: list[DigestFile] = []
    for sequence, chunk in enumerate(_chunks(papers, entries_per_file, rng), start=1):
        layout = rng.choices(layouts, weights=weights)[0]
        day = max(p.published for p in chunk).date() + timedelta(days=rng.randint(1, 3))
        name, text = render_digest(layout, chunk, day, rng)
        path = Path(layout) / f"{name[:10]}_{sequence:05d}{name[10:]}"
        data = text.encode("utf-8")
        (digests_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (digests_dir / path).write_bytes(data)
        without_id = len(chunk) if layout == "newsletter_no_links" else 0
        ids = tuple(p.arxiv_id for p in chunk)
        written.append(DigestFile(path, layout, len(chunk), without_id, len(data), ids))
    return written

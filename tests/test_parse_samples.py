"""The shipped sample digests parse exactly: every entry, in order, with IDs and titles.

Expected values are written out from reading the samples (tests/fixtures/digests, byte
copies of shared/digests); see shared/digests/README.md for what each one shows.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from pipeline.model import ParsedDigest
from pipeline.parse import parse_all, parse_digest, summary_line

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = FIXTURES / "digests"


def parse_sample(name: str) -> ParsedDigest:
    return parse_digest(SAMPLES / name, FIXTURES)


# (line, arXiv ID, English title, Chinese title from the link text)
SAMPLE_DIGEST = [
    (
        2,
        "2408.08872",
        "xGen-MM (BLIP-3): A Family of Open Large Multimodal Models",
        "xGen-MM (BLIP-3): 一个开放的大型多模态模型家族",
    ),
    (
        8,
        "2408.08459",
        "JPEG-LM: LLMs as Image Generators with Canonical Codec Representations",
        "JPEG-LM: 利用标准编解码器表示的大语言模型进行图像生成",
    ),
    (14, "2408.08435", "Automated Design of Agentic Systems", "自动化设计智能体系统"),
    (
        20,
        "2408.10188",
        "LongVILA: Scaling Long-Context Visual Language Models for Long Videos",
        "LongVILA: 扩展长视频上下文视觉语言模型",
    ),
    (
        26,
        "2408.10198",
        "MeshFormer: High-Quality Mesh Generation with 3D-Guided Reconstruction Model",
        "MeshFormer: 利用3D引导重建模型生成高质量网格",
    ),
    (
        32,
        "2408.09174",
        "TableBench: A Comprehensive and Complex Benchmark for Table Question Answering",
        "TableBench: 一个全面且复杂的表格问答基准测试",
    ),
    (
        38,
        "2408.10914",
        "To Code, or Not To Code? Exploring Impact of Code in Pre-training",
        "编码与否？探索预训练中代码的影响",
    ),
    (
        44,
        "2408.11039",
        "Transfusion: Predict the Next Token and Diffuse Images with One Multi-Modal Model",
        "Transfusion: 预测下一个 Token 并利用单一多模态模型进行图像扩散",
    ),
    (
        50,
        "2408.11318",
        "TWLV-I: Analysis and Insights from Holistic Evaluation on Video Foundation Models",
        "TWLV-I: 视频基础模型的整体评估分析与洞察",
    ),
    (
        56,
        "2408.11796",
        "LLM Pruning and Distillation in Practice: The Minitron Approach",
        "LLM 剪枝与蒸馏实践：Minitron 方法",
    ),
    (
        62,
        "2408.12599",
        "Controllable Text Generation for Large Language Models: A Survey",
        "大语言模型可控文本生成：综述",
    ),
    (
        69,
        "2408.12569",
        "Sapiens: Foundation for Human Vision Models",
        "Sapiens: 人类视觉模型的基础",
    ),
]


def test_sample_digest_heading_link_layout() -> None:
    parsed = parse_sample("sample-digest.md")
    assert (parsed.digest, parsed.layout, parsed.digest_date) == (
        "digests/sample-digest.md",
        "heading_link",
        None,  # no date in the name or the text
    )
    assert parsed.problems == []
    got = [(e.line, e.arxiv_id, e.title, e.title_translated) for e in parsed.entries]
    assert got == SAMPLE_DIGEST
    for position, entry in enumerate(parsed.entries, start=1):
        assert entry.position == position
        assert (entry.layout, entry.id_status, entry.version) == ("heading_link", "ok", None)
        assert entry.link == f"https://arxiv.org/abs/{entry.arxiv_id}"
        assert entry.title_raw == entry.title  # one-line headings
        assert entry.warnings == [] and entry.authors is None
    first, survey = parsed.entries[0], parsed.entries[10]
    assert first.abstract is not None
    assert first.abstract.startswith("本报告介绍 xGen-MM（亦称 BLIP-3）")
    assert first.abstract.endswith("相关资源将在项目页面上提供。")
    # A two-paragraph abstract keeps its inner line break and indentation.
    assert survey.abstract is not None and "\n  本文系统地回顾了" in survey.abstract
    assert survey.abstract.endswith(
        "已在 [GitHub](https://github.com/IAAR-Shanghai/CTGSurvey) 上开源。"
    )


# (line, English title as written, Chinese title from the heading)
NEWSLETTER_0108 = [
    (
        11,
        "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language\n  Models",
        "REINFORCE++：一种简单高效的大型语言模型对齐方法",
    ),
    (
        25,
        "Cosmos World Foundation Model Platform for Physical AI",
        "面向物理AI的Cosmos世界基础模型平台",
    ),
    (
        38,
        "MotionBench: Benchmarking and Improving Fine-grained Video Motion\n  Understanding for "
        "Vision Language Models",
        "MotionBench：面向视觉语言模型的细粒度视频运动理解基准测试与改进",
    ),
    (
        52,
        "LLaVA-Mini: Efficient Image and Video Large Multimodal Models with One\n  Vision Token",
        "LLaVA-Mini：基于单一视觉标记的高效图像与视频大型多模态模型",
    ),
    (
        66,
        "Sa2VA: Marrying SAM2 with LLaVA for Dense Grounded Understanding of\n  Images and Videos",
        "Sa2VA：将SAM2与LLaVA结合以实现图像和视频的密集基础理解",
    ),
    (
        80,
        "Diffusion as Shader: 3D-aware Video Diffusion for Versatile Video\n  Generation Control",
        "扩散作为着色器：面向多功能视频生成控制的3D感知视频扩散模型",
    ),
    (
        94,
        "PPTAgent: Generating and Evaluating Presentations Beyond Text-to-Slides",
        "PPTAgent：超越文本到幻灯片的演示文稿生成与评估",
    ),
    (
        107,
        "OpenOmni: Large Language Models Pivot Zero-shot Omnimodal Alignment\n  across Language "
        "with Real-time Self-Aware Emotional Speech Synthesis",
        "OpenOmni：基于大语言模型的零样本全模态对齐与实时自感知情感语音合成",
    ),
    (
        121,
        "Dolphin: Closed-loop Open-ended Auto-research through Thinking,\n  Practice, and Feedback",
        "海豚：通过思考、实践和反馈实现闭环开放式自动研究",
    ),
    (
        135,
        "Segmenting Text and Learning Their Rewards for Improved RLHF in Language\n  Model",
        "文本分段及其奖励学习以改进语言模型中的RLHF",
    ),
    (
        149,
        "MoDec-GS: Global-to-Local Motion Decomposition and Temporal Interval\n  Adjustment for "
        "Compact Dynamic 3D Gaussian Splatting",
        "MoDec-GS：全局到局部运动分解与时间间隔调整的紧凑动态3D高斯泼溅",
    ),
    (
        163,
        "Magic Mirror: ID-Preserved Video Generation in Video Diffusion\n  Transformers",
        "魔镜：基于视频扩散变换器的身份保持视频生成",
    ),
    (
        177,
        "Graph-Aware Isomorphic Attention for Adaptive Dynamics in Transformers",
        "图感知同构注意力：Transformer中的自适应动态机制",
    ),
    (
        190,
        "MagicFace: High-Fidelity Facial Expression Editing with Action-Unit\n  Control",
        "MagicFace：基于动作单元控制的高保真面部表情编辑",
    ),
    (
        204,
        "Generalizable Origin Identification for Text-Guided Image-to-Image\n  Diffusion Models",
        "基于文本引导的图像到图像扩散模型的通用来源识别",
    ),
]


def test_newsletter_with_empty_links_gives_entries_to_find_by_title() -> None:
    parsed = parse_sample("2025-01-08_daily_paper.md")
    assert (parsed.layout, parsed.digest_date, parsed.problems) == (
        "newsletter",
        date(2025, 1, 8),
        [],  # an empty link is this layout's way of saying "none": expected, not a problem
    )
    got = [(e.line, e.title_raw, e.title_translated) for e in parsed.entries]
    assert got == NEWSLETTER_0108
    for position, entry in enumerate(parsed.entries, start=1):
        assert entry.position == position
        assert entry.title == " ".join(entry.title_raw.split())  # type: ignore[union-attr]
        assert (entry.arxiv_id, entry.version, entry.link, entry.id_status) == (
            None,
            None,
            None,
            "missing",
        )
        assert entry.warnings == ["paper link is empty; to be found by title"]
        assert entry.digest_date == date(2025, 1, 8)
    assert parsed.entries[0].title == (
        "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language Models"
    )
    # The abstract stops at the link field; URLs in it run into Chinese text.
    first_abstract = parsed.entries[0].abstract
    assert first_abstract is not None and first_abstract.startswith("基于人类反馈的强化学习")
    assert first_abstract.endswith("实现代码可在https://github.com/OpenRLHF/OpenRLHF获取。")
    assert summary_line(parsed) == (
        "digests/2025-01-08_daily_paper.md: newsletter, 2025-01-08, "
        "15 entries (15 by title only, 0 invalid IDs), 0 problems"
    )


# (line, arXiv ID, collapsed English title, Chinese title)
NEWSLETTER_0114 = [
    (
        11,
        "2501.07301",
        "The Lessons of Developing Process Reward Models in Mathematical Reasoning",
        "数学推理中过程奖励模型开发的启示",
    ),
    (
        25,
        "2501.06425",
        "Tensor Product Attention Is All You Need",
        "张量积注意力机制：一切你所需要的",
    ),
    (
        38,
        "2501.06173",
        "VideoAuteur: Towards Long Narrative Video Generation",
        "VideoAuteur：迈向长篇叙事视频生成",
    ),
    (51, "2501.06252", "Transformer^2: Self-adaptive LLMs", "Transformer^2：自适应大语言模型"),
    (
        64,
        "2501.07572",
        "WebWalker: Benchmarking LLMs in Web Traversal",
        "WebWalker：大语言模型在网页遍历中的基准测试",
    ),
    (
        77,
        "2501.06458",
        "O1 Replication Journey -- Part 3: Inference-time Scaling for Medical Reasoning",
        "O1复制之旅——第三部分：医学推理中的推理时间扩展",
    ),
    (
        91,
        "2501.06282",
        "MinMo: A Multimodal Large Language Model for Seamless Voice Interaction",
        "MinMo：用于无缝语音交互的多模态大语言模型",
    ),
    (
        104,
        "2501.06590",
        "ChemAgent: Self-updating Library in Large Language Models Improves Chemical Reasoning",
        "ChemAgent：大语言模型中的自更新库提升化学推理能力",
    ),
    (118, "2501.07574", "UnCommon Objects in 3D", "三维中的非常见物体"),
]


def test_newsletter_with_links_gives_one_entry_per_paper() -> None:
    parsed = parse_sample("2025-01-14_daily_paper.md")
    assert (parsed.layout, parsed.digest_date, parsed.problems) == (
        "newsletter",
        date(2025, 1, 14),
        [],
    )
    got = [(e.line, e.arxiv_id, e.title, e.title_translated) for e in parsed.entries]
    assert got == NEWSLETTER_0114
    for entry in parsed.entries:
        # Each ID is linked twice (Hugging Face and arXiv): one entry, the arXiv link kept.
        assert entry.link == f"https://arxiv.org/abs/{entry.arxiv_id}"
        assert (entry.version, entry.id_status, entry.warnings) == (None, "ok", [])
    assert parsed.entries[0].title_raw == (
        "The Lessons of Developing Process Reward Models in Mathematical\n  Reasoning"
    )


# (arXiv ID, collapsed title, number of authors, first author)
HF_20240529 = [
    ("2405.18407", "Phased Consistency Model", 12, "Fu-Yun Wang"),
    ("2405.18047", "2BP: 2-Stage Backpropagation", 3, "Christopher Rae"),
    ("2405.18426", "GFlow: Recovering 4D World from Monocular Video", 5, "Shizun Wang"),
    (
        "2405.18386",
        "Instruct-MusicGen: Unlocking Text-to-Music Editing for Music Language Models "
        "via Instruction Tuning",
        10,
        "Yixiao Zhang",
    ),
    (
        "2405.17991",
        "VeLoRA: Memory Efficient Training using Rank-1 Sub-Token Projections",
        4,
        "Roy Miles",
    ),
    ("2405.17976", "Yuan 2.0-M32: Mixture of Experts with Attention Router", 15, "Shaohua Wu"),
    (
        "2405.18377",
        "LLaMA-NAS: Efficient Neural Architecture Search for Large Language Models",
        4,
        "Anthony Sarah",
    ),
    (
        "2405.18424",
        "3DitScene: Editing Any Scene via Language-guided Disentangled Gaussian Splatting",
        7,
        "Qihang Zhang",
    ),
]


def test_hf_json_list_of_objects() -> None:
    parsed = parse_sample("2024-05-29.json")
    assert (parsed.layout, parsed.digest_date, parsed.problems) == (
        "hf_json",
        date(2024, 5, 29),
        [],
    )
    got = [
        (e.arxiv_id, e.title, len(e.authors or []), (e.authors or [""])[0]) for e in parsed.entries
    ]
    assert got == HF_20240529  # the IDs inside thumbnail URLs are not extra entries
    musicgen = parsed.entries[3]
    assert musicgen.title_raw == (
        "Instruct-MusicGen: Unlocking Text-to-Music Editing for Music Language\n"
        "  Models via Instruction Tuning"
    )  # paper.title keeps arXiv's line wrap
    assert musicgen.authors is not None
    assert musicgen.authors[4:] == [
        "Marco A. Martínez-Ramírez",
        "Liwei Lin",
        "Gus Xia",
        "Wei-Hsiang Liao",
        "Yuki Mitsufuji",
        "Simon Dixon",
    ]
    first = parsed.entries[0]
    assert first.abstract is not None and first.abstract.startswith("The consistency model (CM)")
    for position, entry in enumerate(parsed.entries, start=1):
        assert (entry.position, entry.line, entry.link) == (position, None, entry.arxiv_id)
        assert (entry.version, entry.id_status, entry.title_translated) == (None, "ok", None)


# (arXiv ID, collapsed title, number of authors, first author)
HF_20250108 = [
    (
        "2501.03262",
        "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language Models",
        1,
        "Jian Hu",
    ),
    ("2501.03575", "Cosmos World Foundation Model Platform for Physical AI", 78, "NVIDIA"),
    (
        "2501.02955",
        "MotionBench: Benchmarking and Improving Fine-grained Video Motion "
        "Understanding for Vision Language Models",
        9,
        "Wenyi Hong",
    ),
    (
        "2501.03895",
        "LLaVA-Mini: Efficient Image and Video Large Multimodal Models with One Vision Token",
        4,
        "Shaolei Zhang",
    ),
    (
        "2501.04001",
        "Sa2VA: Marrying SAM2 with LLaVA for Dense Grounded Understanding of Images and Videos",
        10,
        "Haobo Yuan",
    ),
    (
        "2501.03847",
        "Diffusion as Shader: 3D-aware Video Diffusion for Versatile Video Generation Control",
        12,
        "Zekai Gu",
    ),
    (
        "2501.04561",
        "OpenOmni: Large Language Models Pivot Zero-shot Omnimodal Alignment across "
        "Language with Real-time Self-Aware Emotional Speech Synthesis",
        13,
        "Run Luo",
    ),
    (
        "2501.03936",
        "PPTAgent: Generating and Evaluating Presentations Beyond Text-to-Slides",
        9,
        "Hao Zheng",
    ),
    (
        "2501.03916",
        "Dolphin: Closed-loop Open-ended Auto-research through Thinking, Practice, and Feedback",
        9,
        "Jiakang Yuan",
    ),
    (
        "2501.02790",
        "Segmenting Text and Learning Their Rewards for Improved RLHF in Language Model",
        8,
        "Yueqin Yin",
    ),
    (
        "2501.03714",
        "MoDec-GS: Global-to-Local Motion Decomposition and Temporal Interval Adjustment "
        "for Compact Dynamic 3D Gaussian Splatting",
        6,
        "Sangwoon Kwak",
    ),
    (
        "2501.03931",
        "Magic Mirror: ID-Preserved Video Generation in Video Diffusion Transformers",
        7,
        "Yuechen Zhang",
    ),
    (
        "2501.02393",
        "Graph-Aware Isomorphic Attention for Adaptive Dynamics in Transformers",
        1,
        "Markus J. Buehler",
    ),
    (
        "2501.02260",
        "MagicFace: High-Fidelity Facial Expression Editing with Action-Unit Control",
        5,
        "Mengting Wei",
    ),
    (
        "2501.02376",
        "Generalizable Origin Identification for Text-Guided Image-to-Image Diffusion Models",
        6,
        "Wenhao Wang",
    ),
]


def test_hf_json_list_of_python_repr_strings() -> None:
    parsed = parse_sample("2025-01-08_metadata.json")
    assert (parsed.layout, parsed.digest_date, parsed.problems) == (
        "hf_json",
        date(2025, 1, 8),
        [],
    )
    got = [
        (e.arxiv_id, e.title, len(e.authors or []), (e.authors or [""])[0]) for e in parsed.entries
    ]
    assert got == HF_20250108
    assert [e.position for e in parsed.entries] == list(range(1, 16))
    assert parsed.entries[0].title_raw == (
        "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language\n  Models"
    )


def test_same_day_newsletter_and_metadata_name_the_same_papers() -> None:
    # The 2025-01-08 newsletter has no links; its metadata dump has the IDs for the
    # same 15 titles (in another order), which is what title resolution relies on.
    newsletter = {e.title for e in parse_sample("2025-01-08_daily_paper.md").entries}
    metadata = {e.title for e in parse_sample("2025-01-08_metadata.json").entries}
    assert newsletter == metadata and len(newsletter) == 15


def test_parse_all_reads_the_samples_in_path_order(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "digests")
    parsed = parse_all(tmp_path)
    assert [(p.digest, p.layout, len(p.entries)) for p in parsed] == [
        ("digests/2024-05-29.json", "hf_json", 8),
        ("digests/2025-01-08_daily_paper.md", "newsletter", 15),
        ("digests/2025-01-08_metadata.json", "hf_json", 15),
        ("digests/2025-01-14_daily_paper.md", "newsletter", 9),
        ("digests/sample-digest.md", "heading_link", 12),
    ]
    assert all(p.problems == [] for p in parsed)
    assert [p.size_bytes for p in parsed] == [
        (SAMPLES / Path(p.digest).name).stat().st_size for p in parsed
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir()))
def test_crlf_copy_of_a_sample_parses_the_same(tmp_path: Path, name: str) -> None:
    (tmp_path / "digests").mkdir()
    crlf = tmp_path / "digests" / name
    crlf.write_bytes((SAMPLES / name).read_bytes().replace(b"\n", b"\r\n"))
    original = parse_sample(name)
    converted = parse_digest(crlf, tmp_path)
    assert [p.kind for p in converted.problems] == ["crlf"]
    assert converted.problems[0].source == f"digests/{name}"
    assert converted.problems[0].message.startswith("read fine;")  # a note, not a fault
    assert converted.entries == original.entries

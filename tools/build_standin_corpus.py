"""Build the arXiv stand-in's corpus (tests/fixtures/standin/corpus.jsonl) from the shared samples.

Run by hand when the samples change; the output is committed and tests read only it:

    .venv/bin/python tools/build_standin_corpus.py [--shared /work/shared]

Sources, in corpus order (tests/fixtures/standin/README.md says what is real and what is not):
genuine Atom captures (copied into tests/fixtures/standin/genuine/), the Kaggle snapshot
sample, the seed papers of sample-digest.md, the Hugging Face digests, the 2025-01-14
newsletter, and a few synthetic records for reconcile tests. The build fails loudly on a
duplicate ID, on a digest ID the corpus lacks, and on a newsletter title that `ti:` search
cannot find.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.ids import find_refs  # noqa: E402 (needs the repo on sys.path)
from pipeline.standin.corpus import (  # noqa: E402 (needs the repo on sys.path)
    ISO_UTC,
    CorpusRecord,
    dump_corpus,
    split_requested_id,
)
from pipeline.standin.search import parse_search_query, words  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "standin"
GENUINE = FIXTURES / "genuine"
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "raw": "http://arxiv.org/OAI/arXivRaw/",
}
NOON = "T12:00:00Z"
# Genuine API answers whose entries become records (the other copied samples are the error
# and empty feeds, kept for shape tests, and the arXivRaw records that give version times).
ATOM_CAPTURES = (
    "idlist-oldstyle-id-hep-th-9711200-newformat-2026.xml",
    "idlist-1-entry-collaboration-author-newformat-2026.xml",
    "idlist-1-entry-doi-journalref-oldformat-2020.xml",
    "idlist-2-entries-oldformat-2012.xml",
    "search-10-entries-affiliation-oldstyle-ids-newformat-2025.xml",
    "search-cat-2-entries-comment-oldformat-2025.xml",
    "idlist-1706.03762-newformat-2026.xml",  # not in /work/shared; see the fixture README
)
PLACEHOLDER_ABSTRACT = "Abstract of {title}."

# 2025-01-14_daily_paper.md lists no authors or categories. These author lists are recalled
# from memory and unverified; the README says so and each record's note repeats it.
NEWSLETTER_0114_EXTRAS: dict[str, tuple[str, list[str]]] = {
    "2501.07301": ("cs.CL", ["Zhenru Zhang", "Chujie Zheng", "Yangzhen Wu", "Beichen Zhang",
                             "Runji Lin", "Bowen Yu", "Dayiheng Liu", "Jingren Zhou",
                             "Junyang Lin"]),
    "2501.06425": ("cs.CL", ["Yifan Zhang", "Yifeng Liu", "Huizhuo Yuan", "Zhen Qin",
                             "Yang Yuan", "Quanquan Gu", "Andrew Chi-Chih Yao"]),
    "2501.06173": ("cs.CV", ["Junfei Xiao", "Feng Cheng", "Lu Qi", "Liangke Gui",
                             "Jiepeng Cen", "Zhibei Ma", "Alan Yuille", "Lu Jiang"]),
    "2501.06252": ("cs.LG", ["Qi Sun", "Edoardo Cetin", "Yujin Tang"]),
    "2501.07572": ("cs.CL", ["Jialong Wu", "Wenbiao Yin", "Yong Jiang", "Zhenglin Wang",
                             "Zekun Xi", "Runnan Fang", "Linhai Zhang", "Yulan He",
                             "Deyu Zhou", "Pengjun Xie", "Fei Huang"]),
    "2501.06458": ("cs.CL", ["Zhongzhen Huang", "Gui Geng", "Shengyi Hua", "Zhen Huang",
                             "Haoyang Zou", "Shaoting Zhang", "Pengfei Liu", "Xiaofan Zhang"]),
    "2501.06282": ("cs.CL", ["Qian Chen", "Yafeng Chen", "Yanni Chen", "Mengzhe Chen"]),
    "2501.06590": ("cs.CL", ["Xiangru Tang", "Tianyu Hu", "Muyang Ye", "Yanjun Shao",
                             "Xunjian Yin", "Siru Ouyang", "Wangchunshu Zhou", "Pan Lu",
                             "Zhuosheng Zhang", "Yilun Zhao", "Arman Cohan", "Mark Gerstein"]),
    "2501.07574": ("cs.CV", ["Xingchen Liu", "Piyush Tayal", "Jianyuan Wang", "Jesus Zarate",
                             "Tom Monnier", "Konstantinos Tertikas", "Jiali Duan",
                             "Antoine Toisoul", "Jason Y. Zhang", "Natalia Neverova",
                             "Andrea Vedaldi", "Roman Shapovalov", "David Novotny"]),
}  # fmt: skip

# Plausible categories for Hugging Face digest papers, by words in the title then abstract.
_VISION_WORDS = {"image", "images", "video", "videos", "visual", "vision", "3d", "scene",
                 "gaussian", "splatting", "diffusion", "mesh", "facial", "segmentation",
                 "4d", "monocular", "shader", "pixel"}  # fmt: skip
_LANGUAGE_WORDS = {"language", "llm", "llms", "text", "rlhf", "reasoning", "token",
                   "translation", "music", "presentations", "research"}  # fmt: skip


class BuildError(RuntimeError):
    """The samples do not add up to a usable corpus; the message says which and why."""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ISO_UTC)


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, ISO_UTC).replace(tzinfo=UTC)


def fill_versions(first: str, last: str, count: int) -> list[str]:
    """`count` version times from v1 to the latest; unknown middle versions evenly spaced."""
    if count == 1:
        return [first]
    start, end = parse_iso(first), parse_iso(last)
    if end <= start:  # only the dates are known; keep the order strict
        end = start + timedelta(hours=count - 1)
    step = (end - start) / (count - 1)
    return [iso(start + step * i) for i in range(count - 1)] + [iso(end)]


def day_or_time(text: str) -> str:
    """An ISO day ('2024-08-16') or time ('...T23:57:02Z', '...000Z') as ISO_UTC."""
    if len(text) == 10:
        return text + NOON
    return iso(datetime.fromisoformat(text.replace("Z", "+00:00")))


# --- genuine Atom and OAI captures -----------------------------------------------------------


def copy_genuine_samples(shared: Path) -> None:
    GENUINE.mkdir(parents=True, exist_ok=True)
    for sample in sorted((shared / "arxiv-samples").glob("*.xml")):
        shutil.copyfile(sample, GENUINE / sample.name)


def oai_version_times() -> dict[str, list[str]]:
    times: dict[str, list[str]] = {}
    for path in sorted(GENUINE.glob("oai-arxivraw-*.xml")):
        raw = ET.parse(path).getroot().find(".//raw:arXivRaw", NS)
        if raw is None:
            raise BuildError(f"{path}: no arXivRaw record")
        paper_id = raw.findtext("raw:id", namespaces=NS)
        dates = [d.text or "" for d in raw.iterfind("raw:version/raw:date", NS)]
        times[str(paper_id)] = [iso(parsedate_to_datetime(d)) for d in dates]
    return times


def atom_records(oai_times: dict[str, list[str]]) -> list[CorpusRecord]:
    records: list[CorpusRecord] = []
    for path in (GENUINE / name for name in ATOM_CAPTURES):
        for entry in ET.parse(path).getroot().iterfind("atom:entry", NS):
            records.append(atom_entry_record(entry, path, oai_times))
    return records


def atom_entry_record(
    entry: ET.Element, path: Path, oai_times: dict[str, list[str]]
) -> CorpusRecord:
    def text(tag: str) -> str | None:
        return entry.findtext(tag, namespaces=NS)

    entry_id = (text("atom:id") or "").removeprefix("http://arxiv.org/abs/")
    paper_id, version = split_requested_id(entry_id) or ("", None)
    if version is None:
        raise BuildError(f"{path}: entry id {entry_id!r} is not a versioned arXiv ID")
    published, updated = text("atom:published") or "", text("atom:updated") or ""
    versions = oai_times.get(paper_id) or fill_versions(published, updated, version)
    if len(versions) != version or versions[0] != published or versions[-1] != updated:
        raise BuildError(f"{path}: {entry_id} disagrees with its OAI version history")
    primary = entry.find("arxiv:primary_category", NS)
    return CorpusRecord(
        id=paper_id,
        title=text("atom:title") or "",
        abstract=text("atom:summary") or "",
        authors=[
            (
                author.findtext("atom:name", "", NS),
                [a.text or "" for a in author.iterfind("arxiv:affiliation", NS)],
            )
            for author in entry.iterfind("atom:author", NS)
        ],
        primary_category=primary.get("term", "") if primary is not None else "",
        categories=[c.get("term", "") for c in entry.iterfind("atom:category", NS)],
        comment=text("arxiv:comment"),
        journal_ref=text("arxiv:journal_ref"),
        doi=text("arxiv:doi"),
        versions=versions,
    )


# --- Kaggle snapshot sample ------------------------------------------------------------------


def snapshot_records(shared: Path) -> list[CorpusRecord]:
    path = shared / "arxiv-samples" / "snapshot-sample.jsonl"
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        categories = row["categories"].split()
        try:
            records.append(
                CorpusRecord(
                    id=str(row["id"]),
                    title=row["title"],
                    abstract=row["abstract"],
                    authors=[snapshot_author(parts) for parts in row["authors_parsed"]],
                    primary_category=categories[0],
                    categories=categories,
                    comment=row["comments"],
                    journal_ref=row["journal-ref"],
                    doi=row["doi"],
                    versions=[iso(parsedate_to_datetime(v["created"])) for v in row["versions"]],
                )
            )
        except ValueError as exc:
            raise BuildError(f"{path}:{number}: {exc}") from exc
    return records


def snapshot_author(parts: list[str]) -> tuple[str, list[str]]:
    """authors_parsed is [last, first, suffix, affiliation?]; arXiv shows "First Last Suffix"."""
    last, first, suffix = parts[:3]
    name = " ".join(part for part in (first, last, suffix) if part)
    return name, [parts[3]] if len(parts) > 3 and parts[3] else []


# --- digests -----------------------------------------------------------------------------------


def seed_records(shared: Path) -> list[CorpusRecord]:
    seeds = json.loads((shared / "arxiv-samples" / "seed-papers.json").read_text("utf-8"))
    records = []
    for seed in seeds:
        paper_id = seed["arxiv_id"]
        filled = ["abstract"]
        published = seed["published_v1"]
        if published is None:
            published = f"20{paper_id[:2]}-{paper_id[2:4]}-01"
            filled.append("published")
        first = day_or_time(published)
        last = day_or_time(seed["updated_latest"] or published)
        if seed["versions"] > 2 or len(published) == 10 or len(seed["updated_latest"]) == 10:
            filled.append("version times")
        categories = seed["categories"] or [seed["primary_category"]]
        if seed["categories"] is None:
            filled.append("categories")
        records.append(
            CorpusRecord(
                id=paper_id,
                title=seed["title"],
                abstract=PLACEHOLDER_ABSTRACT.format(title=seed["title"]),
                authors=[(name, []) for name in seed["authors"]],
                primary_category=seed["primary_category"],
                categories=categories,
                comment=seed["comment"],
                journal_ref=seed["journal_ref"],
                doi=seed["doi"],
                versions=fill_versions(first, last, seed["versions"]),
                note="seed-papers.json; synthetic: " + ", ".join(filled),
            )
        )
    return records


def plausible_category(title: str, abstract: str) -> str:
    for text in (title, abstract):
        found = set(words(text))
        if found & _VISION_WORDS:
            return "cs.CV"
        if found & _LANGUAGE_WORDS:
            return "cs.CL"
    return "cs.LG"


def hugging_face_records(shared: Path) -> list[CorpusRecord]:
    digests = shared / "digests"
    items = json.loads((digests / "2024-05-29.json").read_text("utf-8"))
    items += [
        ast.literal_eval(text)
        for text in json.loads((digests / "2025-01-08_metadata.json").read_text("utf-8"))
    ]
    records = []
    for item in items:
        paper = item["paper"]
        category = plausible_category(paper["title"], paper["summary"])
        records.append(
            CorpusRecord(
                id=paper["id"],
                title=paper["title"],
                abstract=paper["summary"],
                authors=[(author["name"], []) for author in paper["authors"]],
                primary_category=category,
                categories=[category],
                comment=None,
                journal_ref=None,
                doi=None,
                versions=[day_or_time(paper["publishedAt"])],
                note="Hugging Face digest; synthetic: categories, single version",
            )
        )
    return records


_NEWSLETTER_ENTRY = re.compile(
    r"\*\*原文标题：\*\*(?P<title>.+?)\n\n.*?arxiv\.org/abs/(?P<id>[\d.]+)\)", re.S
)


def newsletter_0114_records(shared: Path) -> list[CorpusRecord]:
    text = (shared / "digests" / "2025-01-14_daily_paper.md").read_text("utf-8")
    published = iso(datetime(2025, 1, 14, 12, tzinfo=UTC) - timedelta(days=2))
    records = []
    for found in _NEWSLETTER_ENTRY.finditer(text):
        paper_id, title = found["id"], " ".join(found["title"].split())
        category, authors = NEWSLETTER_0114_EXTRAS[paper_id]
        records.append(
            CorpusRecord(
                id=paper_id,
                title=title,
                abstract=PLACEHOLDER_ABSTRACT.format(title=title),
                authors=[(name, []) for name in authors],
                primary_category=category,
                categories=[category],
                comment=None,
                journal_ref=None,
                doi=None,
                versions=[published],
                note="2025-01-14 newsletter title; synthetic: abstract, published, "
                "categories; authors recalled from memory, unverified",
            )
        )
    if len(records) != 9:
        raise BuildError(f"2025-01-14_daily_paper.md: expected 9 entries, found {len(records)}")
    return records


# --- synthetic records for reconcile tests ----------------------------------------------------


def synthetic_records() -> list[CorpusRecord]:
    withdrawal = "This paper has been withdrawn by the author due to an error in the proof"
    return [
        CorpusRecord(
            id="2601.00001",
            title="A Sharp Bound for List Colourings of Sparse Random Graphs",
            abstract="We prove a sharp upper bound on the list chromatic number of sparse "
            "random graphs and show that it is attained. (Synthetic record.)",
            authors=[("Ada Example", []), ("Bo Placeholder", [])],
            primary_category="math.CO",
            categories=["math.CO"],
            comment=withdrawal,
            journal_ref=None,
            doi=None,
            versions=["2026-01-05T10:00:00Z", "2026-01-20T09:30:00Z"],
            version_comments={1: "14 pages, 2 figures"},
            note="synthetic: withdrawn paper (v2 is the withdrawal)",
        ),
        CorpusRecord(
            id="2601.00002",
            title="AdapterMix: Sparse Adapter Mixtures Prevent Forgetting in Continual "
            "Instruction Tuning",
            abstract="We study continual instruction tuning with sparse mixtures of adapters "
            "and show that they reduce forgetting. (Synthetic record.)",
            authors=[("Cleo Sample", []), ("Dan Standin", [])],
            primary_category="cs.CL",
            categories=["cs.CL", "cs.LG"],
            comment="v2: new title",
            journal_ref=None,
            doi=None,
            versions=["2026-01-06T15:00:00Z", "2026-02-02T11:45:00Z"],
            version_titles={1: "Sparse Mixtures of Adapters for Continual Instruction Tuning"},
            version_comments={1: None},
            note="synthetic: renamed paper (v1 and v2 titles differ)",
        ),
        CorpusRecord(
            id="2601.00004",
            title="Tight Mixing Bounds for Glauber Dynamics on Sparse Expanders",
            abstract="We prove tight bounds on the mixing time of Glauber dynamics on sparse "
            "expander graphs. (Synthetic record.)",
            authors=[("Eve Example", [])],
            primary_category="math.PR",
            categories=["math.PR", "math.CO"],
            comment="Lemma 4.2 is false, so the main theorem does not hold",
            journal_ref=None,
            doi=None,
            versions=["2026-01-09T10:00:00Z", "2026-01-25T16:00:00Z"],
            version_comments={1: "23 pages"},
            note="synthetic: withdrawn paper whose reason does not say withdrawn",
        ),
        CorpusRecord(
            id="2601.00005",
            title="Counting Lattice Walks in the Quarter Plane with Small Steps",
            abstract="We count lattice walks confined to the quarter plane. (Synthetic record.)",
            authors=[("Finn Sample", [])],
            primary_category="math.CO",
            categories=["math.CO"],
            comment="v2: corrected an error in Lemma 3; 18 pages",
            journal_ref=None,
            doi=None,
            versions=["2026-01-10T10:00:00Z", "2026-01-28T12:00:00Z"],
            version_comments={1: "17 pages"},
            note="synthetic: a revision that fixes an error (not a withdrawal)",
        ),
        CorpusRecord(
            id="2601.00003",
            title="$\\sigma$-GPTs: A New Approach to Autoregressive Models",
            abstract=PLACEHOLDER_ABSTRACT.format(
                title="$\\sigma$-GPTs: A New Approach to Autoregressive Models"
            ),
            authors=[("Arnaud Pannatier", []), ("Evann Courdier", []), ("François Fleuret", [])],
            primary_category="cs.LG",
            categories=["cs.LG", "cs.CL"],
            comment=None,
            journal_ref=None,
            doi=None,
            versions=["2026-01-07T08:00:00Z"],
            note="synthetic: TeX in the title; ID, abstract and dates are synthetic "
            "(the real paper is 2404.09562)",
        ),
    ]


# --- titles that arXiv's search and a digest word differently ---------------------------------

HARD_TITLES = FIXTURES / "hard-titles.json"  # hand-written; tests and bench read it too


def hard_title_records() -> list[CorpusRecord]:
    """One paper per hard case of hard-titles.json, its title as arXiv holds it (TeX kept);
    the `digest` spelling is what a digest writes for it (docs/arxiv.md §6). A case
    whose `arxiv` is null is a paper the corpus has from another source (`check` makes sure)."""
    cases = json.loads(HARD_TITLES.read_text("utf-8"))
    return [
        CorpusRecord(
            id=case["id"],
            title=case["arxiv"],
            abstract=PLACEHOLDER_ABSTRACT.format(title=case["arxiv"]),
            authors=[("Hana Example", []), ("Ivo Placeholder", [])],
            primary_category="cs.CL",
            categories=["cs.CL"],
            comment=None,
            journal_ref=None,
            doi=None,
            versions=[f"2026-01-{8 + number % 20:02d}T09:00:00Z"],
            note=f"synthetic: all but the title; hard title case ({case['hard']})",
        )
        for number, case in enumerate(cases)
        if case["arxiv"] is not None
    ]


# --- checks -------------------------------------------------------------------------------------


def referenced_ids(shared: Path) -> set[str]:
    digests = shared / "digests"
    ids = {
        ref.arxiv_id
        for name in ("sample-digest.md", "2025-01-14_daily_paper.md")
        for ref in find_refs((digests / name).read_text("utf-8"))
        if ref.arxiv_id is not None
    }
    ids |= {
        item["paper"]["id"] for item in json.loads((digests / "2024-05-29.json").read_text("utf-8"))
    }
    ids |= {
        ast.literal_eval(text)["paper"]["id"]
        for text in json.loads((digests / "2025-01-08_metadata.json").read_text("utf-8"))
    }
    return ids


def newsletter_0108_titles(shared: Path) -> list[str]:
    text = (shared / "digests" / "2025-01-08_daily_paper.md").read_text("utf-8")
    found = re.findall(r"\*\*原文标题：\*\*(.+?)\n\n", text, re.S)
    return [" ".join(title.split()) for title in found]


def check(records: list[CorpusRecord], shared: Path) -> None:
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            raise BuildError(f"duplicate id {record.id}")
        seen.add(record.id)
    hard = {case["id"] for case in json.loads(HARD_TITLES.read_text("utf-8"))}
    missing = (referenced_ids(shared) | hard) - seen
    if missing:
        raise BuildError(f"digest IDs missing from the corpus: {sorted(missing)}")
    latest = [record.at_version(record.latest_version) for record in records]
    for title in newsletter_0108_titles(shared):
        query = parse_search_query(f'ti:"{" ".join(words(title))}"')
        hits = [paper.id for paper in latest if query.matches(paper)]
        if len(hits) != 1:
            raise BuildError(f"ti: search for newsletter title {title!r} finds {hits}")


# --- README ------------------------------------------------------------------------------------

README_HEAD = """# Stand-in corpus (generated by tools/build_standin_corpus.py; do not edit)

`corpus.jsonl` holds the papers `pipeline.standin` serves, one `CorpusRecord` per line
(fields: id, title, abstract, authors [[name, [affiliations]]], primary_category,
categories, comment, journal_ref, doi, versions [ISO UTC per version, v1 first],
version_titles, version_comments, note). Text is kept exactly as its source gave it,
hard line wraps included; the server lays it out per dialect. `note` is null for records
whose every field is real, and otherwise says which fields are synthetic.

Rebuild after the shared samples change: `.venv/bin/python tools/build_standin_corpus.py`.
The build copies the genuine captures into `genuine/` and fails on a duplicate ID, on an ID
a sample digest cites that the corpus lacks, and on a 2025-01-08 newsletter title that
`ti:` search cannot find.

## Where the records come from

- Genuine API captures (`genuine/*format*.xml`), {atom} records. Real: every field exactly as
  captured; version times from the arXivRaw captures where present, else published/updated.
  Synthetic: nothing (middle version times would be, for a v3+ entry without arXivRaw).
- Kaggle snapshot sample (0704.0001-0704.0200), {snapshot} records. Real: every field; title
  and abstract as given, authors from authors_parsed ("First Last Suffix", a 4th element is
  the affiliation), versions from versions[].created.
- Seed papers of sample-digest.md (seed-papers.json), {seeds} records. Real: id, title,
  authors, version count, known dates, primary category. Synthetic: the abstract ("Abstract
  of <title>."), null dates (from the ID's YYMM), 12:00Z for date-only values, unknown middle
  version times (evenly spaced), null category lists ([primary]).
- Hugging Face digests 2024-05-29.json and 2025-01-08_metadata.json, {hf} records. Real: id,
  title (paper.title), abstract (paper.summary), authors, published (paper.publishedAt).
  Synthetic: the category (cs.CV/cs.CL/cs.LG from title, then abstract, words), one version.
- 2025-01-14 newsletter, {news} records. Real: id, English title (wrap collapsed). Synthetic:
  placeholder abstract, published (digest date minus 2 days), category; the authors are
  recalled from memory and unverified.
- Reconcile specials, {special} records: see below.
- Hard titles, {hard} records (IDs 2601.001xx), one per new case of `hard-titles.json`: titles
  as arXiv holds them that a digest writes otherwise (apostrophes, dotted versions, accents,
  TeX, cut short, stopwords). Real: nothing; the titles are modelled on real papers.

Per record, the `note` field repeats which fields are synthetic.

## Synthetic records for reconcile tests

IDs 2601.0000x collide with nothing else in the corpus.

- `2601.00001`: withdrawn paper. v1 comment "14 pages, 2 figures"; v2 (latest) comment
  "This paper has been withdrawn by the author due to an error in the proof". All synthetic.
- `2601.00002`: renamed paper. v1 title "Sparse Mixtures of Adapters for Continual
  Instruction Tuning", v2 (latest) "AdapterMix: Sparse Adapter Mixtures Prevent Forgetting
  in Continual Instruction Tuning". All synthetic.
- `2601.00004`: withdrawn paper whose reason does not say so: v1 comment "23 pages", v2
  (latest) "Lemma 4.2 is false, so the main theorem does not hold". All synthetic.
- `2601.00005`: a revision, not a withdrawal: v2 comment "v2: corrected an error in Lemma 3;
  18 pages". All synthetic.
- `2601.00003`: TeX title "$\\sigma$-GPTs: A New Approach to Autoregressive Models" with the
  real paper's authors; ID, abstract, dates synthetic (the real paper is 2404.09562).
- `1706.03762` "Attention Is All You Need" is real: every field from the genuine 2026 API
  capture and its arXivRaw record (7 versions).

## Records with synthetic fields, by group

"""

GENUINE_PROVENANCE = """
## genuine/

Byte-for-byte copies. Files from /work/shared/arxiv-samples are described in its SOURCES.md.
Two more come from tamnd/arxiv-cli (the repository behind several of those samples), copied
through a code index: `arxiv/testdata/api_1706.03762.xml` at commit
fc2b882f67b62ee69715778c2ad335eec4394745 (saved as `idlist-1706.03762-newformat-2026.xml`)
and `arxiv/testdata/oai_raw_1706.03762.xml` at commit 4940a9ce5e5df74550e0eacecacc0f2ad9b55eab
(saved as `oai-arxivraw-getrecord-1706.03762.xml`).

| file | sha1 |
|---|---|
"""


GROUP_LABELS = {
    "atom": "genuine API captures",
    "snapshot": "Kaggle snapshot sample",
    "seeds": "seed papers",
    "hf": "Hugging Face digests",
    "news": "2025-01-14 newsletter",
    "special": "reconcile specials",
    "hard": "hard titles",
}


def write_readme(groups: dict[str, list[CorpusRecord]]) -> None:
    counts = {name: len(members) for name, members in groups.items()}
    lines = [README_HEAD.format(**counts)]
    for name, members in groups.items():
        marked = [f"`{r.id}`" for r in members if r.note]
        if marked:
            lines.append(f"- {GROUP_LABELS[name]}: " + ", ".join(marked) + "\n")
    lines.append(GENUINE_PROVENANCE)
    for path in sorted(GENUINE.iterdir()):
        lines.append(f"| `{path.name}` | {hashlib.sha1(path.read_bytes()).hexdigest()} |\n")
    (FIXTURES / "README.md").write_text("".join(lines), encoding="utf-8")


def build(shared: Path) -> list[CorpusRecord]:
    copy_genuine_samples(shared)
    groups = {
        "atom": atom_records(oai_version_times()),
        "snapshot": snapshot_records(shared),
        "seeds": seed_records(shared),
        "hf": hugging_face_records(shared),
        "news": newsletter_0114_records(shared),
        "special": synthetic_records(),
        "hard": hard_title_records(),
    }
    records = [record for members in groups.values() for record in members]
    check(records, shared)
    write_readme(groups)
    return records


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("/work/shared"))
    parser.add_argument("--out", type=Path, default=FIXTURES / "corpus.jsonl")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        records = build(args.shared)
    except (BuildError, OSError, ValueError) as exc:
        print(f"build_standin_corpus: {exc}", file=sys.stderr)
        return 1
    dump_corpus(records, args.out)
    print(f"wrote {len(records)} records to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

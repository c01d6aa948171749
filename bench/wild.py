"""Parse accuracy on the real digests of tests/fixtures/wild/ against their hand-checked
truth tables (truth/*.csv: position, arxiv_id, title_en), through `parse_digest` (no
network): entries found, arXiv IDs and English titles exact, in order, and extra entries."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bench.harness import PROJECT_ROOT, Plan, Workspace
from bench.report import Section
from pipeline.parse import parse_digest

WILD = PROJECT_ROOT / "tests" / "fixtures" / "wild"

COLUMNS = {
    "digest": "digest",
    "layout": "parsed as",
    "truth": "truth rows",
    "found": "entries found",
    "ids_exact": "arXiv IDs exact",
    "titles_exact": "titles exact",
    "extra": "extra entries",
    "all_exact": "all exact",
}


def _ws(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def truth(name: str) -> list[dict[str, str]]:
    with (WILD / "truth" / f"{Path(name).stem}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def run(plan: Plan, ws: Workspace) -> list[Section]:
    section = Section("wild_accuracy", "Parse accuracy on the wild digests", COLUMNS)
    total = dict.fromkeys(("truth", "found", "ids_exact", "titles_exact", "extra"), 0)
    files = sorted((WILD / "files").iterdir())
    for path in files:
        parsed = parse_digest(path, WILD)
        rows = truth(path.name)
        pairs = list(zip(parsed.entries, rows, strict=False))
        row: dict[str, Any] = {
            "digest": path.name,
            "layout": parsed.layout or "unreadable",
            "truth": len(rows),
            "found": len(parsed.entries),
            "ids_exact": sum((e.arxiv_id or "") == t["arxiv_id"] for e, t in pairs),
            "titles_exact": sum(_ws(e.title) == _ws(t["title_en"]) for e, t in pairs),
            "extra": max(0, len(parsed.entries) - len(rows)),
        }
        for key in total:
            total[key] += row[key]
        row["all_exact"] = _exact(row)
        section.rows.append(row)
    section.rows.append(
        {"digest": f"total ({len(files)} files)", "layout": "", **total, "all_exact": _exact(total)}
    )
    section.notes += [
        "Each wild file (byte copies of real digests) parsed by parse_digest; entry i is "
        "compared with truth row i, in order: arXiv ID equal (both empty counts as equal), "
        "English title equal with whitespace collapsed (both empty counts as equal). Extra "
        "entries: found beyond the truth rows. A change that lowers a count shows here.",
    ]
    return [section]


def _exact(row: dict[str, Any]) -> bool:
    n = row["truth"]
    return row["found"] == n and row["ids_exact"] == n and row["titles_exact"] == n

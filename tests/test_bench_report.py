"""bench.report: a run of a few benchmarks merged into the results of a whole suite."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import Section, merge_results, write_results

MACHINE = {
    "nproc": 2,
    "cpu_model": "cpu",
    "ram_gib": 1.0,
    "python": "3.11",
    "polars": "2",
    "arxiv_package": "4",
    "platform": "linux",
    "load_average_at_start": [1.0, 1.0, 1.0],
}


def section(key: str, value: int) -> Section:
    return Section(key, f"Title {key}", {"n": "count"}, [{"n": value}], [f"note {key}"])


def test_merged_sections_replace_their_earlier_numbers_and_keep_the_others(
    tmp_path: Path,
) -> None:
    whole = {"plan": "full", "suite_seconds": 100.0, "machine": MACHINE | {"measured_at": "T1"}}
    write_results(tmp_path, whole, [section("a", 1), section("b", 2), section("c", 3)])
    # A page written before sections kept their columns is merged from its Markdown.
    data = json.loads((tmp_path / "results.json").read_text())
    del data["sections"]["c"]["columns"]
    (tmp_path / "results.json").write_text(json.dumps(data))

    again = {"plan": "full", "suite_seconds": 5.0, "machine": MACHINE | {"measured_at": "T2"}}
    merge_results(tmp_path, again, [section("b", 20), section("d", 4)])
    page = (tmp_path / "results.md").read_text()
    assert [line for line in page.splitlines() if line.startswith("### ")] == [
        "### Title a",
        "### Title b",
        "### Title c",
        "### Title d",
    ]
    assert "| 20 |" in page and "| 2 |" not in page and "| 1 |" in page and "| 3 |" in page
    assert "- T2: Title b, Title d\n- T1: Title a, Title c" in page
    assert "whole suite ran at T1, 100 s" in page and "Measured T2" in page
    merged = json.loads((tmp_path / "results.json").read_text())
    assert merged["sections"]["b"]["rows"] == [{"n": 20}]
    assert merged["earlier"]["measured_at"] == "T1"
    # Merged again: the earlier run is still the whole suite's.
    later = again | {"machine": MACHINE | {"measured_at": "T3"}}
    merge_results(tmp_path, later, [section("a", 10)])
    page = (tmp_path / "results.md").read_text()
    assert "whole suite ran at T1" in page
    assert "- T3: Title a\n- T2: Title b, Title d\n- T1: Title c" in page

"""The report as a person sees it: headless Chromium (Debian's package, driven by
Playwright) opens `<out>/report.html` from disk with every network request refused.

It must load without a console error, draw every chart (a non-blank picture with the
expected bars), and show the numbers that DuckDB queries on the published views give.
Skipped only when Chromium is not installed (`.ci/run` installs it).
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright
from test_report import published

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)"
)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CHARTS = 12

__all__ = ["published"]  # the fixture, shared with test_report


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture(scope="module")
def report(browser: BrowserContext, published: Path) -> Iterator[tuple[Page, dict[str, Any]]]:
    """The opened report, with what went wrong while it loaded."""
    page = browser.new_page()
    seen: dict[str, Any] = {"errors": [], "requests": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))

    def refuse(route: Any) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            seen["requests"].append(url)
            route.abort()

    page.route("**/*", refuse)
    page.goto((published / "report.html").resolve().as_uri(), wait_until="load")
    yield page, seen
    page.close()


def query(published: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(published / "enriched.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def bars(page: Page, chart: str) -> list[tuple[str, str, float]]:
    """(series, x label, value) of every bar or point the chart drew."""
    return [
        (serie, label, float(value))
        for serie, label, value in page.evaluate(
            """key => [...document.querySelectorAll(`figure[data-chart="${key}"] .series`)]
                .flatMap((s, i) => [...s.querySelectorAll('.value')].map(v => [
                    String(i), v.parentNode.querySelector('.x_label')?.textContent ?? '',
                    v.textContent]))""",
            chart,
        )
    ]


def test_report_loads_offline_without_errors(report: tuple[Page, dict[str, Any]]) -> None:
    page, seen = report
    assert seen["errors"] == []
    assert seen["requests"] == []  # nothing fetched from anywhere
    assert page.title().startswith("digest-enrich report")


def test_every_chart_renders(report: tuple[Page, dict[str, Any]]) -> None:
    page, _ = report
    figures = page.locator("figure.chart")
    assert figures.count() == CHARTS
    for i in range(CHARTS):
        figure = figures.nth(i)
        box = figure.locator("svg").bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 150
        shot = base64.b64encode(figure.screenshot()).decode()
        colours, inked = page.evaluate(
            """async data => {
                const img = new Image(); img.src = 'data:image/png;base64,' + data;
                await img.decode();
                const c = document.createElement('canvas');
                c.width = img.width; c.height = img.height;
                const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                const px = g.getImageData(0, 0, c.width, c.height).data;
                const seen = new Set(); let inked = 0;
                for (let i = 0; i < px.length; i += 4) {
                    seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
                    if (px[i] + px[i + 1] + px[i + 2] < 600) inked++;
                }
                return [seen.size, inked / (px.length / 4)];
            }""",
            shot,
        )
        key = figure.get_attribute("data-chart")
        assert colours > 20 and inked > 0.01, f"chart {key} looks blank"
        drawn = figure.locator(".series .bar rect, .series .dots circle, .series path.line")
        assert drawn.count() > 0, f"chart {key} has no bar, dot or line"


def test_numbers_in_the_page_equal_queries_on_the_views(
    report: tuple[Page, dict[str, Any]], published: Path
) -> None:
    page, _ = report

    def metric(name: str) -> int:
        return int(page.locator(f'[data-metric="{name}"]').inner_text().replace(",", ""))

    ((entries, digests),) = query(published, "SELECT count(*), count(DISTINCT digest) FROM entries")
    assert (metric("entries"), metric("digests")) == (entries, digests)
    assert metric("papers") == query(published, "SELECT count(*) FROM papers")[0][0]
    assert metric("mismatches") == query(published, "SELECT count(*) FROM mismatches")[0][0]
    parse = query(published, "SELECT count(*) FROM problems WHERE stage = 'parse'")[0][0]
    assert metric("parse_problems") == parse
    for resolution, count in query(
        published, "SELECT resolution, count(*) FROM entries GROUP BY ALL"
    ):
        assert metric(f"resolved_{resolution}") == count
    stale = query(published, "SELECT count(*) FROM digest_health WHERE stale")[0][0]
    assert metric("stale_sources") == stale

    unresolved = query(published, "SELECT count(*) FROM entries WHERE resolution = 'unresolved'")
    assert unresolved[0][0] > 0  # the demo's digest of mistakes has one
    table = page.locator('table[data-table="unresolved"]')
    assert int(table.get_attribute("data-rows") or -1) == unresolved[0][0]
    assert table.locator("tbody tr").count() == unresolved[0][0]

    kinds = dict(query(published, "SELECT kind, count(*) FROM mismatches GROUP BY ALL"))
    assert {label: value for _, label, value in bars(page, "mismatch_kinds")} == kinds

    weekly = query(published, "SELECT sum(papers) FROM papers_per_week")[0][0]
    assert sum(value for *_, value in bars(page, "by_category")) == weekly

    per_resolution = dict(query(published, "SELECT resolution, count(*) FROM entries GROUP BY 1"))
    drawn = bars(page, "resolutions")
    order = ["link", "title", "corrected", "unresolved"]  # the series, in the legend's order
    for i, resolution in enumerate(order):
        total = sum(v for serie, _, v in drawn if serie == str(i))
        assert total == per_resolution.get(resolution, 0), resolution

    authors = query(
        published,
        "SELECT name, count(DISTINCT arxiv_id) AS n FROM authors GROUP BY 1 "
        "ORDER BY n DESC, name LIMIT 20",
    )
    drawn_authors = [(label, value) for _, label, value in bars(page, "top_authors")]
    # Drawn bottom-up in the document, so that the ranking reads from the top.
    assert drawn_authors[::-1] == [(name, float(n)) for name, n in authors]

"""The report people look at: `<out>/report.html`, one self-contained file.

Charts are SVG drawn here, on the server, by pygal and written inline: the file needs no
script, font or stylesheet from anywhere (it opens offline, and survives mail clients that
strip scripts), and each chart costs ~15 KB whatever the number of entries, since only
aggregates are drawn. Lists of entries are capped (TABLE_ROWS) and say how many more the
tables hold. Every number shown is computed here from the run's frames; the browser test
checks them against DuckDB queries on the published views.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

import polars as pl
import pygal
from pygal.graph.horizontal import HorizontalGraph
from pygal.style import DefaultStyle

from pipeline.health import Health, with_source

Frame = pl.DataFrame | pl.LazyFrame  # a table in hand, or to be read (from its parts)

REPORT_NAME = "report.html"
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
TABLE_ROWS = 200  # rows shown of a list of entries; the rest are in the tables
TOP = 20  # bars in a top-N chart
SERIES = 8  # series in a stacked chart; the rest are summed into "other"
RESOLUTIONS = ("link", "title", "corrected", "unresolved")
# The columns of the larger tables that the report and the staleness assessment read: a run
# that carries its tables over reads only these back (pipeline.run).
REPORT_COLUMNS: dict[str, list[str]] = {
    "entries": [
        "digest", "position", "digest_date", "arxiv_id", "resolution", "title_digest", "link",
        "resolution_reason",
    ],
    "papers": ["arxiv_id", "title", "primary_category", "published", "digests", "appearances"],
    "authors": ["arxiv_id", "name"],
}  # fmt: skip

_STYLE = DefaultStyle(font_family="DejaVu Sans, Liberation Sans, Arial, sans-serif")
_CHART_OPTIONS: dict[str, Any] = {
    "js": [],  # pygal's tooltips load a script from its site: none, so nothing is fetched
    "disable_xml_declaration": True,
    "style": _STYLE,
    "width": 900,
    "height": 360,
    "legend_at_bottom": True,
    "legend_at_bottom_columns": 4,
    "truncate_legend": 40,
    "print_values": False,
    "no_data_text": "nothing to show",
}


@dataclass(frozen=True)
class Chart:
    key: str  # names the chart in the page (data-chart), for tests and styling
    title: str
    svg: str


def _bar(
    key: str,
    kind: type[pygal.graph.graph.Graph],
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    **options: Any,
) -> Chart:
    chart = kind(title=title, **{**_CHART_OPTIONS, **options})
    # pygal draws a horizontal chart's first label at the bottom: reversed, a ranking
    # reads from the top.
    order = slice(None, None, -1) if issubclass(kind, HorizontalGraph) else slice(None)
    chart.x_labels = [str(label) for label in labels][order]
    for name, values in series.items():
        chart.add(name, list(values)[order])
    # pygal always inlines a script with its config for its (not loaded) tooltip script.
    return Chart(key, title, _SCRIPT.sub("", chart.render(is_unicode=True)))


def _top_series(frame: pl.DataFrame, x: str, series: str, value: str) -> dict[str, list[float]]:
    """`value` per `x` for the SERIES largest `series` (the rest summed as "other"),
    x in sorted order."""
    totals = (
        frame.group_by(series)
        .agg(pl.col(value).sum())
        .sort([value, series], descending=[True, False])
    )
    keep = totals.get_column(series).head(SERIES).to_list()
    labelled = frame.with_columns(
        pl.when(pl.col(series).is_in(keep))
        .then(pl.col(series))
        .otherwise(pl.lit("other"))
        .alias(series)
    )
    wide = labelled.group_by(x, series).agg(pl.col(value).sum())
    xs = sorted(frame.get_column(x).unique().to_list())
    out: dict[str, list[float]] = {}
    for name in [*keep, "other"]:
        values = dict(wide.filter(pl.col(series) == name).select(x, value).iter_rows())
        if values:
            out[str(name)] = [values.get(v, 0) for v in xs]
    return out


def _week_labels(frame: pl.DataFrame) -> list[str]:
    return [str(w) for w in sorted(frame.get_column("week").unique().to_list())]


_WEEK_OPTIONS = {"x_label_rotation": 45, "show_minor_x_labels": False}


def _x_major(n: int) -> dict[str, Any]:
    return {**_WEEK_OPTIONS, "x_labels_major_every": max(1, n // 16)}


@dataclass(frozen=True)
class ReportData:
    """What the report shows, computed from the tables (also used by its tests)."""

    summary: dict[str, int]
    by_category: pl.DataFrame  # week, primary_category, papers (distinct)
    by_source: pl.DataFrame  # week, source, papers (distinct)
    lags: pl.DataFrame  # source, lag_days
    resolutions: pl.DataFrame  # source, resolution, entries
    mismatch_kinds: pl.DataFrame  # kind, count
    unresolved: pl.DataFrame  # digest, position, title_digest, link, resolution_reason
    top_authors: pl.DataFrame  # name, papers
    top_categories: pl.DataFrame  # category, papers
    multi_digest: pl.DataFrame  # arxiv_id, title, digests, appearances
    problems: pl.DataFrame  # source, problems


def report_data(frames: Mapping[str, Frame]) -> ReportData:
    """What the page shows of the tables: each computed lazily, so that a table read from
    its parts (pipeline.write.TableParts) gives up only the columns asked for, and only
    the results are held."""
    papers = frames["papers"].lazy()
    # The columns most results are drawn from, read once; the texts only for what is shown.
    keys = frames["entries"].lazy().select("digest", "digest_date", "arxiv_id", "resolution")
    entries = with_source(keys.collect()).lazy()
    resolved = entries.filter(pl.col("arxiv_id").is_not_null())
    with_paper = resolved.join(
        papers.select("arxiv_id", "primary_category", "published"), on="arxiv_id"
    )
    dated = with_paper.filter(pl.col("digest_date").is_not_null()).with_columns(
        pl.col("digest_date").dt.truncate("1w").alias("week")
    )
    by_category, by_source = (
        dated.group_by("week", column).agg(pl.col("arxiv_id").n_unique().alias("papers"))
        for column in ("primary_category", "source")
    )
    lags = with_paper.filter(pl.col("digest_date").is_not_null()).select(
        "source",
        (pl.col("digest_date") - pl.col("published").dt.date()).dt.total_days().alias("lag_days"),
    )
    resolutions = (
        entries.group_by("source", "resolution")
        .agg(pl.len().alias("entries"))
        .sort("source", "resolution")
    )
    mismatch_kinds = (
        frames["mismatches"]
        .lazy()
        .group_by("kind")
        .agg(pl.len().alias("count"))
        .sort(["count", "kind"], descending=[True, False])
    )
    unresolved = (
        frames["entries"]
        .lazy()
        .filter(pl.col("resolution") == "unresolved")
        .select("digest", "position", "title_digest", "link", "resolution_reason")
    )
    top_authors = (
        frames["authors"]
        .lazy()
        .group_by("name")
        .agg(pl.col("arxiv_id").n_unique().alias("papers"))
        .sort(["papers", "name"], descending=[True, False])
        .head(TOP)
    )
    top_categories = (
        frames["categories"]
        .lazy()
        .group_by("category")
        .agg(pl.col("arxiv_id").n_unique().alias("papers"))
        .sort(["papers", "category"], descending=[True, False])
        .head(TOP)
    )
    multi_digest = (
        papers.filter(pl.col("digests") > 1)
        .select("arxiv_id", "title", "digests", "appearances")
        .sort(["digests", "appearances", "arxiv_id"], descending=[True, True, False])
    )
    parse_problems = frames["problems"].lazy().filter(pl.col("stage") == "parse")
    problems = (
        parse_problems.group_by("source")
        .agg(pl.len().alias("problems"))
        .sort(["problems", "source"], descending=[True, False])
    )
    counts = entries.group_by("resolution").len()
    sizes = pl.concat(
        [
            entries.select(entries=pl.len(), digests=pl.col("digest").n_unique()),
            papers.select(papers=pl.len()),
            frames["mismatches"].lazy().select(mismatches=pl.len()),
            parse_problems.select(parse_problems=pl.len()),
        ],
        how="horizontal",
    )
    collected = pl.collect_all(
        [
            by_category, by_source, lags, resolutions, mismatch_kinds, unresolved,
            top_authors, top_categories, multi_digest, problems, counts, sizes,
        ]
    )  # fmt: skip
    resolution_counts = dict(collected[10].iter_rows())
    summary = {
        **{name: int(value) for name, value in collected[11].row(0, named=True).items()},
        **{f"resolved_{r}": int(resolution_counts.get(r, 0)) for r in RESOLUTIONS},
    }
    return ReportData(summary, *collected[:10])


def _table_charts(data: ReportData) -> list[tuple[str, list[Chart]]]:
    """The sections drawn from the tables alone, each with its charts, in page order."""
    weeks = _week_labels(data.by_category)
    by_category = _top_series(data.by_category, "week", "primary_category", "papers")
    by_source = _top_series(data.by_source, "week", "source", "papers")

    lag_values = data.lags.get_column("lag_days").drop_nulls()
    bins = _lag_bins(lag_values)
    medians = (
        data.lags.group_by("source")
        .agg(pl.col("lag_days").median())
        .sort(["lag_days", "source"], descending=[True, False])  # ties in a fixed order
        .head(TOP)
    )

    resolutions = data.resolutions
    largest = (
        resolutions.group_by("source")
        .agg(pl.col("entries").sum())
        .sort(["entries", "source"], descending=[True, False])
        .head(TOP)
    )
    sources = sorted(largest.get_column("source").to_list())
    shown = set(sources)
    counts = {(src, r): n for src, r, n in resolutions.iter_rows() if src in shown}
    per_kind = {r: [counts.get((src, r), 0) for src in sources] for r in RESOLUTIONS}
    capped = f" (the {TOP} largest)" if resolutions["source"].n_unique() > TOP else ""
    return [
        (
            "Papers featured per week",
            [
                _bar(
                    "by_category",
                    pygal.StackedBar,
                    "Papers per week, by primary category",
                    weeks,
                    by_category,
                    **_x_major(len(weeks)),
                ),
                _bar(
                    "by_digest",
                    pygal.StackedBar,
                    "Papers per week, by digest",
                    weeks,
                    by_source,
                    **_x_major(len(weeks)),
                ),
            ],
        ),
        (
            "Lag from arXiv v1 to the digest",
            [
                _bar(
                    "lag_distribution",
                    pygal.Bar,
                    "Entries by days from v1 to the digest",
                    [b[0] for b in bins],
                    {"entries": [b[1] for b in bins]},
                ),
                _bar(
                    "median_lag",
                    pygal.HorizontalBar,
                    "Median lag per digest (days)",
                    medians.get_column("source").to_list(),
                    {"median days": medians.get_column("lag_days").to_list()},
                ),
            ],
        ),
        (
            "What reconcile did",
            [
                _bar(
                    "resolutions",
                    pygal.HorizontalStackedBar,
                    f"Resolutions per digest{capped}",
                    sources,
                    per_kind,
                ),
                _bar(
                    "mismatch_kinds",
                    pygal.HorizontalBar,
                    "Mismatches by kind",
                    data.mismatch_kinds.get_column("kind").to_list(),
                    {"mismatches": data.mismatch_kinds.get_column("count").to_list()},
                ),
            ],
        ),
        (
            "Top authors and categories",
            [
                _bar(
                    "top_authors",
                    pygal.HorizontalBar,
                    f"Top {TOP} authors (papers)",
                    data.top_authors.get_column("name").to_list(),
                    {"papers": data.top_authors.get_column("papers").to_list()},
                ),
                _bar(
                    "top_categories",
                    pygal.HorizontalBar,
                    f"Top {TOP} categories, cross-lists included (papers)",
                    data.top_categories.get_column("category").to_list(),
                    {"papers": data.top_categories.get_column("papers").to_list()},
                ),
            ],
        ),
        (
            "Parse problems",
            [
                _bar(
                    "parse_problems",
                    pygal.HorizontalBar,
                    "Parse problems per file",
                    data.problems.get_column("source").head(TOP).to_list(),
                    {"problems": data.problems.get_column("problems").head(TOP).to_list()},
                ),
            ],
        ),
    ]


def _runs_section(runs: pl.DataFrame, health: Health) -> tuple[str, list[Chart]]:
    """The section drawn from the runs and this run's health: new on every run."""
    run_labels = [str(r)[:15] for r in runs.get_column("run_id").to_list()]
    quiet = health.sources.head(TOP)
    return (
        "Runs over time",
        [
            _bar(
                "run_requests",
                pygal.Line,
                "Requests, retries and failed IDs per run",
                run_labels,
                {k: runs.get_column(k).to_list() for k in ("requests", "retries", "failed")},
                **_x_major(len(run_labels)),
            ),
            _bar(
                "run_fetched",
                pygal.Bar,
                "Papers fetched from arXiv per run (new or refreshed)",
                run_labels,
                {"fetched": runs.get_column("found").to_list()},
                **_x_major(len(run_labels)),
            ),
            _bar(
                "days_quiet",
                pygal.HorizontalBar,
                f"Days since a digest last yielded a new paper (stale past {health.stale_days:g})",
                quiet.get_column("source").to_list(),
                {"days": quiet.get_column("days_quiet").to_list()},
            ),
        ],
    )


_LAG_EDGES = (0, 1, 2, 3, 7, 14, 30, 90, 365)


def _lag_bins(days: pl.Series) -> list[tuple[str, int]]:
    """Entries per lag range; a negative lag (digest before v1) is its own bin."""
    values = days.to_list()
    bins = [("< 0", sum(1 for d in values if d < 0))]
    for low, high in pairwise(_LAG_EDGES):
        label = f"{low}" if high == low + 1 else f"{low}–{high - 1}"
        bins.append((label, sum(1 for d in values if low <= d < high)))
    bins.append((f"≥ {_LAG_EDGES[-1]}", sum(1 for d in values if d >= _LAG_EDGES[-1])))
    return bins


def _cell(value: object) -> str:
    return "" if value is None else html.escape(str(value))


def _table(frame: pl.DataFrame, name: str, limit: int = TABLE_ROWS) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.head(limit).iter_rows()
    )
    more = (
        f'<p class="more">{frame.height - limit:,} more rows in the tables.</p>'
        if frame.height > limit
        else ""
    )
    if not frame.height:
        return f'<p class="none" data-table="{name}">none</p>'
    return (
        f'<table data-table="{name}" data-rows="{frame.height}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>{more}"
    )


_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}
.alarm{background:#fde8e8;border:1px solid #c33;padding:.5em 1em}
.ok{background:#e8f5e8;border:1px solid #393;padding:.5em 1em}
dl.summary{display:grid;grid-template-columns:repeat(5,1fr);gap:.5em}
dl.summary div{background:#f4f4f4;padding:.5em}dt{font-size:.8em;color:#555}
dd{margin:0;font-size:1.4em}
figure.chart{margin:1em 0}figure.chart svg{width:100%;height:auto}
table{border-collapse:collapse;font-size:.85em;width:100%}
th,td{border:1px solid #ddd;padding:2px 4px;text-align:left;vertical-align:top}
.more,.none{color:#666;font-style:italic}
"""

_SUMMARY_LABELS = {
    "digests": "digest files",
    "entries": "entries",
    "papers": "papers",
    "resolved_link": "resolved by link",
    "resolved_title": "resolved by title",
    "resolved_corrected": "link corrected",
    "resolved_unresolved": "unresolved",
    "mismatches": "mismatches",
    "parse_problems": "parse problems",
}


def _summary_cells(summary: Mapping[str, int]) -> str:
    return "".join(
        f'<div><dt>{label}</dt><dd data-metric="{key}">{summary[key]:,}</dd></div>'
        for key, label in _SUMMARY_LABELS.items()
    )


def _stale_cell(health: Health) -> str:
    stale = len(health.stale_sources)
    return f'<div><dt>stale digests</dt><dd data-metric="stale_sources">{stale:,}</dd></div>'


def _alarms(health: Health) -> str:
    alarms = health.alarms
    if not alarms:
        return (
            f'<p class="ok" data-alarms="0">No alarm: every digest yielded a new paper within '
            f"{health.stale_days:g} days, and the unresolved share did not jump by more than "
            f"{health.unresolved_jump:g} points.</p>"
        )
    items = "".join(f"<li>{html.escape(a)}</li>" for a in alarms)
    return (
        f'<div class="alarm" data-alarms="{len(alarms)}"><strong>Alarms</strong>'
        f"<ul>{items}</ul></div>"
    )


def _figures(charts: Iterable[Chart]) -> str:
    return "".join(f'<figure class="chart" data-chart="{c.key}">{c.svg}</figure>' for c in charts)


def _section(title: str, charts: Iterable[Chart], tables: str = "") -> str:
    return f"<section><h2>{html.escape(title)}</h2>{_figures(charts)}{tables}</section>"


# The page's parts drawn from the tables alone, by name, each between markers; the page
# names the tables they were drawn from (tables_key). A run that carries the tables over
# takes these parts from the published page and draws only the rest: the runs, the health
# and the time change on every run, the tables do not (pipeline.write.carry_over_tables).
PART_NAMES = ("summary", "before_runs", "after_runs")
RUNS_AFTER = 4  # the runs' section follows this many of the tables' sections
_KEY_MARK = re.compile(r"<!--tables-key ([0-9a-f]+)-->")
_PART_MARK = re.compile(r"<!--part (\w+)-->(.*?)<!--/part \1-->", re.S)


def _marked(name: str, text: str) -> str:
    return f"<!--part {name}-->{text}<!--/part {name}-->"


def tables_parts(frames: Mapping[str, Frame]) -> dict[str, str]:
    """The parts of the page drawn from the tables alone (all but `runs`), by PART_NAMES."""
    data = report_data(frames)
    tables = {
        "What reconcile did": "<h3>Unresolved entries</h3>" + _table(data.unresolved, "unresolved"),
        "Top authors and categories": "<h3>Papers featured by several digests</h3>"
        + _table(data.multi_digest, "multi_digest"),
        "Parse problems": _table(
            frames["problems"]
            .lazy()
            .filter(pl.col("stage") == "parse")
            .select("source", "line", "kind", "message")
            .collect(),
            "parse_problems",
        ),
    }
    sections = [
        _section(title, charts, tables.get(title, "")) for title, charts in _table_charts(data)
    ]
    return {
        "summary": _summary_cells(data.summary),
        "before_runs": "".join(sections[:RUNS_AFTER]),
        "after_runs": "".join(sections[RUNS_AFTER:]),
    }


def reusable_parts(page: str, tables_key: str) -> dict[str, str] | None:
    """The tables' parts of an earlier `page`, if it was drawn from the tables that
    `tables_key` names; None if not (or it has not every part)."""
    key = _KEY_MARK.search(page)
    if key is None or key.group(1) != tables_key:
        return None
    parts = {m.group(1): m.group(2) for m in _PART_MARK.finditer(page)}
    return parts if set(parts) == set(PART_NAMES) else None


def render_report(
    frames: Mapping[str, Frame],
    health: Health,
    run_id: str,
    generated_at: datetime,
    tables_key: str,
    parts: Mapping[str, str] | None = None,
) -> str:
    """The report as one HTML document. `tables_key` names the tables (see reusable_parts);
    with `parts` (the tables' parts of a page drawn from the same tables), `frames` need
    hold only `runs`."""
    if parts is None:
        parts = tables_parts(frames)
    title, charts = _runs_section(frames["runs"].lazy().sort("run_id").collect(), health)
    runs = _section(
        title, charts, "<h3>Digest health</h3>" + _table(health.sources, "digest_health")
    )
    stamp = generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>digest-enrich report, run {html.escape(run_id)}</title><style>{_CSS}</style>"
        f"</head><body><!--tables-key {tables_key}-->"
        f"<h1>digest-enrich report</h1><p>Run <code>{html.escape(run_id)}</code>, written "
        f"{stamp}; health as of {health.today}.</p>{_alarms(health)}"
        f'<dl class="summary">{_marked("summary", parts["summary"])}{_stale_cell(health)}</dl>'
        f"{_marked('before_runs', parts['before_runs'])}{runs}"
        f"{_marked('after_runs', parts['after_runs'])}</body></html>"
    )

"""Command line: a thin layer over pipeline.run. `python -m pipeline --help`.

Every setting of pipeline.config.SETTINGS is an option of every command, so a flag,
an environment variable and a config-file key always mean the same thing.

The fetch package (httpx, the arxiv library) is imported by the commands that use it, not
at start-up: a scheduled run with nothing new needs none of it, and start-up is most of
what such a run costs (bench/rerun.py).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import polars as pl

from pipeline import run
from pipeline.config import SETTINGS, ConfigError, Settings, load_settings, settings_markdown
from pipeline.status import status as status_of
from pipeline.status import status_text
from pipeline.store import MetadataStore, StoreError
from pipeline.views import DATABASE_NAME

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# What the demo needs, shipped in the package so that an installed copy runs it from any
# folder. In a checkout these are symlinks to tests/fixtures (one copy of each file); a
# built package holds the files themselves.
DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
DEMO_CORPUS = DEMO_DATA / "corpus.jsonl"  # = tests/fixtures/standin/corpus.jsonl
DEMO_DIGESTS = DEMO_DATA / "digests"  # = tests/fixtures/digests, the samples in raw/digests
# A digest with the mistakes real ones make, so the demo shows every reconcile rule.
DEMO_MISTAKES = DEMO_DATA / "mistakes"
# Errors a run reports as a message and an exit code (run.exit_code_for), not a traceback.
EXPECTED_ERRORS = (ConfigError, run.RunLocked, run.InputVanished, OSError, StoreError)


DISTRIBUTION = "digest-enrich"


def project_version() -> str:
    """The version pyproject.toml declares: read from it in a checkout (how make and
    bin/enrich run), from the installed package's metadata otherwise."""
    pyproject = PROJECT_ROOT / "pyproject.toml"
    if pyproject.is_file():
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    import importlib.metadata

    return importlib.metadata.version(DISTRIBUTION)


def _verbose(command_flag: bool) -> bool:
    """-v counts before the command (`pipeline -v enrich`) as after it (`enrich -v`)."""
    return command_flag or bool(click.get_current_context().find_root().params.get("verbose"))


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add one option per declared setting, plus --config and --verbose."""
    for s in reversed(SETTINGS):
        if s.type is bool:
            flag = f"{s.flag}/--no-{s.flag[2:]}"
            command = click.option(flag, s.name, default=None, help=s.help)(command)
        else:
            ptype = click.Path(path_type=Path) if s.type is Path else s.type
            command = click.option(
                s.flag,
                s.name,
                type=ptype,
                default=None,
                show_envvar=False,
                help=f"{s.help} [env {s.env}; default {s.default}]",
            )(command)
    command = click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="TOML config file (default: ./pipeline.toml if present, or $PIPELINE_CONFIG).",
    )(command)
    return click.option("--verbose", "-v", is_flag=True, help="Debug logging.")(command)


def _settings(kwargs: dict[str, Any]) -> Settings:
    _setup_logging(_verbose(kwargs.pop("verbose", False)))
    config_file = kwargs.pop("config_file", None)
    try:
        return load_settings(flags=kwargs, config_file=config_file)
    except ConfigError as exc:
        sys.exit(_expected_error(exc))


@click.group(
    epilog="Exit codes: "
    + "; ".join(f"{code} = {meaning}" for code, meaning in run.EXIT_CODES.items())
)
@click.option("--verbose", "-v", is_flag=True, help="Debug logging (also after the command).")
@click.version_option(project_version(), prog_name=DISTRIBUTION)
def main(verbose: bool) -> None:
    """Enrich research digests with authoritative arXiv metadata, as Parquet tables."""


@main.command()
@settings_options
def parse(**kwargs: Any) -> None:
    """Parse every digest under <raw>/digests and print one line per file."""
    settings = _settings(kwargs)
    try:
        run.check_raw_folder(settings)
    except ConfigError as exc:
        sys.exit(_expected_error(exc))
    result = run.parse_stage(settings)
    for line in result.summaries:
        click.echo(line)
    for problem in result.problems:
        click.echo(f"problem: {run.problem_line(problem)}", err=True)
    click.echo(
        f"{len(result.summaries)} files, {result.entries.height} entries, "
        f"{len(result.problems)} problems"
    )


@contextmanager
def _parsed_and_fetched(
    settings: Settings,
) -> Iterator[tuple[run.ParseResult, run.FetchResult, float]]:
    """The first two stages, under the run lock, for the stage commands; the store stays
    open while the caller uses the results (their records are read from it when looked up)."""
    start = time.perf_counter()
    try:
        run.check_folders(settings)
        parsed = run.parse_stage(settings)
        run.log_parse_problems(parsed.problems)
        with run.run_lock(settings), MetadataStore(settings.paths.metadata_db) as store:
            fetched = run.fetch_stage(settings, parsed.entries, store, run.new_run_id())
            if fetched.unreachable:
                click.echo(f"{fetched.unreachable}. {run.MAKE_DEMO_HINT}", err=True)
            yield parsed, fetched, time.perf_counter() - start
    except EXPECTED_ERRORS as exc:
        sys.exit(_expected_error(exc))


def _exit_for(fetched: run.FetchResult) -> None:
    failed = any(o.outcome == "failed" for o in fetched.outcomes.values())
    sys.exit(run.EXIT_INCOMPLETE if failed or fetched.unreachable else run.EXIT_OK)


@main.command()
@settings_options
def fetch(**kwargs: Any) -> None:
    """Parse, then fetch arXiv metadata for every linked ID into the store (no tables)."""
    with _parsed_and_fetched(_settings(kwargs)) as (_, fetched, seconds):
        pass
    kinds = [o.outcome for o in fetched.outcomes.values()]
    click.echo(
        f"requested {len(kinds)}, found {kinds.count('found')}, "
        f"not found {kinds.count('not_found')}, invalid {kinds.count('invalid')}, "
        f"failed {kinds.count('failed')}, from store {fetched.from_store}, "
        f"title searches {fetched.title_searches}, requests {fetched.requests}, "
        f"retries {fetched.retries}, {seconds:.1f} s"
    )
    _exit_for(fetched)


@main.command()
@settings_options
def reconcile(**kwargs: Any) -> None:
    """Parse, fetch (from the store where possible), reconcile; print counts (no tables)."""
    from pipeline.reconcile import summary_lines

    with _parsed_and_fetched(_settings(kwargs)) as (parsed, fetched, _):
        result = run.reconcile_stage(parsed.entries, fetched)
    for line in summary_lines(result):
        click.echo(line)
    _exit_for(fetched)


@main.command()
@settings_options
def enrich(**kwargs: Any) -> None:
    """The whole run: parse -> fetch -> reconcile -> write tables to <out>."""
    settings = _settings(kwargs)
    sys.exit(_enrich(settings))


def _expected_error(exc: Exception) -> int:
    """Say what went wrong without a traceback (--verbose logs one); return the exit code."""
    logging.getLogger("pipeline").debug("%s", exc, exc_info=exc)
    click.echo(f"error: {run.error_message(exc)}", err=True)
    return run.exit_code_for(exc)


def _enrich(settings: Settings) -> int:
    try:
        summary = run.enrich(settings)
    except EXPECTED_ERRORS as exc:
        return _expected_error(exc)
    except Exception:
        logging.getLogger("pipeline").exception("unexpected error; tables left as they were")
        return run.EXIT_UNEXPECTED
    click.echo(summary.message)
    return summary.exit_code


@main.command()
@settings_options
def report(**kwargs: Any) -> None:
    """Write <out>/report.html (and enriched.duckdb, schema.json) again for the published
    tables, with digest staleness as of today; no stage runs, nothing is asked of arXiv."""
    settings = _settings(kwargs)
    try:
        path = run.report(settings)
    except EXPECTED_ERRORS as exc:
        sys.exit(_expected_error(exc))
    click.echo(f"report: {path} (DuckDB views: {settings.out_dir / DATABASE_NAME})")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for machines.")
@settings_options
def status(as_json: bool, **kwargs: Any) -> None:
    """The published generation, its counts, the last arXiv contact, what is pending and
    which digests are stale (as of today)."""
    settings = _settings(kwargs)
    try:
        shown = status_of(settings)
    except EXPECTED_ERRORS as exc:
        sys.exit(_expected_error(exc))
    click.echo(json.dumps(shown, indent=2) if as_json else status_text(shown))


@main.command("rebuild-store")
@settings_options
def rebuild_store(**kwargs: Any) -> None:
    """Rebuild the store's papers from the arXiv answers kept under <raw>/arxiv/responses,
    asking arXiv nothing (e.g. after moving a damaged metadata.sqlite aside)."""
    from pipeline.fetch import reparse_stored_responses

    settings = _settings(kwargs)
    try:
        run.check_folders(settings)
        with run.run_lock(settings), MetadataStore(settings.paths.metadata_db) as store:
            rebuilt = reparse_stored_responses(settings.paths, store)
    except EXPECTED_ERRORS as exc:
        sys.exit(_expected_error(exc))
    click.echo(f"{rebuilt.papers} papers rebuilt into {settings.paths.metadata_db}")
    if rebuilt.skipped:
        click.echo(
            f"{len(rebuilt.skipped)} kept answers could not be read and were skipped "
            "(the next run fetches what they held afresh):"
        )
        for source, reason in rebuilt.skipped:
            click.echo(f"  {source}: {reason}")


@main.command("harvest")
@click.option(
    "--set",
    "sets",
    multiple=True,
    required=True,
    help="OAI-PMH set to mirror, e.g. cs:cs:AI or physics:hep-th (repeatable).",
)
@settings_options
def harvest_command(sets: tuple[str, ...], **kwargs: Any) -> None:
    """Bring the store's mirror of OAI-PMH sets up to date (ListRecords, arXivRaw): papers
    with their version history, source oai. A killed harvest resumes from its last page."""
    from pipeline.fetch.oai import OaiError, harvest
    from pipeline.fetch.transport import RequestFailed

    settings = _settings(kwargs)
    try:
        run.check_raw_folder(settings)
        with run.run_lock(settings), MetadataStore(settings.paths.metadata_db) as store:
            for set_spec in sets:
                report = harvest(settings, store, set_spec)
                for problem in report.problems:
                    click.echo(f"problem: {problem}", err=True)
                resumed = " (resumed)" if report.resumed else ""
                click.echo(
                    f"set {set_spec}{resumed}: {report.records} papers in {report.pages} pages, "
                    f"{report.requests} requests"
                )
    except EXPECTED_ERRORS as exc:
        sys.exit(_expected_error(exc))
    except OaiError as exc:  # e.g. badArgument for a set arXiv does not have
        click.echo(f"error: {exc}", err=True)
        sys.exit(run.EXIT_CONFIG)
    except RequestFailed as exc:
        click.echo(f"error: {exc}; the next harvest goes on from the last page", err=True)
        sys.exit(run.EXIT_INCOMPLETE)


@main.command("oai-record")
@click.argument("arxiv_id")
@settings_options
def oai_record(arxiv_id: str, **kwargs: Any) -> None:
    """Store one paper from OAI-PMH GetRecord (arXivRaw: every version, withdrawals)."""
    from pipeline.fetch.oai import OaiError, get_record
    from pipeline.fetch.transport import RequestFailed

    settings = _settings(kwargs)
    try:
        run.check_raw_folder(settings)
        with run.run_lock(settings), MetadataStore(settings.paths.metadata_db) as store:
            record = get_record(settings, store, arxiv_id)
    except EXPECTED_ERRORS as exc:
        sys.exit(_expected_error(exc))
    except OaiError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(run.EXIT_CONFIG)
    except RequestFailed as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(run.EXIT_INCOMPLETE)
    history = ", ".join(f"v{v.version} {v.submitted:%Y-%m-%d}" for v in record.versions)
    withdrawn = "; withdrawn" if record.withdrawn else ""
    click.echo(f"{record.arxiv_id}: {record.title} ({history}{withdrawn})")


@main.command()
@click.option(
    "--dir",
    "demo_dir",
    type=click.Path(path_type=Path),
    default=Path("demo"),
    show_default=True,
    help="Scratch folder for the demo's raw/ and enriched/.",
)
@click.option(
    "--delay",
    type=float,
    default=0.2,
    show_default=True,
    help="Delay between requests to the stand-in, in seconds.",
)
@click.option(
    "--corpus",
    type=click.Path(path_type=Path, exists=True),
    default=DEMO_CORPUS,
    help="Stand-in corpus (JSON Lines).",
)
@click.option(
    "--digests",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=DEMO_DIGESTS,
    help="Digests to enrich [default: the sample digests shipped with the package].",
)
def demo(demo_dir: Path, delay: float, corpus: Path, digests: Path) -> None:
    """The whole pipeline against the bundled arXiv stand-in: no network needed."""
    from pipeline.standin import StandIn, load_corpus

    _setup_logging(_verbose(False))
    raw = demo_dir / "raw"
    shutil.rmtree(raw / "digests", ignore_errors=True)
    shutil.copytree(digests, raw / "digests")
    shutil.copytree(DEMO_MISTAKES, raw / "digests" / "demo")
    with StandIn(load_corpus(corpus)) as server:
        click.echo(f"arXiv stand-in listening on {server.url}", err=True)
        settings = load_settings(
            flags={
                "raw_dir": raw,
                "out_dir": demo_dir / "enriched",
                "api_url": server.url,
                "delay_seconds": delay,
            },
            env={},
        )
        code = _enrich(settings)
    if code in (run.EXIT_OK, run.EXIT_INCOMPLETE, run.EXIT_STALE):
        _show_demo_tables(settings)
    if code == run.EXIT_STALE:
        # The sample digests are dated 2024-2026: their alarms are the demo of the alarm.
        click.echo("(the alarms above are expected: the sample digests are old)")
        code = run.EXIT_OK
    sys.exit(code)


def _show_demo_tables(settings: Settings) -> None:
    out = settings.out_dir
    with pl.Config(tbl_rows=20, fmt_str_lengths=60, tbl_hide_dataframe_shape=True):
        entries = pl.read_parquet(out / "entries.parquet")
        click.echo("\nentries per resolution:")
        click.echo(entries.group_by("resolution").len().sort("resolution"))
        papers = pl.read_parquet(out / "papers.parquet")
        click.echo("\npapers per primary category:")
        click.echo(papers.group_by("primary_category").len().sort("len", descending=True))
        mismatches = pl.read_parquet(out / "mismatches.parquet")
        click.echo("\nmismatches per kind:")
        click.echo(mismatches.group_by("kind").len().sort("kind"))
    click.echo(f"\nTables: {out}/*.parquet (see docs/tables.md)")
    click.echo(f"Report: {out}/report.html; DuckDB views: {out}/enriched.duckdb")


@main.command()
@click.option(
    "--dir",
    "target",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("docs"),
    show_default=True,
    help="Folder to write them into (relative to the current folder).",
)
def docs(target: Path) -> None:
    """Regenerate docs/tables.md and docs/configuration.md from the code's declarations."""
    from pipeline.tables import tables_markdown

    target.mkdir(parents=True, exist_ok=True)
    (target / "tables.md").write_text(tables_markdown(), encoding="utf-8")
    (target / "configuration.md").write_text(configuration_markdown(), encoding="utf-8")
    click.echo(f"wrote {target / 'tables.md'} and {target / 'configuration.md'}")


def configuration_markdown() -> str:
    codes = "\n".join(f"| {code} | {meaning} |" for code, meaning in run.EXIT_CODES.items())
    return (
        "# Configuration\n\n"
        "Generated by `make docs` from `pipeline/config.py`; do not edit by hand.\n\n"
        "Precedence: command-line flag > environment variable > config file "
        "(`--config FILE`, `$PIPELINE_CONFIG`, or `./pipeline.toml`) > default.\n"
        "Config-file keys are the setting names, e.g. `delay_seconds = 3.0`.\n\n"
        + settings_markdown()
        + "\n## Exit codes\n\n| code | meaning |\n|---|---|\n"
        + codes
        + "\n"
    )

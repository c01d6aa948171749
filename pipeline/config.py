"""Settings, declared once: command-line flag > environment > config file > default.

The CLI builds its options from `SETTINGS`, and `docs/configuration.md` is generated
from it too, so the three can't drift apart.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.store import Paths

CONFIG_ENV = "PIPELINE_CONFIG"
DEFAULT_CONFIG_FILE = "pipeline.toml"


class ConfigError(ValueError):
    """Bad configuration: a value of the wrong type, an unknown key, an unreadable file."""


@dataclass(frozen=True)
class Setting:
    name: str  # attribute of Settings and key in the config file
    env: str
    type: type
    default: Any
    help: str
    # Bounds of a number setting: a value past them is a mistake (0 attempts, a delay of
    # 1e308 s that overflows the sleep), refused as configuration rather than met mid-run.
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    option: str | None = None  # the command-line flag, when not the name's

    @property
    def flag(self) -> str:
        return self.option or "--" + self.name.replace("_", "-")

    def bounds_text(self) -> str:
        parts = [f"≥ {self.at_least:g}"] if self.at_least is not None else []
        parts += [f"> {self.above:g}"] if self.above is not None else []
        parts += [f"≤ {self.at_most:g}"] if self.at_most is not None else []
        return ", ".join(parts)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "raw_dir",
        "PIPELINE_RAW_DIR",
        Path,
        Path("raw"),
        "Input folder: digests/ and the arXiv cache arxiv/.",
    ),
    Setting(
        "out_dir",
        "PIPELINE_OUT_DIR",
        Path,
        Path("enriched"),
        "Output folder for the Parquet tables.",
    ),
    Setting(
        "api_url",
        "ARXIV_API_URL",
        str,
        "https://export.arxiv.org/api/query",
        "arXiv query API address, an http(s) URL (arXiv answers plain http with 301).",
    ),
    # arXiv Terms of Use: one request every 3 seconds, one connection (docs/arxiv.md §1).
    Setting(
        "delay_seconds",
        "ARXIV_DELAY_SECONDS",
        float,
        3.0,
        "Least time between two arXiv requests, in seconds.",
        above=0,
        at_most=3600,
    ),
    Setting(
        "api_is_mirror",
        "ARXIV_API_IS_MIRROR",
        bool,
        False,
        "Say that api_url, though an arxiv.org address, is a mirror with a rate limit of its "
        "own: only then may delay_seconds be below arXiv's 3 s there.",
    ),
    Setting(
        "batch_size",
        "ARXIV_BATCH_SIZE",
        int,
        200,
        "IDs per id_list request (sent as POST; max_results equals it).",
        at_least=1,
        at_most=2000,
    ),
    Setting(
        "contact",
        "ARXIV_CONTACT",
        str,
        "",
        "Contact e-mail put into the User-Agent, as arXiv asks of API users.",
    ),
    Setting(
        "connect_timeout",
        "ARXIV_CONNECT_TIMEOUT",
        float,
        10.0,
        "Seconds to wait for a connection to arXiv.",
        above=0,
        at_most=3600,
    ),
    Setting(
        "read_timeout",
        "ARXIV_READ_TIMEOUT",
        float,
        60.0,
        "Seconds to wait for arXiv's answer.",
        above=0,
        at_most=3600,
    ),
    Setting(
        "max_attempts",
        "ARXIV_MAX_ATTEMPTS",
        int,
        5,
        "Tries per request before its IDs are recorded as failed.",
        at_least=1,
        at_most=100,
    ),
    Setting(
        "max_backoff_seconds",
        "ARXIV_MAX_BACKOFF_SECONDS",
        float,
        300.0,
        "Longest wait between two tries of one request.",
        at_least=0,
        at_most=3600,
    ),
    Setting(
        "fetch_deadline_seconds",
        "ARXIV_FETCH_DEADLINE_SECONDS",
        float,
        0.0,
        "Stop asking arXiv this many seconds into a run's fetch stage, write the tables from "
        "what is fetched and exit 3 (0: sized for the run, one retried try per request).",
        at_least=0,
        at_most=604800,
    ),
    Setting(
        "refresh_days",
        "PIPELINE_REFRESH_DAYS",
        float,
        30.0,
        "Re-fetch a stored paper once its metadata from the query API is older than this.",
        at_least=0,
        at_most=36500,
    ),
    Setting(
        "snapshot_path",
        "PIPELINE_SNAPSHOT",
        Path,
        None,
        "arXiv's bulk metadata snapshot (Kaggle arxiv-metadata-oai-snapshot.json: JSON Lines, "
        "plain, .gz or .zip): IDs it holds are answered from it without a request; none: "
        "the query API answers every ID.",
    ),
    # docs/arxiv.md §10: the snapshot is commonly updated weekly, so its copy ages faster.
    Setting(
        "snapshot_refresh_days",
        "PIPELINE_SNAPSHOT_REFRESH_DAYS",
        float,
        7.0,
        "How long what a run read from the snapshot stands: until then a re-run with nothing "
        "new carries its tables over, and papers a title was found for in the snapshot are "
        "served from the store.",
        at_least=0,
        at_most=36500,
    ),
    Setting(
        "oai_url",
        "ARXIV_OAI_URL",
        str,
        "https://oaipmh.arxiv.org/oai",
        "arXiv OAI-PMH address (docs/arxiv.md §9: the base URL since March 2025), for "
        "`harvest`, `oai-record` and the history of papers that look withdrawn "
        "(withdrawn_lookups).",
    ),
    Setting(
        "oai_refresh_days",
        "PIPELINE_OAI_REFRESH_DAYS",
        float,
        30.0,
        "Serve a stored paper harvested from OAI-PMH unasked until it is older than this.",
        at_least=0,
        at_most=36500,
    ),
    Setting(
        "parse_workers",
        "PIPELINE_PARSE_WORKERS",
        int,
        None,
        "Processes that parse digest files side by side (none: one per core this process may "
        "use; 0 or 1: one file after another in the run's own process). Started only when the "
        "digests are big enough to pay for starting them (pipeline/parse/workers.py). As many "
        "make the phrases of a large snapshot's titles when its title index is built.",
        at_least=0,
        at_most=256,
    ),
    Setting(
        "part_entries",
        "PIPELINE_PART_ENTRIES",
        int,
        100_000,
        "A whole run parses, fetches and reconciles the digests in parts of about this many "
        "entries (whole digest files), each part's rows set aside on disk until the tables "
        "are written: memory grows with the part, not with the digests. The tables are the "
        "same whatever the part size; each part's last batch of IDs and of titles asked of "
        "arXiv is sent short, so very small parts cost requests. With a plain snapshot "
        "(snapshot_path), its indexes are built (one pass, kept) before the first part, and "
        "each part reads only its IDs' lines; a compressed one is read in one pass for all "
        "IDs, in one part. A run that carries unchanged digests' rows over reads them this "
        "many at a time too; the digests changed are reconciled as one part, so past this "
        "many entries in them it is a whole run.",
        at_least=1,
        at_most=100_000_000,
    ),
    Setting(
        "harvest_until",
        "PIPELINE_HARVEST_UNTIL",
        str,
        None,
        "Last day (YYYY-MM-DD, inclusive: OAI-PMH datestamps are days, docs/arxiv.md §9) a "
        "`harvest` asks for (ListRecords `until`); the next harvest goes on from that day. "
        "None: up to the present.",
        option="--until",
    ),
    # docs/arxiv.md §7: a withdrawal is only certain from arXivRaw's source types.
    Setting(
        "withdrawn_lookups",
        "PIPELINE_WITHDRAWN_LOOKUPS",
        int,
        20,
        "Papers a run found that look withdrawn, asked of OAI-PMH one GetRecord each (through "
        "the same politeness gate) so that their versions and withdrawn flag come from the "
        "authoritative history; at most this many per run, 0: none. Not offline, and not "
        "when only one of api_url and oai_url is arXiv's own (a stand-in or mirror run asks "
        "nothing of arXiv's OAI host).",
        at_least=0,
        at_most=10000,
    ),
    Setting(
        "offline", "PIPELINE_OFFLINE", bool, False, "Use only stored metadata; ask arXiv nothing."
    ),
    Setting(
        "wait_for_lock",
        "PIPELINE_WAIT_FOR_LOCK",
        float,
        0.0,
        "Seconds to wait for a running run to finish (0: exit at once).",
        at_least=0,
        at_most=86400,
    ),
    Setting(
        "allow_shrink",
        "PIPELINE_ALLOW_SHRINK",
        bool,
        False,
        "Publish even though the digests folder is missing or empty, or digest files behind "
        "the published tables are gone and the entries would shrink.",
    ),
    Setting(
        "stale_days",
        "PIPELINE_STALE_DAYS",
        float,
        14.0,
        "Alarm (exit 6) when a digest has yielded no new paper for more than this many days.",
        above=0,
        at_most=36500,
    ),
    Setting(
        "unresolved_jump",
        "PIPELINE_UNRESOLVED_JUMP",
        float,
        10.0,
        "Alarm (exit 6) when the unresolved share of entries rises by more than this many "
        "percentage points over the previous complete run.",
        above=0,
        at_most=100,
    ),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with `load_settings`. Defaults live in SETTINGS only."""

    raw_dir: Path
    out_dir: Path
    api_url: str
    delay_seconds: float
    api_is_mirror: bool
    batch_size: int
    contact: str
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    max_backoff_seconds: float
    fetch_deadline_seconds: float
    refresh_days: float
    snapshot_path: Path | None
    snapshot_refresh_days: float
    oai_url: str
    oai_refresh_days: float
    parse_workers: int | None
    part_entries: int
    harvest_until: str | None
    withdrawn_lookups: int
    offline: bool
    wait_for_lock: float
    allow_shrink: bool
    stale_days: float
    unresolved_jump: float

    @property
    def paths(self) -> Paths:
        return Paths(raw=self.raw_dir, out=self.out_dir)

    def refresh_days_of(self, source: str) -> float:
        """How long a stored paper from `source` (api, snapshot, oai) is served unasked."""
        days = {"snapshot": self.snapshot_refresh_days, "oai": self.oai_refresh_days}
        return days.get(source, self.refresh_days)


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off", ""}


def _typed(setting: Setting, value: Any) -> Any:
    """`value` as the setting's type. Text (environment, flags) is parsed; other values (a
    config file's, the CLI's) must already be of the type: TOML's `true` is no delay and
    1.9 no batch size (int() would make them 1). ValueError when it cannot be."""
    kind = setting.type
    if isinstance(value, str):
        if kind is bool:
            word = value.strip().lower()
            if word not in _TRUE_WORDS | _FALSE_WORDS:
                raise ValueError(value)
            return word in _TRUE_WORDS
        return kind(value)
    if isinstance(value, bool) != (kind is bool):  # True is an int to Python, not here
        raise ValueError(value)
    if not isinstance(value, (int, float) if kind is float else kind):
        raise ValueError(value)
    return kind(value)


def _problem(setting: Setting, value: Any) -> str | None:
    """Why a value of the right type is still unusable, or None."""
    if setting.type in (int, float):
        if not math.isfinite(value):
            return "must be a finite number"
        if setting.at_least is not None and value < setting.at_least:
            return f"must be at least {setting.at_least:g}"
        if setting.above is not None and value <= setting.above:
            return f"must be above {setting.above:g}"
        if setting.at_most is not None and value > setting.at_most:
            return f"must be at most {setting.at_most:g}"
    if setting.name in ("api_url", "oai_url"):
        return _url_problem(value)
    if setting.name == "harvest_until" and not _is_day(value):
        return "must be a day as YYYY-MM-DD"
    if setting.name == "snapshot_path" and not value.is_file():
        return "must name an existing file (the snapshot is read, never made)"
    return None


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == len("YYYY-MM-DD")


def _url_problem(url: str) -> str | None:
    """A URL the HTTP client cannot use at all would otherwise pass for an outage (exit 3)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host, like https://export.arxiv.org/api/query"
    try:
        port = parts.port
    except ValueError:  # not a number, or past 65535
        port = 0
    if port == 0:
        return "has a port that is not a number from 1 to 65535"
    return None


def _convert(setting: Setting, value: Any, origin: str) -> Any:
    try:
        converted = _typed(setting, value)
    except (TypeError, ValueError) as exc:
        kind = _TYPE_WORDS.get(setting.type, "a path")
        raise ConfigError(f"{origin}: {setting.name} must be {kind}, got {value!r}") from exc
    problem = _problem(setting, converted)
    if problem:
        raise ConfigError(f"{origin}: {setting.name} {problem}, got {value!r}")
    return converted


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    known = [s.name for s in SETTINGS]
    unknown = sorted(set(data) - set(known))
    if unknown:
        named = []
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            named.append(f"{key} (did you mean {close[0]}?)" if close else key)
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(named)}")
    return data


def load_settings(
    flags: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Resolve every setting: flag > environment > config file > default."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = dict(os.environ) if env is None else env
    if config_file is None and env.get(CONFIG_ENV):
        config_file = Path(env[CONFIG_ENV])
    if config_file is None and Path(DEFAULT_CONFIG_FILE).is_file():
        config_file = Path(DEFAULT_CONFIG_FILE)
    file_values = _read_config_file(config_file) if config_file else {}

    values: dict[str, Any] = {}
    for s in SETTINGS:
        if s.name in flags:
            values[s.name] = _convert(s, flags[s.name], f"option {s.flag}")
        elif s.env in env and env[s.env] != "":
            values[s.name] = _convert(s, env[s.env], f"environment {s.env}")
        elif s.name in file_values:
            values[s.name] = _convert(s, file_values[s.name], f"config file {config_file}")
        else:
            values[s.name] = s.default
    settings = Settings(**values)
    _refuse_impolite_delay(settings)
    return settings


# arXiv's Terms of Use: one request every 3 s (docs/arxiv.md §1). Other hosts (a stand-in,
# a mirror) set their own pace.
ARXIV_MIN_DELAY_SECONDS = 3.0
ARXIV_DOMAIN = "arxiv.org"


def on_arxiv(url: str) -> bool:
    """Whether `url` is one of arXiv's own hosts (*.arxiv.org)."""
    host = (urlsplit(url).hostname or "").lower()
    return host == ARXIV_DOMAIN or host.endswith("." + ARXIV_DOMAIN)


def refuse_impolite_oai_delay(settings: Settings) -> None:
    """ConfigError when OAI-PMH would be asked faster than the Terms of Use allow: they
    cover OAI-PMH too (docs/arxiv.md §9), and its address has no mirror setting. Checked
    when a harvest starts, since only `harvest` and `oai-record` talk to it."""
    if on_arxiv(settings.oai_url) and settings.delay_seconds < ARXIV_MIN_DELAY_SECONDS:
        raise ConfigError(
            f"delay_seconds {settings.delay_seconds:g} is below the {ARXIV_MIN_DELAY_SECONDS:g} s "
            f"arXiv's Terms of Use ask of {urlsplit(settings.oai_url).hostname}; use at least "
            f"{ARXIV_MIN_DELAY_SECONDS:g} (the default)"
        )


def _refuse_impolite_delay(settings: Settings) -> None:
    host = (urlsplit(settings.api_url).hostname or "").lower()
    if (
        on_arxiv(settings.api_url)
        and settings.delay_seconds < ARXIV_MIN_DELAY_SECONDS
        and not settings.api_is_mirror
    ):
        raise ConfigError(
            f"delay_seconds {settings.delay_seconds:g} is below the {ARXIV_MIN_DELAY_SECONDS:g} s "
            f"arXiv's Terms of Use ask of {host}; use at least {ARXIV_MIN_DELAY_SECONDS:g} "
            "(the default), or, for a mirror at that address with a limit of its own, set "
            "api_is_mirror (--api-is-mirror, ARXIV_API_IS_MIRROR=1)"
        )


def settings_markdown() -> str:
    """The configuration reference, generated from SETTINGS."""
    lines = [
        "| setting (config file key) | flag | environment | default | allowed | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        lines.append(
            f"| `{s.name}` | `{s.flag}` | `{s.env}` | `{s.default}` | {s.bounds_text()} "
            f"| {s.help} |"
        )
    return "\n".join(lines) + "\n"


assert [f.name for f in fields(Settings)] == [s.name for s in SETTINGS], "declare settings once"

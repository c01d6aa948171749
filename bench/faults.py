"""Fault harness (issue 12): the real CLI against hostile digests, hostile answers, full
disks, damaged stores and kill -9, counting cases tried, survived and data lost.

A case survives when the run ends with an expected exit code (never 1), prints no
traceback, does not hang, and leaves the published tables readable. Data is lost when the
published tables shrink or change because of the fault, or when, after the fault is gone
(and the way out the error message names is followed), the next run does not give the
tables of a run that never met it. Data lost must be 0. `make faults` runs this section
alone and writes bench/faults/results.md; `make bench` includes it.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bench.harness import PROJECT_ROOT, SCALED_DELAY, Plan, Workspace, child_env
from bench.report import Section
from pipeline.parse import MAX_DIGEST_BYTES, SUPPORTED_SUFFIXES
from pipeline.standin import FAULT_KINDS, CorpusRecord, Fault, StandIn, load_corpus
from pipeline.tables import TABLES

SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "digests"
CORPUS = PROJECT_ROOT / "tests" / "fixtures" / "standin" / "corpus.jsonl"
FUZZED = {"full": 1200, "quick": 150}  # fuzzed digests per plan
KILL_POINTS = {"full": 20, "quick": 5}
RUN_TIMEOUT = 180.0  # a run past this has hung
PARSE_TIMEOUT = 30.0  # one fuzzed digest parsed past this has hung
FILES_PER_CHILD = 200
CHILD_MEMORY = 3 << 30  # address space of a child: a blow-up fails the case, not the host
EXPECTED_EXITS = {0, 2, 3, 4, 5, 6}
SECRET = "fault-harness-secret-7f3a"  # in a file hostile XML points at: must never be read
KEY_COLUMNS = ["digest", "position", "arxiv_id", "resolution"]
# The samples are dated 2024-2026: no staleness alarm (exit 6) as the calendar moves on.
BASE_FLAGS = [
    "--max-attempts", "3", "--max-backoff-seconds", "0.2", "--read-timeout", "2",
    "--stale-days", "36500",
]  # fmt: skip

COLUMNS = {
    "family": "fault family",
    "tried": "cases tried",
    "survived": "survived",
    "data_lost": "data lost",
    "converged": "next clean run as the reference",
    "failures": "cases that failed a check (first 3)",
}


@dataclass
class Case:
    family: str
    name: str
    survived: bool
    data_lost: bool
    detail: str = ""
    converged: bool = True  # the run after the fault gave the reference's entries


@dataclass
class Result:
    exit_code: int | None  # None: killed for hanging
    stderr: str
    seconds: float

    def survived(self, expected: set[int] = EXPECTED_EXITS) -> bool:
        return self.exit_code in expected and "Traceback" not in self.stderr


def run(plan: Plan, ws: Workspace) -> list[Section]:
    corpus = load_corpus(CORPUS)
    cases: list[Case] = []
    with StandIn(corpus) as server:
        reference = _reference(ws, server)
        for make_cases in (
            lambda: _fuzzed_digests(plan, ws, server, reference),
            lambda: _hostile_answers(ws, server, reference),
            lambda: _full_disks(ws, server, reference),
            lambda: _damaged_stores(ws, server, reference),
            lambda: _kills(plan, ws, server, corpus),
        ):
            found = make_cases()
            cases += found
            if found:
                failed = sum(not c.survived for c in found)
                print(f"bench:   {found[0].family}: {len(found)} cases, {failed} failed",
                      file=sys.stderr)  # fmt: skip
    section = Section("faults", "Fault harness: cases tried, survived, data lost", COLUMNS)
    families = list(dict.fromkeys(c.family for c in cases))
    for family in [*families, "all"]:
        mine = [c for c in cases if family in ("all", c.family)]
        failures = [
            f"{c.name}: {c.detail}"[:200]
            for c in mine
            if not (c.survived and c.converged) or c.data_lost
        ]
        section.rows.append(
            {
                "family": family,
                "tried": len(mine),
                "survived": sum(c.survived for c in mine),
                "data_lost": sum(c.data_lost for c in mine),
                "converged": sum(c.converged for c in mine),
                "failures": "; ".join(failures[:3]) or "–",
            }
        )
    section.notes += _notes(plan)
    return [section]


def _notes(plan: Plan) -> list[str]:
    return [
        "Survived: an expected exit code (0, 2 to 6, never 1), no traceback, no hang "
        f"(runs {RUN_TIMEOUT:g} s, one fuzzed digest {PARSE_TIMEOUT:g} s), every published "
        "table readable afterwards. Data lost: the fault shrank or changed the published "
        "tables, or after it (fault gone, the error's way out followed) the next run failed "
        "or lacks entries. Converged: that next run gives the entries of a run that never "
        "met the fault (digest, position, ID, resolution of each).",
        f"Fuzzed digests ({FUZZED[plan.name]}): truncated, byte-flipped and shuffled samples, "
        "binary, huge lines (64 KiB to 4 MiB), bad and mixed encodings, wrong byte-order marks, "
        "hostile XML (XXE to a local file, a billion laughs, external DTDs), deep nesting "
        "(JSON, HTML, Markdown, BibTeX), non-UTF-8 names, FIFOs, /dev/zero links, a size "
        "over the cap; each parsed alone in a child with a memory cap, then all of them with "
        "the samples in one enrich run (whose sample entries must be those of the reference).",
        f"Hostile answers: every stand-in fault kind ({', '.join(FAULT_KINDS)}) on every "
        "request and on the first two only; no entry may be lost. Empty pages on every "
        "request do not converge at once, by design: a title search answered empty twice is "
        "arXiv's word (docs/arxiv.md §5: an empty page cannot be told from no result) and "
        "is asked again after EMPTY_SEARCH_DAYS (1 day, pipeline/fetch/titles.py), so those "
        "titles stay unresolved until then; the ID requests, which carry a witness, are "
        "retried by the next run.",
        "Full disks: a small tmpfs over raw/arxiv (0-160 KiB left) or over the output "
        "folder (needs root; skipped otherwise); damaged stores: noisy pages, truncated, "
        "zeroed header, not a database, damaged kept answers (then rebuild-store).",
        f"kill -9 at {KILL_POINTS[plan.name]} moments spread over a run that follows a "
        "published one (10 requests); after each kill the published tables are read and "
        "checked, then the next run must converge to the reference.",
    ]


# --- running the CLI -------------------------------------------------------------------


def _cli(args: list[str], cwd: Path, timeout: float = RUN_TIMEOUT) -> Result:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", *args], cwd=cwd, env=child_env(),
            capture_output=True, text=True, timeout=timeout, preexec_fn=_cap_memory,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return Result(None, stderr, time.perf_counter() - started)
    return Result(done.returncode, done.stderr, time.perf_counter() - started)


def _cap_memory() -> None:
    import resource

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    cap = CHILD_MEMORY if hard == resource.RLIM_INFINITY else min(CHILD_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _enrich_args(folder: Path, url: str, *extra: str) -> list[str]:
    return [
        "enrich", "--raw-dir", str(folder / "raw"), "--out-dir", str(folder / "out"),
        "--api-url", url, "--delay-seconds", str(SCALED_DELAY), *BASE_FLAGS, *extra,
    ]  # fmt: skip


def _with_samples(folder: Path) -> Path:
    shutil.copytree(SAMPLES, folder / "raw" / "digests")
    return folder


def _tables(folder: Path) -> dict[str, pl.DataFrame] | None:
    """Every published table, or None if any cannot be read."""
    out = folder / "out"
    try:
        return {t.name: pl.read_parquet(out / f"{t.name}.parquet") for t in TABLES}
    except (OSError, pl.exceptions.PolarsError):
        return None


def _entry_keys(folder: Path) -> pl.DataFrame | None:
    tables = _tables(folder)
    return None if tables is None else tables["entries"].select(KEY_COLUMNS).sort(KEY_COLUMNS)


def _published_bytes(folder: Path) -> dict[str, bytes]:
    out = folder / "out"
    return {t.name: (out / f"{t.name}.parquet").read_bytes() for t in TABLES if t.name != "runs"}


def _reference(ws: Workspace, server: StandIn) -> pl.DataFrame:
    """The entries of a run that meets no fault."""
    folder = _with_samples(ws.fresh("faults-reference"))
    done = _cli(_enrich_args(folder, server.url), folder)
    keys = _entry_keys(folder)
    if done.exit_code != 0 or keys is None:
        raise RuntimeError(f"faults: the reference run failed: {done.stderr[-2000:]}")
    return keys


def _converges(folder: Path, server: StandIn, reference: pl.DataFrame) -> tuple[bool, bool, str]:
    """The run after a fault: (converged, lost, why). Converged: exit 0 and the reference's
    entries. Lost: that run failed, its tables cannot be read, or entries are missing."""
    server.set_faults([])
    done = _cli(_enrich_args(folder, server.url), folder)
    keys = _entry_keys(folder)
    if done.exit_code != 0 or keys is None:
        return False, True, f"the run after exited {done.exit_code}: {_last_line(done.stderr)}"
    where = ["digest", "position"]
    missing = reference.select(where).join(keys.select(where), on=where, how="anti").height
    if missing:
        return False, True, f"{missing} entries missing after the fault"
    if not keys.equals(reference):
        differ = keys.join(reference, on=where, suffix="_reference").filter(
            pl.col("arxiv_id").ne_missing(pl.col("arxiv_id_reference"))
            | (pl.col("resolution") != pl.col("resolution_reference"))
        )
        counts = differ.group_by("resolution").len().sort("resolution").rows()
        said = ", ".join(f"{n} {r}" for r, n in counts)
        return (
            False,
            False,
            f"{differ.height} entries resolved otherwise than the reference ({said})",
        )
    return True, False, ""


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


# --- fuzzed digests --------------------------------------------------------------------


def _fuzzed_digests(
    plan: Plan, ws: Workspace, server: StandIn, reference: pl.DataFrame
) -> list[Case]:
    folder = _with_samples(ws.fresh("faults-fuzz"))
    digests = folder / "raw" / "digests"
    fuzz = digests / "fuzz"
    fuzz.mkdir()
    secret = folder / "secret.txt"
    secret.write_text(SECRET + "\n")
    rng = random.Random(12)
    samples = [p.read_bytes() for p in sorted(SAMPLES.iterdir())]
    names: list[str] = []
    for n in range(FUZZED[plan.name]):
        kind, suffix, body = _fuzz_one(rng, samples, secret)
        name = f"{n:04}-{kind}{suffix}"
        (fuzz / name).write_bytes(body)
        names.append(name)
    specials = _special_files(fuzz)
    cases = _parse_each(folder, [fuzz / n for n in names + specials])

    done = _cli(_enrich_args(folder, server.url), folder)
    keys = _entry_keys(folder)
    survived = done.survived({0, 3}) and keys is not None
    samples_kept = keys is not None and keys.filter(
        ~pl.col("digest").str.starts_with("digests/fuzz/")
    ).equals(reference)
    leaked = keys is not None and _leaks_secret(folder)
    cases.append(
        Case(
            "fuzzed digests",
            f"one enrich run over all {len(cases)} with the samples",
            survived and not leaked,
            not samples_kept,
            f"exit {done.exit_code}, {_last_line(done.stderr)}" + (", XXE leak" if leaked else ""),
            samples_kept,
        )
    )
    return cases


def _fuzz_one(rng: random.Random, samples: list[bytes], secret: Path) -> tuple[str, str, bytes]:
    """One fuzzed digest: (kind, suffix, bytes)."""
    suffix = rng.choice(sorted(SUPPORTED_SUFFIXES))
    sample = rng.choice(samples)
    kind = rng.choice(list(_FUZZERS))
    return kind, suffix, _FUZZERS[kind](rng, sample, secret)


def _truncated(rng: random.Random, sample: bytes, secret: Path) -> bytes:
    return sample[: rng.randrange(len(sample))]


def _byte_flips(rng: random.Random, sample: bytes, secret: Path) -> bytes:
    data = bytearray(sample)
    for _ in range(rng.randrange(1, 60)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _shuffled(rng: random.Random, sample: bytes, secret: Path) -> bytes:
    lines = sample.split(b"\n")
    rng.shuffle(lines)
    return b"\n".join(lines[: rng.randrange(1, len(lines) + 1)] * rng.randrange(1, 4))


def _binary(rng: random.Random, sample: bytes, secret: Path) -> bytes:
    body = rng.randbytes(rng.randrange(1, 200_000))
    return body if rng.random() < 0.5 else body.replace(b"\0", b"\1")  # without NUL too


def _huge_line(rng: random.Random, sample: bytes, secret: Path) -> bytes:
    units = [b"[x](https://arxiv.org/abs/2401.00001) ", b"a" * 64, b"**b** ", b"[", b"| x ",
             b"<a href='https://arxiv.org/abs/2401.0", b"2401.00001v"]  # fmt: skip
    unit = rng.choice(units)
    size = int(2 ** rng.uniform(16, 22))  # 64 KiB to 4 MiB, log-uniform
    return unit * (size // len(unit))


def _bad_encoding(rng: random.Random, sample: bytes, secret: Path) -> bytes:
    text = sample.decode("utf-8", errors="replace")
    encoding = rng.choice(["utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "gb18030",
                           "big5", "shift_jis", "euc-kr", "koi8-r"])  # fmt: skip
    body = text.encode(encoding, errors="replace")
    if rng.random() < 0.3:  # a byte-order mark that lies
        body = rng.choice([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF32_BE]) + body
    if rng.random() < 0.3:  # and a stretch of another encoding in the middle
        cut = rng.randrange(len(body) + 1)
        body = body[:cut] + text[:200].encode("utf-16") + body[cut:]
    return body


def _hostile_xml(rng: random.Random, sample: bytes, secret: Path) -> bytes:
    xxe = f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
    laughs = (
        '<!DOCTYPE d [<!ENTITY a "lol">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + "]>"
    )
    dtd = '<!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd">'
    doctype, use = rng.choice([(xxe, "&x;"), (laughs, "&j;"), (dtd, "&y;")])
    title = f"<title>{use} 2401.00001</title>"
    shapes = [
        f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel>{title}<item>{title}'
        f"<link>https://arxiv.org/abs/2401.00001</link><description>{use}</description>"
        "</item></channel></rss>",
        f'<?xml version="1.0"?>{doctype}<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<entry>{title}<id>{use}</id><summary>{use}</summary></entry></feed>",
        f"{doctype}<html><body><h2>{use}</h2><a href='https://arxiv.org/abs/2401.00001'>"
        f"{use}</a><p>{use}</p></body></html>",
        f'<?xml version="1.0"?>{doctype}<x xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="{secret}" parse="text"/>{use}</x>',
    ]
    return rng.choice(shapes).encode()


def _deep_nesting(rng: random.Random, sample: bytes, secret: Path) -> bytes:
    depth = rng.randrange(1000, 200_000)
    link = b"https://arxiv.org/abs/2401.00001"
    return rng.choice([
        b"[" * depth + b"]" * rng.randrange(depth + 1),
        b'{"a":' * depth + b'"' + link + b'"' + b"}" * depth,
        b"<div>" * depth + b"<a href='" + link + b"'>t</a>" + b"</div>" * rng.randrange(depth),
        b">" * min(depth, 50_000) + b" [t](" + link + b")\n",
        b"".join(b"  " * i + b"- [t](" + link + b")\n" for i in range(min(depth, 3000))),
        b"@article{k, title = " + b"{" * depth + b"T" + b"}" * depth + b"}\n",
        b"(" * depth + link,
    ])  # fmt: skip


_FUZZERS: dict[str, Callable[[random.Random, bytes, Path], bytes]] = {
    "truncated": _truncated,
    "flipped": _byte_flips,
    "shuffled": _shuffled,
    "binary": _binary,
    "hugeline": _huge_line,
    "encoding": _bad_encoding,
    "xml": _hostile_xml,
    "nesting": _deep_nesting,
}


def _special_files(fuzz: Path) -> list[str]:
    """Things under digests/ that are not regular files, or not plainly named."""
    os.mkfifo(fuzz / "pipe.md")
    (fuzz / "zero.md").symlink_to("/dev/zero")
    (fuzz / "loop").symlink_to(".")
    (fuzz / "dangling.md").symlink_to("nowhere.md")
    (fuzz / os.fsdecode(b"caf\xe9-\xff.md")).write_bytes(
        b"## T\n[x](https://arxiv.org/abs/2401.00001)\n"
    )
    with (fuzz / "sparse-huge.md").open("wb") as handle:
        handle.truncate(MAX_DIGEST_BYTES + 1)
    return ["pipe.md", "zero.md", "loop", "dangling.md", os.fsdecode(b"caf\xe9-\xff.md"),
            "sparse-huge.md"]  # fmt: skip


def _parse_each(folder: Path, paths: list[Path]) -> list[Case]:
    """Each file parsed alone, in children with a memory cap (a fresh one every
    FILES_PER_CHILD files, so that no file pays for what the ones before it kept), restarted
    past a crash."""
    cases: list[Case] = []
    todo = list(paths)
    while todo:
        results, crashed_on, why = _parse_child(folder, todo[:FILES_PER_CHILD])
        for path, (ok, detail) in results.items():
            cases.append(Case("fuzzed digests", path.name, ok, False, detail))
        done = len(results)
        if crashed_on is not None:
            cases.append(Case("fuzzed digests", todo[done].name, False, False, why))
            done += 1
        todo = todo[done:]
    return cases


def _parse_child(
    folder: Path, paths: list[Path]
) -> tuple[dict[Path, tuple[bool, str]], int | None, str]:
    """Parse `paths` in order in one child; returns the results it finished, and the index
    it died or hung on (None if it finished them all)."""
    listing = "\n".join(os.fsencode(p).hex() for p in paths)
    child = subprocess.Popen(
        [sys.executable, "-c", "from bench.faults import parse_listed; parse_listed()",
         str(folder / "raw"), SECRET],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=child_env(), cwd=PROJECT_ROOT, preexec_fn=_cap_memory,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(listing.encode() + b"\n")
    child.stdin.close()
    results: dict[Path, tuple[bool, str]] = {}
    os.set_blocking(child.stdout.fileno(), False)
    buffer = b""
    last = time.monotonic()
    while True:
        chunk = child.stdout.read() or b""
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            index, ok, detail = json.loads(line)
            results[paths[index]] = (ok, detail)
            last = time.monotonic()
        if child.poll() is not None and not chunk:
            break
        if time.monotonic() - last > PARSE_TIMEOUT:
            child.kill()
            child.wait()
            return results, len(results), f"hung (over {PARSE_TIMEOUT:g} s)"
        time.sleep(0.01)
    if len(results) < len(paths):
        why = _last_line(child.stderr.read().decode(errors="replace") if child.stderr else "")
        return results, len(results), f"parse child died ({child.returncode}): {why}"
    return results, None, ""


def parse_listed() -> None:
    """In the child: parse each path named on stdin (hex of its bytes), print one JSON
    line each: [index, survived, detail]. A survivor raised nothing, built its frame,
    wrote it as Parquet and leaked no secret."""
    import io

    from pipeline.parse import entries_frame, parse_digest

    raw, secret = Path(sys.argv[1]), sys.argv[2]
    paths = [Path(os.fsdecode(bytes.fromhex(h))) for h in sys.stdin.read().split()]
    for index, path in enumerate(paths):
        started = time.perf_counter()
        try:
            parsed = parse_digest(path, raw)
            frame = entries_frame([parsed])
            frame.write_parquet(io.BytesIO())
            ok = secret not in repr(parsed)
            kinds = ", ".join(sorted({p.kind for p in parsed.problems}))
            detail = kinds if ok else "XXE: the secret file was read"
        except Exception as exc:  # the harness counts what the pipeline should not raise
            ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
        detail += f" ({time.perf_counter() - started:.2f} s)"
        print(json.dumps([index, ok, detail]), flush=True)


def _leaks_secret(folder: Path) -> bool:
    tables = _tables(folder) or {}
    return any(SECRET in repr(frame.rows()) for frame in tables.values())


# --- hostile answers -------------------------------------------------------------------


def _hostile_answers(ws: Workspace, server: StandIn, reference: pl.DataFrame) -> list[Case]:
    cases: list[Case] = []
    for kind in FAULT_KINDS:
        for when, schedule in (("every request", {}), ("first 2 requests", {"first_n": 2})):
            options: dict[str, float] = {"retry_after": 0.1} if kind in ("503", "429") else {}
            if kind == "slow":
                options["delay"] = 0.5
            fault = Fault(kind, **schedule, **options)  # type: ignore[arg-type]
            folder = _with_samples(ws.fresh(f"faults-answer-{kind}-{len(cases)}"))
            server.set_faults([fault])
            done = _cli(_enrich_args(folder, server.url), folder)
            keys = _entry_keys(folder)
            survived = done.survived({0, 3}) and keys is not None
            # Every entry is in the tables, resolved or waiting on arXiv.
            kept = keys is not None and keys.select("digest", "position").equals(
                reference.select("digest", "position")
            )
            converged, lost, why = _converges(folder, server, reference)
            cases.append(
                Case(
                    "hostile answers",
                    f"{kind} on {when}",
                    survived,
                    lost or not kept,
                    f"exit {done.exit_code} in {done.seconds:.0f} s; {why}",
                    converged,
                )
            )
    server.set_faults([])
    return cases


# --- full disks ------------------------------------------------------------------------


def _full_disks(ws: Workspace, server: StandIn, reference: pl.DataFrame) -> list[Case]:
    cases: list[Case] = []
    for where, leave_kb in [("raw/arxiv", kb) for kb in (0, 8, 48, 96, 160)] + [("out", 16)]:
        folder = _with_samples(ws.fresh(f"faults-disk-{len(cases)}"))
        with _small_disk(folder / where, 8192) as mounted:
            if not mounted:
                return []  # not root: the tests say so; nothing to count here
            case = _full_disk_case(folder, where, leave_kb, server, reference)
        cases.append(case)
    return cases


def _full_disk_case(
    folder: Path, where: str, leave_kb: int, server: StandIn, reference: pl.DataFrame
) -> Case:
    name = f"{where} with {leave_kb} KiB left"
    first = _cli(_enrich_args(folder, server.url), folder)
    if first.exit_code != 0:
        return Case("full disk", name, False, True, f"first run exited {first.exit_code}")
    before = _published_bytes(folder)
    (folder / "raw" / "digests" / "sample-digest.md").touch()  # a full run, not a carry-over
    filler = _fill(folder / where, leave_kb)
    done = _cli(_enrich_args(folder, server.url), folder)
    survived = done.survived({0, 5}) and "Traceback" not in done.stderr
    unchanged = done.exit_code == 0 or _published_bytes(folder) == before
    filler.unlink()
    converged, lost, why = _converges(folder, server, reference)
    detail = f"exit {done.exit_code}: {_last_line(done.stderr)}; {why}"
    return Case("full disk", name, survived, lost or not unchanged, detail, converged)


@contextmanager
def _small_disk(folder: Path, size_kb: int) -> Iterator[bool]:
    folder.mkdir(parents=True, exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def _fill(folder: Path, leave_kb: int) -> Path:
    filler = folder / "filler"
    vfs = os.statvfs(folder)
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, vfs.f_bavail * vfs.f_frsize - leave_kb * 1024))
    return filler


# --- damaged stores --------------------------------------------------------------------

PAGE = 4096


def _noisy_pages(store: Path) -> None:
    data = bytearray(store.read_bytes())
    for offset in range(PAGE, len(data), PAGE):
        data[offset : offset + 64] = os.urandom(64)
    store.write_bytes(bytes(data))


def _damages() -> dict[str, Callable[[Path], None]]:
    return {
        "noisy pages": _noisy_pages,
        "truncated to half": lambda s: s.write_bytes(s.read_bytes()[: s.stat().st_size // 2]),
        "header zeroed": lambda s: s.write_bytes(b"\0" * 100 + s.read_bytes()[100:]),
        "not a database": lambda s: s.write_bytes(b"not a database, after a disk accident"),
    }


def _damaged_stores(ws: Workspace, server: StandIn, reference: pl.DataFrame) -> list[Case]:
    cases: list[Case] = []
    for name, damage in _damages().items():
        folder = _with_samples(ws.fresh(f"faults-store-{len(cases)}"))
        args = _enrich_args(folder, server.url)
        if _cli(args, folder).exit_code != 0:
            cases.append(Case("damaged store", name, False, True, "first run failed"))
            continue
        before = _published_bytes(folder)
        store = folder / "raw" / "arxiv" / "metadata.sqlite"
        damage(store)
        (folder / "raw" / "digests" / "sample-digest.md").touch()
        done = _cli(args, folder)
        advised = done.exit_code == 0 or "rebuild-store" in done.stderr
        survived = done.survived({0, 5}) and advised
        unchanged = done.exit_code == 0 or _published_bytes(folder) == before
        if done.exit_code != 0:  # the way out: move it aside, rebuild, run
            for leftover in store.parent.glob("metadata.sqlite*"):
                leftover.rename(leftover.with_name(leftover.name + ".damaged"))
            rebuilt = _cli(["rebuild-store", *args[1:]], folder)
            survived = survived and rebuilt.survived({0})
        converged, lost, why = _converges(folder, server, reference)
        detail = f"exit {done.exit_code}: {_last_line(done.stderr)}; {why}"
        cases.append(
            Case("damaged store", name, survived, lost or not unchanged, detail, converged)
        )
    cases.append(_damaged_answers(ws, server, reference))
    return cases


def _damaged_answers(ws: Workspace, server: StandIn, reference: pl.DataFrame) -> Case:
    folder = _with_samples(ws.fresh("faults-answers"))
    args = _enrich_args(folder, server.url, "--batch-size", "10")
    _cli(args, folder)
    answers = sorted((folder / "raw" / "arxiv" / "responses").glob("*.xml.gz"))
    answers[0].write_bytes(answers[0].read_bytes()[:40])
    answers[1].write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    answers[2].write_bytes(gzip.compress(b"<html>503</html>"))
    for leftover in (folder / "raw" / "arxiv").glob("metadata.sqlite*"):
        leftover.unlink()
    rebuilt = _cli(["rebuild-store", *args[1:]], folder)
    converged, lost, why = _converges(folder, server, reference)
    return Case(
        "damaged store",
        "3 damaged kept answers, then rebuild-store",
        rebuilt.survived({0}),
        lost,
        f"rebuild exit {rebuilt.exit_code}: {_last_line(rebuilt.stderr)}; {why}",
        converged,
    )


# --- kill -9 ---------------------------------------------------------------------------


def _kills(plan: Plan, ws: Workspace, server: StandIn, corpus: list[CorpusRecord]) -> list[Case]:
    """Each kill in a copy of one folder whose samples are published and whose next run has
    40 new papers to fetch (10 requests); kill moments spread over that run's length."""
    base = _with_samples(ws.fresh("faults-kill-base"))
    if _cli(_enrich_args(base, server.url), base).exit_code != 0:
        raise RuntimeError("faults: the run before the kills failed")
    published = _entry_keys(base)
    samples_entries = 0 if published is None else published.height
    (base / "raw" / "digests" / "extra.md").write_text(_extra_digest(corpus))
    unkilled = ws.root / "faults-kill-unkilled"
    shutil.copytree(base, unkilled, symlinks=True)
    whole = _cli(_kill_args(unkilled, server), unkilled)
    reference = _entry_keys(unkilled)
    if whole.exit_code != 0 or reference is None:
        raise RuntimeError(f"faults: the run to be killed fails unkilled: {whole.stderr[-2000:]}")

    cases: list[Case] = []
    points = KILL_POINTS[plan.name]
    for i in range(points):
        at = whole.seconds * 0.9 * (i + 0.5) / points  # (a run killed later may be done)
        folder = ws.root / f"faults-kill-{i}"
        shutil.copytree(base, folder, symlinks=True)
        child = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *_kill_args(folder, server)], cwd=folder,
            env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(at)
        interrupted = child.poll() is None
        child.send_signal(signal.SIGKILL)
        child.wait()
        tables = _tables(folder)
        readable = tables is not None and (folder / "out" / "current").is_symlink()
        kept = tables is not None and tables["entries"].height >= samples_entries
        converged, lost, why = _converges(folder, server, reference)
        state = "interrupted" if interrupted else "had finished"
        cases.append(
            Case(
                "kill -9",
                f"at {at:.2f} s of {whole.seconds:.1f} s ({state})",
                readable,
                lost or not (readable and kept),
                why or ("" if readable else "published tables unreadable"),
                converged,
            )
        )
    return cases


def _kill_args(folder: Path, server: StandIn) -> list[str]:
    return _enrich_args(folder, server.url, "--batch-size", "4", "--delay-seconds", "0.1")


def _extra_digest(corpus: list[CorpusRecord]) -> str:
    samples = "".join(p.read_text(encoding="utf-8") for p in SAMPLES.iterdir())
    fresh = [r for r in corpus if "/" not in r.id and r.id not in samples][:40]
    return "".join(f"## {r.title}\n[abs](https://arxiv.org/abs/{r.id})\n\n" for r in fresh)

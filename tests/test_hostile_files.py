"""Hostile things under digests/ (issue 12, item 4): only regular files are read, never
more than the cap, whatever stat says; everything else is a problem naming the file and
why, and the run goes on. File names that are not UTF-8 are kept, their bytes escaped."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import polars as pl
from test_enrich_e2e import ROOT, SAMPLE_ENTRY_COUNT, clean_env, cli, make_raw, run_cli

from pipeline.parse import parse_all
from pipeline.parse.decode import read_digest_text
from pipeline.standin import StandIn

GOOD_DIGEST = b"## A title\n[x](https://arxiv.org/abs/2401.00001)\n"
LATIN1_NAME = os.fsdecode(b"caf\xe9.md")  # a Latin-1 name: not UTF-8


def by_source(raw: Path) -> dict[str, list[tuple[str, str]]]:
    return {d.digest: [(p.kind, p.message) for p in d.problems] for d in parse_all(raw)}


def test_a_fifo_is_reported_not_read(tmp_path: Path) -> None:
    digests = tmp_path / "digests"
    digests.mkdir()
    os.mkfifo(digests / "pipe.md")  # opening it to read would wait for a writer forever
    (digests / "good.md").write_bytes(GOOD_DIGEST)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from pipeline.parse import parse_all; "
         "from pathlib import Path; print(len(parse_all(Path(sys.argv[1]))))", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [(kind, message)] = by_source(tmp_path)["digests/pipe.md"]
    assert kind == "not_a_file" and "FIFO" in message and "not read" in message


def test_a_symlink_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / "zero.md").symlink_to("/dev/zero")  # stat says 0 bytes; reading never ends
    [(kind, message)] = by_source(tmp_path)["digests/zero.md"]
    assert kind == "not_a_file" and "character device" in message


def test_the_cap_counts_bytes_read_not_the_size_stat_gives(tmp_path: Path) -> None:
    """/proc's files are regular files whose stat size is 0, whatever they hold: the cap
    must hold against the bytes actually read."""
    proc_file = Path("/proc/self/status")
    assert proc_file.stat().st_size == 0 and len(proc_file.read_bytes()) > 200
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / "status.md").symlink_to(proc_file)
    decoded = read_digest_text(digests / "status.md", "digests/status.md", limit=100)
    assert decoded.text is None and [p.kind for p in decoded.problems] == ["too_large"]
    assert "more than 100 bytes read" in decoded.problems[0].message
    assert decoded.size_bytes == 101  # read one past the cap, and no further
    whole = read_digest_text(digests / "status.md", "digests/status.md", limit=1 << 20)
    assert whole.text is not None and "Name:" in whole.text


def test_folder_symlinks_and_broken_links_are_reported(tmp_path: Path) -> None:
    digests = tmp_path / "digests"
    (digests / "2025").mkdir(parents=True)
    (digests / "2025" / "good.md").write_bytes(GOOD_DIGEST)
    (digests / "also-2025").symlink_to("2025")
    (digests / "gone.md").symlink_to("nowhere.md")
    found = by_source(tmp_path)
    [(kind, message)] = found["digests/also-2025"]
    assert kind == "folder_symlink" and "not followed" in message and "2025" in message
    [(kind, message)] = found["digests/gone.md"]
    assert kind == "unreadable" and "No such file" in message
    assert found["digests/2025/good.md"] == []


def test_sockets_are_reported(tmp_path: Path) -> None:
    import socket

    digests = tmp_path / "digests"
    digests.mkdir()
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(digests / "sock.md"))
        [(kind, message)] = by_source(tmp_path)["digests/sock.md"]
    assert kind == "not_a_file" and "socket" in message


def test_a_file_name_that_is_not_utf8_is_kept_escaped(tmp_path: Path) -> None:
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / LATIN1_NAME).write_bytes(GOOD_DIGEST)
    [parsed] = parse_all(tmp_path)
    assert parsed.digest == "digests/caf\\xe9.md"
    assert [e.arxiv_id for e in parsed.entries] == ["2401.00001"]
    [problem] = parsed.problems
    assert problem.kind == "file_name" and "not UTF-8" in problem.message
    parsed.digest.encode("utf-8")  # what Parquet needs


def test_hostile_folder_end_to_end(tmp_path: Path, standin: StandIn) -> None:
    """All of it in one digests folder: the run neither hangs, nor grows, nor fails at the
    Parquet write; the good digests are read and each hostile thing is in problems."""
    raw, out = make_raw(tmp_path)
    digests = raw / "digests"
    os.mkfifo(digests / "pipe.md")
    (digests / "zero.md").symlink_to("/dev/zero")
    (digests / "linked").symlink_to(digests)
    (digests / LATIN1_NAME).write_bytes(GOOD_DIGEST)
    args = cli("enrich", raw=raw, out=out, url=standin.url)

    def limit_memory() -> None:  # reading /dev/zero would hit this, not the machine
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        cap = 4 << 30 if hard == resource.RLIM_INFINITY else min(4 << 30, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))

    done = subprocess.run(
        args, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=120,
        preexec_fn=limit_memory,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    entries = pl.read_parquet(out / "entries.parquet")
    assert entries.height == SAMPLE_ENTRY_COUNT + 1
    assert "digests/caf\\xe9.md" in entries.get_column("digest").to_list()
    problems = pl.read_parquet(out / "problems.parquet").filter(pl.col("stage") == "parse")
    kinds = dict(problems.select("source", "kind").iter_rows())
    assert kinds["digests/pipe.md"] == "not_a_file"
    assert kinds["digests/zero.md"] == "not_a_file"
    assert kinds["digests/linked"] == "folder_symlink"
    assert kinds["digests/caf\\xe9.md"] == "file_name"
    # A second run changes nothing and asks nothing: the escaped name is stable.
    requests = len(standin.log)
    again = run_cli(args)
    assert again.returncode == 0, again.stderr
    assert len(standin.log) == requests


def _resident_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        / 1024
    )


def test_rendering_markdown_keeps_no_memory() -> None:
    """cmarkgfm's own GFM call kept ~10 bytes per byte of Markdown for good (the parsed
    document and the HTML): 20 renders of this 300 KB line kept about 200 MB."""
    import ctypes

    from pipeline.parse.tree import markdown_tree

    text = "**b** [x](https://arxiv.org/abs/2401.00001) " * 7000
    trim = ctypes.CDLL("libc.so.6").malloc_trim
    markdown_tree(text)
    trim(0)
    before = _resident_mb()
    for _ in range(20):
        markdown_tree(text)
    trim(0)
    assert _resident_mb() - before < 100

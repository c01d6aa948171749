"""bench.faults: its per-file parse child reports each file, FIFOs and /dev/zero links
included, and its fuzzers are reproducible and cover every kind."""

from __future__ import annotations

import os
import random
from pathlib import Path

from bench import faults


def test_the_parse_child_reports_every_file_and_survives_a_fifo(tmp_path: Path) -> None:
    digests = tmp_path / "raw" / "digests"
    digests.mkdir(parents=True)
    (digests / "good.md").write_bytes(b"## T\n[x](https://arxiv.org/abs/2401.00001)\n")
    os.mkfifo(digests / "pipe.md")
    (digests / "zero.md").symlink_to("/dev/zero")
    paths = [digests / name for name in ("good.md", "pipe.md", "zero.md")]
    cases = faults._parse_each(tmp_path, paths)
    assert [(c.name, c.survived) for c in cases] == [
        ("good.md", True), ("pipe.md", True), ("zero.md", True),
    ]  # fmt: skip
    assert "not_a_file" in cases[1].detail and "not_a_file" in cases[2].detail


def test_the_fuzzers_are_reproducible_and_cover_every_kind(tmp_path: Path) -> None:
    samples = [p.read_bytes() for p in sorted(faults.SAMPLES.iterdir())]
    secret = tmp_path / "secret.txt"

    def batch() -> list[tuple[str, str, bytes]]:
        rng = random.Random(5)
        return [faults._fuzz_one(rng, samples, secret) for _ in range(80)]

    first = batch()
    assert first == batch()
    assert {kind for kind, _, _ in first} == set(faults._FUZZERS)

"""Run the benchmarks: `python -m bench [--quick] [--only NAME ...] [--profile]`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from bench import (
    accuracy,
    economy,
    faults,
    parsing,
    report_bench,
    rerun,
    scale,
    snapshot,
    titles,
    wild,
)
from bench.harness import FULL, PROJECT_ROOT, QUICK, Plan, Workspace, machine_info
from bench.report import Section, merge_results, results_markdown, write_results

BENCHMARKS: dict[str, Callable[[Plan, Workspace], list[Section]]] = {
    "economy": economy.run,  # request economy and politeness
    "titles": titles.run,
    "rerun": rerun.run,
    "scale": scale.run,
    "parsing": parsing.run,
    "wild": wild.run,  # parse accuracy on the real digests
    "accuracy": accuracy.run,  # end-to-end accuracy on the real digests
    "snapshot": snapshot.run,  # papers from a bulk snapshot, no request
    "faults": faults.run,  # fault harness: cases tried, survived, data lost (make faults)
    "report": report_bench.run,  # report, DuckDB file and schema: time and size
}
DEFAULT_OUTPUT = PROJECT_ROOT / "bench"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke check")
    parser.add_argument(
        "--only", nargs="+", choices=list(BENCHMARKS), help="run only these benchmarks"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: cProfile the scale run (100,000 entries; --quick: 4,000)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        help="where results.json/results.md go (default: bench/ for a complete full run; "
        "nothing is written for --quick or --only unless this is given)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --only: put the sections measured into bench/results.{json,md} in place of "
        "their earlier numbers, keeping the others (the page says which are from when)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch data")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    output = args.output_dir
    if args.merge and (args.quick or not args.only):
        parser.error("--merge needs --only and the full plan")
    if output is None and (args.merge or not (args.quick or args.only or args.profile)):
        output = DEFAULT_OUTPUT

    workspace = Workspace(keep=args.keep)
    try:
        if args.profile:
            text = scale.profile(plan, workspace)
            print(text)
            if output is not None:
                output.mkdir(parents=True, exist_ok=True)
                (output / "profile.txt").write_text(text, encoding="utf-8")
            return 0
        machine = machine_info()
        started = time.perf_counter()
        sections: list[Section] = []
        for name, bench in BENCHMARKS.items():
            if args.only and name not in args.only:
                continue
            print(f"bench: {name} ...", file=sys.stderr)
            began = time.perf_counter()
            sections += bench(plan, workspace)
            print(f"bench: {name} took {time.perf_counter() - began:.0f} s", file=sys.stderr)
    finally:
        workspace.close()
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results = {
        "plan": plan.name,
        "plan_sizes": asdict(plan),
        "machine": machine,
        "suite_seconds": round(time.perf_counter() - started, 1),
    }
    print(results_markdown(results, sections))
    if output is not None:
        save = merge_results if args.merge else write_results
        json_path, md_path = save(output, results, sections)
        print(f"bench: wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: the benchmark suite, run against the project's arXiv stand-in.

    python -m bench            the full suite; writes bench/results.json and results.md
    python -m bench --quick    small sizes, a smoke check (under a minute)
    python -m bench --profile  cProfile of the scale run, top functions with file:line

Modules: `synth` (synthetic papers and digests), `harness` (plan, scratch folders, child
runs, projections to the real delay, machine), `economy` (request economy, politeness),
`titles` (title resolution), `rerun` (re-run cost), `scale` (whole runs by size, profile),
`parsing` (parse throughput per layout), `report` (JSON and Markdown).
Synthetic data lives in a temporary directory, never in the repository.
"""

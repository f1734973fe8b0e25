"""`crossreturn bench`: the performance benchmarks of the source checkout."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from clients.cli.common import fail


@click.command(
    short_help="Run the performance benchmarks (a source checkout's scripts/bench.py).",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("bench_args", nargs=-1, type=click.UNPROCESSED)
def bench(bench_args: tuple[str, ...]) -> None:
    """Run scripts/bench.py of the source checkout this CLI is installed from, passing every
    argument through; its last line is one JSON object. `make bench` does the same.

    \b
    Example:
      crossreturn bench --only commitments
      crossreturn bench --only gateway --scale 0.1
    """
    import subprocess

    script = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"
    if not script.exists():
        fail("the benchmarks run from a source checkout (scripts/bench.py not found)")
    sys.exit(subprocess.call([sys.executable, str(script), *bench_args]))

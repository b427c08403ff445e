"""How long the commands people type take to answer, next to the floor measured in the same run.

The floor is starting Python and importing the CLI libraries (`python -c 'import typer, rich'`):
no command can answer faster. Each figure is the median wall time of --runs runs of a fresh
process. `status` runs on an empty database (its schema created by a first `migrate`).

    python bench/bench_cli.py [--runs 7]

Targets: --version and --help under 0.3 s, status under 0.6 s (a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"--version": 0.3, "--help": 0.3, "status": 0.6}


def timed(command: list[str], env: dict[str, str], runs: int) -> float:
    """Median seconds of `runs` runs of the command (each must succeed)."""
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hemewatch-bench-cli-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMEWATCH_")}
    env.update(
        HEMEWATCH_HOME=str(home),
        HEMEWATCH_CONFIG=str(home / "no-config.toml"),
        HEMEWATCH_DATABASE_URL=f"sqlite:///{home / 'empty.db'}",
    )
    hemewatch = [sys.executable, "-m", "hemewatch"]
    try:
        subprocess.run([*hemewatch, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        floor = timed([sys.executable, "-c", "import typer, rich"], env, args.runs)
        print(f"median of {args.runs} runs; floor (python -c 'import typer, rich'): {floor:.3f} s")
        print(f"{'command':<22}{'seconds':>9}{'x floor':>9}{'target':>9}")
        for name, target in TARGETS.items():
            seconds = timed([*hemewatch, name], env, args.runs)
            print(f"{'hemewatch ' + name:<22}{seconds:>9.3f}{seconds / floor:>9.2f}{target:>8.1f}s")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

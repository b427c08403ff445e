"""How long the commands people type take to answer, next to the floor measured in the same run.

The floor is starting Python and importing the CLI libraries (`python -c 'import typer, rich'`):
no command can answer faster. Two more lines show what the libraries alone cost a command that
uses them: Typer's help formatter (`import typer.rich_utils`, which every `--help` loads) and the
libraries `status` needs (Typer, Rich, SQLAlchemy, pydantic-settings). Each figure is the median
(and the fastest) wall time of --runs fresh processes, and the median CPU time they used (steadier
than wall time on a shared, busy machine); the commands take turns run by run, so a change in the
machine's load falls on all of them alike. Python runs with its bytecode cache (kept
in a temporary folder, filled by a first untimed run), as an installed package does. `status` runs
on an empty database (its schema created by a first `migrate`).

    python bench/bench_cli.py [--runs 7]

Targets: --version and --help under 0.3 s, status under 0.6 s (a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"--version": 0.3, "--help": 0.3, "status": 0.6}
FLOOR = "import typer, rich"
LIBRARIES = {
    "typer's help formatter": "import typer.rich_utils",
    "status's libraries": "import typer, rich, sqlalchemy, pydantic_settings",
}


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user and system) one run of the command takes (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hemewatch-bench-cli-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMEWATCH_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPYCACHEPREFIX=str(home / "bytecode"),
        HEMEWATCH_HOME=str(home),
        HEMEWATCH_CONFIG=str(home / "no-config.toml"),
        HEMEWATCH_DATABASE_URL=f"sqlite:///{home / 'empty.db'}",
    )
    hemewatch = [sys.executable, "-m", "hemewatch"]
    commands = {"floor (python -c 'import typer, rich')": [sys.executable, "-c", FLOOR]}
    commands.update({name: [sys.executable, "-c", code] for name, code in LIBRARIES.items()})
    commands.update({f"hemewatch {name}": [*hemewatch, name] for name in TARGETS})
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    try:
        subprocess.run([*hemewatch, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        for command in commands.values():  # fills the bytecode cache
            run_once(command, env)
        print(f"load average before: {load_average()}")
        for _ in range(args.runs):
            for name, command in commands.items():
                wall_seconds, cpu_seconds = run_once(command, env)
                wall[name].append(wall_seconds)
                cpu[name].append(cpu_seconds)
        floor_name = next(iter(commands))
        floor, cpu_floor = statistics.median(wall[floor_name]), statistics.median(cpu[floor_name])
        print(f"load average after:  {load_average()}")
        print(f"{args.runs} runs: wall seconds (median, fastest, x floor); CPU seconds (median, x floor)")
        header = ("median", "fastest", "x floor", "cpu", "x floor", "target")
        print(f"{'command':<40}" + "".join(f"{h:>9}" for h in header))
        for name in commands:
            median, cpu_median = statistics.median(wall[name]), statistics.median(cpu[name])
            target = TARGETS.get(name.removeprefix("hemewatch "))
            shown = f"{target:>8.1f}s" if target else ""
            print(
                f"{name:<40}{median:>9.3f}{min(wall[name]):>9.3f}{median / floor:>9.2f}"
                f"{cpu_median:>9.3f}{cpu_median / cpu_floor:>9.2f}{shown}"
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

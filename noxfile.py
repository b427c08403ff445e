"""Tasks: `nox -l` lists them, `nox -s NAME` runs one (each in a fresh virtual environment).

    nox -s lint          ruff check and ruff format --check
    nox -s types         mypy --strict over src/hemewatch
    nox -s fast          the tests not marked slow: the edit-test loop
    nox -s tests         the whole test suite (PostgreSQL and Chromium needed; see CONTRIBUTING.md)
    nox -s bench         every bench/*.py script with small inputs (a smoke run; figures are printed)
    nox -s floors        install every direct dependency at its lowest allowed version, run the fast tests

Arguments after `--` go to pytest (tests, fast, floors), or name the scripts to run and their
arguments (bench: `nox -s bench -- bench_cli.py --runs 3`).
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "types", "fast"]
nox.options.reuse_existing_virtualenvs = True

TEST_EXTRA = ".[test]"
# Each bench script with inputs small enough for a smoke run; `nox -s bench -- SCRIPT [ARGS]` chooses.
# bench/soak.py (days of syncs, kills and deliveries) runs only when named.
BENCH_SMOKE: dict[str, list[str]] = {
    "bench_cli.py": ["--runs", "3"],
    "bench_classify.py": ["--quiet"],
    "bench_diff.py": ["--rounds", "1"],
    "bench_match.py": ["--trackers", "10000", "--events", "1000"],
    "bench_reclassify.py": ["--copies", "2"],
    "bench_digest.py": ["--trackers", "200", "--changes", "50", "--trials", "40"],
    "bench_import.py": ["--records", "2000"],
    "bench_web.py": ["--trials", "500", "--requests", "30"],
}


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict (configured in pyproject.toml) over src/hemewatch."""
    session.install("-e", TEST_EXTRA)
    session.run("python", "-m", "mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, as CI runs it."""
    session.install("-e", TEST_EXTRA)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def fast(session: nox.Session) -> None:
    """The tests not marked slow (no browser, no subprocess or signal tests): the edit-test loop."""
    session.install("-e", TEST_EXTRA)
    session.run("python", "-m", "pytest", "-m", "not slow", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the bench/*.py scripts (small inputs by default); each prints its own figures."""
    session.install("-e", TEST_EXTRA)
    if session.posargs:
        script, *arguments = session.posargs
        runs = {script.removeprefix("bench/"): arguments}
    else:
        runs = BENCH_SMOKE
    for script, arguments in runs.items():
        session.run("python", f"bench/{script}", *arguments)


@nox.session(venv_backend="uv")
def floors(session: nox.Session) -> None:
    """The fast tests with every direct dependency at the lowest version pyproject.toml allows.

    `python scripts/check_floors.py` in the same environment names any dependency the resolver had to
    raise above its declared floor.
    """
    session.run_install("uv", "pip", "install", "--resolution", "lowest-direct", "-e", TEST_EXTRA)
    session.run("python", "-m", "pytest", "-m", "not slow", *session.posargs)

"""Shared fixtures: the bundled real records (tests/realdata.py), and databases on SQLite and PostgreSQL.

A test that asks for `engine` gets a database already at the newest schema, copied from a template
migrated once per test process (a file on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL): the same
schema the migrations would have made for it, without running them for every test. A test that asks
for `demo` gets, the same way, a copy of a database holding both bundled registry days, imported once
per test process. `sqlite_url`, `postgres_url` and `db_url` alone still name a new, empty database.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from sqlalchemy import Engine, text

from hemewatch.storage.engine import head_revision, open_database, recorded_revisions
from tests.realdata import real_data

pytest_plugins = ["tests.fakeapi.fixtures"]

# pytest caches the assertion-rewritten test modules in __pycache__ (ignored by git), unless writing
# bytecode is off (PYTHONDONTWRITEBYTECODE, common in containers): then every test process rewrites
# every test module again, seconds each time. Writing is turned back on for the test run.
sys.dont_write_bytecode = False

REPO = Path(__file__).resolve().parents[1]

# Property tests check what the code answers, not how fast: speed is measured in bench/. Hypothesis's
# per-example deadline (200 ms) would otherwise fail an example that a loaded machine ran slowly.
settings.register_profile("hemewatch", deadline=None)
settings.load_profile("hemewatch")
PG_ADMIN_URL = os.environ.get("HEMEWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

# What `pytest -m "not slow"` (the edit-test loop) leaves out, beside what test modules mark `slow`
# themselves: every PostgreSQL variant (the loop runs the storage tests on SQLite; the full suite on
# both), and these folders, modules and single tests ("module::test_name", every parametrization), each
# a second or more (measured with --durations): a browser, a real hemewatch process (signals, kill -9,
# several at once, what it imports), mypy over the tree, a long end-to-end run, a big generated input.
SLOW = (
    "tests/alerts/test_digest_bounds.py::test_no_digest_mail_is_over_200_kb_even_in_the_worst_case",
    "tests/alerts/test_matching.py::test_the_index_agrees_on_pairs_and_texts_read_as_tags",
    "tests/alerts/test_matching.py::test_the_index_agrees_with_the_one_by_one_rule",
    "tests/classification/test_codes.py::test_a_bad_ncit_code_is_reported_and_a_good_one_changes_the_version",
    "tests/classification/test_lexicon.py::test_version_changes_when_content_changes",
    "tests/cli/test_alert_commands.py::test_failed_deliveries_are_listed_and_retried",
    "tests/cli/test_alert_commands.py::test_kill_9_during_a_webhook_delivery_resends_with_the_same_delivery_id",
    "tests/cli/test_alert_commands.py::test_kill_9_during_smtp_delivery_loses_nothing_and_resends_with_the_same_message_id",
    "tests/cli/test_backfill_command.py::test_a_running_sync_makes_it_wait_or_step_aside",
    "tests/cli/test_backfill_command.py::test_backfill_the_scope_in_steps",
    "tests/cli/test_change_commands.py::test_bad_arguments_get_a_clear_message",
    "tests/cli/test_change_commands.py::test_changes_filters_and_json",
    "tests/cli/test_classify_commands.py::test_reclassify_redoes_stale_versions_and_trials_filters",
    "tests/cli/test_concurrency.py",
    "tests/cli/test_lazy_imports.py",
    "tests/cli/test_mirror_commands.py::test_a_bad_record_in_a_sync_is_set_aside_and_named",
    "tests/cli/test_mirror_commands.py::test_demo_serves_the_web_app",
    "tests/cli/test_mirror_commands.py::test_demo_works_without_network",
    "tests/cli/test_mirror_commands.py::test_interrupted_sync_resumes_without_loss_or_duplicates",
    "tests/cli/test_mirror_commands.py::test_registry_outage_is_a_message_not_a_traceback",
    "tests/cli/test_morning_run.py",
    "tests/cli/test_trials_filters.py::test_phase_2_finds_the_phase_2_trials",
    "tests/cli/test_worker.py",
    "tests/eligibility/test_gold.py::test_parse_speed_on_real_records",
    "tests/eligibility/test_places.py::test_houston_in_every_spelling",
    "tests/history/test_diff_properties.py::test_events_are_invariant_under_shuffling",
    "tests/history/test_diff_properties.py::test_reordering_lists_and_keys_never_alerts",
    "tests/pipeline/test_backfill.py",
    "tests/pipeline/test_bad_input.py::test_a_pipe_is_refused_by_the_command",
    "tests/pipeline/test_baselines.py::test_a_first_import_interrupted_mid_way_is_rerun_as_a_baseline",
    "tests/pipeline/test_baselines.py::test_a_first_sync_killed_mid_way_is_rerun_as_a_baseline",
    "tests/pipeline/test_cycle.py::test_a_cycle_records_its_sync_and_what_it_sent",
    "tests/pipeline/test_cycle.py::test_a_failed_sync_does_not_hold_back_what_is_due",
    "tests/pipeline/test_demo.py::test_loading_the_demo_again_changes_nothing",
    "tests/pipeline/test_demo.py::test_the_sample_tracker_sees_every_alertable_change_of_the_second_day",
    "tests/pipeline/test_eligibility_facts.py::test_an_import_stores_the_facts_of_the_trials_it_classifies",
    "tests/pipeline/test_export.py::test_excel_workbook_has_typed_cells_and_no_formulas",
    "tests/pipeline/test_export.py::test_parquet_tables_have_their_documented_types",
    "tests/pipeline/test_handoff.py::test_an_import_on_worker_processes_stores_what_one_without_them_does",
    "tests/pipeline/test_import.py",
    "tests/pipeline/test_import_garbage.py::test_the_batches_garbage_is_collected_during_the_import",
    "tests/pipeline/test_scheduler.py",
    "tests/pipeline/test_sync.py",
    "tests/pipeline/test_sync_completeness.py",
    "tests/pipeline/test_upgrade_retag.py::test_an_old_database_migrates_and_retags_without_events",
    "tests/pipeline/test_worker_signals.py",
    "tests/registry/test_bulk_zip.py::test_a_zip64_archive_with_more_members_than_a_plain_zip_holds",
    "tests/registry/test_client.py::test_failure_in_the_middle_of_paging_raises",
    "tests/registry/test_client.py::test_pages_follow_next_page_token_across_2500_studies",
    "tests/registry/test_identifiers.py::test_scheme_counts_on_the_real_records",
    "tests/storage/test_event_filters.py::test_trial_filters_pick_the_events_of_the_matching_trials",
    "tests/storage/test_locks.py::test_a_killed_holder_releases_its_lock",
    "tests/storage/test_open_database.py::test_an_older_schema_is_migrated_when_opened",
    "tests/storage/test_paired_and_text.py::test_text_finds_drugs_by_any_name_and_conditions",
    "tests/storage/test_text_index.py::test_hostile_search_texts_never_fail",
    "tests/test_architecture.py",
    "tests/test_code_quality.py::test_mypy_strict_passes",
    "tests/test_vocabulary.py::test_start_up_does_not_load_the_lexicon",
    "tests/web/browser/",
    "tests/web/test_abuse.py::test_concurrent_posts_to_one_address_send_at_most_its_hourly_limit",
    "tests/web/test_abuse.py::test_control_characters_in_form_fields_are_422_never_500",
    "tests/web/test_abuse.py::test_the_whole_site_is_capped_per_hour",
    "tests/web/test_api.py::test_trials_are_paginated_with_a_next_link",
    "tests/web/test_changes_page.py::test_filter_by_the_trials_tags_and_countries",
    "tests/web/test_disease_pages.py::test_new_sections_list_their_trials_on_the_demo_data",
    "tests/web/test_errors.py::test_not_found_is_the_envelope",
    "tests/web/test_errors.py::test_server_errors_are_the_envelope",
    "tests/web/test_fhir.py::test_every_trial_is_a_valid_research_study_true_to_its_record",
    "tests/web/test_filter_validation.py::test_the_api_refuses_unknown_values_with_the_envelope",
    "tests/web/test_mcp.py",
    "tests/web/test_openapi_ids.py::test_operation_ids_are_the_expected_ones",
    "tests/web/test_pages.py::test_trial_timeline_can_include_administrative_changes",
    "tests/web/test_paired_search.py::test_text_search_finds_drugs_by_any_name",
    "tests/web/test_prescreen.py::test_bad_values_are_refused_in_the_error_envelope",
    "tests/web/test_prescreen.py::test_the_command_line_prescreen",
    "tests/web/test_prescreen.py::test_the_page_refuses_a_bad_value_with_a_message",
    "tests/web/test_queries.py::test_queries_on_the_demo_days",
    "tests/web/test_schemathesis.py",
    "tests/web/test_security.py::test_criteria_and_contacts_are_shown_as_text",
    "tests/web/test_security.py::test_pages_have_no_inline_script_or_style",
    "tests/web/test_security.py::test_security_headers_on_every_response",
    "tests/web/test_status_page.py::test_a_scheduler_that_was_killed_is_reported",
    "tests/web/test_status_page.py::test_cli_web_page_and_api_show_the_same_facts",
    "tests/web/test_therapies_page.py::test_every_demo_trial_has_a_therapies_section_and_well_formed_therapies",
    "tests/web/test_trial_coordinator.py::test_openapi_describes_the_new_trial_fields",
    "tests/web/test_watch_form.py::test_a_trial_new_to_the_mirror_is_fetched_stored_watched_and_shown",
    "tests/web/test_watch_form.py::test_an_alias_leads_to_the_current_record",
    "tests/web/test_watch_form.py::test_the_front_page_offers_the_form",
    "tests/web/test_watch_form.py::test_the_registry_fetches_of_one_client_are_bounded",
)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under `-m "not slow"`, skip importing the modules and folders SLOW names whole.

    Every test in them would be deselected anyway; not importing them saves each test process more
    than a second (a browser driver, the MCP server, real-process helpers).
    """
    if config.option.markexpr.strip() != "not slow" or not collection_path.is_relative_to(REPO):
        return None
    relative = collection_path.relative_to(REPO).as_posix()
    if relative in SLOW or f"{relative}/" in SLOW:
        return True
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Leave what collection loaded (modules, lexicons, test functions) out of later garbage collections.

    It lives to the end of the session; without this every full collection during the tests walks it
    again. Garbage the tests make is still collected, and a finalizer that raises still reported.
    """
    gc.collect()
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Collect the garbage the session left until none is left, then freeze what survives.

    pytest then runs five full collections to report finalizers that raised; after this each finds
    nothing to walk, instead of walking the whole heap five times (seconds at the end of every process).
    """
    while gc.collect():
        pass
    gc.freeze()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `slow` the PostgreSQL variants and what SLOW names; warn of an entry that names no test."""
    used: set[str] = set()
    modules: set[str] = set()
    for item in items:
        if not item.path.is_relative_to(REPO):
            continue
        module = item.path.relative_to(REPO).as_posix()
        modules.add(module)
        name = f"{module}::{item.originalname if isinstance(item, pytest.Function) else item.name}"
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(pytest.mark.slow)
        for entry in SLOW:
            if name == entry or module == entry or (entry.endswith("/") and module.startswith(entry)):
                item.add_marker(pytest.mark.slow)
                used.add(entry)
    for entry in SLOW:
        if entry not in used and entry.partition("::")[0] in modules:
            warnings.warn(f"tests/conftest.py SLOW names no test: {entry}", pytest.PytestConfigWarning, 1)


@pytest.fixture(scope="session")
def real_records() -> Path:
    """The read-only real ClinicalTrials.gov records and gold labels."""
    return real_data()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    """A reachable PostgreSQL server's admin URL; skips only when none answers and CI is not set."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and did not answer at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}")
    yield PG_ADMIN_URL


def _sqlalchemy_url(admin_url: str, database: str) -> str:
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


def _migrate_template(url: str) -> None:
    """Bring a new database to the newest schema and check that it is there."""
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            revisions = recorded_revisions(conn)
            if engine.dialect.name == "sqlite":
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        engine.dispose()
    assert revisions == [head_revision()], f"the template database is at {revisions}"


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: str) -> Iterator[str]:
    """A PostgreSQL database migrated once for this test process, cloned by the tests that need a schema.

    Its name holds the schema's head revision and this process's id: a run on another checkout (an older
    or newer head) or another pytest-xdist worker never clones it. It is dropped at the end of the session.
    """
    name = f"hemewatch_template_{head_revision()}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _database(postgres_admin, name):
        _migrate_template(_sqlalchemy_url(postgres_admin, name))
        yield name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file migrated once for this test process; tests that need a schema copy it."""
    path = tmp_path_factory.mktemp(f"template-{head_revision()}") / "hemewatch.db"
    _migrate_template(f"sqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists()
    return path


def import_demo_days(url: str) -> None:
    """Store both bundled registry days in this database, as `hemewatch import` of each, in scope only."""
    from hemewatch.demo import demo_days
    from hemewatch.pipeline.importing import import_files
    from hemewatch.registry.scope import load_scope

    engine = open_database(url)
    try:
        scope = load_scope()
        for day in demo_days():
            import_files(engine, [day], scope=scope, in_scope_only=True, source="demo")
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the SQLite template holding the demo days, made once for this test process."""
    path = tmp_path_factory.mktemp("demo-template") / "hemewatch.db"
    shutil.copyfile(sqlite_template, path)
    import_demo_days(f"sqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_demo_template(postgres_admin: str, postgres_template: str) -> Iterator[str]:
    """A clone of the PostgreSQL template holding the demo days, made once for this test process."""
    name = f"{postgres_template}_demo"
    with _database(postgres_admin, name, template=postgres_template):
        import_demo_days(_sqlalchemy_url(postgres_admin, name))
        yield name


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    yield from _postgres_clone(postgres_admin, None)


@contextmanager
def _database(admin_url: str, name: str, *, template: str | None = None) -> Iterator[None]:
    """A PostgreSQL database of this name (empty, or a copy of `template`) for the block, then dropped."""
    copied = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copied}')
    try:
        yield
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_clone(admin_url: str, template: str | None) -> Iterator[str]:
    name = f"hemewatch_test_{uuid.uuid4().hex[:12]}"
    with _database(admin_url, name, template=template):
        yield _sqlalchemy_url(admin_url, name)


@pytest.fixture
def migrated_postgres_url(postgres_admin: str, postgres_template: str) -> Iterator[str]:
    """A PostgreSQL database at the newest schema (a copy of the template) for one test, then dropped."""
    yield from _postgres_clone(postgres_admin, postgres_template)


@pytest.fixture
def demo_postgres_url(postgres_admin: str, postgres_demo_template: str) -> Iterator[str]:
    """A PostgreSQL database holding the demo days (a copy of their template) for one test, then dropped."""
    yield from _postgres_clone(postgres_admin, postgres_demo_template)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'hemewatch.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs once on SQLite and once on the real PostgreSQL.

    The database is empty, unless the test asks for `engine` too: `engine` migrates it before the test
    starts anyway, so it comes as a copy of the migrated template. A test that asks for `demo` gets a
    copy of the template holding the demo days.
    """
    demo = "demo" in request.fixturenames
    migrated = demo or "engine" in request.fixturenames
    if request.param == "sqlite":
        url = str(request.getfixturevalue("sqlite_url"))
        if migrated:
            template: Path = request.getfixturevalue("sqlite_demo_template" if demo else "sqlite_template")
            shutil.copyfile(template, url.removeprefix("sqlite:///"))
        return url
    # A test that names postgres_url too gets that same database, as before.
    if not migrated or "postgres_url" in request.fixturenames:
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("demo_postgres_url" if demo else "migrated_postgres_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on SQLite or PostgreSQL."""
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def demo(engine: Engine) -> Engine:
    """A database on SQLite or PostgreSQL holding both bundled registry days (see `db_url`)."""
    return engine

"""What the pre-screen reads from storage, on SQLite and PostgreSQL: open trials in scope with their
disease tags, their current records in one batch, and the same ranking on both databases."""

from __future__ import annotations

from sqlalchemy import Engine, select

from hemewatch.classification.lexicon import default_lexicon
from hemewatch.demo import demo_days
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.prescreen import OPEN_STATUSES, ProfileInput, build_profile, run_prescreen
from hemewatch.registry.scope import load_scope
from hemewatch.storage.prescreen import load_screenable_trials
from hemewatch.storage.tables import trials
from hemewatch.storage.tags import load_tags
from hemewatch.storage.versions import load_current_studies, load_current_study


def test_screenable_trials_and_their_records(engine: Engine) -> None:
    import_files(engine, [demo_days()[1]], scope=load_scope(), in_scope_only=True, source="demo")
    with engine.connect() as conn:
        found = load_screenable_trials(conn, OPEN_STATUSES)
        every = conn.execute(select(trials.c.nct_id, trials.c.overall_status, trials.c.in_scope)).all()
        expected = sorted(n for n, status, scope in every if status in OPEN_STATUSES and scope)
        assert [t.nct_id for t in found] == expected and found
        for trial in found:
            tags = [t.value for t in load_tags(conn, trial.version_id) if t.kind == "disease"]
            assert list(trial.diseases) == sorted(tags)
        wanted = [t.nct_id for t in found] + ["NCT00000000"]
        studies = load_current_studies(conn, wanted)
        assert set(studies) == {t.nct_id for t in found}
        for nct_id, study in studies.items():
            assert study == load_current_study(conn, nct_id)
        profile = build_profile(
            ProfileInput(age=34, diseases=["B-ALL"], settings=["relapsed"], near="Houston")
        )
        result = run_prescreen(conn, profile, default_lexicon())
        assert result.screened == len(found)
        assert result.candidate_total + result.failing_total == len(found)


def test_the_same_answer_on_both_databases(engine: Engine, sqlite_url: str) -> None:
    from hemewatch.storage.engine import open_database

    other = open_database(sqlite_url) if str(engine.url).startswith("postgresql") else None
    engines = [engine] + ([other] if other is not None else [])
    answers = []
    try:
        for each in engines:
            import_files(each, demo_days(), scope=load_scope(), in_scope_only=True, source="demo")
            with each.connect() as conn:
                profile = build_profile(ProfileInput(age=70, diseases=["AML"], settings=["newly diagnosed"]))
                result = run_prescreen(conn, profile, default_lexicon(), limit=100, failing_limit=100)
                answers.append(
                    ([c.trial.nct_id for c in result.candidates], [f.trial.nct_id for f in result.failing])
                )
    finally:
        if other is not None:
            other.dispose()
    assert answers[0][0] and answers[0][1]
    assert all(answer == answers[0] for answer in answers)

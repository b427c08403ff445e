"""`hemewatch prescreen`: which open trials could take this patient, where, and who to call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hemewatch.cli.app import JsonFlag, app, database, settings
from hemewatch.cli.console import out, print_json

if TYPE_CHECKING:
    from hemewatch.pipeline.prescreen import PrescreenResult, ScreenedTrial

_MARKS = {"meets": "[green]meets[/]  ", "fails": "[red]fails[/]  ", "unknown": "[yellow]unknown[/]"}


@app.command()
def prescreen(
    age: Annotated[float | None, typer.Option("--age", min=0, max=120, help="Age in years.")] = None,
    disease: Annotated[
        list[str] | None,
        typer.Option("--disease", help="Disease, then subtypes (repeat): B-ALL, AML, KMT2A-rearranged, …"),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--setting", help="newly diagnosed, relapsed, refractory, first relapse, MRD-positive, …"
        ),
    ] = None,
    prior: Annotated[
        list[str] | None,
        typer.Option(
            "--prior", help='A prior therapy (repeat): "CD19 CAR-T", blinatumomab, allogeneic HSCT, …'
        ),
    ] = None,
    prior_lines: Annotated[int | None, typer.Option("--prior-lines", min=0, max=20)] = None,
    antigen: Annotated[list[str] | None, typer.Option("--antigen", help="CD22+, CD19- (repeat).")] = None,
    genetic: Annotated[
        list[str] | None, typer.Option("--genetic", help="FLT3+, TP53-, KMT2A+ (repeat).")
    ] = None,
    ecog: Annotated[int | None, typer.Option("--ecog", min=0, max=5)] = None,
    cns: Annotated[bool | None, typer.Option("--cns/--no-cns", help="CNS involvement, if known.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only sites in this country.")] = None,
    near: Annotated[
        str | None, typer.Option("--near", help='A place ("Houston, Texas", "Paris, France") or "lat,lon".')
    ] = None,
    within: Annotated[
        float | None, typer.Option("--within", min=1, help="Only sites this many km from --near.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="Candidate trials to show.")] = 10,
    as_json: JsonFlag = False,
) -> None:
    """Pre-screen a patient against the open trials in the mirror: candidates ranked, with a verdict per
    criterion and the nearest open sites; trials that clearly fail, with the reason.

    A pre-screen, not medical advice: the trial team decides. Nothing is stored.
    """
    from hemewatch.classification.lexicon import default_lexicon
    from hemewatch.pipeline.prescreen import ProfileInput, build_profile, run_prescreen

    given = ProfileInput(
        age=age,
        diseases=disease or (),
        settings=setting or (),
        prior_therapies=prior or (),
        prior_lines=prior_lines,
        antigens=antigen or (),
        genetics=genetic or (),
        ecog=ecog,
        cns=cns,
        country=country,
        near=near,
        within_km=within,
    )
    profile = build_profile(given)
    with database(settings()) as engine, engine.connect() as conn:
        result = run_prescreen(conn, profile, default_lexicon(), limit=limit)
    if as_json:
        from hemewatch.web.api.prescreen import result_out

        print_json(result_out(result, settings().public_url).model_dump())
        return
    _print(result)


def _print(result: PrescreenResult) -> None:
    from hemewatch.pipeline.prescreen import DISCLAIMER

    out.print(f"[bold]{escape(DISCLAIMER)}[/]")
    where = f"; distances from {escape(result.place.name)}" if result.place else ""
    out.print(
        f"{result.screened} open trials in scope: {result.candidate_total} candidates, "
        f"{result.failing_total} clearly fail"
        + (f", {result.outside_area} without an open site in the area" if result.outside_area else "")
        + where
    )
    for note in result.notes:
        out.print(f"[yellow]note[/]: {escape(note)}")
    for rank, item in enumerate(result.candidates, start=1):
        _print_candidate(rank, item)
    if result.failing:
        out.print(f"\n[bold]Clearly fail[/] ({result.failing_total}):")
        for item in result.failing:
            reasons = "; ".join(f"{a.text}: {a.reason}" for a in item.screening.failing[:2])
            out.print(f"  {item.trial.nct_id}  {escape(reasons)}")


def _print_candidate(rank: int, item: ScreenedTrial) -> None:
    screening = item.screening
    out.print(
        f"\n[bold]{rank}. {item.trial.nct_id}[/] {escape(item.trial.overall_status or '')} · "
        f"{escape(item.trial.title or 'Untitled trial')}"
    )
    out.print(f"   {screening.meets_count} met, {screening.unknown_count} unknown")
    for a in screening.assessments:
        out.print(f"   {_MARKS[a.verdict]} {escape(a.text)} — {escape(a.reason)}")
    for site in item.sites:
        distance = f" — {site.distance_km:.0f} km" if site.distance_km is not None else ""
        place = ", ".join(p for p in (site.city, site.state, site.country) if p)
        out.print(
            f"   site: {escape(site.facility or 'Site')}, {escape(place)}{distance} ({site.status or '—'})"
        )
        for contact in site.contacts:
            parts = [p for p in (contact.name, contact.phone, contact.email) if p]
            out.print(f"         {escape(' · '.join(parts))}")
    if not item.sites:
        for contact in item.central_contacts:
            parts = [p for p in (contact.name, contact.phone, contact.email) if p]
            out.print(f"   central contact: {escape(' · '.join(parts))}")

"""The trial filters, as options: `hemewatch trials` and `hemewatch export` query with them (`trial_query`),
`hemewatch trackers add` saves them as a tracker's criteria.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from hemewatch.vocabulary import parse_all

if TYPE_CHECKING:
    from hemewatch.storage.catalog import TrialQuery

Diseases = Annotated[
    list[str], typer.Option("--disease", help="Disease tag, e.g. AML, B-ALL, T-ALL, Ph+ ALL (repeatable).")
]
Modalities = Annotated[
    list[str], typer.Option("--modality", help="Modality, e.g. CAR-T, T-cell engager (repeatable).")
]
Targets = Annotated[
    list[str], typer.Option("--target", help="Target antigen, e.g. CD19, CD22, CD123 (repeatable).")
]
TherapySettings = Annotated[
    list[str], typer.Option("--setting", help="Setting, e.g. relapsed/refractory (repeatable).")
]
Populations = Annotated[
    list[str], typer.Option("--population", help="Population: pediatric, AYA, adult, older adult.")
]
Agents = Annotated[
    list[str],
    typer.Option(
        "--agent", help="Agent by generic, brand or code name, e.g. blinatumomab, Blincyto (repeatable)."
    ),
]
Phases = Annotated[list[str], typer.Option("--phase", help="Phase, e.g. 2, phase 2, PHASE2 (repeatable).")]
Statuses = Annotated[
    list[str], typer.Option("--status", help="Overall status, e.g. recruiting, RECRUITING (repeatable).")
]
Countries = Annotated[list[str], typer.Option("--country", help="Country with a site (repeatable).")]
Sponsor = Annotated[str | None, typer.Option("--sponsor", help="Lead sponsor contains this text.")]
Text = Annotated[
    str | None,
    typer.Option(
        "--text",
        help="A drug (brand, code name…), disease or target; or part of the title, sponsor,"
        " NCT id, conditions or an intervention name.",
    ),
]


def trial_query(
    *,
    disease: Sequence[str],
    modality: Sequence[str],
    target: Sequence[str],
    setting: Sequence[str],
    population: Sequence[str],
    agent: Sequence[str],
    phase: Sequence[str],
    status: Sequence[str],
    country: Sequence[str],
    sponsor: str | None,
    text: str | None,
    include_out_of_scope: bool,
    nct_ids: Sequence[str] = (),
    limit: int | None,
) -> TrialQuery:
    """The catalog query of these options; an unknown value is refused with the valid ones."""
    from hemewatch.storage.catalog import TrialQuery

    return TrialQuery(
        disease=parse_all("disease", disease),
        modality=parse_all("modality", modality),
        target=parse_all("target", target),
        setting=parse_all("setting", setting),
        population=parse_all("population", population),
        agent=parse_all("agent", agent),
        phase=parse_all("phase", phase),
        status=parse_all("status", status),
        country=tuple(country),
        sponsor=sponsor,
        text=text,
        nct_ids=tuple(nct_ids),
        in_scope_only=not include_out_of_scope,
        limit=limit,
    )

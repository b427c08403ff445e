"""Landscape charts as standalone SVG documents, drawn by pygal on the server (no JavaScript needed)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final

import pygal  # type: ignore[import-untyped]
from pygal.style import Style  # type: ignore[import-untyped]

from hemewatch.web.views.landscape import Landscape, Matrix

# pygal appends a legacy import hook for its map plugins (no find_spec); tools that walk
# sys.meta_path (pytest's importlib mode, for one) fail on it, and hemewatch uses no map plugin.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

_SCRIPT: Final = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
FONT: Final = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
# Okabe–Ito colours: told apart with every common form of colour blindness.
PALETTE: Final = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#6B7280",
    "#B8860B",
    "#1F2937",
)
# Under the bars there is room for short labels only; the data table keeps the long ones.
_SHORT_PHASES: Final[dict[str, str]] = {
    "Early phase 1": "Early 1",
    "Not applicable": "N/A",
    "No phase": "None",
    **{f"Phase {p}": p for p in ("1", "1/2", "2", "2/3", "3", "4")},
}
STATUS_COLOURS: Final[dict[str, str]] = {
    "Recruiting": "#009E73",
    "Not yet recruiting": "#56B4E9",
    "Active, not recruiting": "#0072B2",
    "Completed": "#6B7280",
    "Stopped early": "#D55E00",
    "Other or unknown": "#C4C9D0",
}


def _style(colours: Sequence[str]) -> Style:
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1f2933",
        foreground_strong="#111827",
        foreground_subtle="#d1d5db",
        opacity="1",
        opacity_hover=".85",
        transition="0ms",
        colors=tuple(colours),
        font_family=FONT,
        label_font_family=FONT,
        major_label_font_family=FONT,
        value_font_family=FONT,
        legend_font_family=FONT,
        title_font_family=FONT,
        tooltip_font_family=FONT,
        no_data_font_family=FONT,
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=13,
        title_font_size=16,
        no_data_font_size=18,
        guide_stroke_color="#e5e7eb",
        major_guide_stroke_color="#d1d5db",
    )


def _config(**options: Any) -> dict[str, Any]:
    return {
        # No pygal.js from a CDN: the SVG is shown through <img> and must stand on its own.
        "js": [],
        "explicit_size": True,
        # pygal clips a legend of several rows at the bottom; a column on the right always fits.
        "legend_at_bottom": False,
        "legend_box_size": 14,
        "truncate_legend": -1,
        "truncate_label": -1,
        "print_zeroes": False,
        "no_data_text": "No trials to show",
        "margin": 16,
        "spacing": 12,
        "show_minor_y_labels": True,
        **options,
    }


def _legend_height(series: int) -> int:
    return 26 * series


def _render(chart: Any) -> str:
    # pygal always embeds its configuration as a <script>; an <img> never runs it, so it goes.
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def _series(matrix: Matrix, rows: Sequence[str]) -> list[tuple[str, list[int | None]]]:
    return [(column, [matrix.get(row, column) or None for row in rows]) for column in matrix.columns]


def target_modality_svg(landscape: Landscape) -> str:
    """Trials by target antigen (rows) and immunotherapy modality (stacked)."""
    matrix = landscape.target_modality
    rows = list(reversed(matrix.rows))  # pygal draws the first label at the bottom
    chart = pygal.HorizontalStackedBar(
        style=_style(PALETTE),
        **_config(
            title="Trials by target antigen and modality",
            width=900,
            height=max(320, 120 + 34 * len(rows), 140 + _legend_height(len(matrix.columns))),
            x_title="Trials",
        ),
    )
    chart.x_labels = rows
    for name, values in _series(matrix, rows):
        chart.add(name, values)
    return _render(chart)


def phase_status_svg(landscape: Landscape) -> str:
    """Trials by phase (columns) and recruitment status (stacked)."""
    matrix = landscape.phase_status
    colours = [STATUS_COLOURS.get(c, "#6B7280") for c in matrix.columns]
    chart = pygal.StackedBar(
        style=_style(colours or PALETTE),
        **_config(
            title="Trials by phase and status",
            width=900,
            height=max(440, 140 + _legend_height(len(matrix.columns))),
            y_title="Trials",
            x_title="Phase",
        ),
    )
    chart.x_labels = [_SHORT_PHASES.get(row, row) for row in matrix.rows]
    for name, values in _series(matrix, matrix.rows):
        chart.add(name, values)
    return _render(chart)


def started_per_year_svg(landscape: Landscape) -> str:
    """Trials started per year, by modality group (stacked)."""
    matrix = landscape.year_modality
    chart = pygal.StackedBar(
        style=_style(PALETTE),
        **_config(
            title="Trials started per year, by modality",
            width=900,
            height=max(440, 140 + _legend_height(len(matrix.columns))),
            y_title="Trials started",
        ),
    )
    chart.x_labels = matrix.rows
    for name, values in _series(matrix, matrix.rows):
        chart.add(name, values)
    return _render(chart)


CHARTS: Final[dict[str, tuple[str, Callable[[Landscape], str]]]] = {
    "targets": ("Trials by target antigen and modality", target_modality_svg),
    "phases": ("Trials by phase and status", phase_status_svg),
    "years": ("Trials started per year, by modality", started_per_year_svg),
}

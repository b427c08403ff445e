"""The main text and link colours of the stylesheet reach a contrast of 4.5:1 (WCAG AA)."""

from __future__ import annotations

import re
from importlib import resources

import pytest

CSS = resources.files("hemewatch.web").joinpath("static", "site.css").read_text("utf-8")
VARIABLES = dict(re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})\s*;", CSS.split("}", 1)[0]))


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        ("text", "bg"),
        ("text", "surface"),
        ("muted", "bg"),
        ("muted", "surface"),
        ("muted", "surface-2"),
        ("link", "bg"),
        ("link", "surface"),
        ("link-hover", "bg"),
        ("accent-text", "accent"),
        ("focus", "bg"),
    ],
)
def test_colour_pairs_have_enough_contrast(foreground: str, background: str) -> None:
    ratio = contrast(VARIABLES[foreground], VARIABLES[background])
    assert ratio >= 4.5, f"--{foreground} on --{background}: {ratio:.2f}:1"


def test_the_contrast_formula() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)

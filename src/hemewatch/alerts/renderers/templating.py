"""The Jinja2 environment for alert templates: HTML autoescaped, undefined names an error."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def environment() -> Environment:
    """The shared template environment (templates in hemewatch/alerts/templates)."""
    return Environment(
        loader=PackageLoader("hemewatch.alerts", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: object) -> str:
    """Render one template."""
    return environment().get_template(name).render(**context)

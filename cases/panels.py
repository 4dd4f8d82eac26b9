"""Sections that apps to the right of cases add to the case page.

cases cannot import visits or the apps after it, so they register a panel here from
their AppConfig.ready(): a template and a function that builds its context from the
case, the user and today's date. The case page renders every registered panel.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    key: str
    template: str
    context: Callable  # (case, user, today) -> dict
    order: int = 100


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.key] = panel


def render_context(case, user, today) -> list[tuple[Panel, dict]]:
    return [
        (p, p.context(case, user, today)) for p in sorted(_panels.values(), key=lambda p: p.order)
    ]

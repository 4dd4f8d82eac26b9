"""Charts for the managers' dashboards, drawn on the server as inline SVG in the style of
chronologies.analysis (no script, no CDN). Each is shown with the table it was drawn
from; the SVG carries a label and is hidden from the accessibility tree's detail."""

from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import mark_safe

from chronologies.analysis import BLUE, GREEN, ORANGE, PURPLE, RED

__all__ = ["BLUE", "GREEN", "ORANGE", "PURPLE", "RED", "Chart", "grouped_hbars", "stacked_hbars"]


@dataclass
class Chart:
    key: str
    title: str
    summary: str
    svg: str
    headers: list
    rows: list = field(default_factory=list)


def _open(width, height, title):
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="app-chart" focusable="false" '
        'font-family="Arial, sans-serif">'
    )


def _legend(series, x, y, right):
    """Legend items in a row, wrapping before `right`; returns (svg, rows used)."""
    parts, xx, row = [], x, 0
    for label, colour in series:
        w = 30 + 7.5 * len(label)
        if xx + w > right and xx > x:
            xx, row = x, row + 1
        yy = y + row * 20
        parts.append(
            f'<rect x="{xx:.0f}" y="{yy}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{xx + 18:.0f}" y="{yy + 10}" font-size="13">{escape(label)}'
            "</text>"
        )
        xx += w
    return "".join(parts), row + 1


def _label(text, limit=60):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def grouped_hbars(labels, series, *, title):
    """A label, then a thin horizontal bar per series; series is [(name, colour, values)]."""
    width, left, bar = 420, 10, 12
    group_h = 18 + bar * len(series) + 12
    legend, rows = _legend([(name, colour) for name, colour, _ in series], left, 6, width)
    top = 20 * rows + 14
    height = top + group_h * max(len(labels), 1)
    maxv = max([v for _, _, values in series for v in values] + [1])
    plot = width - left - 50
    out = [_open(width, height, title), legend]
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        out.append(f'<text x="{left}" y="{y0 + 13}" font-size="14">{escape(_label(label))}</text>')
        for j, (_, colour, values) in enumerate(series):
            y = y0 + 18 + j * bar
            w = plot * values[i] / maxv
            out.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" '
                f'fill="{colour}"/><text x="{left + w + 4:.1f}" y="{y + bar - 3}" '
                f'font-size="12">{values[i]}</text>'
            )
    out.append("</svg>")
    return mark_safe("".join(out))


def stacked_hbars(labels, series, *, title):
    """A label, then one bar split into the series; series is [(name, colour, values)]."""
    width, left, bar = 420, 10, 22
    row_h = 18 + bar + 12
    legend, rows = _legend([(name, colour) for name, colour, _ in series], left, 6, width)
    top = 20 * rows + 14
    height = top + row_h * max(len(labels), 1)
    totals = [sum(values[i] for _, _, values in series) for i in range(len(labels))]
    maxv = max(totals + [1])
    plot = width - left - 50
    out = [_open(width, height, title), legend]
    for i, label in enumerate(labels):
        y0 = top + i * row_h
        out.append(f'<text x="{left}" y="{y0 + 13}" font-size="14">{escape(_label(label))}</text>')
        y, x = y0 + 18, left
        for _, colour, values in series:
            w = plot * values[i] / maxv
            if w:
                out.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" '
                    f'fill="{colour}" stroke="#ffffff" stroke-width="1"/>'
                )
            x += w
        out.append(
            f'<text x="{x + 4:.1f}" y="{y + bar / 2 + 4:.1f}" font-size="13">{totals[i]}</text>'
        )
    out.append("</svg>")
    return mark_safe("".join(out))

"""The analysis view's data and its charts, drawn on the server as inline SVG (no script,
no CDN). Every chart comes with the table it was drawn from."""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from cases.models import ChildProtectionPlan, Escalation
from visits import rules as visit_rules
from visits.models import ChildSeen, Visit

from .models import ChronologyEntry

# GOV.UK colours, distinguishable without colour too (patterns are in the tables).
BLUE, RED, GREY, GREEN, ORANGE, PURPLE = (
    "#1d70b8",
    "#d4351c",
    "#b1b4b6",
    "#00703c",
    "#f47738",
    "#4c2c92",
)


def _months(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    start, out = start.replace(day=1), []
    while start <= end:
        out.append(start)
        start = (start + datetime.timedelta(days=32)).replace(day=1)
    return out


@dataclass
class Chart:
    key: str
    title: str
    summary: str
    svg: str
    headers: list
    rows: list = field(default_factory=list)


def _legend(series, x, y):
    parts = []
    for i, (label, colour) in enumerate(series):
        yy = y + i * 18
        parts.append(
            f'<rect x="{x}" y="{yy}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 18}" y="{yy + 10}" font-size="12">{escape(label)}</text>'
        )
    return "".join(parts)


def stacked_bars(labels, series, *, title):
    """Columns per label; series is [(name, colour, values)]."""
    width, height, left, bottom, top = 760, 260, 40, 40, 10
    n = max(len(labels), 1)
    plot_w = width - left - 190
    maxv = max([sum(v[i] for _, _, v in series) for i in range(len(labels))] + [1])
    bw = plot_w / n
    scale = (height - bottom - top) / maxv
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="app-chart" focusable="false" '
        'font-family="Arial, sans-serif">'
    ]
    for tick in sorted({0, maxv // 2, maxv}):
        y = height - bottom - tick * scale
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#dddddd"/><text x="{left - 6}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end">{tick}</text>'
        )
    for i, label in enumerate(labels):
        x = left + i * bw + bw * 0.15
        y = height - bottom
        for _, colour, values in series:
            h = values[i] * scale
            if h:
                y -= h
                out.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw * 0.7:.1f}" '
                    f'height="{h:.1f}" fill="{colour}"/>'
                )
        if n <= 14 or i % 2 == 0:
            out.append(
                f'<text x="{x + bw * 0.35:.1f}" y="{height - bottom + 16}" '
                f'font-size="11" text-anchor="middle">{escape(label)}</text>'
            )
    out.append(_legend([(s, c) for s, c, _ in series], left + plot_w + 20, top + 10))
    out.append("</svg>")
    return mark_safe("".join(out))


def hbars(items, *, title, colour=BLUE):
    """Horizontal bars: [(label, value)]."""
    width = 760
    height = 24 * max(len(items), 1) + 20
    maxv = max([v for _, v in items] + [1])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="app-chart" focusable="false" '
        'font-family="Arial, sans-serif">'
    ]
    for i, (label, value) in enumerate(items):
        y = 10 + i * 24
        w = 380 * value / maxv
        out.append(
            f'<text x="300" y="{y + 13}" font-size="12" text-anchor="end">'
            f'{escape(label)}</text><rect x="310" y="{y}" width="{w:.1f}" height="16" '
            f'fill="{colour}"/><text x="{316 + w:.1f}" y="{y + 13}" font-size="12">'
            f"{value}</text>"
        )
    out.append("</svg>")
    return mark_safe("".join(out))


def bands(rows, start, end, *, title):
    """Periods on a time axis: rows of (label, colour, [(from, to)])."""
    width, left, right = 760, 230, 20
    height = 30 * max(len(rows), 1) + 40
    span = max((end - start).days, 1)
    plot = width - left - right

    def x(day):
        return left + plot * (min(max(day, start), end) - start).days / span

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="app-chart" focusable="false" '
        'font-family="Arial, sans-serif">'
    ]
    for m in _months(start, end):
        if m >= start:
            out.append(
                f'<line x1="{x(m):.1f}" x2="{x(m):.1f}" y1="5" y2="{height - 25}" '
                f'stroke="#eeeeee"/>'
            )
            if m.month in (1, 4, 7, 10):
                out.append(
                    f'<text x="{x(m):.1f}" y="{height - 8}" font-size="11" '
                    f'text-anchor="middle">{m:%b %Y}</text>'
                )
    for i, (label, colour, periods) in enumerate(rows):
        y = 10 + i * 30
        out.append(
            f'<text x="{left - 8}" y="{y + 14}" font-size="12" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        for a, b in periods:
            w = max(x(b or end) - x(a), 3)
            out.append(
                f'<rect x="{x(a):.1f}" y="{y}" width="{w:.1f}" height="18" fill="{colour}"/>'
            )
    out.append("</svg>")
    return mark_safe("".join(out))


def _nine_to_five(moment) -> bool:
    local = timezone.localtime(moment)
    return local.weekday() < 5 and datetime.time(9) <= local.time() < datetime.time(17)


def case_analysis(case, *, today: datetime.date) -> list[Chart]:
    visits = list(
        Visit.objects.filter(case=case, in_error=False, occurred_at__isnull=False)
        .exclude(outcome=Visit.Outcome.PLANNED)
        .order_by("occurred_at")
    )
    start = case.opened_on
    if visits:
        start = min(start, timezone.localdate(visits[0].occurred_at))
    end = case.closed_on or today
    months = _months(max(start, end - datetime.timedelta(days=365 * 2)), end)
    labels = [m.strftime("%b %y") for m in months]
    index = {m: i for i, m in enumerate(months)}
    charts = []

    # 1. Visits per month by outcome.
    by = {o: [0] * len(months) for o in ("completed", "defaulted", "cancelled")}
    for v in visits:
        m = timezone.localdate(v.occurred_at).replace(day=1)
        if m in index:
            by[v.outcome][index[m]] += 1
    series = [
        ("Completed", GREEN, by["completed"]),
        ("Defaulted by family", RED, by["defaulted"]),
        ("Cancelled by worker", GREY, by["cancelled"]),
    ]
    total_def = sum(by["defaulted"])
    charts.append(
        Chart(
            "visits",
            "Visits per month by outcome",
            f"{len(visits)} visits: {sum(by['completed'])} completed, {total_def} defaulted by "
            f"the family, {sum(by['cancelled'])} cancelled by the worker.",
            stacked_bars(labels, series, title="Visits per month by outcome"),
            ["Month", "Completed", "Defaulted", "Cancelled by worker"],
            [
                [labels[i], by["completed"][i], by["defaulted"][i], by["cancelled"][i]]
                for i in range(len(months))
                if any(by[k][i] for k in by)
            ],
        )
    )

    # 2. Children seen and seen alone over time.
    seen = [0] * len(months)
    alone = [0] * len(months)
    not_seen = [0] * len(months)
    rows = ChildSeen.objects.filter(visit__in=[v.pk for v in visits]).select_related(
        "visit", "child"
    )
    for cs in rows:
        day = timezone.localdate(cs.visit.occurred_at)
        m = day.replace(day=1)
        # A child not yet born at the visit was not a child to be seen (visits.rules).
        if m not in index or visit_rules.person_unborn_on(cs.child, day):
            continue
        i = index[m]
        if cs.seen_alone:
            alone[i] += 1
        elif cs.seen:
            seen[i] += 1
        else:
            not_seen[i] += 1
    charts.append(
        Chart(
            "children",
            "Children seen and seen alone over time",
            f"Across all visits, children were seen alone {sum(alone)} times, seen but not alone "
            f"{sum(seen)} times and not seen {sum(not_seen)} times.",
            stacked_bars(
                labels,
                [
                    ("Seen alone", BLUE, alone),
                    ("Seen, not alone", PURPLE, seen),
                    ("Not seen", ORANGE, not_seen),
                ],
                title="Children seen and seen alone per month",
            ),
            ["Month", "Seen alone", "Seen, not alone", "Not seen"],
            [
                [labels[i], alone[i], seen[i], not_seen[i]]
                for i in range(len(months))
                if alone[i] or seen[i] or not_seen[i]
            ],
        )
    )

    # 3. Time of day: announced 9-to-5 against early, late and unannounced (R11).
    counts = Counter()
    for v in visits:
        counts[(v.announced, _nine_to_five(v.occurred_at))] += 1
    items = [
        ("Announced, weekday 9am to 5pm", counts[(True, True)]),
        ("Announced, early, late or weekend", counts[(True, False)]),
        ("Unannounced, weekday 9am to 5pm", counts[(False, True)]),
        ("Unannounced, early, late or weekend", counts[(False, False)]),
    ]
    only_announced = visits and counts[(True, True)] == len(visits)
    summary = (
        f"All {len(visits)} visits were announced and on weekdays between 9am and 5pm: "
        "the family has never been seen unannounced or out of hours."
        if only_announced
        else f"{counts[(True, True)]} of {len(visits)} visits were announced and between "
        "9am and 5pm on a weekday."
    )
    hours = Counter(timezone.localtime(v.occurred_at).hour for v in visits)
    charts.append(
        Chart(
            "timing",
            "When visits happened",
            summary,
            hbars(items, title="Visits by announcement and time of day"),
            ["Visits", "Number"],
            [list(i) for i in items]
            + [[f"Starting {h:02d}:00 to {h:02d}:59", hours[h]] for h in sorted(hours)],
        )
    )

    # 4. Entries per source agency.
    agencies = list(
        ChronologyEntry.objects.filter(case=case, in_error=False, agency__isnull=False)
        .values_list("agency__name")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    informants = list(
        ChronologyEntry.objects.filter(case=case, in_error=False)
        .exclude(informant_type="")
        .values_list("informant_type")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    from .models import InformantType

    items = [(name, n) for name, n in agencies] + [
        (f"Informant: {InformantType(code).label.lower()}", n) for code, n in informants
    ]
    charts.append(
        Chart(
            "sources",
            "Multi-agency information by source",
            (
                f"{sum(n for _, n in items)} entries from {len(items)} sources."
                if items
                else "No information from other agencies or informants has been recorded."
            ),
            hbars(items, title="Entries per source", colour=PURPLE) if items else "",
            ["Source", "Entries"],
            [list(i) for i in items],
        )
    )

    # 5. Plans and escalations as bands on the same axis.
    band_rows, table = [], []
    axis_start = months[0] if months else start
    for plan in (
        ChildProtectionPlan.objects.filter(case=case, in_error=False)
        .select_related("child")
        .order_by("start_date")
    ):
        label = f"Plan: {plan.child.short_name_in_text}"
        band_rows.append((label, RED, [(plan.start_date, plan.end_date)]))
        table.append(
            [
                label,
                f"{plan.start_date:%-d %b %Y}",
                f"{plan.end_date:%-d %b %Y}" if plan.end_date else "Ongoing",
            ]
        )
    for esc in Escalation.objects.filter(case=case).order_by("trigger_date"):
        end_day = esc.met_on or (timezone.localdate(esc.closed_at) if esc.closed_at else None)
        label = f"Escalation ({esc.get_state_display().lower()})"
        band_rows.append(
            (
                label,
                ORANGE if esc.state != Escalation.State.OVERDUE else RED,
                [(esc.trigger_date, end_day)],
            )
        )
        table.append(
            [label, f"{esc.trigger_date:%-d %b %Y}", f"{end_day:%-d %b %Y}" if end_day else "Open"]
        )
    charts.append(
        Chart(
            "periods",
            "Plans and escalations over time",
            f"{len(table)} periods on the same time axis as the charts above."
            if table
            else "No child protection plans or escalations.",
            bands(band_rows, axis_start, end, title="Plan and escalation periods")
            if band_rows
            else "",
            ["Period", "From", "To"],
            table,
        )
    )
    return charts

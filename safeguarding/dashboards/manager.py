"""The team manager's dashboard, and the service manager's across all teams.

Who may open them: team managers (their own team) and service managers (every team,
and the teams side by side). Anyone else signed in gets 403: the pages hold no case
of theirs to hide, they are simply not for their role. A team manager asking for
another team's page gets 404, as for a case they may not see. Every figure and list
is narrowed to the cases the policy lets the viewer see (restricted cases included
only for those named on them).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import access, policy

from . import charts_manager as charts
from . import queries_manager as q
from . import snapshots
from .common import Moment, moment

PER_PAGE = 50


def clock() -> Moment:
    """The one place the dashboards read the time (tests freeze it)."""
    return moment()


def _manager(request):
    if not q.is_dashboard_manager(request.user):
        raise PermissionDenied("The team and service dashboards are for managers")
    return request.user


def _service_manager(request):
    user = _manager(request)
    if not policy.can_view_service_dashboard(user):
        raise PermissionDenied("The service dashboard is for service managers")
    return user


def _team(user, team_pk):
    team = q.teams_for(user).filter(pk=team_pk).first()
    if team is None:
        raise Http404("No team found")
    return team


def _figure(key):
    figure = q.FIGURE_BY_KEY.get(key)
    if figure is None:
        raise Http404("No such figure")
    return figure


@login_required
@require_GET
def team(request):
    user = _manager(request)
    if user.team_id is None or not q.teams_for(user).filter(pk=user.team_id).exists():
        if user.is_service_manager:
            return redirect("dashboards:service")
        raise Http404("You are not in a team")
    return team_detail(request, user.team_id)


@login_required
@require_GET
def team_detail(request, team_pk):
    user = _manager(request)
    team = _team(user, team_pk)
    m = clock()
    workers = q.with_caseloads(q.decorate_workers(q.workers(user, m, team.pk), m), user, m, team.pk)
    counts = q.counts_by_team(user, m, team.pk, worker_rows=workers)
    one = {key: by_team.get(team.pk, 0) for key, by_team in counts.items()}
    return render(
        request,
        "dashboards/team.html",
        {
            "team": team,
            "m": m,
            "counts": one,
            "cases_total": one["cases-total"],
            "children_total": one["children-total"],
            "groups": _groups(
                one, lambda key: reverse("dashboards:team_figure", args=[team.pk, key])
            ),
            "workers": workers,
            "charts": _team_charts(one, workers),
            "is_service_manager": user.is_service_manager,
        },
    )


@login_required
@require_GET
def service(request):
    user = _service_manager(request)
    m = clock()
    teams = list(q.teams_for(user).order_by("name"))
    figures = snapshots.service_counts(user, m)
    counts = {key: figures.counts.get(key, {}) for key in _COUNT_KEYS}
    rows = [{"team": t, "counts": {k: v.get(t.pk, 0) for k, v in counts.items()}} for t in teams]
    totals = {k: sum(r["counts"][k] for r in rows) for k in counts}
    return render(
        request,
        "dashboards/service.html",
        {
            "m": m,
            "rows": rows,
            "totals": totals,
            "figures": figures,
            "refresh_minutes": max(1, settings.SERVICE_DASHBOARD_REFRESH_SECONDS // 60),
            "cases_total": totals["cases-total"],
            "children_total": totals["children-total"],
            "groups": _groups(totals, lambda key: reverse("dashboards:service_figure", args=[key])),
            "tables": [_service_table(title, keys, rows, totals) for title, keys in SERVICE_TABLES],
            "charts": _service_charts(rows),
        },
    )


@login_required
@require_POST
def service_refresh(request):
    """Work the service figures out again now, rather than wait for the periodic task."""
    user = _service_manager(request)
    snapshots.service_snapshot_refresh(user=user, now=clock().now)
    messages.success(request, "Figures worked out again")
    return redirect("dashboards:service")


@login_required
@require_GET
def team_figure(request, team_pk, figure):
    user = _manager(request)
    team = _team(user, team_pk)
    return _figure_page(request, user, _figure(figure), team)


@login_required
@require_GET
def service_figure(request, figure):
    user = _service_manager(request)
    return _figure_page(request, user, _figure(figure), None)


def _figure_page(request, user, figure, team):
    m = clock()
    rows = q.figure_rows(user, m, figure.key, team.pk if team else None)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    items = page.object_list
    if figure.kind == "workers":
        items = q.decorate_workers(items, m)
    _log_figure_page(request, figure, items)
    noun, plural = NOUNS[figure.kind]
    return render(
        request,
        "dashboards/manager_list.html",
        {
            "figure": figure,
            "team": team,
            "m": m,
            "page": page,
            "items": items,
            "noun": noun,
            "plural": plural,
            "is_service_manager": user.is_service_manager,
        },
    )


def _log_figure_page(request, figure, items) -> None:
    """The access log of a drill-down list: a row per child it names (the children
    figures), else a row per case it names; the workers lists name no family."""
    what = f"dashboard list: {figure.key}"
    via = access.Via.DASHBOARD
    if figure.kind == "children":
        for m in items:
            access.record(request, case=m.case, people=[m.person_id], what=what, via=via)
    elif figure.kind == "escalations":
        for escalation in items:
            access.record(request, case=escalation.case, what=what, via=via)
    elif figure.kind != "workers":
        for case in items:
            access.record(request, case=case, what=what, via=via)


# --- Presentation: what the templates show, in what order -----------------------------------

# What a list counts, and the ending that makes it plural ("child" + "ren").
NOUNS = {
    "cases": ("case", "s"),
    "visits": ("case", "s"),
    "children": ("child", "ren"),
    "escalations": ("escalation", "s"),
    "workers": ("worker", "s"),
}

GROUPS = [
    ("caseload", "Cases and children", "Open cases and the children on them today."),
    (
        "escalations",
        "Escalations",
        "Meetings the defaulted-visits and non-compliance rules call for (R1 to R3).",
    ),
    (
        "children",
        "Seeing the children",
        "Children the visiting policy says are due, and families who defeat visits.",
    ),
    ("workload", "Workers", "Caseloads and formal supervision."),
]


def _groups(counts, link):
    out = []
    for key, title, intro in GROUPS:
        items = []
        for f in q.FIGURES:
            if f.group != key:
                continue
            extra = ""
            if f.key == "defaulted-visits":
                n = counts.get("defaulted-cases", 0)
                extra = f"on {n} case{'s' if n != 1 else ''}"
            items.append(
                {
                    "figure": f,
                    "value": counts.get(f.key, 0),
                    "link": link(f.key),
                    "extra": extra,
                    "alert": f.key in ALERTS and counts.get(f.key, 0) > 0,
                }
            )
        out.append({"key": key, "title": title, "intro": intro, "items": items})
    return out


# Every key counts_by_team returns: the service page shows each, zero when a snapshot
# worked out before a figure existed lacks it.
_COUNT_KEYS = [f.key for f in q.FIGURES] + ["defaulted-cases", "children-total", "cases-total"]

ALERTS = {
    "escalations-overdue",
    "escalations-due-soon",
    "children-not-seen",
    "children-not-seen-alone",
    "supervision-overdue",
}

SERVICE_TABLES = [
    (
        "Cases, children and escalations",
        [
            "cases-cp",
            "cases-cin",
            "children-cp",
            "children-cin",
            "escalations-open",
            "escalations-due-soon",
            "escalations-overdue",
            "escalations-met-late",
        ],
    ),
    (
        "Seeing the children, and workers",
        [
            "children-not-seen",
            "children-not-seen-alone",
            "defaulted-visits",
            "hazard-visits",
            "workload",
            "supervision-overdue",
        ],
    ),
]
SHORT = {
    "cases-cp": "CP cases",
    "cases-cin": "CIN cases",
    "children-cp": "Children on CP plans",
    "children-cin": "Children in need",
    "escalations-open": "Escalations open",
    "escalations-due-soon": "Due in 2 working days",
    "escalations-overdue": "Overdue",
    "escalations-met-late": "Met late this quarter",
    "children-not-seen": "Not seen within policy",
    "children-not-seen-alone": "Not seen alone (last 3 visits)",
    "defaulted-visits": "Defaulted visits this month",
    "hazard-visits": "Hazard cases visited this week",
    "workload": "Workers",
    "supervision-overdue": "Supervision overdue",
}


def _service_table(title, keys, rows, totals):
    """One table of teams side by side: a row per team and a total, every cell a link."""
    return {
        "title": title,
        "columns": [{"key": k, "label": SHORT[k], "alert": k in ALERTS} for k in keys],
        "rows": [
            {
                "team": r["team"],
                "link": reverse("dashboards:team_detail", args=[r["team"].pk]),
                "cells": [
                    {
                        "value": r["counts"][k],
                        "label": SHORT[k],
                        "link": reverse("dashboards:team_figure", args=[r["team"].pk, k]),
                    }
                    for k in keys
                ],
            }
            for r in rows
        ],
        "total": [
            {
                "value": totals[k],
                "label": SHORT[k],
                "link": reverse("dashboards:service_figure", args=[k]),
            }
            for k in keys
        ],
    }


def _escalation_series(counts_list):
    """Active escalations split by urgency, for a stacked bar per row."""
    overdue = [c["escalations-overdue"] for c in counts_list]
    soon = [c["escalations-due-soon"] for c in counts_list]
    later = [c["escalations-open"] - c["escalations-due-soon"] for c in counts_list]
    return [
        ("Overdue", charts.RED, overdue),
        ("Due within 2 working days", charts.ORANGE, soon),
        ("Due later", charts.BLUE, later),
    ]


def _team_charts(counts, workers):
    out = []
    if workers:
        labels = [w.get_full_name() or w.username for w in workers]
        series = [
            ("Cases", charts.BLUE, [w.cases_n or 0 for w in workers]),
            ("Children", charts.GREEN, [w.children_n or 0 for w in workers]),
            ("Children on plans", charts.RED, [w.children_cp_n or 0 for w in workers]),
        ]
        out.append(
            charts.Chart(
                key="workload",
                title="Workload per worker",
                summary=_workload_summary(workers),
                svg=charts.grouped_hbars(
                    labels,
                    series,
                    title="Workload per worker: cases, children and children on plans",
                ),
                headers=["Worker", "Cases", "Children", "Children on plans"],
                rows=[[lab, *[s[2][i] for s in series]] for i, lab in enumerate(labels)],
            )
        )
    series = _escalation_series([counts])
    total = sum(s[2][0] for s in series)
    out.append(
        charts.Chart(
            key="escalations",
            title="Active escalations by urgency",
            summary=(
                f"{total} active escalation{'s' if total != 1 else ''}: "
                f"{series[0][2][0]} overdue, {series[1][2][0]} due within 2 working days, "
                f"{series[2][2][0]} due later; {counts['escalations-met-late']} met late "
                "this quarter."
            ),
            svg=charts.stacked_hbars(
                ["Active escalations"], series, title="Active escalations by urgency"
            ),
            headers=["State", "Escalations"],
            rows=[[name, values[0]] for name, _, values in series]
            + [["Met late this quarter", counts["escalations-met-late"]]],
        )
    )
    return out


def _workload_summary(workers):
    busiest = max(workers, key=lambda w: w.cases_n or 0)
    total = sum(w.cases_n or 0 for w in workers)
    return (
        f"{len(workers)} worker{'s' if len(workers) != 1 else ''} with {total} case "
        f"allocations; the highest caseload is {busiest.cases_n or 0} "
        f"({busiest.get_full_name() or busiest.username})."
    )


def _service_charts(rows):
    if not rows:
        return []
    labels = [r["team"].name for r in rows]
    counts = [r["counts"] for r in rows]
    esc = _escalation_series(counts)
    children = [
        ("On a CP plan", charts.RED, [c["children-cp"] for c in counts]),
        ("Child in need", charts.BLUE, [c["children-cin"] for c in counts]),
    ]
    seen = [
        ("Not seen within policy", charts.RED, [c["children-not-seen"] for c in counts]),
        (
            "Not seen alone at last 3 visits",
            charts.PURPLE,
            [c["children-not-seen-alone"] for c in counts],
        ),
    ]
    worst = max(rows, key=lambda r: r["counts"]["escalations-overdue"])
    return [
        charts.Chart(
            key="escalations",
            title="Active escalations by team",
            summary=(
                f"{sum(esc[0][2])} overdue across the service; the most are in "
                f"{worst['team'].name} ({worst['counts']['escalations-overdue']})."
            ),
            svg=charts.stacked_hbars(labels, esc, title="Active escalations by team and urgency"),
            headers=["Team", *[name for name, _, _ in esc]],
            rows=[[lab, *[s[2][i] for s in esc]] for i, lab in enumerate(labels)],
        ),
        charts.Chart(
            key="children",
            title="Children by status and team",
            summary=(
                f"{sum(children[0][2])} children on child protection plans and "
                f"{sum(children[1][2])} children in need."
            ),
            svg=charts.stacked_hbars(labels, children, title="Children by status and team"),
            headers=["Team", *[name for name, _, _ in children]],
            rows=[[lab, *[s[2][i] for s in children]] for i, lab in enumerate(labels)],
        ),
        charts.Chart(
            key="seen",
            title="Children not seen as the policy requires, by team",
            summary=(
                f"{sum(seen[0][2])} children not seen within policy and "
                f"{sum(seen[1][2])} not seen alone at any of their last 3 visits."
            ),
            svg=charts.grouped_hbars(
                labels, seen, title="Children not seen as the policy requires, by team"
            ),
            headers=["Team", *[name for name, _, _ in seen]],
            rows=[[lab, *[s[2][i] for s in seen]] for i, lab in enumerate(labels)],
        ),
    ]


urlpatterns = [
    path("team/", team, name="team"),
    path("team/<int:team_pk>/", team_detail, name="team_detail"),
    path("team/<int:team_pk>/<slug:figure>/", team_figure, name="team_figure"),
    path("service/", service, name="service"),
    path("service/refresh/", service_refresh, name="service_refresh"),
    path("service/<slug:figure>/", service_figure, name="service_figure"),
]

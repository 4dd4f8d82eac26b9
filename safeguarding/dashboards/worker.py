"""A social worker's "My work" dashboard.

Anyone may open it: it shows the user's own allocated cases, visits, escalations on
those cases, the supervision actions they own and their notifications (see
queries_worker). Managers have their team dashboards besides.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import access
from visits.lone_working_views import my_work_panel

from . import queries_worker


@login_required
@require_GET
def my_work(request):
    work = queries_worker.my_work(request.user, now=timezone.now())
    for row in work.cases:
        access.record(
            request,
            case=row.case,
            people=[c.child.pk for c in row.children],
            what="My work",
            via=access.Via.DASHBOARD,
        )
    return render(
        request,
        "dashboards/worker.html",
        {
            "work": work,
            "lone": my_work_panel(request.user),
            "today": work.today,
            "cp_interval": settings.VISIT_EVERY_WORKING_DAYS_CP,
            "cin_interval": settings.VISIT_EVERY_WORKING_DAYS_CIN,
        },
    )

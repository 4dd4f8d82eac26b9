"""What every case page shares: the case under the one policy with the view logged,
the top of the page (identity, plan status, hazards, escalations) and the form page."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts import access
from common.pages import form_page, render_form_page

from .. import queries
from ..models import Case


def _case(request, pk, what: str, *, via: str = access.Via.PAGE) -> Case:
    """The case if this user may see it (else 404, the refusal logged with the id asked
    for), with the view noted for the access log: one row per child the page shows at its
    top (read by the time the log is written, after the page is rendered)."""
    try:
        case = queries.get_case(request.user, pk)
    except Http404:
        access.refused(request, case_id=pk, what=what, via=via)
        raise
    access.record(request, case=case, what=what, via=via, people=lambda: children_shown(case))
    return case


def children_shown(case: Case) -> list[int]:
    """The children this request read for the top of the case's page (none if it did not)."""
    known = getattr(case, "_children_plan_status", None)
    return [person.pk for person, _ in known[1]] if known else []


def _case_context(case: Case, today) -> dict:
    """What every case page shows at the top: identity, plan status, active hazards."""
    return _top_of_page(
        case,
        today,
        children=queries.children_plan_status(case, today=today),
        hazards=queries.active_hazards(case, today=today),
        escalations=queries.active_escalations(case),
    )


def _top_of_page(case: Case, today, *, children, hazards, escalations) -> dict:
    return {
        "case": case,
        "children_status": children,
        "any_child_on_plan": any(plan for _, plan in children),
        "active_hazards": hazards,
        "active_escalations": escalations,
        "today": today,
    }


def case_for_page(request, pk, what: str, *, via: str = access.Via.PAGE) -> Case:
    """For case pages in other apps: the case under the one policy, with the view logged."""
    return _case(request, pk, what, via=via)


def case_context(request, case: Case) -> dict:
    """The top-of-page context for a case page in any app (identity bar, hazards,
    escalations)."""
    return _case_context(case, timezone.localdate())


def _page_context(case, *, title, submit, intro="", cancel_url=None, **extra) -> dict:
    context = _case_context(case, timezone.localdate())
    context.update(
        title=title,
        submit=submit,
        intro=intro,
        cancel_url=cancel_url or reverse("cases:detail", args=[case.pk]),
        **extra,
    )
    return context


def _form_page(request, case, form, *, title, submit, intro="", cancel_url=None, **extra):
    context = _page_context(
        case, title=title, submit=submit, intro=intro, cancel_url=cancel_url, **extra
    )
    return render_form_page(request, "cases/form_page.html", {**context, "form": form}, form)


def _submit(request, case, form, save, *, success, title, submit, intro="", **extra):
    """Every small case form (`common.pages.form_page`), back to the case on success.
    `extra` goes to the page (`before_form`: a template shown above the form)."""
    return form_page(
        request,
        form,
        save,
        success=success,
        next_url=reverse("cases:detail", args=[case.pk]),
        template="cases/form_page.html",
        context=_page_context(case, title=title, submit=submit, intro=intro, **extra),
    )


def _require_open(case):
    if not case.is_open:
        raise PermissionDenied("This case is closed")

"""Written agreements with a family, and recording a time one was not kept."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import policy

from .. import forms, services
from ..models import Membership, Person, WrittenAgreement
from .base import _case, _require_open, _submit


def _people(case, also=()):
    """Who may be named as agreeing: the people on the case now (and `also`, those
    named already)."""
    today = timezone.localdate()
    on_case = Person.objects.filter(
        Membership.active_on_q(today, prefix="memberships"), memberships__case=case
    ).values("pk")
    return (
        Person.objects.filter(Q(pk__in=on_case) | Q(pk__in=[p.pk for p in also]))
        .distinct()
        .order_by("first_name", "last_name", "pk")
    )


def _agreement(case, agreement_pk) -> WrittenAgreement:
    return get_object_or_404(WrittenAgreement, pk=agreement_pk, case=case, in_error=False)


def _allowed(request, case):
    _require_open(case)
    if not policy.can_edit_case(request.user, case):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def agreement_add(request, pk):
    case = _case(request, pk, "opened add written agreement")
    _allowed(request, case)
    form = forms.AgreementForm(
        request.POST or None, people=_people(case), initial={"agreed_on": timezone.localdate()}
    )

    def save(data):
        if data.get("review_due") is None:
            data.pop("review_due", None)
        return services.agreement_create(actor=request.user, case=case, **data)

    return _submit(
        request,
        case,
        form,
        save,
        success="Written agreement saved. It shows on the case page.",
        title="Record a written agreement with the family",
        submit="Save agreement",
    )


@login_required
@require_http_methods(["GET", "POST"])
def agreement_edit(request, pk, agreement_pk):
    case = _case(request, pk, "opened correct written agreement")
    agreement = _agreement(case, agreement_pk)
    _allowed(request, case)
    form = forms.AgreementEditForm(
        request.POST or None,
        people=_people(case, also=agreement.agreed_by.all()),
        initial={
            "unacceptable_behaviour": agreement.unacceptable_behaviour,
            "family_agrees": agreement.family_agrees,
            "consequences": agreement.consequences,
            "consequence_other": agreement.consequence_other,
            "agreed_by": list(agreement.agreed_by.all()),
            "agreed_on": agreement.agreed_on,
            "review_due": agreement.review_due,
            "version": services.agreement_version(agreement),
        },
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.agreement_update(actor=request.user, agreement=agreement, **data),
        success="Written agreement saved",
        title="Correct the written agreement",
        submit="Save agreement",
    )


@login_required
@require_http_methods(["GET", "POST"])
def agreement_end(request, pk, agreement_pk):
    case = _case(request, pk, "opened end written agreement")
    agreement = _agreement(case, agreement_pk)
    _allowed(request, case)
    form = forms.AgreementEndForm(request.POST or None, initial={"ended_on": timezone.localdate()})
    return _submit(
        request,
        case,
        form,
        lambda data: services.agreement_end(actor=request.user, agreement=agreement, **data),
        success="Written agreement ended",
        title=f"End the written agreement of {agreement.agreed_on:%d/%m/%Y}",
        submit="End agreement",
    )


@login_required
@require_http_methods(["GET", "POST"])
def agreement_breach(request, pk, agreement_pk):
    case = _case(request, pk, "opened record a breach of written agreement")
    agreement = _agreement(case, agreement_pk)
    _allowed(request, case)
    visits = (
        case.visits.filter(in_error=False, occurred_at__isnull=False)
        .exclude(outcome="planned")
        .order_by("-occurred_at")
    )
    form = forms.BreachForm(
        request.POST or None, visits=visits, initial={"occurred_on": timezone.localdate()}
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.agreement_breach_record(
            actor=request.user, agreement=agreement, **data
        ),
        success="Breach recorded. It is in the chronology.",
        title="Record a breach of the written agreement",
        submit="Record breach",
        intro=f"Agreed on {agreement.agreed_on:%d %B %Y}. The family agreed to: "
        f"{agreement.family_agrees}",
    )

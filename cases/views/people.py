"""People on a case: search before create, their details and their membership."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from common.errors import apply_service_errors

from .. import forms, queries, services
from ..models import Membership, Person
from .base import _case, _case_context, _require_open, _submit


@login_required
@require_http_methods(["GET", "POST"])
def person_add(request, pk):
    """Search before create: matches are shown before a new person can be made.

    Step 1 posts the search. Step 2 shows the matches and, in one form, lets the
    worker pick one of them or, having seen them, describe a new person; the search
    is carried along in hidden fields so the matches stay on screen if the second
    step has errors. Everything is posted: names and dates of birth never go into
    a URL.
    """
    case = _case(request, pk, "opened add a person")
    _require_open(case)
    action = request.POST.get("action", "")
    search = forms.PersonSearchForm(
        request.POST if action in ("search", "add") else None, prefix="s"
    )
    context = _case_context(case, timezone.localdate())
    context.update(search=search, step=1)
    if action in ("search", "add") and search.is_valid():
        s = search.cleaned_data
        matches = queries.person_matches(
            request.user,
            first_name=s["first_name"],
            last_name=s["last_name"],
            date_of_birth=s["date_of_birth"],
            nhs_number=s["nhs_number"],
        )
        choice = forms.PersonChoiceForm(request.POST if action == "add" else None, matches=matches)
        membership = forms.MembershipFields(
            request.POST if action == "add" else None,
            prefix="m",
            initial={"start_date": timezone.localdate(), "lives_in_household": "yes"},
        )
        person_form = forms.PersonForm(
            request.POST if action == "add" and request.POST.get("person") == "new" else None,
            prefix="p",
            initial={
                "first_name": s["first_name"],
                "last_name": s["last_name"],
                "date_of_birth": s["date_of_birth"],
                "nhs_number": s["nhs_number"],
            },
        )
        context.update(
            step=2,
            matches=matches,
            choice=choice,
            membership_form=membership,
            person_form=person_form,
            search_hidden=[(k, v) for k, v in request.POST.items() if k.startswith("s-")],
        )
        if action == "add" and choice.is_valid() and membership.is_valid():
            picked = choice.cleaned_data["person"]
            try:
                if picked == "new":
                    if person_form.is_valid():
                        person = _add_new_person(request.user, case, person_form, membership)
                    else:
                        person = None
                else:
                    person = _matchable_person(request.user, picked)
                    services.membership_add(
                        actor=request.user, case=case, person=person, **membership.cleaned_data
                    )
            except ValidationError as exc:
                apply_service_errors([membership, person_form, choice], exc)
            else:
                if person is not None:
                    messages.success(request, f"{person.display_name} added to the case")
                    return redirect("cases:detail", case.pk)
    has_errors = any(
        f.errors
        for f in (
            search,
            context.get("choice"),
            context.get("membership_form"),
            context.get("person_form"),
        )
        if f is not None and f.is_bound
    )
    return render(request, "cases/person_add.html", context, status=400 if has_errors else 200)


def _add_new_person(actor, case, person_form, membership) -> Person:
    with transaction.atomic():
        person = services.person_create(actor=actor, **person_form.cleaned_data)
        services.membership_add(actor=actor, case=case, person=person, **membership.cleaned_data)
    return person


def _matchable_person(user, person_id) -> Person:
    try:
        person_id = int(person_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    person = get_object_or_404(Person, pk=person_id)
    visible = queries.cases_for(user).values_list("pk", flat=True)
    cases = person.memberships.values_list("case__restricted", "case_id")
    if cases and all(restricted and cid not in set(visible) for restricted, cid in cases):
        raise Http404
    return person


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, pk, person_pk):
    case = _case(request, pk, "opened edit person")
    person = get_object_or_404(Person.objects.distinct(), pk=person_pk, memberships__case=case)
    form = forms.PersonEditForm(
        request.POST or None,
        instance=person,
        initial={"version": services.person_version(person)},
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.person_update(
            actor=request.user,
            person=person,
            version=data["version"],
            **{f: data[f] for f in forms.PersonForm.Meta.fields},
        ),
        success=f"Details of {person.full_name} saved",
        title=f"Change details of {person.full_name}",
        submit="Save details",
    )


def _membership(case, membership_pk) -> Membership:
    return get_object_or_404(Membership, pk=membership_pk, case=case, in_error=False)


@login_required
@require_http_methods(["GET", "POST"])
def membership_end(request, pk, membership_pk):
    case = _case(request, pk, "opened end membership")
    membership = _membership(case, membership_pk)
    form = forms.MembershipEndForm(request.POST or None, initial={"end_date": timezone.localdate()})
    return _submit(
        request,
        case,
        form,
        lambda data: services.membership_end(actor=request.user, membership=membership, **data),
        success=f"{membership.person.full_name} recorded as having left",
        submit="Record that they left",
        title=f"{membership.person.full_name} has left the household or case",
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_change(request, pk, membership_pk):
    """They have moved in or out since: a change to the household, as it happens."""
    case = _case(request, pk, "opened change membership")
    membership = _membership(case, membership_pk)
    form = forms.MembershipChangeForm(
        request.POST or None,
        initial={
            "lives_in_household": "yes" if membership.lives_in_household else "no",
            "version": services.membership_version(membership),
        },
    )
    return _submit(
        request,
        case,
        form,
        lambda data: services.membership_set_household(
            actor=request.user, membership=membership, **data
        ),
        success="Saved",
        submit="Save",
        title=f"Where does {membership.person.display_name} live?",
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_edit(request, pk, membership_pk):
    """Correct a stay on the case as it was recorded."""
    case = _case(request, pk, "opened correct membership")
    membership = _membership(case, membership_pk)
    form = forms.MembershipEditForm(
        request.POST or None,
        membership=membership,
        initial={
            "relationship": membership.relationship,
            "lives_in_household": "yes" if membership.lives_in_household else "no",
            "start_date": membership.start_date,
            "end_date": membership.end_date,
            "end_reason": membership.end_reason,
            "version": services.membership_version(membership),
        },
    )
    name = membership.person.display_name
    return _submit(
        request,
        case,
        form,
        lambda data: services.membership_update(actor=request.user, membership=membership, **data),
        success=f"{name}'s part in the case saved",
        submit="Save",
        title=f"Correct {name}'s part in the case",
        intro="For something recorded wrongly. To record that they have left, use "
        "“Left”; that they moved in or out, “Where they live”.",
    )

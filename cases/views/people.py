"""People on a case: search before create, their details and their membership."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import access, policy
from common.errors import apply_service_errors
from common.pages import render_form_page

from .. import forms, queries, rules, services
from ..models import Case, Membership, Person
from ..services.merge import why_not_one_person
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
        access.record(
            request,
            what="person search results",
            via=access.Via.SEARCH,
            people=[m.person.pk for m in matches],
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
    """The person picked from the matches: one search before create may show this user
    (404 otherwise). A record merged into another meanwhile is refused by the service."""
    try:
        person_id = int(person_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    person = get_object_or_404(Person, pk=person_id)
    if person.merged_into_id is None and not policy.can_link_person(user, person):
        raise Http404
    return person


def _person_on_case(case, person_pk) -> Person | None:
    return (
        Person.objects.filter(pk=person_pk, memberships__case=case)
        .select_related("merged_into", "merged_by")
        .distinct()
        .first()
    )


def _merged_from_case(case, person_pk) -> Person:
    """A record merged into someone on this case (however many merges ago), else 404."""
    person = get_object_or_404(
        Person.objects.select_related("merged_into", "merged_by"),
        pk=person_pk,
        merged_into__isnull=False,
    )
    kept, seen = person.merged_into, {person.pk}
    while kept.merged_into_id is not None and kept.pk not in seen:
        seen.add(kept.pk)
        kept = kept.merged_into
    if not kept.memberships.filter(case=case).exists():
        raise Http404
    return person


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, pk, person_pk):
    case = _case(request, pk, "opened edit person")
    person = _person_on_case(case, person_pk)
    if person is None or person.merged_into_id is not None:
        try:
            merged = _merged_from_case(case, person_pk)
        except Http404:
            access.refused(request, what="opened edit person", person_id=person_pk)
            raise
        access.record(request, case=case, what="viewed a merged record", people=[merged.pk])
        return _person_merged_page(request, case, merged)
    access.record(request, case=case, what="opened edit person", people=[person.pk])
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
        before_form="cases/_person_merges.html",
        person=person,
        merged_records=list(
            person.merged_records.select_related("merged_by").order_by("merged_at", "pk")
        ),
        can_merge=policy.can_merge_people(request.user),
        can_read_access_log=policy.can_read_access_log_of_person(
            request.user, person, cases=Case.objects.all()
        ),
    )


def _person_merged_page(request, case, person):
    """The page of a record merged into another: what happened, and where its record is
    now. Nothing on it can be changed."""
    context = _case_context(case, timezone.localdate())
    context.update(person=person)
    return render(request, "cases/person_merged.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def person_merge(request, pk, person_pk):
    """Merge this person's record with another record of them.

    Step 1 finds the other record (the person's own details are searched at first; a
    search is posted, never put in the URL). Step 2 shows both records side by side to
    choose which is kept and say why. The service does the merge and refuses what it
    must; the page then shows the record kept, with what was merged into it.
    """
    case = _case(request, pk, "opened merge records")
    person = _person_on_case(case, person_pk)
    if person is None or person.merged_into_id is not None:
        raise Http404
    if not policy.can_merge_person(request.user, person):
        raise PermissionDenied
    action = request.POST.get("action", "")
    context = _case_context(case, timezone.localdate())
    context.update(person=person)
    if action in ("pick", "merge"):
        other = _other_record(request, person)
        if other is not None:
            confirm = forms.MergeConfirmForm(
                request.POST if action == "merge" else None,
                person=person,
                other=other,
                initial={"other": other.pk},
            )
            if action == "merge" and confirm.is_valid():
                keep, duplicate = (
                    (person, other)
                    if confirm.cleaned_data["keep"] == str(person.pk)
                    else (other, person)
                )
                try:
                    kept = services.person_merge(
                        actor=request.user,
                        keep=keep,
                        duplicate=duplicate,
                        reason=confirm.cleaned_data["reason"],
                    )
                except ValidationError as exc:
                    apply_service_errors(confirm, exc)
                else:
                    messages.success(
                        request,
                        f"{duplicate.display_name} ({duplicate.record_label}) merged into "
                        f"{kept.display_name} ({kept.record_label})",
                    )
                    return redirect("cases:person_edit", case.pk, kept.pk)
            return _merge_confirm_page(request, context, person, other, confirm)
    # A pick carries the search it was picked from (none: the person's own details).
    posted = action == "search" or (
        action == "pick" and any(k.startswith("s-") for k in request.POST)
    )
    search = forms.PersonSearchForm(
        request.POST if posted else None,
        prefix="s",
        initial={
            "first_name": person.first_name,
            "last_name": person.last_name,
            "date_of_birth": person.date_of_birth,
            "nhs_number": person.nhs_number,
        },
    )
    matches = []
    if search.is_bound and search.is_valid():
        terms = search.cleaned_data
    elif not search.is_bound:
        terms = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "date_of_birth": person.date_of_birth,
            "nhs_number": person.nhs_number,
        }
    else:
        terms = None
    if terms is not None:
        matches = [
            match
            for match in queries.person_matches(request.user, **terms, exclude=(person.pk,))
            # Records that cannot be this person (a mother and her unborn baby) are not
            # offered: the merge would be refused.
            if why_not_one_person(person, match.person) is None
        ]
    access.record(
        request,
        what="person search results (merge)",
        via=access.Via.SEARCH,
        people=[m.person.pk for m in matches],
    )
    choice = forms.MergeChoiceForm(
        request.POST if action == "pick" else None, matches=matches, prefix="c"
    )
    if action == "pick":
        choice.is_valid()  # the record picked was not found: say so beside the list
    context.update(
        search=search,
        matches=matches,
        choice=choice,
        search_hidden=[(k, v) for k, v in request.POST.items() if k.startswith("s-")],
    )
    return render_form_page(request, "cases/person_merge.html", context, [search, choice])


def _other_record(request, person) -> Person | None:
    """The other record posted (a pick from the matches, or the confirmation's hidden
    field): one this user may merge, or 404; None when none was picked."""
    raw = request.POST.get("c-other") or request.POST.get("other")
    if not raw:
        return None
    try:
        other_pk = int(raw)
    except ValueError as exc:
        raise Http404 from exc
    other = get_object_or_404(Person, pk=other_pk)
    if other.pk == person.pk or not policy.can_merge_person(request.user, other):
        raise Http404
    return other


def _merge_confirm_page(request, context, person, other, confirm):
    known = queries.cases_known(request.user, [person.pk, other.pk])
    today = timezone.localdate()
    sides = []
    for p in (person, other):
        visible, hidden = known[p.pk]
        sides.append(
            {
                "person": p,
                "visible_cases": visible,
                "other_case_count": hidden,
                "hazards": [h for h in p.hazards.all() if rules.active_on(h, today)],
                "plans": list(p.cp_plans.filter(in_error=False).select_related("case")),
            }
        )
    known_sex = {
        p.pk: p.get_sex_display() if p.sex != Person.Sex.NOT_KNOWN else "" for p in (person, other)
    }
    # (label, the two values, whether a difference is flagged: names differ by nature)
    rows = [
        ("Name", person.display_name, other.display_name, False),
        ("Other names", person.aliases, other.aliases, False),
        ("Date of birth", person.date_of_birth, other.date_of_birth, True),
        (
            "Expected date of birth",
            person.expected_date_of_birth,
            other.expected_date_of_birth,
            True,
        ),
        ("Sex", known_sex[person.pk], known_sex[other.pk], True),
        ("NHS number", person.nhs_number, other.nhs_number, True),
        ("Unique pupil number", person.upn, other.upn, True),
        ("Local authority child ID", person.la_child_id, other.la_child_id, True),
    ]
    context.update(
        step="confirm",
        other=other,
        sides=sides,
        rows=[
            {"label": label, "values": (a, b), "differs": flag and bool(a) and bool(b) and a != b}
            for label, a, b, flag in rows
        ],
        confirm=confirm,
    )
    return render_form_page(request, "cases/person_merge.html", context, confirm)


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

"""Reads of the case record, always scoped to the user asking."""

import datetime
import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts import policy

from . import person_search, rules
from .models import (
    Address,
    Case,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Membership,
    Person,
)
from .validators import normalise_nhs_number, normalise_postcode


def cases_for(user) -> QuerySet:
    return policy.visible_cases(user, Case.objects.all())


def get_case(user, pk) -> Case:
    """The case if this user may see it, else 404."""
    return policy.get_case_for(user, Case.objects.select_related("team"), pk)


# --- A child on a plan, a hazard now: each defined once in SQL ----------------------------
# Their Python twins, for rows already read, are in cases/rules.py; a test holds the two
# in agreement. `case` is a case id, a Case, an OuterRef to one, or None for any case.


def plans_active_on(day: datetime.date) -> QuerySet:
    return ChildProtectionPlan.objects.filter(ChildProtectionPlan.active_on_q(day))


def child_on_plan_q(day: datetime.date, case=None) -> Q:
    """On ChildProtectionPlan: active on `day`, for a child whose membership of `case`
    as a child covers the day (whichever case the plan was recorded under)."""
    q = (
        ChildProtectionPlan.active_on_q(day)
        & Membership.active_on_q(day, prefix="child__memberships")
        & Q(child__memberships__relationship=Membership.Relationship.CHILD)
    )
    return q if case is None else q & Q(child__memberships__case=case)


def cases_with_child_on_plan(day: datetime.date) -> QuerySet:
    """Ids of cases with a child on a plan on `day`: `child_on_plan_q` over every case,
    read once (uncorrelated) for lists across a county."""
    return (
        ChildProtectionPlan.objects.filter(child_on_plan_q(day))
        .values("child__memberships__case_id")
        .order_by()
    )


def case_has_child_on_plan(case_id: int, day: datetime.date) -> bool:
    """Is any child on this case subject to a Child Protection Plan on `day`? One query."""
    return ChildProtectionPlan.objects.filter(child_on_plan_q(day, case_id)).exists()


def people_on_case(day: datetime.date, case) -> QuerySet:
    """Ids of the people whose membership of `case` covers `day`."""
    return Membership.objects.filter(Membership.active_on_q(day), case=case).values("person_id")


def hazard_active_q(day: datetime.date, case, people=None) -> Q:
    """On Hazard: active on `day`, on `case` or on someone on it that day. `people` may
    give those people's ids already read (a list lets the database use the person index
    instead of scanning for the OR)."""
    if people is None:
        # Inside a subquery on Hazard, the case's id is one level further out.
        people = people_on_case(day, OuterRef(case) if isinstance(case, OuterRef) else case)
    return Hazard.active_on_q(day) & (Q(case=case) | Q(person_id__in=people))


def case_list(
    user,
    *,
    search: str = "",
    status: str = "",
    on_plan: str = "",
    worker_id: int | None = None,
    mine: bool = False,
    today: datetime.date | None = None,
) -> QuerySet:
    today = today or timezone.localdate()
    qs = cases_for(user).select_related("team")
    if mine:
        qs = qs.filter(allocated_workers=user)
    if status:
        qs = qs.filter(status=status)
    if worker_id:
        qs = qs.filter(allocated_workers__id=worker_id)
    plan_now = ChildProtectionPlan.objects.filter(child_on_plan_q(today, OuterRef("pk")))
    hazard_now = Hazard.objects.filter(hazard_active_q(today, OuterRef("pk")))
    escalations = Escalation.objects.filter(case=OuterRef("pk"))
    qs = qs.annotate(
        on_plan=Exists(plan_now),
        has_hazard=Exists(hazard_now),
        escalation_open=Exists(escalations.filter(state=Escalation.State.OPEN)),
        escalation_overdue=Exists(escalations.filter(state=Escalation.State.OVERDUE)),
    )
    if on_plan == "yes":
        qs = qs.filter(on_plan=True)
    elif on_plan == "no":
        qs = qs.filter(on_plan=False)
    if search:
        qs = qs.filter(_search_q(search.strip()))
    current_children = Membership.objects.filter(
        Membership.active_on_q(today), relationship=Membership.Relationship.CHILD
    ).select_related("person")
    current_address = Address.objects.filter(end_date__isnull=True, in_error=False)
    return qs.prefetch_related(
        Prefetch("memberships", queryset=current_children, to_attr="current_children"),
        Prefetch("addresses", queryset=current_address, to_attr="current_addresses"),
        "allocated_workers",
    ).order_by("family_name", "reference")


_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def _search_q(text: str) -> Q:
    """Reference, family or person name, date of birth (dd/mm/yyyy) or postcode."""
    if not text:
        return Q()
    match = _DATE.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            dob = datetime.date(year, month, day)
        except ValueError:
            return Q(pk__in=[])
        return Q(memberships__person__date_of_birth=dob) & Q(memberships__in_error=False)
    q = Q(reference__iexact=text) | Q(family_name__icontains=text)
    compact = text.replace(" ", "")
    if 5 <= len(compact) <= 7 and re.search(r"\d", compact) and compact.isalnum():
        q |= Q(addresses__postcode=normalise_postcode(text), addresses__in_error=False)
    person_ids = Person.objects.filter(_name_q(text), merged_into__isnull=True).values("pk")
    q |= Q(memberships__person__in=person_ids, memberships__in_error=False)
    return Q(pk__in=Case.objects.filter(q).values("pk"))


def _name_q(text: str) -> Q:
    q = Q()
    for word in text.split():
        q &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(middle_names__icontains=word)
            | Q(aliases__icontains=word)
        )
    return q


@dataclass
class PersonMatch:
    person: Person
    reasons: list[str]
    visible_cases: list[Case]
    other_case_count: int
    score: float = 0.0


def person_matches(
    user,
    *,
    first_name: str = "",
    last_name: str = "",
    date_of_birth: datetime.date | None = None,
    nhs_number: str = "",
    exclude: tuple[int, ...] = (),
    limit: int = 20,
) -> list[PersonMatch]:
    """People who may be the one about to be added, so no duplicate is made.

    Found by name alone, spelled another way, with first and last names swapped, or
    by one of the other names they are known by (`cases.person_search`), and by date
    of birth with a name partly like it, or by NHS number; best first, each with why.
    Shown across the authority, but people known only on restricted cases the user
    cannot see are left out, and cases the user cannot see are counted, not named.
    Records merged into another are left out.
    """
    search = person_search.Search(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        date_of_birth=date_of_birth,
        nhs_number=normalise_nhs_number(nhs_number),
    )
    if search.is_empty:
        return []
    people = Person.objects.filter(merged_into__isnull=True, pk__in=_findable_people(user))
    if exclude:
        people = people.exclude(pk__in=exclude)
    found = person_search.ranked(person_search.scored(people, search), search, limit)
    known = cases_known(user, [person.pk for person, _ in found])
    return [
        PersonMatch(person, judgement.reasons, *known[person.pk], judgement.score)
        for person, judgement in found
    ]


def cases_known(user, person_ids) -> dict[int, tuple[list[Case], int]]:
    """For each person: the cases they are on that this user may see (by reference),
    and how many others they are on (counted, not named). Two queries."""
    memberships = list(
        Membership.objects.filter(person__in=person_ids, in_error=False)
        .select_related("case")
        .order_by("case__reference")
    )
    visible = set(
        cases_for(user).filter(pk__in={m.case_id for m in memberships}).values_list("pk", flat=True)
    )
    cases_of: dict[int, dict[int, Case]] = {pk: {} for pk in person_ids}
    for m in memberships:
        cases_of[m.person_id][m.case_id] = m.case
    known = {}
    for pk, cases in cases_of.items():
        seen = [c for case_id, c in cases.items() if case_id in visible]
        known[pk] = (seen, len(cases) - len(seen))
    return known


def findable_people(user) -> QuerySet:
    """Search before create across the authority: everyone (records merged into another
    included) but those known only on restricted cases this user cannot see."""
    return Person.objects.filter(pk__in=_findable_people(user))


def _findable_people(user) -> QuerySet:
    """Ids of the people search before create may show this user: everyone but those
    known only on restricted cases the user cannot see."""
    visible_ids = cases_for(user).values("pk")
    return Person.objects.filter(
        Q(memberships__case__restricted=False)
        | Q(memberships__case__in=visible_ids)
        | Q(memberships__isnull=True)
    ).values("pk")


def household(case: Case, *, today: datetime.date) -> dict:
    """Who lives there now, who is linked but lives elsewhere, and who used to."""
    members = (
        Membership.objects.filter(case=case, in_error=False)
        .select_related("person")
        .order_by("start_date", "id")
    )
    return _household(members, today)


def _household(members, today: datetime.date) -> dict:
    """Memberships not in error, oldest first, split into now, elsewhere and past."""
    current, elsewhere, past = [], [], []
    for m in members:
        if m.end_date is not None and m.end_date < today:
            past.append(m)
        elif m.lives_in_household:
            current.append(m)
        else:
            elsewhere.append(m)
    past.sort(key=lambda m: m.end_date, reverse=True)
    return {"current": current, "elsewhere": elsewhere, "past": past}


def active_hazards(case: Case, *, today: datetime.date) -> list[Hazard]:
    """Hazards on the case, and on anyone on it now, active today."""
    # The people are read first: with their ids written out, the hazards are found
    # through the indexes on case and person (an OR with a subquery scans them all).
    people = list(
        Membership.objects.filter(Membership.active_on_q(today), case=case).values_list(
            "person_id", flat=True
        )
    )
    return list(
        Hazard.objects.filter(hazard_active_q(today, case, people))
        .select_related("person")
        .order_by("kind", "-start_date")
    )


def children_plan_status(case: Case, *, today: datetime.date) -> list[tuple[Person, object]]:
    """Each current child and their plan today (or None)."""
    known = getattr(case, "_children_plan_status", None)
    if known is not None and known[0] == today:
        # The case page has read them already for this request (see case_record).
        return list(known[1])
    children = (
        Membership.objects.filter(
            Membership.active_on_q(today),
            case=case,
            relationship=Membership.Relationship.CHILD,
        )
        .select_related("person")
        .order_by("person__date_of_birth")
    )
    plans = {
        p.child_id: p
        for p in ChildProtectionPlan.objects.filter(
            ChildProtectionPlan.active_on_q(today),
            child__in=[m.person_id for m in children],
        )
    }
    found = [(m.person, plans.get(m.person_id)) for m in children]
    # Kept for this request: the access log names the children the page showed.
    case._children_plan_status = (today, found)
    return found


@dataclass
class CaseRecord:
    """What the case page shows of the case's own records, read once for the page."""

    memberships: list[Membership]  # every one, in error too, oldest first, with the person
    household: dict
    children_status: list[tuple[Person, object]]
    plans: list[ChildProtectionPlan]  # recorded on this case, newest first
    active_hazards: list[Hazard]
    hazards: list[Hazard]  # on the case, newest first
    person_hazards: list[Hazard]  # on anyone on the case (not in error), newest first
    active_escalations: list[Escalation]
    past_escalations: list[Escalation]

    @property
    def people(self) -> dict[int, Person]:
        """Everyone who has been on the case, by id."""
        return {m.person_id: m.person for m in self.memberships}


def case_record(case: Case, *, today: datetime.date) -> CaseRecord:
    """The case's people, plans, hazards and escalations for its page, in four queries;
    the page's lists are all cut from these reads. The children's plan status is kept on
    `case` for this request, for the panels that ask children_plan_status.
    """
    members = list(
        Membership.objects.filter(case=case).select_related("person").order_by("start_date", "id")
    )
    members_now = [m for m in members if rules.active_on(m, today)]
    children = [m for m in members_now if m.relationship == Membership.Relationship.CHILD]
    children.sort(key=lambda m: (m.person.date_of_birth is None, m.person.date_of_birth))
    child_ids = {m.person_id for m in children}
    plans = list(
        ChildProtectionPlan.objects.filter(
            Q(case=case) | Q(ChildProtectionPlan.active_on_q(today), child_id__in=child_ids)
        )
        .select_related("child")
        .order_by("-start_date", "id")
    )
    on_plan = rules.children_on_plan(plans, members, today)
    plan_now = {
        p.child_id: p
        for p in sorted(plans, key=lambda p: (p.start_date, p.id), reverse=True)
        if p.child_id in on_plan and rules.active_on(p, today)
    }
    children_status = [(m.person, plan_now.get(m.person_id)) for m in children]
    case._children_plan_status = (today, children_status)

    on_case = {m.person_id for m in members if not m.in_error}
    hazards = list(
        Hazard.objects.filter(Q(case=case) | Q(person_id__in=on_case))
        .select_related("person")
        .order_by("-start_date", "id")
    )
    active_hazards = sorted(
        rules.hazards_active(hazards, members, today, case_id=case.pk), key=lambda h: h.kind
    )

    # All of them (a case has a handful): the active ones for the top of the page, the
    # ten latest others for the table below it.
    escalations = list(
        Escalation.objects.filter(case=case).select_related("raised_by").order_by("due_date", "id")
    )
    past = sorted(
        (e for e in escalations if not e.is_active), key=lambda e: e.trigger_date, reverse=True
    )
    return CaseRecord(
        memberships=members,
        household=_household((m for m in members if not m.in_error), today),
        children_status=children_status,
        plans=[p for p in plans if p.case_id == case.pk],
        active_hazards=active_hazards,
        hazards=[h for h in hazards if h.case_id == case.pk],
        person_hazards=[h for h in hazards if h.person_id in on_case],
        active_escalations=[e for e in escalations if e.is_active],
        past_escalations=past[:10],
    )


def people_for(user) -> QuerySet:
    """People on cases this user may see (records merged into another are left out)."""
    return Person.objects.filter(
        memberships__case__in=cases_for(user).values("pk"), merged_into__isnull=True
    ).distinct()


def active_escalations(case: Case) -> list[Escalation]:
    """Open and overdue escalations, soonest deadline first (R4: shown to all who visit)."""
    return list(
        Escalation.objects.filter(case=case, state__in=Escalation.ACTIVE_STATES).order_by(
            "due_date", "id"
        )
    )


def escalations_for(user, *, scope: str = "mine") -> QuerySet:
    """Active escalations on cases the user may see, ordered by due date: a worker's
    own cases, a manager's team, or everything a service manager can see."""
    cases = cases_for(user)
    if scope == "mine":
        cases = cases.filter(allocated_workers=user)
    elif scope == "team" and not user.is_service_manager:
        cases = cases.filter(team_id=user.team_id)
    return (
        Escalation.objects.filter(case__in=cases.values("pk"), state__in=Escalation.ACTIVE_STATES)
        .select_related("case", "case__team")
        .order_by("due_date", "id")
    )

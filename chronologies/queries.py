"""Reads of the chronology, always scoped to a user through the one policy."""

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from accounts import policy
from cases.models import Person

from .models import ChronologyEntry, ChronologyExport, Significance


@dataclass
class Filters:
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    child_id: int | None = None
    category: str = ""
    source: str = ""  # "recorded", "agency-<id>" or "informant-<code>"
    significance: str = ""
    significant_only: bool = False

    def as_dict(self) -> dict:
        return {
            k: (v.isoformat() if isinstance(v, datetime.date) else v)
            for k, v in self.__dict__.items()
            if v not in (None, "", False)
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Filters":
        data = dict(data or {})
        for key in ("date_from", "date_to"):
            if data.get(key):
                data[key] = datetime.date.fromisoformat(data[key])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def entries_for(user) -> QuerySet:
    return policy.visible_related(user, ChronologyEntry.objects.all())


def case_entries(
    case, filters: Filters | None = None, *, include_in_error: bool = True
) -> QuerySet:
    """A case's entries, newest first, filtered. The caller has checked the case."""
    qs = ChronologyEntry.objects.filter(case=case)
    f = filters or Filters()
    if f.date_from:
        qs = qs.filter(occurred_on__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(occurred_on__lte=f.date_to)
    if f.child_id:
        qs = qs.filter(children__id=f.child_id)
    if f.category:
        qs = qs.filter(category=f.category)
    if f.source == ChronologyEntry.RECORDED:
        qs = qs.filter(agency__isnull=True, informant_type="")
    elif f.source.startswith("agency-") and f.source[7:].isdigit():
        qs = qs.filter(agency_id=int(f.source[7:]))
    elif f.source.startswith("informant-"):
        qs = qs.filter(informant_type=f.source[10:])
    if f.significant_only:
        qs = qs.exclude(significance=Significance.ROUTINE)
    elif f.significance:
        qs = qs.filter(significance=f.significance)
    if not include_in_error:
        qs = qs.filter(in_error=False, source_in_error=False)
    return qs.select_related("agency").prefetch_related(
        Prefetch("children", queryset=Person.objects.order_by("date_of_birth", "id"))
    )


def case_children(case) -> list[Person]:
    return list(
        Person.objects.filter(
            memberships__case=case, memberships__relationship="child", memberships__in_error=False
        )
        .distinct()
        .order_by("date_of_birth", "id")
    )


def case_sources(case) -> list[tuple[str, str]]:
    """The sources used on this case's entries, as (code, label)."""
    out = [(ChronologyEntry.RECORDED, "Recorded by the service")]
    agencies = (
        ChronologyEntry.objects.filter(case=case, agency__isnull=False)
        .values_list("agency_id", "agency__name")
        .distinct()
        .order_by("agency__name")
    )
    out += [(f"agency-{pk}", name) for pk, name in agencies]
    from .models import InformantType

    used = set(
        ChronologyEntry.objects.filter(case=case)
        .exclude(informant_type="")
        .values_list("informant_type", flat=True)
    )
    out += [
        (f"informant-{c}", f"Informant: {label.lower()}")
        for c, label in InformantType.choices
        if c in used
    ]
    return out


def case_entry(user, case, pk) -> ChronologyEntry:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(entries_for(user).filter(case=case), pk=pk)


def case_exports(case, user) -> QuerySet:
    return ChronologyExport.objects.filter(case=case, requested_by=user)


def case_export(user, case, pk) -> ChronologyExport:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        policy.visible_related(user, ChronologyExport.objects.filter(case=case)), pk=pk
    )


def significant_q() -> Q:
    return ~Q(significance=Significance.ROUTINE)


def redaction_people(case):
    """Who a redacted export removes and who stays (chronologies.redaction): the
    informants named on any of the case's entries and the third parties on the case
    (everyone whose memberships are not those of the family: child, mother, father,
    step-parent), with their other names and the records merged into theirs; and the
    family, whose names stay (listed as candidates)."""
    from cases.models import Membership

    from . import redaction
    from .models import InformantType

    identities: list[redaction.Identity] = []
    kept: list[redaction.KnownName] = []
    labels = dict(Membership.Relationship.choices)
    people: dict[int, dict] = {}
    for m in (
        Membership.objects.filter(case=case).select_related("person").order_by("start_date", "id")
    ):
        entry = people.setdefault(m.person_id, {"person": m.person, "roles": []})
        if not m.in_error:
            entry["roles"].append(m.relationship)
    merged: dict[int, list] = {}
    for p in Person.objects.filter(merged_into_id__in=list(people)).order_by("pk"):
        merged.setdefault(p.merged_into_id, []).append(p)

    def names_of(person) -> list[str]:
        names = [person.full_name]
        names += [line.strip() for line in person.aliases.splitlines() if line.strip()]
        for other in merged.get(person.pk, ()):
            names.append(other.full_name)
            names += [line.strip() for line in other.aliases.splitlines() if line.strip()]
        return [n for n in names if n]

    seen: dict[str, redaction.Identity] = {}
    informants = (
        ChronologyEntry.objects.filter(case=case)
        .exclude(informant_type="")
        .order_by("occurred_on", "id")
        .values_list("informant_type", "informant_name", "informant_address")
    )
    informant_labels = dict(InformantType.choices)
    for kind, name, address in informants:
        name, address = name.strip(), address.strip()
        if not name and not address:
            continue
        role = "informant" if kind == "anonymous" else informant_labels[kind].lower()
        key = redaction.normal_key(name) if name else "address:" + redaction.normal_key(address)
        ident = seen.get(key)
        if ident is None:
            ident = seen[key] = redaction.Identity(role=role)
            identities.append(ident)
            if name:
                ident.names.append(name)
        if address and address not in ident.addresses:
            ident.addresses.append(address)
    for info in people.values():
        person, roles = info["person"], info["roles"]
        family = [r for r in roles if r in redaction.FAMILY_RELATIONSHIPS]
        if family:
            who = " and ".join(f"the {labels[r].lower()}" for r in dict.fromkeys(family))
            kept += [redaction.KnownName(n, who) for n in names_of(person)]
            continue
        role = labels[roles[0]].lower() if roles else "third party"
        role = role.split(" (")[0]
        key = redaction.normal_key(person.full_name)
        ident = seen.get(key)
        if ident is None:
            ident = seen[key] = redaction.Identity(role=role)
            identities.append(ident)
        for n in names_of(person):
            if n not in ident.names:
                ident.names.append(n)
    return identities, kept

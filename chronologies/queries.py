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

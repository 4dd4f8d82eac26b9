"""When two records of one person are merged (`cases.signals.person_merged`), the
duplicate's part in visits moves to the record kept, in the merge's transaction: the
child's rows of each visit (seen, seen alone, their words), the observations naming
them, and the household members present. Each row is saved with the acting user and
the merge on its history row. The children's last-seen rows are worked out again for
both records: the record kept's from all its visits now, the duplicate's as having none
(as `last_seen.rebuild` leaves a child with no visit left)."""

from django.core.exceptions import ValidationError
from django.db.models import Q

from cases.models import Person
from cases.services.merge import merge_reason
from common.records import acting, save

from . import last_seen
from .models import ChildSeen, Observation, Visit


def person_merged(sender, keep: Person, duplicate: Person, actor=None, now=None, **kwargs):
    why = merge_reason(keep, duplicate)
    with last_seen.deferred():
        rows = list(
            ChildSeen.objects.select_for_update()
            .filter(child=duplicate)
            .select_related("visit")
            .order_by("pk")
        )
        both = set(
            ChildSeen.objects.filter(
                child=keep, visit_id__in=[r.visit_id for r in rows]
            ).values_list("visit_id", flat=True)
        )
        if both:
            visit = next(r.visit for r in rows if r.visit_id in both)
            raise ValidationError(
                {
                    "duplicate": "Both records were recorded as children on the same visit "
                    f"({visit.planned_for:%d/%m/%Y}): mark that visit recorded in error, or "
                    "correct it, then merge them"
                }
            )
        for row in rows:
            row.child = keep
            save(row, actor, reason=why, validate=False)
        observations = Observation.objects.select_for_update().filter(
            Q(adult=duplicate) | Q(child=duplicate)
        )
        for observation in observations.order_by("pk"):
            if observation.adult_id == duplicate.pk:
                observation.adult = keep
            if observation.child_id == duplicate.pk:
                observation.child = keep
            save(observation, actor, reason=why, validate=False)
    present = Visit.objects.filter(present_members=duplicate).order_by("pk")
    with_keep = set(
        Visit.objects.filter(present_members=keep, pk__in=present.values("pk")).values_list(
            "pk", flat=True
        )
    )
    for visit in present:
        # The visit's history keeps who was present, with the merge as its reason.
        acting(visit, actor)
        visit._change_reason = why
        visit.present_members.remove(duplicate)
        if visit.pk not in with_keep:
            visit.present_members.add(keep)

"""Add fictional multi-agency information to the demo families' chronologies (after
`seed_demo`), so that they read like real ones. Runs once per family: a family that
already has manual entries is left alone."""

import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Agency
from cases.models import Case
from chronologies import services
from chronologies.models import ChronologyEntry

# (days before today, agency kind or informant, title, details, analysis, significance)
STORY = [
    (
        150,
        "school",
        "School reports attendance at 78% this term",
        "Late most Mondays; arrives hungry and asks for breakfast club food.",
        "A pattern of neglect of basic care rather than a one-off.",
        "significant",
    ),
    (
        120,
        "health_visiting",
        "Health visitor: baby's weight dropped two centiles",
        "Mother did not attend two clinic appointments; seen at home after a third attempt.",
        "Concern about feeding and engagement with health.",
        "significant",
    ),
    (
        95,
        "neighbour",
        "Neighbour reports shouting late at night",
        "Heard a man shouting and a child crying around 11pm on several nights.",
        "Consistent with police call-outs; the partner may be living there.",
        "significant",
    ),
    (
        60,
        "police",
        "Police called to a domestic incident",
        "Officers attended after a 999 call; partner had left when they arrived. "
        "Children were in the home.",
        "Children exposed to domestic abuse.",
        "critical",
    ),
    (
        35,
        "grandparent",
        "Maternal grandmother worried about mother's drinking",
        "Says mother has been drinking in the daytime again and the house is a mess.",
        "Repeats the pattern seen before the last plan.",
        "significant",
    ),
    (
        12,
        "gp",
        "GP letter: mother missed mental health review",
        "Third missed appointment this year; prescription not collected.",
        "Engagement with health only in part of the plan.",
        "routine",
    ),
]


class Command(BaseCommand):
    help = "Add demo multi-agency entries to the demo families (after seed_demo)"

    def handle(self, *args, **options):
        today = timezone.localdate()
        agencies = {a.kind: a for a in Agency.objects.filter(active=True)}
        added = 0
        for case in Case.objects.filter(status=Case.Status.OPEN).order_by("pk")[:10]:
            if ChronologyEntry.objects.filter(case=case, source_type="manual").exists():
                continue
            actor = case.allocated_workers.first() or case.created_by
            children = [
                m.person for m in case.memberships.filter(relationship="child", in_error=False)
            ]
            for days, source, title, details, analysis, significance in STORY:
                day = today - datetime.timedelta(days=days)
                if day < case.opened_on:
                    continue
                agency = agencies.get(source)
                informant = "" if agency else source
                if not agency and source not in ("neighbour", "grandparent"):
                    continue
                services.entry_add_manual(
                    actor=actor,
                    case=case,
                    data=services.ManualEntryInput(
                        occurred_on=day,
                        title=title,
                        details=details,
                        analysis=analysis,
                        agency=agency,
                        informant_type=informant,
                        informant_name="Mrs Joan Fletcher" if informant == "neighbour" else "",
                        informant_address="22 Mill Lane" if informant == "neighbour" else "",
                        action_taken="Discussed with the team manager."
                        if significance != "routine"
                        else "",
                        children=children,
                        significance=significance,
                    ),
                )
                added += 1
        self.stdout.write(f"{added} demo multi-agency entries added")

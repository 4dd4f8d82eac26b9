"""Write chronology entries for records that existed before the chronology did.

Safe to run again: every entry is keyed by its source, so it updates rather than
duplicates."""

from django.core.management.base import BaseCommand
from django.db import transaction

from cases.models import (
    Address,
    AgreementBreach,
    Case,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    Person,
    WrittenAgreement,
)
from chronologies import receivers
from supervision.models import Decision
from visits.models import Visit


class Command(BaseCommand):
    help = "Write or update chronology entries from existing records (idempotent)"

    def add_arguments(self, parser):
        parser.add_argument("--case", type=int, help="Only this case id")

    def handle(self, *args, case=None, **options):
        cases = Case.objects.all()
        if case:
            cases = cases.filter(pk=case)
        total = 0
        for c in cases.iterator():
            with transaction.atomic():
                total += backfill_case(c)
        self.stdout.write(f"{total} entries written or checked")


def backfill_case(case) -> int:
    n = 0
    receivers.case_opened(case)
    n += 1
    receivers.case_closed(case)  # writes nothing for an open case
    for m in Membership.objects.filter(case=case).select_related("person", "case"):
        receivers.member_joined(m)
        receivers.member_left(m)
        n += 1
    for a in Address.objects.filter(case=case).select_related("case"):
        receivers.address_moved_in(a)
        receivers.address_left(a)
        n += 1
    for p in ChildProtectionPlan.objects.filter(case=case).select_related("child", "case"):
        receivers.plan_started(p)
        receivers.plan_ended(p)
        n += 1
    for h in Hazard.objects.filter(case=case).select_related("case"):
        receivers.hazard_added(h)
        receivers.hazard_ended(h)
        n += 1
    for ag in WrittenAgreement.objects.filter(case=case).select_related("case"):
        receivers.agreement_made(ag)
        receivers.agreement_ended(ag)
        n += 1
    for br in AgreementBreach.objects.filter(agreement__case=case).select_related(
        "agreement__case"
    ):
        receivers.agreement_breached(br)
        n += 1
    for mt in Meeting.objects.filter(case=case).select_related("case"):
        receivers.meeting_recorded(mt)
        n += 1
    for e in Escalation.objects.filter(case=case).select_related("case"):
        receivers.escalation_changed(e)
        n += 1
    for v in (
        Visit.objects.filter(case=case)
        .exclude(outcome=Visit.Outcome.PLANNED)
        .select_related("case")
    ):
        receivers.visit_recorded(v)  # struck, with its observations, if in error
        n += 1
    for d in Decision.objects.filter(case=case).select_related("case"):
        receivers.supervision_decision(d)
        n += 1
    for merged in (
        Person.objects.filter(merged_into__memberships__case=case)
        .select_related("merged_into", "merged_by")
        .distinct()
    ):
        receivers.person_merged_entries(merged)  # on every case of the record kept
        n += 1
    return n

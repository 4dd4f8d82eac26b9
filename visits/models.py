from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from accounts.models import Agency
from cases.models import Case, InErrorFields, Person


class Visit(InErrorFields):
    """A planned contact with the family and, once it has happened, its outcome."""

    class Kind(models.TextChoices):
        HOME = "home", "Home visit"
        OFFICE = "office", "Office appointment"
        SCHOOL = "school", "School or nursery"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        PLANNED = "planned", "Planned"
        COMPLETED = "completed", "Completed"
        DEFAULTED = "defaulted", "Defaulted by the family"
        CANCELLED_BY_WORKER = "cancelled", "Cancelled by the worker"

    class DefaultReason(models.TextChoices):
        NO_ANSWER = "no_answer", "No answer or no access"
        REFUSED_ENTRY = "refused_entry", "Refused entry"
        NOT_AT_HOME = "not_at_home", "Family not at home for an announced visit"
        DID_NOT_ATTEND = "did_not_attend", "Did not attend an appointment"
        CANCELLED_BY_FAMILY = "cancelled_by_family", "Cancelled by the family"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="visits")
    planned_for = models.DateTimeField("planned date and time")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HOME)
    announced = models.BooleanField(default=True)
    lead_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits_led"
    )
    joint_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits_joined",
        verbose_name="joint visitor (colleague)",
    )
    joint_agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="joint_visits",
        verbose_name="joint visitor (agency)",
    )
    purpose = models.TextField(max_length=2000, blank=True)

    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PLANNED)
    default_reason = models.CharField(max_length=24, choices=DefaultReason.choices, blank=True)
    occurred_at = models.DateTimeField(
        "when it happened",
        null=True,
        blank=True,
        help_text="The real time of the visit or attempt, which may differ from the plan",
    )
    present_members = models.ManyToManyField(
        Person,
        related_name="visits_present",
        blank=True,
        verbose_name="household members present",
    )
    others_present = models.TextField(
        max_length=2000,
        blank=True,
        help_text="Anyone else there: who they are, or what they look like if unknown",
    )
    parent_report = models.TextField(
        "what the parents or carers said",
        max_length=10000,
        blank=True,
        help_text="Their account, kept apart from what you saw yourself",
    )
    notes = models.TextField("worker's notes", max_length=10000, blank=True)
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)
    outcome_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords(m2m_fields=[present_members])

    class Meta:
        ordering = ["-planned_for", "-id"]
        constraints = [
            models.CheckConstraint(
                name="visit_default_has_reason",
                condition=Q(outcome="defaulted", default_reason__gt="")
                | (~Q(outcome="defaulted") & Q(default_reason="")),
            ),
            models.CheckConstraint(
                name="visit_outcome_has_time",
                condition=Q(outcome="planned") | Q(occurred_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["case", "outcome", "occurred_at"]),
            models.Index(fields=["lead_worker", "planned_for"]),
            # A case's completed visits newest first, from the index alone: working out
            # its children's last-seen rows (visits.last_seen) reads them.
            models.Index(
                fields=["case", "-occurred_at"],
                include=["id"],
                name="visit_completed_by_case",
                condition=Q(outcome="completed", in_error=False),
            ),
            # Defaulted visits in a month (the managers' dashboards): a few thousand
            # rows of half a million, found by time and counted from the index alone.
            models.Index(
                fields=["occurred_at"],
                include=["case", "id"],
                name="visit_defaulted_by_time",
                condition=Q(outcome="defaulted", in_error=False),
            ),
        ]

    def __str__(self):
        when = f"{self.planned_for:%d/%m/%Y %H:%M}"
        return f"{self.get_kind_display()} {when} ({self.get_outcome_display()})"

    @property
    def is_default(self) -> bool:
        return self.outcome == self.Outcome.DEFAULTED and not self.in_error


class ChildSeen(models.Model):
    """For each child in the household on the day: seen, seen alone, and their voice."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="children")
    child = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="visits_as_child")
    seen = models.BooleanField()
    seen_alone = models.BooleanField(default=False)
    reason_not_seen = models.CharField(
        "why not seen (or not seen alone)", max_length=500, blank=True
    )
    bedroom_seen = models.BooleanField("bedroom seen", null=True, blank=True)
    child_views = models.TextField(
        "the child's views, in their own words", max_length=5000, blank=True
    )
    presentation = models.TextField(
        "how the child presented",
        max_length=5000,
        blank=True,
        help_text="Your view: appearance, mood, behaviour, interaction",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["child__date_of_birth", "id"]
        verbose_name_plural = "children seen"
        # A child's visits with whether they were seen (alone), from the index alone.
        indexes = [
            models.Index(
                fields=["child", "visit"],
                include=["seen", "seen_alone"],
                name="child_seen_by_child",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["visit", "child"], name="child_seen_once_per_visit"),
            models.CheckConstraint(
                name="seen_alone_needs_seen", condition=Q(seen=True) | Q(seen_alone=False)
            ),
        ]

    def __str__(self):
        return f"{self.child}: {'seen' if self.seen else 'not seen'}"


class Observation(models.Model):
    """Direct observation of parent-child interaction (R7): what the worker saw."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="observations")
    adult = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="observations_as_adult",
        null=True,
        blank=True,
    )
    child = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="observations_as_child",
        null=True,
        blank=True,
    )
    what_was_seen = models.TextField(max_length=5000)
    analysis = models.TextField("your analysis", max_length=5000, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Observation on {self.visit}"


class VisitFrequency(models.Model):
    """A case's own visiting interval in working days, overriding the policy setting."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="visit_frequency")
    working_days = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=500)
    history = HistoricalRecords()

    def __str__(self):
        return f"{self.case.reference}: every {self.working_days} working days"


class ChildLastSeen(models.Model):
    """For each child on a case: when a completed visit last saw them, and saw them
    alone, and whether any of their last three completed visits on the case saw them
    alone. Worked out from the visits (ChildSeen) in the transaction that saves a visit
    or a child's row of it (visits.last_seen), so the dashboards test columns instead of
    searching half a million visits. Derived, never typed: the visits are the record,
    and `last_seen.rebuild()` works every row out again from them."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    child = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="last_seen_rows")
    last_seen_at = models.DateTimeField(null=True)
    last_alone_at = models.DateTimeField(null=True)
    # None: no completed visit on the case has recorded the child yet.
    alone_in_last_three = models.BooleanField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "child"], name="child_last_seen_once"),
        ]

    def __str__(self):
        return f"{self.child_id} on {self.case_id}: last seen {self.last_seen_at}"


class EvaluationRequest(models.Model):
    """That a case's defaulted visits must be looked at again (R1): written in the
    transaction that records, corrects or withdraws a visit, or closes an escalation, so
    the request commits with the change or not at all. The task sent after commit and
    the visits sweep both work through it; it is cleared (`requested_at` emptied, the
    row kept) in the transaction that commits the evaluation. An outage of the broker,
    the worker or beat of any length leaves requests waiting, never lost."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, primary_key=True, related_name="+")
    requested_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["requested_at"],
                name="evaluation_requested",
                condition=Q(requested_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"Evaluation of case {self.case_id} requested at {self.requested_at}"


class LoneWorkingCheckIn(models.Model):
    """R10: a worker checked in at an address, with the time they expect to be out.

    `due_at` (the expected end plus the grace period) is what the lone-working sweep
    reads: from then on, while the worker has not checked out, the buddy and the team's
    managers are alerted; if nobody acknowledges in time, the service managers. The
    state only moves by compare-and-swap updates (visits.services), so one alert of each
    tier is sent however many sweeps and scheduled checks run at once."""

    class State(models.TextChoices):
        IN = "in", "Checked in"
        ALERTED = "alerted", "Overdue: buddy and team managers alerted"
        ESCALATED = "escalated", "Overdue: service managers alerted"
        ACKNOWLEDGED = "acknowledged", "Overdue: alert acknowledged"
        OUT = "out", "Checked out"

    OPEN_STATES = ("in", "alerted", "escalated", "acknowledged")

    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lone_working"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="lone_working")
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="lone_working"
    )
    buddy = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lone_working_buddy",
        help_text="A colleague alerted first, with the team's managers",
    )
    address = models.CharField(max_length=500)
    checked_in_at = models.DateTimeField()
    expected_end_at = models.DateTimeField()
    due_at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    first_alert_at = models.DateTimeField(null=True, blank=True)
    second_alert_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    acknowledged_action = models.TextField("what was done", max_length=2000, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-checked_in_at", "-id"]
        constraints = [
            # One open check-in per worker: a second needs the first checked out.
            models.UniqueConstraint(
                fields=["worker"],
                condition=Q(checked_out_at__isnull=True),
                name="lone_working_one_open_per_worker",
            ),
            models.CheckConstraint(
                name="lone_working_out_has_time",
                condition=Q(state="out", checked_out_at__isnull=False)
                | (~Q(state="out") & Q(checked_out_at__isnull=True)),
            ),
            models.CheckConstraint(
                name="lone_working_due_after_end",
                condition=Q(due_at__gte=models.F("expected_end_at")),
            ),
        ]
        indexes = [
            # The sweep's read: open check-ins by due time, a handful of rows at most.
            models.Index(
                fields=["due_at"],
                name="lone_working_open_by_due",
                condition=Q(checked_out_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.worker} at {self.address} until {self.expected_end_at:%H:%M}"

    @property
    def is_open(self) -> bool:
        return self.checked_out_at is None


class LoneWorkingEvent(models.Model):
    """Everything that happened to a check-in, in order; rows are only ever added."""

    class Kind(models.TextChoices):
        CHECK_IN = "check_in", "Checked in"
        EXTENSION = "extension", "Extended"
        CHECK_OUT = "check_out", "Checked out"
        FIRST_ALERT = "first_alert", "Buddy and team managers alerted"
        SECOND_ALERT = "second_alert", "Service managers alerted"
        ACKNOWLEDGEMENT = "acknowledgement", "Alert acknowledged"

    check_in = models.ForeignKey(
        LoneWorkingCheckIn, on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for what the system did (alerts)",
    )
    detail = models.CharField(max_length=2000, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["check_in", "at"])]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.at:%H:%M}"

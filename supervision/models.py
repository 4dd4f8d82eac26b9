"""Case supervision (R9): sessions, the cases discussed, decisions and actions.

A session belongs to its supervisee and supervisor (and their managers); the
worker's wellbeing is part of it and goes nowhere else. Decisions are also part
of the case record, seen by everyone who may see the case.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from cases.models import Case

# The reflective questions from the guidance (seed 001, "Questions supervisors should
# ask practitioners"): field name and the question as asked.
QUESTIONS = [
    (
        "assumptions",
        "What are your assumptions about the family, and where is the hard "
        "evidence to support them?",
    ),
    ("assessment_changed", "At what points have you changed your assessment of the situation?"),
    (
        "other_source",
        "Would you have acted differently if this information had come from another source?",
    ),
    (
        "other_explanations",
        "What other explanations might there be? How might others "
        "describe and explain what is going on?",
    ),
    ("child_life", "Can you picture what life is like for this child?"),
    (
        "hypothesis",
        "Does your original hypothesis still make sense? Do you need to change your view?",
    ),
]
QUESTION_FIELDS = [name for name, _ in QUESTIONS]


class SupervisionSession(models.Model):
    class Kind(models.TextChoices):
        FORMAL = "formal", "Formal one-to-one"
        AD_HOC = "ad_hoc", "Ad hoc"
        GROUP = "group", "Group"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        HELD = "held", "Held"
        CANCELLED = "cancelled", "Cancelled"

    supervisee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supervision_received"
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supervision_given"
    )
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FORMAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    cancelled_reason = models.CharField("why it was cancelled", max_length=1000, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rearranged_as = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rearranged_from",
        help_text="The session booked for the new date when this one was cancelled",
    )
    # Per session: the cases that worry the worker most and least.
    most_worried_case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    most_worried_why = models.TextField(max_length=5000, blank=True)
    least_worried_case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    least_worried_why = models.TextField(max_length=5000, blank=True)
    # The worker's wellbeing and safety: only the supervisee, supervisor and managers.
    wellbeing_impact = models.TextField(
        "effect of hostility or violence on the worker", max_length=5000, blank=True
    )
    wellbeing_support = models.TextField("support agreed", max_length=5000, blank=True)
    held_at = models.DateTimeField(null=True, blank=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                name="supervision_cancelled_has_reason",
                condition=~Q(status="cancelled") | ~Q(cancelled_reason=""),
            ),
            models.CheckConstraint(
                name="supervision_not_self",
                condition=~Q(supervisee=models.F("supervisor")),
            ),
            models.CheckConstraint(
                name="supervision_signed_off_when_held",
                condition=Q(signed_off_at__isnull=True) | Q(status="held"),
            ),
        ]
        indexes = [
            models.Index(fields=["supervisee", "status", "date"]),
            models.Index(fields=["supervisor", "status"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} supervision, {self.date:%d/%m/%Y}"

    @property
    def is_signed_off(self) -> bool:
        return self.signed_off_at is not None


class CaseDiscussion(models.Model):
    """One case discussed in a session: the reflective questions, each answered or
    marked not discussed, and the child's lived experience now."""

    session = models.ForeignKey(
        SupervisionSession, on_delete=models.PROTECT, related_name="discussions"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="supervision_discussions")
    lived_experience = models.CharField(
        "the child's lived experience now, in a sentence", max_length=500
    )
    assumptions = models.TextField(max_length=5000, blank=True)
    assumptions_not_discussed = models.BooleanField(default=False)
    assessment_changed = models.TextField(max_length=5000, blank=True)
    assessment_changed_not_discussed = models.BooleanField(default=False)
    other_source = models.TextField(max_length=5000, blank=True)
    other_source_not_discussed = models.BooleanField(default=False)
    other_explanations = models.TextField(max_length=5000, blank=True)
    other_explanations_not_discussed = models.BooleanField(default=False)
    child_life = models.TextField(max_length=5000, blank=True)
    child_life_not_discussed = models.BooleanField(default=False)
    hypothesis = models.TextField(max_length=5000, blank=True)
    hypothesis_not_discussed = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["session", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "case"], name="supervision_case_once_per_session"
            ),
        ]

    def __str__(self):
        return f"{self.case} in {self.session}"

    def answers(self) -> list[tuple[str, str, bool]]:
        """Each question with its answer and whether it was not discussed."""
        return [
            (question, getattr(self, name), getattr(self, f"{name}_not_discussed"))
            for name, question in QUESTIONS
        ]


class Decision(models.Model):
    """A decision made in supervision, with its reasons: part of the case record."""

    discussion = models.ForeignKey(
        CaseDiscussion, on_delete=models.PROTECT, related_name="decisions"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="supervision_decisions")
    decision = models.TextField(max_length=5000)
    reasons = models.TextField(max_length=5000)
    decided_on = models.DateField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-decided_on", "-id"]

    def __str__(self):
        return self.decision[:60]


class Action(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    discussion = models.ForeignKey(CaseDiscussion, on_delete=models.PROTECT, related_name="actions")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="supervision_actions")
    description = models.TextField("what needs doing", max_length=2000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supervision_actions"
    )
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                name="supervision_action_completed_has_who_and_when",
                condition=~Q(status="completed")
                | Q(completed_at__isnull=False, completed_by__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["owner", "status", "due_date"])]

    def __str__(self):
        return self.description[:60]

    def is_overdue(self, today) -> bool:
        return self.status != self.Status.COMPLETED and self.due_date < today


class Amendment(models.Model):
    """A change to a signed-off record, with its reason (the history keeps the values)."""

    session = models.ForeignKey(
        SupervisionSession, on_delete=models.PROTECT, related_name="amendments"
    )
    what = models.CharField(max_length=200)
    reason = models.TextField(max_length=2000)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.what}: {self.reason[:40]}"

"""The chronology: one table of entries per case (DESIGN.md section 3, rules R6-R8).

Entries from recorded events are keyed by their source (`source_type`, `source_id`),
so the same event written twice updates one row. Manual entries carry multi-agency
information with its source (an agency or an informant). Nothing is deleted: a wrong
entry is marked recorded in error with a reason.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from accounts.models import Agency
from cases.models import Case, Person


class Significance(models.TextChoices):
    ROUTINE = "routine", "Routine"
    SIGNIFICANT = "significant", "Significant"
    CRITICAL = "critical", "Critical"


class Category(models.TextChoices):
    CASE = "case", "Case status"
    HOUSEHOLD = "household", "Household membership"
    ADDRESS = "address", "Address"
    PLAN = "plan", "Child protection plan"
    HAZARD = "hazard", "Hazard to staff"
    MEETING = "meeting", "Meeting"
    ESCALATION = "escalation", "Escalation"
    VISIT = "visit", "Visit"
    OBSERVATION = "observation", "Direct observation"
    MULTI_AGENCY = "multi_agency", "Multi-agency information"
    SUPERVISION = "supervision", "Supervision decision"
    AGREEMENT = "agreement", "Written agreement"


class InformantType(models.TextChoices):
    NEIGHBOUR = "neighbour", "Neighbour"
    GRANDPARENT = "grandparent", "Grandparent"
    EXTENDED_FAMILY = "extended_family", "Extended family"
    EX_PARTNER = "ex_partner", "Ex-partner"
    OLDER_CHILD = "older_child", "Older child"
    ANONYMOUS = "anonymous", "Anonymous"


class ChronologyEntry(models.Model):
    RECORDED = "recorded"  # source_kind for entries written from events
    MANUAL = "manual"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="chronology_entries")
    source_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    category = models.CharField(max_length=20, choices=Category.choices)
    occurred_on = models.DateField()
    date_is_approximate = models.BooleanField(
        default=False, help_text="Only the month and year are known"
    )
    occurred_at = models.DateTimeField(null=True, blank=True)
    title = models.CharField(max_length=300)
    details = models.TextField("what was reported or happened", max_length=10000, blank=True)
    analysis = models.TextField("analysis of the impact on the child", max_length=10000, blank=True)
    action_taken = models.TextField(max_length=5000, blank=True)
    children = models.ManyToManyField(Person, related_name="chronology_entries", blank=True)
    # Where the information came from (manual entries): an agency or an informant.
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="chronology_entries"
    )
    informant_type = models.CharField(max_length=20, choices=InformantType.choices, blank=True)
    informant_name = models.CharField(max_length=200, blank=True)
    informant_address = models.CharField(max_length=300, blank=True)
    significance = models.CharField(
        max_length=12, choices=Significance.choices, default=Significance.ROUTINE
    )
    significance_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Set when a person chose the significance; updates from the source then keep it",
    )
    source_in_error = models.BooleanField(default=False)
    in_error = models.BooleanField("recorded in error", default=False)
    in_error_reason = models.CharField(max_length=500, blank=True)
    in_error_at = models.DateTimeField(null=True, blank=True)
    in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField()
    history = HistoricalRecords(m2m_fields=[children])

    class Meta:
        ordering = ["-occurred_on", "-occurred_at", "-id"]
        verbose_name_plural = "chronology entries"
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id"], name="chronology_entry_one_per_source"
            ),
            models.CheckConstraint(
                name="chronology_manual_has_source",
                condition=~Q(source_type="manual")
                | Q(agency__isnull=False)
                | ~Q(informant_type=""),
            ),
        ]
        indexes = [models.Index(fields=["case", "occurred_on"])]

    def __str__(self):
        return f"{self.case_id} {self.occurred_on}: {self.title}"

    @property
    def is_manual(self) -> bool:
        return self.source_type == self.MANUAL

    @property
    def is_struck(self) -> bool:
        return self.in_error or self.source_in_error

    @property
    def source_label(self) -> str:
        if self.agency_id:
            return self.agency.name
        if self.informant_type:
            return self.get_informant_type_display()
        return "Recorded by the service"

    @property
    def source_code(self) -> str:
        if self.agency_id:
            return f"agency-{self.agency_id}"
        if self.informant_type:
            return f"informant-{self.informant_type}"
        return self.RECORDED

    @property
    def date_label(self) -> str:
        if self.date_is_approximate:
            return self.occurred_on.strftime("%B %Y") + " (approximate)"
        if self.occurred_at:
            from django.utils import timezone

            return timezone.localtime(self.occurred_at).strftime("%-d %B %Y, %H:%M")
        return self.occurred_on.strftime("%-d %B %Y")


def export_path(instance, filename):
    return f"chronology-exports/{instance.case_id}/{filename}"


class ChronologyExport(models.Model):
    """A PDF or CSV of a case's chronology, rendered by a task and kept for a while."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        CSV = "csv", "CSV (spreadsheet)"

    class Status(models.TextChoices):
        REVIEW = "review", "Awaiting redaction review"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being prepared"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Removed"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="chronology_exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.PDF)
    redacted = models.BooleanField(default=False)
    in_error = models.CharField(
        max_length=10,
        choices=[("leave_out", "Leave out"), ("strike", "Strike through")],
        default="leave_out",
    )
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file_name = models.CharField(max_length=300, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(removed_at__isnull=True, expires_at__isnull=False),
                name="chron_export_due_removal",
            )
        ]

    def __str__(self):
        return f"{self.get_format_display()} of case {self.case_id} ({self.status})"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.DONE and self.removed_at is None

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.EXPIRED)

    @property
    def awaits_review(self) -> bool:
        return self.status == self.Status.REVIEW

    @property
    def download_name(self) -> str:
        suffix = "-redacted" if self.redacted else ""
        return f"chronology-{self.case.reference}{suffix}.{self.format}".replace("/", "-")


class RedactionReview(models.Model):
    """The review of a redacted export before its release (chronologies.redaction).

    While it is open, `decisions` (candidate term -> "redact" or "leave") and
    `added_terms` are what the preview shows. On approval the whole plan is stored in
    `rules`, with `fingerprint` (of the entries' text it was made for) and the counts:
    the export applies exactly those rules to exactly that text, or fails."""

    export = models.OneToOneField(
        ChronologyExport, on_delete=models.PROTECT, related_name="redaction_review"
    )
    decisions = models.JSONField(default=dict, blank=True)
    added_terms = models.JSONField(default=list, blank=True)
    rules = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    automatic_redactions = models.PositiveIntegerField(null=True, blank=True)
    candidates_redacted = models.PositiveIntegerField(null=True, blank=True)
    candidates_left = models.PositiveIntegerField(null=True, blank=True)
    terms_added = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="redaction_review_approved_with_who_and_when",
                condition=Q(approved_by__isnull=True, approved_at__isnull=True)
                | Q(approved_by__isnull=False, approved_at__isnull=False),
            )
        ]

    def __str__(self):
        return f"Redaction review of export {self.export_id}"

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)

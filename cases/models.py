import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from accounts.models import Agency, Team

from .validators import validate_nhs_number, validate_postcode, validate_upn


class InErrorFields(models.Model):
    """A record entered wrongly is kept, marked recorded-in-error with a reason."""

    in_error = models.BooleanField("recorded in error", default=False)
    in_error_reason = models.CharField(max_length=500, blank=True)
    in_error_at = models.DateTimeField(null=True, blank=True)
    in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True


def _active_on(prefix: str, day: datetime.date, start="start_date", end="end_date") -> Q:
    p = f"{prefix}__" if prefix else ""
    return Q(**{f"{p}{start}__lte": day}) & (
        Q(**{f"{p}{end}__isnull": True}) | Q(**{f"{p}{end}__gte": day})
    )


class CaseReferenceCounter(models.Model):
    """The last case number issued in a year; incremented in one atomic statement."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class ClosureReason(models.TextChoices):
        NO_FURTHER_ACTION = "nfa", "No further action"
        STEPPED_DOWN = "stepped_down", "Stepped down to early help"
        TRANSFERRED_OUT = "transferred_out", "Family moved to another local authority"
        CHILD_LOOKED_AFTER = "looked_after", "Child became looked after (case transferred)"
        CHILD_REACHED_18 = "reached_18", "Child reached 18"
        OTHER = "other", "Other"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    family_name = models.CharField(max_length=120)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="cases")
    allocated_workers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="allocated_cases", blank=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    closure_reason = models.CharField(max_length=20, choices=ClosureReason.choices, blank=True)
    closure_notes = models.TextField(blank=True, max_length=2000)
    summary = models.TextField("summary of concerns", max_length=5000)
    restricted = models.BooleanField(default=False)
    restricted_to = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="restricted_cases_named", blank=True
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords(m2m_fields=[allocated_workers, restricted_to])

    class Meta:
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.CheckConstraint(
                name="case_closed_has_date_and_reason",
                condition=Q(status="open", closed_on__isnull=True)
                | Q(status="closed", closed_on__isnull=False) & ~Q(closure_reason=""),
            ),
            models.CheckConstraint(
                name="case_closed_not_before_opened",
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=models.F("opened_on")),
            ),
        ]
        indexes = [models.Index(fields=["team", "status"])]

    def __str__(self):
        return f"{self.reference} {self.family_name}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Person(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        NOT_KNOWN = "not_known", "Not known"

    class Ethnicity(models.TextChoices):
        # England and Wales 2021 census categories
        WHITE_BRITISH = "WBRI", "White: English, Welsh, Scottish, Northern Irish or British"
        WHITE_IRISH = "WIRI", "White: Irish"
        WHITE_GYPSY = "WIRT", "White: Gypsy or Irish Traveller"
        WHITE_ROMA = "WROM", "White: Roma"
        WHITE_OTHER = "WOTH", "White: any other White background"
        MIXED_WBC = "MWBC", "Mixed: White and Black Caribbean"
        MIXED_WBA = "MWBA", "Mixed: White and Black African"
        MIXED_WAS = "MWAS", "Mixed: White and Asian"
        MIXED_OTHER = "MOTH", "Mixed: any other mixed background"
        ASIAN_INDIAN = "AIND", "Asian: Indian"
        ASIAN_PAKISTANI = "APKN", "Asian: Pakistani"
        ASIAN_BANGLADESHI = "ABAN", "Asian: Bangladeshi"
        ASIAN_CHINESE = "CHNE", "Asian: Chinese"
        ASIAN_OTHER = "AOTH", "Asian: any other Asian background"
        BLACK_AFRICAN = "BAFR", "Black: African"
        BLACK_CARIBBEAN = "BCRB", "Black: Caribbean"
        BLACK_OTHER = "BOTH", "Black: any other Black background"
        ARAB = "ARAB", "Other: Arab"
        OTHER = "OOTH", "Other: any other ethnic group"
        REFUSED = "REFU", "Declined to say"
        NOT_KNOWN = "NOBT", "Not yet obtained"

    first_name = models.CharField(max_length=100, blank=True)
    middle_names = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=100)
    aliases = models.TextField(
        "other names",
        blank=True,
        max_length=1000,
        help_text="Other names or spellings this person is known by, one per line",
    )
    date_of_birth = models.DateField(null=True, blank=True)
    expected_date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.NOT_KNOWN)
    gender = models.CharField("gender identity", max_length=60, blank=True)
    ethnicity = models.CharField(max_length=4, choices=Ethnicity.choices, default="NOBT")
    first_language = models.CharField(max_length=60, blank=True)
    interpreter_needed = models.BooleanField(default=False)
    disability = models.CharField(max_length=500, blank=True)
    nhs_number = models.CharField(
        "NHS number", max_length=10, blank=True, validators=[validate_nhs_number]
    )
    upn = models.CharField(
        "unique pupil number (UPN)", max_length=13, blank=True, validators=[validate_upn]
    )
    la_child_id = models.CharField("local authority child ID", max_length=30, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Two records of one person merged (cases.services.person_merge): the duplicate is
    # kept, pointing at the record everything was moved to, and left out of searches.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_records",
        verbose_name="merged into",
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    merged_reason = models.TextField("why they are one person", max_length=2000, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name_plural = "people"
        # On PostgreSQL the names and other names also have GIN trigram indexes for
        # search before create (migration 0003; cases.queries.person_matches).
        constraints = [
            models.CheckConstraint(
                name="person_merged_with_when_and_who",
                condition=Q(
                    merged_into__isnull=True, merged_at__isnull=True, merged_by__isnull=True
                )
                | Q(merged_into__isnull=False, merged_at__isnull=False, merged_by__isnull=False),
            ),
            models.CheckConstraint(
                name="person_not_merged_into_itself",
                condition=~Q(merged_into=F("pk")),
            ),
            models.UniqueConstraint(
                fields=["nhs_number"], condition=~Q(nhs_number=""), name="person_nhs_unique"
            ),
            models.UniqueConstraint(fields=["upn"], condition=~Q(upn=""), name="person_upn_unique"),
            models.CheckConstraint(
                name="person_unborn_or_born",
                condition=Q(date_of_birth__isnull=True) | Q(expected_date_of_birth__isnull=True),
            ),
        ]
        indexes = [
            models.Index(fields=["date_of_birth"]),
            models.Index(fields=["last_name", "first_name"]),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_names, self.last_name) if p)

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def record_label(self) -> str:
        """How pages name a record when two of one person are told apart: "record 123"."""
        return f"record {self.pk}"

    @property
    def is_unborn(self) -> bool:
        return self.date_of_birth is None and self.expected_date_of_birth is not None

    # What pages call a child who has no name yet.
    UNNAMED = "Unborn baby"

    @property
    def display_name(self) -> str:
        """The full name, or "Unborn baby" for an unborn child not yet named."""
        return self.full_name or self.UNNAMED

    @property
    def short_name(self) -> str:
        """The first name, or "Unborn baby" for a child with none recorded who is not
        known to be born (a born child with no first name goes by their full name)."""
        if self.first_name:
            return self.first_name
        if self.date_of_birth is not None and self.full_name:
            return self.full_name
        return self.UNNAMED

    @property
    def short_name_in_text(self) -> str:
        """`short_name` as written inside a label or sentence: "unborn baby" in lower
        case, a name as it is."""
        name = self.short_name
        return name.lower() if name == self.UNNAMED and not self.first_name else name

    def age_on(self, day: datetime.date) -> int | None:
        if self.date_of_birth is None:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


class Membership(InErrorFields):
    """A person's part in a case over time. Ended, never deleted."""

    class Relationship(models.TextChoices):
        CHILD = "child", "Child"
        MOTHER = "mother", "Mother"
        FATHER = "father", "Father"
        STEP_PARENT = "step_parent", "Step-parent"
        PARTNER = "partner", "Partner of a parent"
        SIBLING = "sibling", "Sibling (adult or not subject)"
        GRANDPARENT = "grandparent", "Grandparent"
        OTHER_ADULT = "other_adult", "Other adult"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    lives_in_household = models.BooleanField(default=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(
                name="membership_dates_in_order",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
            ),
            models.UniqueConstraint(
                fields=["case", "person"],
                condition=Q(end_date__isnull=True, in_error=False),
                name="membership_one_open_per_person_and_case",
            ),
        ]
        indexes = [models.Index(fields=["case", "end_date"])]

    def __str__(self):
        return f"{self.person} ({self.get_relationship_display()}) in {self.case.reference}"

    @property
    def is_child(self) -> bool:
        return self.relationship == self.Relationship.CHILD

    @staticmethod
    def active_on_q(day: datetime.date, prefix: str = "") -> Q:
        p = f"{prefix}__" if prefix else ""
        return _active_on(prefix, day) & Q(**{f"{p}in_error": False})


class Address(InErrorFields):
    """Where the family lived and when; the current address is the open one."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="addresses")
    line_1 = models.CharField("address line 1", max_length=120)
    line_2 = models.CharField("address line 2", max_length=120, blank=True)
    town = models.CharField("town or city", max_length=80)
    postcode = models.CharField(max_length=8, validators=[validate_postcode])
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.CheckConstraint(
                name="address_dates_in_order",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(end_date__isnull=True, in_error=False),
                name="address_one_current_per_case",
            ),
        ]
        indexes = [models.Index(fields=["postcode"])]

    def __str__(self):
        return ", ".join(p for p in (self.line_1, self.line_2, self.town, self.postcode) if p)


class ChildProtectionPlan(InErrorFields):
    class Category(models.TextChoices):
        NEGLECT = "neglect", "Neglect"
        PHYSICAL = "physical", "Physical abuse"
        EMOTIONAL = "emotional", "Emotional abuse"
        SEXUAL = "sexual", "Sexual abuse"
        MULTIPLE = "multiple", "Multiple"

    child = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cp_plans")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="cp_plans")
    category = models.CharField("category of abuse", max_length=12, choices=Category.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = "child protection plan"
        constraints = [
            models.UniqueConstraint(
                fields=["child"],
                condition=Q(end_date__isnull=True, in_error=False),
                name="cp_plan_one_open_per_child",
            ),
            models.CheckConstraint(
                name="cp_plan_dates_in_order",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
            ),
        ]

    def __str__(self):
        return f"CP plan ({self.get_category_display()}) for {self.child} from {self.start_date}"

    @property
    def is_open(self) -> bool:
        return self.end_date is None and not self.in_error

    @staticmethod
    def active_on_q(day: datetime.date, prefix: str = "") -> Q:
        p = f"{prefix}__" if prefix else ""
        return _active_on(prefix, day) & Q(**{f"{p}in_error": False})


class Hazard(InErrorFields):
    """Something a visitor must know before they knock: on the case or on a person."""

    class Kind(models.TextChoices):
        ANIMAL = "animal", "Dog or other animal"
        WEAPON = "weapon", "Weapon"
        THREATS = "threats", "Threats or violence to staff"
        AGGRESSIVE_ADULT = "aggressive_adult", "Aggressive adult"
        INFECTION = "infection", "Infection risk"
        OTHER = "other", "Other"

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="hazards", null=True, blank=True
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="hazards", null=True, blank=True
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    details = models.TextField(max_length=2000)
    start_date = models.DateField("active from")
    end_date = models.DateField("active to", null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                name="hazard_on_case_or_person",
                condition=Q(case__isnull=False, person__isnull=True)
                | Q(case__isnull=True, person__isnull=False),
            ),
            models.CheckConstraint(
                name="hazard_dates_in_order",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.details[:60]}"

    @staticmethod
    def active_on_q(day: datetime.date, prefix: str = "") -> Q:
        p = f"{prefix}__" if prefix else ""
        return _active_on(prefix, day) & Q(**{f"{p}in_error": False})


class Meeting(InErrorFields):
    """A meeting about the family; one of the kind an escalation requires can meet it."""

    class Kind(models.TextChoices):
        STRATEGY = "strategy", "Strategy discussion"
        MULTI_AGENCY = "multi_agency", "Multi-agency meeting"
        CORE_GROUP = "core_group", "Core group"
        INITIAL_CONFERENCE = "icpc", "Initial child protection conference"
        REVIEW_CONFERENCE = "rcpc", "Review child protection conference"
        CIN_REVIEW = "cin_review", "Child in need review"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="meetings")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    held_on = models.DateField("date held")
    chair = models.CharField(max_length=120)
    staff_attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="meetings_attended", blank=True
    )
    agencies = models.ManyToManyField(Agency, related_name="meetings", blank=True)
    other_attendees = models.TextField(
        "other attendees",
        max_length=2000,
        blank=True,
        help_text="Family members and anyone else present, one per line",
    )
    decisions = models.TextField(max_length=10000)
    actions = models.TextField(max_length=10000, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords(m2m_fields=[staff_attendees, agencies])

    class Meta:
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["case", "kind", "held_on"])]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.held_on:%d/%m/%Y}"


class Escalation(models.Model):
    """A deadline set by a rule (R1-R3) or raised by hand, until a meeting meets it.

    The child protection status and the required meeting are fixed when it fires.
    `due_date` is stored so the sweep can find what is due through a partial index;
    the sweep recomputes the state from the dates rather than trusting it.
    """

    class Kind(models.TextChoices):
        DEFAULTED_VISITS = "defaulted_visits", "Defaulted visits"
        NON_COMPLIANCE = "non_compliance", "Non-compliance concern"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        MET = "met", "Met"
        MET_LATE = "met_late", "Met late"
        OVERDUE = "overdue", "Overdue"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATES = (State.OPEN, State.OVERDUE)

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="escalations")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    trigger_date = models.DateField(help_text="Day 0: the date of the event that fired it")
    child_on_plan = models.BooleanField(
        help_text="Whether any child on the case was on a child protection plan on day 0"
    )
    required_meeting = models.CharField(max_length=20, choices=Meeting.Kind.choices)
    working_days = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    reason = models.TextField(max_length=2000)
    trigger_count = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Defaulted visits counted when it fired"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the rule fired it",
    )
    created_at = models.DateTimeField()
    met_by = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, null=True, blank=True, related_name="escalations_met"
    )
    met_on = models.DateField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    reminder_queued_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_reason = models.TextField(max_length=2000, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # A defaulted-visits escalation whose count fell back to the threshold or below (a
    # default marked in error or re-recorded) stays active, marked withdrawn, until a
    # manager keeps it (with a reason) or cancels it; a new default restores it.
    trigger_withdrawn_at = models.DateTimeField(null=True, blank=True)
    trigger_withdrawn_count = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Defaulted visits counted when the trigger was withdrawn"
    )
    kept_at = models.DateTimeField(null=True, blank=True)
    kept_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kept_reason = models.TextField(max_length=2000, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(state__in=["open", "overdue"]),
                name="escalation_one_active_per_case_and_kind",
            ),
            models.CheckConstraint(
                name="escalation_due_after_trigger", condition=Q(due_date__gte=F("trigger_date"))
            ),
            models.CheckConstraint(
                name="escalation_met_has_meeting",
                condition=~Q(state__in=["met", "met_late"])
                | Q(met_by__isnull=False, met_on__isnull=False),
            ),
            models.CheckConstraint(
                name="escalation_cancelled_has_reason",
                condition=~Q(state="cancelled") | ~Q(cancelled_reason=""),
            ),
            models.CheckConstraint(
                name="escalation_kept_has_reason",
                condition=Q(kept_at__isnull=True) | ~Q(kept_reason=""),
            ),
        ]
        indexes = [
            # What the sweep reads: active escalations by deadline.
            models.Index(
                fields=["due_date"],
                name="escalation_active_due",
                condition=Q(state__in=["open", "overdue"]),
            ),
            models.Index(fields=["case", "state"]),
        ]

    def __str__(self):
        return (
            f"{self.get_kind_display()} escalation on {self.case.reference}: "
            f"{self.get_required_meeting_display()} due {self.due_date:%d/%m/%Y}"
        )

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def awaits_decision(self) -> bool:
        """Active, its trigger withdrawn, and no manager has yet decided to keep it."""
        return self.is_active and self.trigger_withdrawn_at is not None and self.kept_at is None

    def is_overdue(self, today) -> bool:
        """Active and past its due date, whether or not the sweep has marked it yet."""
        return self.is_active and self.due_date < today

    @classmethod
    def overdue_q(cls, today) -> Q:
        """`is_overdue` as a filter."""
        return Q(state__in=cls.ACTIVE_STATES, due_date__lt=today)


class WrittenAgreement(InErrorFields):
    """A written agreement with the family: exactly what behaviour is not acceptable,
    what the family agrees to do, and what follows if it is not kept (R10, R11)."""

    class Consequence(models.TextChoices):
        JOINT_VISITS = "joint_visits", "Visits only by two workers together"
        OFFICE_ONLY = "office_only", "Contact at the office only"
        PROTECTION_MEETING = (
            "protection_meeting",
            "A meeting to consider the children's protection",
        )
        OTHER = "other", "Other"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="agreements")
    unacceptable_behaviour = models.TextField("behaviour that is not acceptable", max_length=4000)
    family_agrees = models.TextField("what the family agrees to do", max_length=4000)
    # The Consequence values chosen (a JSON list, so it works on SQLite as on PostgreSQL;
    # cases.services.agreements checks each is one of them).
    consequences = models.JSONField(default=list)
    consequence_other = models.CharField("other consequence", max_length=500, blank=True)
    agreed_by = models.ManyToManyField(Person, related_name="agreements", blank=True)
    agreed_on = models.DateField()
    review_due = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords(m2m_fields=[agreed_by])

    class Meta:
        ordering = ["-agreed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                name="agreement_dates_in_order",
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("agreed_on")),
            ),
        ]

    def __str__(self):
        return f"Written agreement of {self.agreed_on:%d/%m/%Y}"

    @property
    def in_force(self) -> bool:
        return self.ended_on is None and not self.in_error

    def consequence_labels(self) -> list[str]:
        labels = dict(self.Consequence.choices)
        out = [labels[c] for c in self.consequences if c != self.Consequence.OTHER]
        if self.Consequence.OTHER in self.consequences and self.consequence_other:
            out.append(self.consequence_other)
        return out


class AgreementBreach(InErrorFields):
    """A time the written agreement was not kept: seen on a visit or recorded by hand."""

    agreement = models.ForeignKey(
        WrittenAgreement, on_delete=models.PROTECT, related_name="breaches"
    )
    occurred_on = models.DateField("date it happened")
    what_happened = models.TextField(max_length=4000)
    # A string reference: cases does not import visits (the app to its right).
    visit = models.ForeignKey(
        "visits.Visit",
        on_delete=models.PROTECT,
        related_name="agreement_breaches",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_on", "-id"]

    def __str__(self):
        return f"Breach of the written agreement on {self.occurred_on:%d/%m/%Y}"

    @property
    def case(self) -> Case:
        return self.agreement.case

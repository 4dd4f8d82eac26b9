from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords

from . import roles


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=20, unique=True)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class User(AbstractUser):
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=False, related_name="members"
    )
    job_title = models.CharField(max_length=120, blank=True)
    # Set with a temporary password given by an administrator: the next sign-in goes
    # straight to choosing a new one (accounts.middleware.PasswordChangeRequiredMiddleware).
    must_change_password = models.BooleanField(default=False)
    # Who switched the account off, when and why (is_active is false while set).
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deactivation_reason = models.CharField(max_length=500, blank=True)
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def role_names(self) -> set[str]:
        cached = getattr(self, "_role_names", None)
        if cached is None:
            cached = set(self.groups.values_list("name", flat=True))
            self._role_names = cached
        return cached

    def has_role(self, *names: str) -> bool:
        return bool(self.role_names.intersection(names))

    @property
    def is_service_manager(self) -> bool:
        return self.has_role(roles.SERVICE_MANAGER)

    @property
    def is_manager(self) -> bool:
        return self.has_role(*roles.MANAGER_ROLES)

    @property
    def role_label(self) -> str:
        for name in roles.ALL_ROLES:
            if name in self.role_names:
                return name
        return ""


class Agency(models.Model):
    class Kind(models.TextChoices):
        POLICE = "police", "Police"
        HEALTH_VISITING = "health_visiting", "Health visiting"
        SCHOOL = "school", "School"
        GP = "gp", "GP"
        PROBATION = "probation", "Probation"
        HOUSING = "housing", "Housing"
        ADULT_MENTAL_HEALTH = "adult_mental_health", "Adult mental health"
        SUBSTANCE_MISUSE = "substance_misuse", "Substance misuse"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self):
        return self.name


class ClosureDayQuerySet(models.QuerySet):
    def in_force(self):
        """Closure days not withdrawn: the ones working-day deadlines skip."""
        return self.filter(withdrawn_at__isnull=True)


class ClosureDay(models.Model):
    """A local closure day (not a bank holiday) that working-day deadlines skip.

    One entered by mistake is withdrawn (kept, with who, when and why), never deleted;
    the same date can then be added again.
    """

    date = models.DateField()
    reason = models.CharField(max_length=200)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawal_reason = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    objects = ClosureDayQuerySet.as_manager()

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["date"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="closure_day_once_in_force",
            )
        ]

    def __str__(self):
        return f"{self.date:%d %B %Y}: {self.reason}"


class RoleChange(models.Model):
    """Who changed whose roles, from what to what, and when. Roles are group
    memberships, which the user's own history does not hold; rows are only ever added."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="role_changes")
    changed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField()
    before = models.CharField(max_length=500, blank=True, help_text="Roles held before")
    after = models.CharField(max_length=500, blank=True, help_text="Roles held after")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["user", "-changed_at"])]

    def __str__(self):
        return f"{self.user}: {self.before or 'no role'} to {self.after or 'no role'}"


class AccessLog(models.Model):
    """Who was shown (or refused) which child, when, from where and through what.

    One row per child shown: `person_id` is the child (or other person) on the page,
    list, search result, dashboard, API response or export; the case id and reference say
    in which case's context, when there was one. A row with no person is a view of a case
    that showed nobody by name (and every row written before rows were kept per child:
    those were one per case view). `outcome` "refused" is an attempt the policy refused
    (a 404), holding the id that was asked for. Written by accounts.access, one INSERT
    per request.

    Cases and people are held by id and reference rather than foreign keys: accounts sits
    left of cases in the dependency order, and a log row must outlive anything.
    """

    class Via(models.TextChoices):
        PAGE = "page", "Page"
        LIST = "list", "List"
        SEARCH = "search", "Search"
        DASHBOARD = "dashboard", "Dashboard"
        API = "api", "API"
        EXPORT = "export", "Export"
        ACCESS_LOG = "access_log", "Access log"

    class Outcome(models.TextChoices):
        SHOWN = "shown", "Shown"
        REFUSED = "refused", "Refused"

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    person_id = models.BigIntegerField(null=True, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    case_reference = models.CharField(max_length=32, blank=True)
    what = models.CharField(max_length=200)
    via = models.CharField(max_length=16, choices=Via.choices, default=Via.PAGE)
    route = models.CharField(
        max_length=200, blank=True, help_text="The URL's name or pattern, never its query"
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SHOWN)
    at = models.DateTimeField(db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["user", "-at"]),
            models.Index(fields=["person_id", "-at"], name="accesslog_person_at"),
        ]

    def __str__(self):
        who = f"person {self.person_id}" if self.person_id else self.case_reference
        return f"{self.user} {self.what} {who} at {self.at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An outbox row: one per recipient, event and channel, sent by a task.

    `event_key` names the event (for example "escalation:42:fired"); the unique
    constraint makes creating the same notification twice a no-op, however often
    the tasks that create them run. An in-app notification is delivered by being
    written. An email waits until `next_attempt_at`, is claimed by one sender until
    `claimed_until`, and ends either sent (`sent_at`) or, refused by the mail server
    too often, undelivered (`dead_at`) until an administrator sends it again.
    """

    COUNT_MAX = 32767  # attempts and rejections stop here (a smallint) rather than overflow

    class Channel(models.TextChoices):
        IN_APP = "in_app", "In the app"
        EMAIL = "email", "Email"

    recipient = models.ForeignKey(User, on_delete=models.PROTECT, related_name="notifications")
    event_key = models.CharField(max_length=100)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=4000)
    link = models.CharField(max_length=200, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    case_reference = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="An unsent email is due to be tried from then"
    )
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A sender is working on it until then"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    rejections = models.PositiveSmallIntegerField(
        default=0, help_text="Times the mail server refused this message itself"
    )
    last_error = models.CharField(max_length=500, blank=True)
    dead_at = models.DateTimeField(
        null=True, blank=True, help_text="Given up on: not tried again unless sent again"
    )
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event_key", "channel"], name="notification_once_per_event"
            ),
        ]
        indexes = [
            # What a sender claims next, and what is overdue: only unsent emails.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_email_due",
                condition=models.Q(sent_at__isnull=True, dead_at__isnull=True, channel="email"),
            ),
            models.Index(
                fields=["-dead_at"],
                name="notification_dead",
                condition=models.Q(dead_at__isnull=False),
            ),
            models.Index(fields=["recipient", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.subject} to {self.recipient} ({self.get_channel_display()})"


class NotificationResend(models.Model):
    """An undelivered email sent again by an administrator: who, when, and how it stood
    then. Rows are only ever added."""

    notification = models.ForeignKey(Notification, on_delete=models.PROTECT, related_name="resends")
    resent_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    resent_at = models.DateTimeField()
    dead_at = models.DateTimeField(help_text="When it had been given up on")
    attempts = models.PositiveSmallIntegerField()
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-resent_at", "-id"]

    def __str__(self):
        return f"Notification {self.notification_id} resent by {self.resent_by} at {self.resent_at}"


class ExternalIdentity(models.Model):
    """A person's account at an identity provider, linked to a user here by an
    administrator: the provider's issuer and the stable subject it gives that person
    (the claim named by OIDC_USER_CLAIM: `sub`, or `oid` for Microsoft Entra ID). Single
    sign-on finds the user by these two only, never by a name or email address, which
    people and providers change. A link is ended (with who and when), never deleted.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="external_identities")
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords(excluded_fields=["last_sign_in_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "external identities"
        constraints = [
            # One person at the provider signs in as one user; a user has one link to
            # each provider. Ended links stay, as history, outside both.
            models.UniqueConstraint(
                fields=["issuer", "subject"],
                condition=models.Q(ended_at__isnull=True),
                name="external_identity_subject_once",
            ),
            models.UniqueConstraint(
                fields=["user", "issuer"],
                condition=models.Q(ended_at__isnull=True),
                name="external_identity_one_per_user_and_issuer",
            ),
        ]

    def __str__(self):
        return f"{self.user} at {self.issuer}"


class SignInUnlock(models.Model):
    """A sign-in lockout ended early by an administrator: whose, at which address, how it
    stood, who ended it and when. Rows are only ever added."""

    username = models.CharField(max_length=255, help_text="As typed at sign-in")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    failures = models.PositiveIntegerField(help_text="Failed attempts counted when unlocked")
    locked_until = models.DateTimeField(help_text="When the lockout would have ended")
    unlocked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    unlocked_at = models.DateTimeField()

    class Meta:
        ordering = ["-unlocked_at", "-id"]
        indexes = [models.Index(fields=["-unlocked_at"])]

    def __str__(self):
        return f"Sign-in of {self.username} unlocked by {self.unlocked_by} at {self.unlocked_at}"


class SecondFactorReset(models.Model):
    """An administrator reset someone's second factor: who, whose, why and when.

    Only ever added to. The devices are kept, marked unconfirmed (unusable); the user
    sets up an authenticator app again at their next sign-in.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="second_factor_resets")
    reset_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    reset_at = models.DateTimeField()
    devices_retired = models.PositiveIntegerField(default=0)
    sessions_ended = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-reset_at", "-id"]

    def __str__(self):
        return f"Second factor of {self.user} reset by {self.reset_by} at {self.reset_at}"


# --- API credentials (docs/DECISIONS.md, "API credentials") ------------------------------


class ApiToken(models.Model):
    """A staff API token's name, owner and fate. The credential is knox's row beside it
    (a digest, never the token); that row goes when the token ends, this one stays, so
    who made a token, when it was last used and who revoked it and why are kept."""

    auth_token = models.OneToOneField(
        "knox.AuthToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_token",
        help_text="Empty once the token has ended (revoked or expired)",
    )
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the token, to tell tokens apart; never enough to use one.
    key_start = models.CharField(max_length=8)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="The absolute limit: never used after this")
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A keyed hash of the owner's password hash when the token was made: a token made
    # before the password last changed is refused whatever path changed it.
    password_check = models.CharField(max_length=64)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system revoked it (password changed, account deactivated)",
    )
    revoke_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self):
        return f"{self.name} ({self.user})"


class PartnerClient(models.Model):
    """A partner agency's system, reading through the API with the OAuth2 client
    credentials grant. The OAuth2 application holds the client id and the hashed secret;
    this holds what the client may read: the teams granted and the scopes."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.PROTECT, related_name="partner"
    )
    name = models.CharField(max_length=200)
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="partner_clients"
    )
    teams = models.ManyToManyField(Team, related_name="partner_clients", blank=True)
    scopes = models.CharField(max_length=200, help_text="Space-separated OAuth2 scopes")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    deactivated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(m2m_fields=[teams])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class PartnerCall(models.Model):
    """One row per API call a partner client made: who, what, the answer, when, from where."""

    client = models.ForeignKey(PartnerClient, on_delete=models.PROTECT, related_name="calls")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["client", "-at"])]

    def __str__(self):
        return f"{self.client} {self.method} {self.path} {self.status}"


def api_token_state(token: ApiToken, now) -> str:
    """ "active", "revoked" or "expired" at `now`."""
    if token.revoked_at is not None:
        return "revoked"
    auth = token.auth_token
    if auth is None or token.ends_at <= now or (auth.expiry is not None and auth.expiry <= now):
        return "expired"
    return "active"

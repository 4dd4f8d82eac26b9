import datetime

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts import roles
from accounts.models import Agency, Team, User
from cases.models import Address, Case, ChildProtectionPlan, Hazard, Membership, Person

factory.Faker._DEFAULT_LOCALE = "en_GB"
PASSWORD = "correct-horse-battery-staple"


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Assessment Team {n}")
    code = factory.Sequence(lambda n: f"team-{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    # Not a Faker surname: families' names come from there, and a page that must not
    # show a family's name always shows the signed-in user's.
    last_name = factory.Sequence(lambda n: f"Staffer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@council.example")
    team = factory.SubFactory(TeamFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if not create:
            return
        self.save()
        name = extracted or roles.SOCIAL_WORKER
        # Role groups come from a migration; a transactional test may have emptied them.
        self.groups.add(Group.objects.get_or_create(name=name)[0])


class AgencyFactory(DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Agency {n}")
    kind = Agency.Kind.OTHER


class CaseFactory(DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    reference = factory.Sequence(lambda n: f"SG-2026-{90000 + n:05d}")
    family_name = factory.Faker("last_name")
    team = factory.SubFactory(TeamFactory)
    opened_on = datetime.date(2026, 1, 5)
    summary = "Concerns about neglect reported by school."
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SubFactory(UserFactory, team=factory.SelfAttribute("..team"))


class PersonFactory(DjangoModelFactory):
    class Meta:
        model = Person

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = datetime.date(2018, 4, 2)
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SubFactory(UserFactory)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    case = factory.SubFactory(CaseFactory)
    person = factory.SubFactory(PersonFactory)
    relationship = Membership.Relationship.CHILD
    start_date = datetime.date(2026, 1, 5)


class AddressFactory(DjangoModelFactory):
    class Meta:
        model = Address

    case = factory.SubFactory(CaseFactory)
    line_1 = factory.Faker("street_address")
    town = "Northtown"
    postcode = "LS1 4AP"
    start_date = datetime.date(2026, 1, 5)


class PlanFactory(DjangoModelFactory):
    class Meta:
        model = ChildProtectionPlan

    case = factory.SubFactory(CaseFactory)
    child = factory.SubFactory(PersonFactory)
    category = ChildProtectionPlan.Category.NEGLECT
    start_date = datetime.date(2026, 2, 1)


class HazardFactory(DjangoModelFactory):
    class Meta:
        model = Hazard

    case = factory.SubFactory(CaseFactory)
    kind = Hazard.Kind.ANIMAL
    details = "Large dog, kept in the kitchen when asked"
    start_date = datetime.date(2026, 1, 5)
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SubFactory(UserFactory)


class WrittenAgreementFactory(DjangoModelFactory):
    class Meta:
        model = "cases.WrittenAgreement"

    case = factory.SubFactory(CaseFactory)
    unacceptable_behaviour = "Shouting at or threatening staff"
    family_agrees = "Let the worker see the children's bedrooms at every visit"
    consequences = factory.LazyFunction(lambda: ["joint_visits", "protection_meeting"])
    agreed_on = datetime.date(2026, 2, 2)
    review_due = datetime.date(2026, 3, 2)
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SubFactory(UserFactory)


class VisitFactory(DjangoModelFactory):
    class Meta:
        model = "visits.Visit"

    case = factory.SubFactory(CaseFactory)
    planned_for = factory.LazyFunction(
        lambda: timezone.make_aware(datetime.datetime(2026, 2, 2, 10, 0))
    )
    lead_worker = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SelfAttribute("lead_worker")


class MeetingFactory(DjangoModelFactory):
    class Meta:
        model = "cases.Meeting"

    case = factory.SubFactory(CaseFactory)
    kind = "multi_agency"
    held_on = datetime.date(2026, 2, 10)
    chair = "Grace Okafor, team manager"
    decisions = "Unannounced visits twice a week; school to report attendance daily."
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SubFactory(UserFactory)


class EscalationFactory(DjangoModelFactory):
    class Meta:
        model = "cases.Escalation"

    case = factory.SubFactory(CaseFactory)
    kind = "defaulted_visits"
    trigger_date = datetime.date(2026, 2, 4)
    child_on_plan = False
    required_meeting = "multi_agency"
    working_days = 7
    due_date = datetime.date(2026, 2, 13)
    reason = "4 visits defaulted"
    created_at = factory.LazyFunction(timezone.now)


# --- Visits with an outcome, escalations with computed deadlines -------------------------


def _add_working_days(start, n):
    from safeguarding.workdays import add_working_days

    return add_working_days(start, n)


class RecordedVisitFactory(VisitFactory):
    """A visit that has happened: `outcome` defaults to a family default (no answer);
    it happened at `planned_for` unless `occurred_at` says otherwise."""

    lead_worker = factory.SubFactory(UserFactory, team=factory.SelfAttribute("..case.team"))
    outcome = "defaulted"
    occurred_at = factory.SelfAttribute("planned_for")
    default_reason = factory.LazyAttribute(
        lambda v: "no_answer" if v.outcome == "defaulted" else ""
    )
    outcome_recorded_at = factory.SelfAttribute("occurred_at")
    outcome_recorded_by = factory.SelfAttribute("lead_worker")


class RuleEscalationFactory(EscalationFactory):
    """An escalation as the rule fires it: the meeting and deadline follow from
    `child_on_plan` and `trigger_date` through the working-day calendar."""

    state = "open"
    trigger_date = datetime.date(2026, 3, 2)
    required_meeting = factory.LazyAttribute(
        lambda e: "core_group" if e.child_on_plan else "multi_agency"
    )
    working_days = factory.LazyAttribute(lambda e: 3 if e.child_on_plan else 7)
    due_date = factory.LazyAttribute(lambda e: _add_working_days(e.trigger_date, e.working_days))
    trigger_count = 4


# --- Supervision ----------------------------------------------------------------------


class SupervisionSessionFactory(DjangoModelFactory):
    class Meta:
        model = "supervision.SupervisionSession"

    supervisee = factory.SubFactory(UserFactory)
    supervisor = factory.SubFactory(
        UserFactory, team=factory.SelfAttribute("..supervisee.team"), role=roles.PRACTICE_SUPERVISOR
    )
    date = datetime.date(2026, 3, 2)
    kind = "formal"
    status = "held"
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SelfAttribute("supervisor")


class CaseDiscussionFactory(DjangoModelFactory):
    class Meta:
        model = "supervision.CaseDiscussion"

    session = factory.SubFactory(SupervisionSessionFactory)
    case = factory.SubFactory(CaseFactory, team=factory.SelfAttribute("..session.supervisee.team"))
    lived_experience = "Mia is hungry at school and frightened of the noise at home."
    assumptions = "Mother is overwhelmed rather than neglectful: school reports support it."
    assessment_changed_not_discussed = True
    other_source_not_discussed = True
    other_explanations_not_discussed = True
    child_life_not_discussed = True
    hypothesis_not_discussed = True
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SelfAttribute("session.supervisor")


class DecisionFactory(DjangoModelFactory):
    class Meta:
        model = "supervision.Decision"

    discussion = factory.SubFactory(CaseDiscussionFactory)
    case = factory.SelfAttribute("discussion.case")
    decision = "Unannounced visit within the week"
    reasons = "Announced visits have found the home tidied"
    decided_on = factory.SelfAttribute("discussion.session.date")
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SelfAttribute("discussion.session.supervisor")


class SupervisionActionFactory(DjangoModelFactory):
    class Meta:
        model = "supervision.Action"

    discussion = factory.SubFactory(CaseDiscussionFactory)
    case = factory.SelfAttribute("discussion.case")
    description = "Speak to the school nurse about Mia's weight"
    owner = factory.SelfAttribute("discussion.session.supervisee")
    due_date = datetime.date(2026, 3, 16)
    created_at = factory.LazyFunction(timezone.now)
    created_by = factory.SelfAttribute("discussion.session.supervisor")


# --- Chronologies ---------------------------------------------------------------------


class ChronologyEntryFactory(DjangoModelFactory):
    """A manual multi-agency entry, written directly (services are tested on their own)."""

    class Meta:
        model = "chronologies.ChronologyEntry"

    case = factory.SubFactory(CaseFactory)
    source_type = "manual"
    source_id = factory.Sequence(lambda n: f"factory-{n}")
    category = "multi_agency"
    occurred_on = datetime.date(2026, 2, 1)
    title = "School reports child hungry"
    details = "Child asked for food at breakfast club"
    informant_type = "neighbour"
    significance = "routine"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class ChronologyExportFactory(DjangoModelFactory):
    """A finished export with its file on disk."""

    class Meta:
        model = "chronologies.ChronologyExport"
        skip_postgeneration_save = True

    case = factory.SubFactory(CaseFactory)
    requested_by = factory.SubFactory(UserFactory)
    requested_at = factory.LazyFunction(timezone.now)
    format = "csv"
    status = "done"
    progress = 100
    rows = 1
    file_name = factory.Sequence(lambda n: f"factory-{n}.csv")
    finished_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=1))

    @factory.post_generation
    def write_file(obj, create, extracted, **kwargs):
        from chronologies.services import export_dir

        (export_dir() / obj.file_name).write_bytes(b"Date,Summary\r\n")


def api_token_for(user: User, *, name: str = "Test token") -> str:
    """A real API token for `user`, made as the page makes it (by its owner)."""
    from accounts.services import api_token_create

    _, token = api_token_create(actor=user, owner=user, name=name, now=timezone.now())
    return token

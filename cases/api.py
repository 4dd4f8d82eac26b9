"""The case record over REST, under /api/v1/ (DESIGN.md section 3).

Thin on purpose: input serializers check the shape of what was sent, then a
service in `cases.services` decides what is allowed and writes it with the
acting user on the history row. Output serializers are for reads only.

Access is the one policy in `accounts.policy`: every queryset here is narrowed
to the cases the user may see (or to the people on them), so a list can never
show what a detail would refuse, and anything outside it is 404, including a
write naming a case the user cannot see. Every response that carries part of a
case record is written to the access log. Nothing here deletes a row: records
are ended, or marked recorded-in-error, through actions.
"""

import datetime

from django.db import transaction
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import policy
from accounts.models import Agency, Team, User
from accounts.services import access_log_record
from common.api import (
    Conflict,
    IdFilter,
    RecordViewSet,
    ScopedPrimaryKeyField,
)

from . import queries, services
from .models import (
    Address,
    Case,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    Person,
)
from .validators import validate_nhs_number, validate_postcode, validate_upn

# --- Scoped querysets -----------------------------------------------------------------


def _visible_case_ids(user):
    return queries.cases_for(user).values("pk")


def _people_now_on_visible_cases(user, today: datetime.date):
    """Ids of people on a case this user may see today (hazards on them are shown)."""
    return Membership.objects.filter(
        Membership.active_on_q(today), case__in=_visible_case_ids(user)
    ).values("person_id")


def _linkable_people(user):
    """People this user may add to a case through the API.

    Those already on a case they may see, and people they created who are on no
    case yet (made through POST /people/ just before). Finding someone known
    only on another team's case is the search-before-create page's job.
    """
    return Person.objects.filter(
        Q(pk__in=queries.people_for(user).values("pk"))
        | Q(created_by=user, memberships__isnull=True)
    ).distinct()


# --- Fields ---------------------------------------------------------------------------


class VisibleCaseField(serializers.PrimaryKeyRelatedField):
    """A case id in a request body: a case the user cannot see (or none) is 404."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Case.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(data)
        except ValueError:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return queries.get_case(self.context["request"].user, pk)


# --- Output serializers ---------------------------------------------------------------


class WorkerSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.username


class HazardSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.full_name", read_only=True, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Hazard
        fields = [
            "id",
            "case",
            "person",
            "person_name",
            "kind",
            "kind_display",
            "details",
            "start_date",
            "end_date",
            "in_error",
            "in_error_reason",
            "in_error_at",
            "created_at",
        ]
        read_only_fields = fields


class EscalationSerializer(serializers.ModelSerializer):
    """An escalation and its deadline (R1-R4): what everyone who visits must know."""

    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    required_meeting_display = serializers.CharField(
        source="get_required_meeting_display", read_only=True
    )
    raised_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = [
            "id",
            "case",
            "kind",
            "kind_display",
            "state",
            "state_display",
            "trigger_date",
            "child_on_plan",
            "required_meeting",
            "required_meeting_display",
            "working_days",
            "due_date",
            "reason",
            "trigger_count",
            "raised_by",
            "raised_by_name",
            "created_at",
            "met_by",
            "met_on",
            "overdue_at",
            "cancelled_by",
            "cancelled_reason",
            "closed_at",
        ]
        read_only_fields = fields

    def get_raised_by_name(self, escalation) -> str:
        """Empty when the defaulted-visits rule fired it."""
        user = escalation.raised_by
        return (user.get_full_name() or user.username) if user else ""


def _active_escalations(case) -> list[Escalation]:
    prefetched = getattr(case, "active_escalation_list", None)
    if prefetched is not None:
        return prefetched
    return list(
        Escalation.objects.filter(case=case, state__in=Escalation.ACTIVE_STATES)
        .select_related("raised_by")
        .order_by("due_date", "id")
    )


class CaseSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    # A plain string here, so the schema has one enum for closure reasons (ReasonEnum,
    # on the close action) rather than two names for the same choices.
    closure_reason = serializers.CharField(
        read_only=True,
        help_text="One of the reasons a case can close (see ReasonEnum); blank while open",
    )
    closure_reason_display = serializers.CharField(
        source="get_closure_reason_display", read_only=True
    )
    allocated_workers = WorkerSerializer(many=True, read_only=True)
    any_child_on_plan = serializers.SerializerMethodField(
        help_text="Is any child on this case subject to a child protection plan today?"
    )
    active_hazards = serializers.SerializerMethodField(
        help_text="Hazards on the case, and on anyone on it now, active today"
    )
    active_escalations = serializers.SerializerMethodField(
        help_text="Open and overdue escalations, soonest deadline first: the meeting "
        "required and when it is due (R4)"
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "family_name",
            "team",
            "team_name",
            "status",
            "status_display",
            "opened_on",
            "closed_on",
            "closure_reason",
            "closure_reason_display",
            "closure_notes",
            "summary",
            "restricted",
            "allocated_workers",
            "any_child_on_plan",
            "active_hazards",
            "active_escalations",
        ]
        read_only_fields = fields

    def get_any_child_on_plan(self, case) -> bool:
        return queries.case_has_child_on_plan(case.pk, timezone.localdate())

    @extend_schema_field(HazardSerializer(many=True))
    def get_active_hazards(self, case):
        hazards = queries.active_hazards(case, today=timezone.localdate())
        return HazardSerializer(hazards, many=True, context=self.context).data

    @extend_schema_field(EscalationSerializer(many=True))
    def get_active_escalations(self, case):
        return EscalationSerializer(_active_escalations(case), many=True, context=self.context).data


class PersonSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "full_name", *services.PERSON_FIELDS]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.full_name", read_only=True)
    relationship_display = serializers.CharField(source="get_relationship_display", read_only=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "case",
            "person",
            "person_name",
            "relationship",
            "relationship_display",
            "lives_in_household",
            "start_date",
            "end_date",
            "end_reason",
            "in_error",
            "in_error_reason",
            "in_error_at",
        ]
        read_only_fields = fields


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "id",
            "case",
            "line_1",
            "line_2",
            "town",
            "postcode",
            "start_date",
            "end_date",
            "in_error",
            "in_error_reason",
            "in_error_at",
        ]
        read_only_fields = fields


class PlanSerializer(serializers.ModelSerializer):
    child_name = serializers.CharField(source="child.full_name", read_only=True)
    category_display = serializers.CharField(source="get_category_display", read_only=True)

    class Meta:
        model = ChildProtectionPlan
        fields = [
            "id",
            "case",
            "child",
            "child_name",
            "category",
            "category_display",
            "start_date",
            "end_date",
            "end_reason",
            "in_error",
            "in_error_reason",
            "in_error_at",
        ]
        read_only_fields = fields


class MeetingSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    escalations_met = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Escalations this meeting met (ids)"
    )

    class Meta:
        model = Meeting
        fields = [
            "id",
            "case",
            "kind",
            "kind_display",
            "held_on",
            "chair",
            "staff_attendees",
            "agencies",
            "other_attendees",
            "decisions",
            "actions",
            "escalations_met",
            "created_at",
            "created_by",
            "in_error",
            "in_error_reason",
            "in_error_at",
        ]
        read_only_fields = fields


# --- Input serializers ----------------------------------------------------------------


class CaseCreateSerializer(serializers.Serializer):
    family_name = serializers.CharField(max_length=120)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(active=True),
        required=False,
        help_text="Your own team unless you are a service manager; yours if left out",
    )
    summary = serializers.CharField(max_length=5000)
    opened_on = serializers.DateField()
    allocated_workers = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        many=True,
        required=False,
        help_text="Staff of the case's team",
    )
    restricted = serializers.BooleanField(required=False, default=False)

    def validate(self, data):
        # Shaping only: who may open a case in which team is the service's to decide.
        data["team"] = data.get("team") or self.context["request"].user.team
        return data


class CaseUpdateSerializer(serializers.Serializer):
    family_name = serializers.CharField(max_length=120)
    summary = serializers.CharField(max_length=5000)


class CaseCloseSerializer(serializers.Serializer):
    closed_on = serializers.DateField()
    reason = serializers.ChoiceField(choices=Case.ClosureReason.choices)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class CaseAllocateSerializer(serializers.Serializer):
    workers = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        many=True,
        allow_empty=True,
        help_text="Everyone to be allocated (replaces the current allocation): at least "
        "one, social work staff of the case's team",
    )


def _text(max_length, **kwargs):
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class PersonInputSerializer(serializers.Serializer):
    first_name = _text(100)
    middle_names = _text(150)
    last_name = serializers.CharField(max_length=100)
    aliases = _text(1000)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    expected_date_of_birth = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Person.Sex.choices, required=False)
    gender = _text(60)
    ethnicity = serializers.ChoiceField(choices=Person.Ethnicity.choices, required=False)
    first_language = _text(60)
    interpreter_needed = serializers.BooleanField(required=False)
    disability = _text(500)
    # Spaces are allowed as people write them; the service stores the compact form.
    nhs_number = _text(13, validators=[validate_nhs_number], help_text="Like 943 476 5919")
    upn = _text(16, validators=[validate_upn], help_text="Like H801200001001")
    la_child_id = _text(30)


class MembershipCreateSerializer(serializers.Serializer):
    case = VisibleCaseField()
    person = ScopedPrimaryKeyField(scope=_linkable_people, model=Person)
    relationship = serializers.ChoiceField(choices=Membership.Relationship.choices)
    start_date = serializers.DateField()
    lives_in_household = serializers.BooleanField(required=False, default=True)


class MembershipUpdateSerializer(serializers.Serializer):
    lives_in_household = serializers.BooleanField()


class EndSerializer(serializers.Serializer):
    end_date = serializers.DateField()


class EndWithReasonSerializer(EndSerializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AddressCreateSerializer(serializers.Serializer):
    case = VisibleCaseField()
    line_1 = serializers.CharField(max_length=120)
    line_2 = _text(120)
    town = serializers.CharField(max_length=80)
    postcode = serializers.CharField(max_length=10, validators=[validate_postcode])
    start_date = serializers.DateField()


class PlanCreateSerializer(serializers.Serializer):
    case = VisibleCaseField()
    child = ScopedPrimaryKeyField(scope=queries.people_for, model=Person)
    category = serializers.ChoiceField(choices=ChildProtectionPlan.Category.choices)
    start_date = serializers.DateField()


def _hazard_people(user):
    return Person.objects.filter(pk__in=_people_now_on_visible_cases(user, timezone.localdate()))


class HazardCreateSerializer(serializers.Serializer):
    case = VisibleCaseField(
        required=False, allow_null=True, help_text="The case the hazard is about; or give a person"
    )
    person = ScopedPrimaryKeyField(
        scope=_hazard_people,
        model=Person,
        required=False,
        allow_null=True,
        help_text="The person the hazard is about; or give a case",
    )
    kind = serializers.ChoiceField(choices=Hazard.Kind.choices)
    details = serializers.CharField(max_length=2000)
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)


def _meetable_escalations(user):
    return Escalation.objects.filter(
        case__in=_visible_case_ids(user), state__in=Escalation.ACTIVE_STATES
    )


class MeetingCreateSerializer(serializers.Serializer):
    case = VisibleCaseField()
    kind = serializers.ChoiceField(choices=Meeting.Kind.choices)
    held_on = serializers.DateField()
    chair = serializers.CharField(max_length=120)
    decisions = serializers.CharField(max_length=10000)
    actions = _text(10000)
    staff_attendees = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        many=True,
        required=False,
        help_text="Staff who attended (user ids)",
    )
    agencies = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.filter(active=True),
        many=True,
        required=False,
        help_text="Agencies represented (ids)",
    )
    other_attendees = _text(2000, help_text="Family members and anyone else, one per line")
    meets = ScopedPrimaryKeyField(
        scope=_meetable_escalations,
        model=Escalation,
        required=False,
        allow_null=True,
        error_messages={
            "does_not_exist": "There is no open or overdue escalation "
            "{pk_value} on a case you may see"
        },
        help_text="The escalation this meeting is held to meet (id), if any. Any active "
        "escalation on the case asking for this kind of meeting is met anyway",
    )


class EscalationRaiseSerializer(serializers.Serializer):
    trigger_date = serializers.DateField(help_text="Day 0: the date of the concern")
    reason = serializers.CharField(max_length=2000, help_text="The non-compliance concern")


class EscalationCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


# --- Filters --------------------------------------------------------------------------


class CaseFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Case.Status.choices)
    reference = filters.CharFilter(field_name="reference", lookup_expr="exact")
    team = IdFilter(field_name="team_id", help_text="Team id")

    class Meta:
        model = Case
        fields = ["status", "reference", "team"]


class PersonFilter(filters.FilterSet):
    case = IdFilter(method="on_case", help_text="People ever on this case (id)")

    class Meta:
        model = Person
        fields = ["case"]

    def on_case(self, queryset, name, value):
        members = Membership.objects.filter(
            case_id=value, case__in=_visible_case_ids(self.request.user)
        )
        return queryset.filter(pk__in=members.values("person_id"))


class CaseRecordFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id", help_text="Case id")
    in_error = filters.BooleanFilter()


class MembershipFilter(CaseRecordFilter):
    class Meta:
        model = Membership
        fields = ["case", "in_error"]


class AddressFilter(CaseRecordFilter):
    class Meta:
        model = Address
        fields = ["case", "in_error"]


class PlanFilter(CaseRecordFilter):
    child = IdFilter(field_name="child_id", help_text="Child (person) id")

    class Meta:
        model = ChildProtectionPlan
        fields = ["case", "child", "in_error"]


class HazardFilter(filters.FilterSet):
    case = IdFilter(
        method="for_case", help_text="Case id: hazards on the case and on people on it now"
    )
    person = IdFilter(field_name="person_id", help_text="Person id")
    in_error = filters.BooleanFilter()

    class Meta:
        model = Hazard
        fields = ["case", "person", "in_error"]

    def for_case(self, queryset, name, value):
        user = self.request.user
        members = Membership.objects.filter(
            Membership.active_on_q(timezone.localdate()),
            case_id=value,
            case__in=_visible_case_ids(user),
        )
        return queryset.filter(Q(case_id=value) | Q(person__in=members.values("person_id")))


class MeetingFilter(CaseRecordFilter):
    kind = filters.ChoiceFilter(choices=Meeting.Kind.choices)

    class Meta:
        model = Meeting
        fields = ["case", "kind", "in_error"]


# --- Viewsets -------------------------------------------------------------------------


class HasCaseAccess(permissions.BasePermission):
    """Signed in, active and given a role: the policy lets nobody else see a case."""

    message = "Your account has no role that gives access to case records"

    def has_permission(self, request, view):
        return policy.case_visibility_q(request.user) is not None


class CaseRecordViewSet(RecordViewSet):
    """A viewset of part of the case record: signed in with a role, querysets narrowed
    by the policy, and every response that carries case data written to the access log,
    one row per case."""

    permission_classes = [permissions.IsAuthenticated, HasCaseAccess]

    def case_ids_of(self, objects) -> set[int]:
        return {obj.case_id for obj in objects}

    def log(self, objects, what: str) -> None:
        ids = self.case_ids_of(objects)
        for case in Case.objects.filter(pk__in=ids).only("pk", "reference"):
            access_log_record(user=self.request.user, case=case, what=what, request=self.request)


@extend_schema_view(
    list=extend_schema(
        summary="Cases you may see",
        description="Filter by status, exact reference or team id. Searching "
        "by name or date of birth is on the pages only, so that "
        "no personal data goes into a URL.",
    ),
    retrieve=extend_schema(summary="A case (404 if you may not see it)"),
)
class CaseViewSet(CaseRecordViewSet):
    """Cases you may see. Closed, never deleted."""

    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    label = "case"

    def scoped_queryset(self):
        return (
            queries.cases_for(self.request.user)
            .select_related("team")
            .prefetch_related(
                "allocated_workers",
                Prefetch(
                    "escalations",
                    queryset=Escalation.objects.filter(state__in=Escalation.ACTIVE_STATES)
                    .select_related("raised_by")
                    .order_by("due_date", "id"),
                    to_attr="active_escalation_list",
                ),
            )
        )

    def case_ids_of(self, objects):
        return {obj.pk for obj in objects}

    def log(self, objects, what):
        for case in objects:
            access_log_record(user=self.request.user, case=case, what=what, request=self.request)

    def get_object(self):
        return policy.get_case_for(self.request.user, self.get_queryset(), self.kwargs["pk"])

    @extend_schema(
        request=CaseCreateSerializer, responses={201: CaseSerializer}, summary="Open a case"
    )
    def create(self, request):
        data = self.input(CaseCreateSerializer)
        case = services.case_create(actor=request.user, **data)
        return self.respond(
            self.get_object_by_pk(case.pk), "API opened case", status.HTTP_201_CREATED
        )

    @extend_schema(
        request=CaseUpdateSerializer,
        responses=CaseSerializer,
        summary="Change the family name or the summary of concerns",
    )
    def partial_update(self, request, pk=None):
        case = self.get_object()
        data = self.input(CaseUpdateSerializer, partial=True)
        services.case_update(
            actor=request.user,
            case=case,
            family_name=data.get("family_name", case.family_name),
            summary=data.get("summary", case.summary),
        )
        return self.respond(self.get_object(), "API changed case")

    @extend_schema(request=CaseCloseSerializer, responses=CaseSerializer, summary="Close a case")
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        case = self.get_object()
        data = self.input(CaseCloseSerializer)
        services.case_close(actor=request.user, case=case, **data)
        return self.respond(self.get_object(), "API closed case")

    @extend_schema(
        request=ReasonSerializer,
        responses=CaseSerializer,
        summary="Reopen a closed case (managers)",
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        case = self.get_object()
        data = self.input(ReasonSerializer)
        services.case_reopen(actor=request.user, case=case, reason=data["reason"])
        return self.respond(self.get_object(), "API reopened case")

    @extend_schema(
        request=CaseAllocateSerializer,
        responses=CaseSerializer,
        summary="Set the allocated workers (managers)",
    )
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        case = self.get_object()
        data = self.input(CaseAllocateSerializer)
        services.case_allocate(actor=request.user, case=case, workers=data["workers"])
        return self.respond(self.get_object(), "API allocated case")

    def get_object_by_pk(self, pk):
        return policy.get_case_for(self.request.user, self.get_queryset(), pk)

    # --- Escalations, nested under the case (R1-R4) ---

    @extend_schema(
        methods=["GET"],
        request=None,
        responses=EscalationSerializer(many=True),
        summary="Escalations on a case, newest first, in every state",
    )
    @extend_schema(
        methods=["POST"],
        request=EscalationRaiseSerializer,
        responses={
            201: EscalationSerializer,
            409: OpenApiResponse(
                description="A non-compliance escalation is already open or overdue on this case"
            ),
        },
        summary="Raise a non-compliance escalation by hand",
        description="The deadline and the meeting required follow from whether a child "
        "was on a child protection plan on the trigger date (R2, R3).",
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def escalations(self, request, pk=None):
        case = self.get_object()
        if request.method == "POST":
            return self._raise_escalation(case)
        rows = case.escalations.select_related("raised_by").order_by("-trigger_date", "-id")
        self.log([case], "API read escalations")
        return Response(
            EscalationSerializer(rows, many=True, context=self.get_serializer_context()).data
        )

    def _raise_escalation(self, case):
        data = self.input(EscalationRaiseSerializer)
        with transaction.atomic():
            escalation = services.escalation_open(
                case=case,
                kind=Escalation.Kind.NON_COMPLIANCE,
                actor=self.request.user,
                trigger_date=data["trigger_date"],
                reason=data["reason"],
            )
        if escalation is None:
            raise Conflict(
                "There is already an open or overdue non-compliance escalation "
                "on this case: meet it, or ask a manager to cancel it, before "
                "raising another"
            )
        self.log([case], "API raised escalation")
        return Response(
            EscalationSerializer(escalation, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=EscalationCancelSerializer,
        responses=EscalationSerializer,
        parameters=[
            OpenApiParameter(
                "escalation_id",
                OpenApiTypes.INT,
                OpenApiParameter.PATH,
                description="The escalation's id",
            )
        ],
        summary="Cancel an open or overdue escalation, with the reason (managers)",
    )
    @action(
        detail=True,
        methods=["post"],
        url_name="escalation-cancel",
        url_path=r"escalations/(?P<escalation_id>[0-9]+)/cancel",
    )
    def escalation_cancel(self, request, pk=None, escalation_id=None):
        case = self.get_object()
        escalation = get_object_or_404(case.escalations.all(), pk=escalation_id)
        data = self.input(EscalationCancelSerializer)
        escalation = services.escalation_cancel(
            actor=request.user, escalation=escalation, reason=data["reason"]
        )
        self.log([case], "API cancelled escalation")
        return Response(
            EscalationSerializer(escalation, context=self.get_serializer_context()).data
        )


@extend_schema_view(
    list=extend_schema(summary="People on cases you may see"),
    retrieve=extend_schema(summary="A person on a case you may see (404 otherwise)"),
)
class PersonViewSet(CaseRecordViewSet):
    """People on cases you may see."""

    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    label = "person"

    def scoped_queryset(self):
        return queries.people_for(self.request.user).order_by("last_name", "first_name", "pk")

    def case_ids_of(self, people):
        return set(
            Membership.objects.filter(
                person__in=[p.pk for p in people], case__in=_visible_case_ids(self.request.user)
            ).values_list("case_id", flat=True)
        )

    @extend_schema(
        request=PersonInputSerializer,
        responses={201: PersonSerializer},
        summary="Record a new person",
        description="Add them to a case next with POST /memberships/.",
    )
    def create(self, request):
        data = self.input(PersonInputSerializer)
        person = services.person_create(actor=request.user, **data)
        return self.respond(person, "API created person", status.HTTP_201_CREATED)

    @extend_schema(
        request=PersonInputSerializer,
        responses=PersonSerializer,
        summary="Change a person's details",
    )
    def partial_update(self, request, pk=None):
        person = self.get_object()
        data = self.input(PersonInputSerializer, partial=True)
        person = services.person_update(actor=request.user, person=person, **data)
        return self.respond(person, "API changed person")


class _EndAndInErrorMixin:
    """`end` and `in_error` actions for a record that belongs to a case."""

    end_serializer = EndSerializer

    def end_record(self, record, data):
        raise NotImplementedError

    def _end(self, request):
        record = self.get_object()
        data = self.input(self.end_serializer)
        self.end_record(record, data)
        return self.respond(self.get_object(), f"API ended {self.label}")

    def _in_error(self, request):
        record = self.get_object()
        data = self.input(ReasonSerializer)
        services.record_mark_in_error(actor=request.user, record=record, reason=data["reason"])
        return self.respond(self.get_object(), f"API marked {self.label} in error")


def _in_error_schema(serializer):
    return extend_schema(
        request=ReasonSerializer,
        responses=serializer,
        summary="Mark as recorded in error (kept, with the reason; never deleted)",
    )


@extend_schema_view(list=extend_schema(summary="People's membership of cases you may see"))
class MembershipViewSet(_EndAndInErrorMixin, CaseRecordViewSet):
    """Who is on a case and when: ended, or marked recorded in error, never deleted."""

    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    end_serializer = EndWithReasonSerializer
    label = "membership"

    def scoped_queryset(self):
        return policy.visible_related(
            self.request.user, Membership.objects.select_related("person")
        )

    @extend_schema(
        request=MembershipCreateSerializer,
        responses={201: MembershipSerializer},
        summary="Add a person to a case",
    )
    def create(self, request):
        data = self.input(MembershipCreateSerializer)
        membership = services.membership_add(actor=request.user, **data)
        return self.respond(membership, "API added membership", status.HTTP_201_CREATED)

    @extend_schema(
        request=MembershipUpdateSerializer,
        responses=MembershipSerializer,
        summary="Record whether they live in the household",
    )
    def partial_update(self, request, pk=None):
        membership = self.get_object()
        data = self.input(MembershipUpdateSerializer)
        services.membership_set_household(actor=request.user, membership=membership, **data)
        return self.respond(self.get_object(), "API changed membership")

    def end_record(self, record, data):
        services.membership_end(
            actor=self.request.user,
            membership=record,
            end_date=data["end_date"],
            reason=data["reason"],
        )

    @extend_schema(
        request=EndWithReasonSerializer,
        responses=MembershipSerializer,
        summary="Record that they left",
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._end(request)

    @_in_error_schema(MembershipSerializer)
    @action(detail=True, methods=["post"])
    def in_error(self, request, pk=None):
        return self._in_error(request)


@extend_schema_view(list=extend_schema(summary="Addresses of cases you may see"))
class AddressViewSet(_EndAndInErrorMixin, CaseRecordViewSet):
    """Where a family lived and when: ended, or marked recorded in error."""

    serializer_class = AddressSerializer
    filterset_class = AddressFilter
    label = "address"

    def scoped_queryset(self):
        return policy.visible_related(self.request.user, Address.objects.all())

    @extend_schema(
        request=AddressCreateSerializer,
        responses={201: AddressSerializer},
        summary="The family has moved: the current address ends the day before",
    )
    def create(self, request):
        data = self.input(AddressCreateSerializer)
        address = services.address_add(actor=request.user, **data)
        return self.respond(address, "API added address", status.HTTP_201_CREATED)

    def end_record(self, record, data):
        services.address_end(actor=self.request.user, address=record, end_date=data["end_date"])

    @extend_schema(
        request=EndSerializer,
        responses=AddressSerializer,
        summary="The family left and where they went is not known",
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._end(request)

    @_in_error_schema(AddressSerializer)
    @action(detail=True, methods=["post"])
    def in_error(self, request, pk=None):
        return self._in_error(request)


@extend_schema_view(list=extend_schema(summary="Child protection plans on cases you may see"))
class PlanViewSet(_EndAndInErrorMixin, CaseRecordViewSet):
    """Child protection plans: ended, or marked recorded in error, never deleted."""

    serializer_class = PlanSerializer
    filterset_class = PlanFilter
    end_serializer = EndWithReasonSerializer
    label = "child protection plan"

    def scoped_queryset(self):
        return policy.visible_related(
            self.request.user, ChildProtectionPlan.objects.select_related("child")
        )

    @extend_schema(
        request=PlanCreateSerializer,
        responses={201: PlanSerializer},
        summary="Start a child protection plan",
    )
    def create(self, request):
        data = self.input(PlanCreateSerializer)
        plan = services.plan_start(actor=request.user, **data)
        return self.respond(plan, "API started child protection plan", status.HTTP_201_CREATED)

    def end_record(self, record, data):
        services.plan_end(
            actor=self.request.user, plan=record, end_date=data["end_date"], reason=data["reason"]
        )

    @extend_schema(
        request=EndWithReasonSerializer, responses=PlanSerializer, summary="End the plan"
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._end(request)

    @_in_error_schema(PlanSerializer)
    @action(detail=True, methods=["post"])
    def in_error(self, request, pk=None):
        return self._in_error(request)


@extend_schema_view(
    list=extend_schema(summary="Hazards on cases you may see and on the people on them now")
)
class HazardViewSet(_EndAndInErrorMixin, CaseRecordViewSet):
    """What a visitor must know before they knock, on a case or on a person."""

    serializer_class = HazardSerializer
    filterset_class = HazardFilter
    label = "hazard"

    def scoped_queryset(self):
        user = self.request.user
        return Hazard.objects.select_related("person").filter(
            Q(case__in=_visible_case_ids(user))
            | Q(person__in=_people_now_on_visible_cases(user, timezone.localdate()))
        )

    def case_ids_of(self, hazards):
        ids = {h.case_id for h in hazards if h.case_id}
        people = [h.person_id for h in hazards if h.person_id]
        if people:
            ids |= set(
                Membership.objects.filter(
                    Membership.active_on_q(timezone.localdate()),
                    person__in=people,
                    case__in=_visible_case_ids(self.request.user),
                ).values_list("case_id", flat=True)
            )
        return ids

    @extend_schema(
        request=HazardCreateSerializer,
        responses={201: HazardSerializer},
        summary="Add a hazard about a case or about one person",
    )
    def create(self, request):
        data = self.input(HazardCreateSerializer)
        hazard = services.hazard_add(actor=request.user, **data)
        return self.respond(hazard, "API added hazard", status.HTTP_201_CREATED)

    def end_record(self, record, data):
        services.hazard_end(actor=self.request.user, hazard=record, end_date=data["end_date"])

    @extend_schema(request=EndSerializer, responses=HazardSerializer, summary="End the hazard")
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._end(request)

    @_in_error_schema(HazardSerializer)
    @action(detail=True, methods=["post"])
    def in_error(self, request, pk=None):
        return self._in_error(request)


@extend_schema_view(
    list=extend_schema(summary="Meetings on cases you may see"),
    retrieve=extend_schema(summary="A meeting (404 if you may not see its case)"),
)
class MeetingViewSet(_EndAndInErrorMixin, CaseRecordViewSet):
    """Meetings about a family. One of the kind an escalation requires, held on or after
    the day it fired, meets it: on time by its deadline, late after."""

    serializer_class = MeetingSerializer
    filterset_class = MeetingFilter
    label = "meeting"

    def scoped_queryset(self):
        return policy.visible_related(
            self.request.user,
            Meeting.objects.prefetch_related("staff_attendees", "agencies", "escalations_met"),
        )

    @extend_schema(
        request=MeetingCreateSerializer,
        responses={201: MeetingSerializer},
        summary="Record a meeting, meeting any escalation that asks for it",
    )
    def create(self, request):
        data = self.input(MeetingCreateSerializer)
        meeting = services.meeting_record(actor=request.user, **data)
        return self.respond(
            self.get_queryset().get(pk=meeting.pk), "API recorded meeting", status.HTTP_201_CREATED
        )

    @_in_error_schema(MeetingSerializer)
    @action(detail=True, methods=["post"])
    def in_error(self, request, pk=None):
        """The escalations it met are worked out again (open, overdue or met by another
        meeting)."""
        return self._in_error(request)

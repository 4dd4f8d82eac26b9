"""Visits over REST, under /api/v1/visits/ (DESIGN.md sections 2-3).

The same shape as cases/api.py: input serializers check what was sent, then a
service in `visits.services` decides and writes with the acting user on the
history row. Visits are narrowed to the cases the user may see (anything else is
404), every read is written to the access log, and nothing is deleted: a wrong
visit is marked recorded in error.

Recording an outcome names children and people by id; they must be on the
visit's case (400 otherwise). Whether a child lived in the household that day is
the service's check; its errors come back beside the child they are about.
"""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.settings import api_settings

from accounts import policy
from accounts.models import Agency, User
from cases.api import (
    CaseRecordFilter,
    CaseRecordViewSet,
    ReasonSerializer,
    VisibleCaseField,
)
from cases.models import Person
from common.concurrency import EditConflict
from common.errors import drf_validation_error

from . import services
from .models import ChildSeen, Observation, Visit

# --- Output serializers ---------------------------------------------------------------


class ChildSeenSerializer(serializers.ModelSerializer):
    child_name = serializers.CharField(source="child.full_name", read_only=True)

    class Meta:
        model = ChildSeen
        fields = [
            "id",
            "child",
            "child_name",
            "seen",
            "seen_alone",
            "reason_not_seen",
            "bedroom_seen",
            "child_views",
            "presentation",
        ]
        read_only_fields = fields


class ObservationSerializer(serializers.ModelSerializer):
    adult_name = serializers.CharField(source="adult.full_name", read_only=True, allow_null=True)
    child_name = serializers.CharField(source="child.full_name", read_only=True, allow_null=True)

    class Meta:
        model = Observation
        fields = ["id", "adult", "adult_name", "child", "child_name", "what_was_seen", "analysis"]
        read_only_fields = fields


class VisitSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)
    default_reason = serializers.ChoiceField(
        choices=Visit.DefaultReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="How the family defeated the visit; blank unless it was defaulted",
    )
    default_reason_display = serializers.CharField(
        source="get_default_reason_display", read_only=True
    )
    lead_worker_name = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField(
        help_text="Send it back with a record (correction) to be refused if someone "
        "changed the visit, its children's rows or its observations since"
    )
    children = ChildSeenSerializer(
        many=True, read_only=True, help_text="Each child: seen, seen alone, their views (R5)"
    )
    observations = ObservationSerializer(
        many=True,
        read_only=True,
        help_text="What the worker saw of parent-child interaction (R7)",
    )

    class Meta:
        model = Visit
        fields = [
            "id",
            "case",
            "planned_for",
            "kind",
            "kind_display",
            "announced",
            "lead_worker",
            "lead_worker_name",
            "joint_worker",
            "joint_agency",
            "purpose",
            "outcome",
            "outcome_display",
            "default_reason",
            "default_reason_display",
            "occurred_at",
            "present_members",
            "others_present",
            "parent_report",
            "notes",
            "children",
            "observations",
            "outcome_recorded_at",
            "outcome_recorded_by",
            "created_at",
            "created_by",
            "in_error",
            "in_error_reason",
            "in_error_at",
            "version",
        ]
        read_only_fields = fields

    def get_lead_worker_name(self, visit) -> str:
        return visit.lead_worker.get_full_name() or visit.lead_worker.username

    def get_version(self, visit) -> str:
        return services.visit_version(visit)


# --- Input serializers ----------------------------------------------------------------


def _text(max_length, **kwargs):
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, default="", **kwargs
    )


class VisitPlanSerializer(serializers.Serializer):
    case = VisibleCaseField()
    planned_for = serializers.DateTimeField()
    kind = serializers.ChoiceField(
        choices=Visit.Kind.choices, required=False, default=Visit.Kind.HOME
    )
    announced = serializers.BooleanField(required=False, default=True)
    lead_worker = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Who leads the visit (user id); you if left out",
    )
    joint_worker = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="A colleague visiting too (user id)",
    )
    joint_agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.filter(active=True),
        required=False,
        allow_null=True,
        help_text="Another agency visiting too (id)",
    )
    purpose = _text(2000)

    def validate(self, data):
        case = data["case"]
        errors = {}
        for field in ("lead_worker", "joint_worker"):
            user = data.get(field)
            if user is not None and not policy.can_view_case(user, case):
                errors[field] = [f"{user} cannot see this case"]
        if errors:
            raise exceptions.ValidationError(errors)
        return data


class CasePersonField(serializers.PrimaryKeyRelatedField):
    """A person id that must be on the visit's case (recorded in error or not, past or
    present: whether they were in the household that day is the service's check)."""

    default_error_messages = {"does_not_exist": "Person {pk_value} is not on this case"}

    def __init__(self, **kwargs):
        super().__init__(queryset=Person.objects.none(), **kwargs)

    def get_queryset(self):
        case = self.context["visit"].case
        return Person.objects.filter(memberships__case=case, memberships__in_error=False).distinct()


class ChildSeenInputSerializer(serializers.Serializer):
    child = CasePersonField(help_text="A child on the case (person id)")
    seen = serializers.BooleanField()
    seen_alone = serializers.BooleanField(required=False, default=False)
    reason_not_seen = _text(500, help_text="Why not seen, or not seen alone")
    bedroom_seen = serializers.BooleanField(required=False, allow_null=True, default=None)
    child_views = _text(5000, help_text="The child's views, in their own words")
    presentation = _text(5000, help_text="How the child presented: your view")

    def validate(self, data):
        if data["seen_alone"] and not data["seen"]:
            raise exceptions.ValidationError(
                {"seen_alone": ["A child cannot be seen alone without being seen"]}
            )
        return data


class ObservationInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="To correct an observation of this visit: its id (what was seen and the "
        "analysis change; who was observed stays). Left out: a new observation",
    )
    adult = CasePersonField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The parent or carer observed (person id)",
    )
    child = CasePersonField(
        required=False, allow_null=True, default=None, help_text="The child observed (person id)"
    )
    what_was_seen = serializers.CharField(
        max_length=5000, help_text="What you saw yourself, not what you were told"
    )
    analysis = _text(5000)


def _kept_text(max_length, **kwargs):
    """Text that, left out of a record, keeps what is stored."""
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class VisitRecordSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=Visit.Outcome.choices,
        help_text="What happened: completed, defaulted (the family defeated it) or "
        "cancelled (by the worker, not a default); not planned",
    )
    occurred_at = serializers.DateTimeField(help_text="When it really happened (not future)")
    default_reason = serializers.ChoiceField(
        choices=Visit.DefaultReason.choices,
        required=False,
        allow_blank=True,
        help_text="How the family defeated the visit; only for a defaulted one (left out: "
        "as stored while it stays defaulted)",
    )
    children = ChildSeenInputSerializer(
        many=True,
        required=False,
        default=list,
        help_text="The children whose part to record; a child left out keeps what is stored",
    )
    observations = ObservationInputSerializer(
        many=True,
        required=False,
        default=list,
        help_text="New observations, and corrections of stored ones (with their id); the "
        "observations left out stay as they are",
    )
    present_members = serializers.ListField(
        child=CasePersonField(),
        required=False,
        help_text="Household members present (person ids); left out: as stored",
    )
    others_present = _kept_text(2000, help_text="Anyone else there; left out: as stored")
    parent_report = _kept_text(
        10000, help_text="What the parents or carers said; left out: as stored"
    )
    notes = _kept_text(10000, help_text="Left out: as stored")
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The visit's version as read (`version`): refused if it changed since",
    )

    def validate_children(self, children):
        ids = [c["child"].pk for c in children]
        if len(ids) != len(set(ids)):
            raise exceptions.ValidationError("Each child can be listed once")
        return children

    def validate_observations(self, observations):
        ids = [o["id"] for o in observations if o["id"] is not None]
        if len(ids) != len(set(ids)):
            raise exceptions.ValidationError("Each observation can be corrected once")
        return observations

    def to_outcome(self) -> services.Outcome:
        data = dict(self.validated_data)
        data.pop("version", None)
        data["children"] = [services.ChildSeenInput(**c) for c in data["children"]]
        data["observations"] = [
            services.ObservationInput(
                observation_id=o["id"],
                what_was_seen=o["what_was_seen"],
                analysis=o["analysis"],
                adult=o["adult"],
                child=o["child"],
            )
            for o in data["observations"]
        ]
        return services.Outcome(**data)


_ITEM_KEY = re.compile(r"^(children|observations)-(\d+)$")


def _record_errors(exc: DjangoValidationError) -> exceptions.ValidationError:
    """The service names an error about the 2nd child `children-1`; give it back where
    DRF puts errors about one item of a list: {"children": {"1": {"non_field_errors":
    [...]}}}, as for a child id not on the case."""
    detail = drf_validation_error(exc).detail
    out = {}
    for key, messages in detail.items():
        match = _ITEM_KEY.match(key)
        if match:
            items = out.setdefault(match[1], {})
            if isinstance(items, dict):
                items[int(match[2])] = {api_settings.NON_FIELD_ERRORS_KEY: list(messages)}
                continue
        out.setdefault(key, []).extend(messages)
    return exceptions.ValidationError(out)


# --- Filters --------------------------------------------------------------------------


class VisitFilter(CaseRecordFilter):
    outcome = filters.ChoiceFilter(choices=Visit.Outcome.choices)

    class Meta:
        model = Visit
        fields = ["case", "outcome", "in_error"]


# --- Viewsets -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Visits on cases you may see, latest planned first",
        description="Filter by case id, outcome or in_error.",
    ),
    retrieve=extend_schema(
        summary="A visit with the children seen and what was observed "
        "(404 if you may not see its case)"
    ),
)
class VisitViewSet(CaseRecordViewSet):
    """Planned contacts with a family and what happened. Marked in error, never deleted."""

    serializer_class = VisitSerializer
    filterset_class = VisitFilter
    label = "visit"

    def scoped_queryset(self):
        return policy.visible_related(
            self.request.user,
            Visit.objects.select_related("lead_worker").prefetch_related(
                "children__child",
                "observations__adult",
                "observations__child",
                "present_members",
            ),
        )

    def fresh(self, visit):
        return self.get_queryset().get(pk=visit.pk)

    def people_by_case(self, visits):
        """The children each visit names (seen or not) and the people it names as present
        or observed, all read with the visits."""
        found: dict[int | None, list[int]] = {}
        for visit in visits:
            people = found.setdefault(visit.case_id, [])
            people += [row.child_id for row in visit.children.all()]
            people += [p.pk for p in visit.present_members.all()]
            for o in visit.observations.all():
                people += [pk for pk in (o.adult_id, o.child_id) if pk]
        return found

    @extend_schema(
        request=VisitPlanSerializer, responses={201: VisitSerializer}, summary="Plan a visit"
    )
    def create(self, request):
        data = self.input(VisitPlanSerializer)
        visit = services.visit_plan(actor=request.user, **data)
        return self.respond(self.fresh(visit), "API planned visit", status.HTTP_201_CREATED)

    @extend_schema(
        request=VisitRecordSerializer,
        responses=VisitSerializer,
        summary="Record what happened: the outcome, children seen and observations",
        description="Also after the fact, with the real time. Children and people are "
        "ids of people on the visit's case; each child listed must have lived "
        "in the household that day and been born by then (an unborn baby is not seen). "
        "Recording it again corrects it: what is sent replaces what is stored, what is "
        "left out is kept, new observations are added once and an observation sent with "
        "its id is corrected; sending what is stored changes nothing. Send the visit's "
        "`version` to be refused if someone changed it since you read it. A defaulted "
        "visit counts towards the defaulted-visits escalation (R1), evaluated once it is "
        "saved.",
    )
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        visit = self.get_object()
        serializer = VisitRecordSerializer(
            data=request.data, context={**self.get_serializer_context(), "visit": visit}
        )
        serializer.is_valid(raise_exception=True)
        try:
            services.visit_record(
                actor=request.user,
                visit=visit,
                data=serializer.to_outcome(),
                version=serializer.validated_data.get("version") or None,
            )
        except EditConflict:
            raise  # 409, as on every resource (common.api)
        except DjangoValidationError as exc:
            raise _record_errors(exc) from exc
        return self.respond(self.fresh(visit), "API recorded visit")

    @extend_schema(
        request=ReasonSerializer,
        responses=VisitSerializer,
        summary="Mark as recorded in error (kept, with the reason; never deleted)",
    )
    @action(detail=True, methods=["post"])
    def in_error(self, request, pk=None):
        visit = self.get_object()
        data = self.input(ReasonSerializer)
        services.visit_mark_in_error(actor=request.user, visit=visit, reason=data["reason"])
        return self.respond(self.fresh(visit), "API marked visit in error")

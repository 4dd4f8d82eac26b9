"""Cases, and the escalations on them (R1-R4), under /api/v1/cases/."""

from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import access, policy
from accounts.models import Team, User
from common.api import CONFLICT, ID_SCHEMA, Conflict, IdFilter, version_input

from .. import queries, services
from ..models import Case, Escalation
from .base import CaseRecordViewSet, ReasonSerializer
from .serializers import CaseSerializer, EscalationSerializer


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


class CaseAllocateSerializer(serializers.Serializer):
    workers = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        many=True,
        allow_empty=True,
        help_text="Everyone to be allocated (replaces the current allocation): at least "
        "one, social work staff of the case's team",
    )


class EscalationRaiseSerializer(serializers.Serializer):
    trigger_date = serializers.DateField(help_text="Day 0: the date of the concern")
    reason = serializers.CharField(max_length=2000, help_text="The non-compliance concern")


class EscalationCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class EscalationUpdateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="The non-compliance concern")
    version = version_input()


ESCALATION_ID = OpenApiParameter(
    "escalation_id", ID_SCHEMA, OpenApiParameter.PATH, description="The escalation's id"
)


class CaseFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Case.Status.choices)
    reference = filters.CharFilter(field_name="reference", lookup_expr="exact")
    team = IdFilter(field_name="team_id", help_text="Team id")

    class Meta:
        model = Case
        fields = ["status", "reference", "team"]


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
            access.record(self.request, case=case, what=what, via=access.Via.API)

    def get_object(self):
        try:
            return policy.get_case_for(self.request.user, self.get_queryset(), self.kwargs["pk"])
        except Http404:
            self.log_refused(self.kwargs["pk"])
            raise

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
        methods=["GET"],
        request=None,
        responses=EscalationSerializer,
        parameters=[ESCALATION_ID],
        summary="An escalation on the case",
    )
    @extend_schema(
        methods=["PATCH"],
        request=EscalationUpdateSerializer,
        responses={200: EscalationSerializer, 409: OpenApiResponse(description=CONFLICT)},
        parameters=[ESCALATION_ID],
        summary="Correct the concern of an open or overdue non-compliance escalation",
        description="By those who may raise one. The reason of a defaulted-visits "
        "escalation is the rule's, and a met or cancelled one stands as it closed (403).",
    )
    @action(
        detail=True,
        methods=["get", "patch"],
        url_name="escalation-detail",
        url_path="escalations/<id:escalation_id>",
        filter_backends=[],
        pagination_class=None,
    )
    def escalation_detail(self, request, pk=None, escalation_id=None):
        case = self.get_object()
        escalation = get_object_or_404(case.escalations.all(), pk=escalation_id)
        if request.method == "PATCH":
            data = self.input(EscalationUpdateSerializer, partial=True)
            escalation = services.escalation_update(
                actor=request.user,
                escalation=escalation,
                reason=data.get("reason", escalation.reason),
                version=data.get("version"),
            )
            self.log([case], "API changed escalation")
        else:
            self.log([case], "API read escalation")
        return Response(
            EscalationSerializer(escalation, context=self.get_serializer_context()).data
        )

    @extend_schema(
        request=EscalationCancelSerializer,
        responses=EscalationSerializer,
        parameters=[ESCALATION_ID],
        summary="Cancel an open or overdue escalation, with the reason (managers)",
    )
    @action(
        detail=True,
        methods=["post"],
        url_name="escalation-cancel",
        url_path="escalations/<id:escalation_id>/cancel",
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

    @extend_schema(
        request=EscalationCancelSerializer,
        responses=EscalationSerializer,
        parameters=[ESCALATION_ID],
        summary="Keep an escalation whose trigger was withdrawn, with the reason (managers)",
    )
    @action(
        detail=True,
        methods=["post"],
        url_name="escalation-keep",
        url_path="escalations/<id:escalation_id>/keep",
    )
    def escalation_keep(self, request, pk=None, escalation_id=None):
        case = self.get_object()
        escalation = get_object_or_404(case.escalations.all(), pk=escalation_id)
        data = self.input(EscalationCancelSerializer)
        escalation = services.escalation_keep(
            actor=request.user, escalation=escalation, reason=data["reason"]
        )
        self.log([case], "API kept escalation")
        return Response(
            EscalationSerializer(escalation, context=self.get_serializer_context()).data
        )

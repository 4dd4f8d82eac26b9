"""Addresses, child protection plans and hazards of a case."""

from django.db.models import Q
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action

from accounts import policy
from common.api import CONFLICT, IdFilter, ScopedPrimaryKeyField, version_input

from .. import queries, services
from ..models import Address, ChildProtectionPlan, Hazard, Membership, Person
from ..validators import validate_postcode
from .base import (
    CaseRecordFilter,
    CaseRecordViewSet,
    EndSerializer,
    EndWithReasonSerializer,
    VisibleCaseField,
    _EndAndInErrorMixin,
    _in_error_schema,
    _people_now_on_visible_cases,
    _text,
    _visible_case_ids,
)
from .serializers import AddressSerializer, HazardSerializer, PlanSerializer


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


class AddressUpdateSerializer(serializers.Serializer):
    """A correction of the address as it was recorded (give only what changes)."""

    line_1 = serializers.CharField(max_length=120)
    line_2 = _text(120)
    town = serializers.CharField(max_length=80)
    postcode = serializers.CharField(max_length=10, validators=[validate_postcode])
    start_date = serializers.DateField(
        help_text="The address before, if the move ended it, then ends the day before"
    )
    version = version_input()


class PlanUpdateSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=ChildProtectionPlan.Category.choices)
    start_date = serializers.DateField()
    version = version_input()


class HazardUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Hazard.Kind.choices)
    details = serializers.CharField(max_length=2000)
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True, help_text="null: active with no end")
    version = version_input()


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

    @extend_schema(
        request=AddressUpdateSerializer,
        responses={200: AddressSerializer, 409: OpenApiResponse(description=CONFLICT)},
        summary="Correct the address as it was recorded (a move is a new address)",
    )
    def partial_update(self, request, pk=None):
        address = self.get_object()
        data = self.input(AddressUpdateSerializer, partial=True)
        services.address_update(actor=request.user, address=address, **data)
        return self.respond(self.get_object(), "API changed address")

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

    @extend_schema(
        request=PlanUpdateSerializer,
        responses={200: PlanSerializer, 409: OpenApiResponse(description=CONFLICT)},
        summary="Correct the plan's category or start date",
    )
    def partial_update(self, request, pk=None):
        plan = self.get_object()
        data = self.input(PlanUpdateSerializer, partial=True)
        services.plan_update(actor=request.user, plan=plan, **data)
        return self.respond(self.get_object(), "API changed child protection plan")

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

    @extend_schema(
        request=HazardUpdateSerializer,
        responses={200: HazardSerializer, 409: OpenApiResponse(description=CONFLICT)},
        summary="Correct the hazard (who or what it is about stays)",
    )
    def partial_update(self, request, pk=None):
        hazard = self.get_object()
        data = self.input(HazardUpdateSerializer, partial=True)
        services.hazard_update(actor=request.user, hazard=hazard, **data)
        return self.respond(self.get_object(), "API changed hazard")

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

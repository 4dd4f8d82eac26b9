"""People (/api/v1/people/) and their membership of cases (/api/v1/memberships/)."""

from django.db.models import Q
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action

from accounts import policy
from common.api import CONFLICT, IdFilter, ScopedPrimaryKeyField, version_input

from .. import queries, services
from ..models import Membership, Person
from ..validators import validate_nhs_number, validate_upn
from .base import (
    CaseRecordFilter,
    CaseRecordViewSet,
    EndWithReasonSerializer,
    VisibleCaseField,
    _EndAndInErrorMixin,
    _in_error_schema,
    _text,
    _visible_case_ids,
)
from .serializers import MembershipSerializer, PersonSerializer


def _linkable_people(user):
    """People this user may add to a case through the API.

    Those already on a case they may see, and people they created who are on no
    case yet (made through POST /people/ just before). Finding someone known
    only on another team's case is the search-before-create page's job.
    """
    return Person.objects.filter(
        Q(pk__in=queries.people_for(user).values("pk"))
        | Q(created_by=user, memberships__isnull=True, merged_into__isnull=True)
    ).distinct()


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


class PersonUpdateSerializer(PersonInputSerializer):
    version = version_input()


class PersonMergeSerializer(serializers.Serializer):
    duplicate = ScopedPrimaryKeyField(
        scope=queries.findable_people,
        model=Person,
        help_text="The other record of this person (id): everything on it moves to this one",
    )
    reason = serializers.CharField(max_length=2000, help_text="Why they are one person")


class MembershipUpdateSerializer(serializers.Serializer):
    """A correction of the stay as it was recorded (give only what changes)."""

    relationship = serializers.ChoiceField(choices=Membership.Relationship.choices)
    lives_in_household = serializers.BooleanField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(
        allow_null=True, help_text="Corrects when they left; null if they did not leave"
    )
    end_reason = serializers.CharField(max_length=300, allow_blank=True)
    version = version_input()


class HouseholdSerializer(serializers.Serializer):
    lives_in_household = serializers.BooleanField()
    version = version_input()


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


class MembershipFilter(CaseRecordFilter):
    class Meta:
        model = Membership
        fields = ["case", "in_error"]


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
        return (
            queries.people_for(self.request.user)
            .prefetch_related("merged_records")
            .order_by("last_name", "first_name", "pk")
        )

    def case_ids_of(self, people):
        self._on_cases = list(
            Membership.objects.filter(
                person__in=[p.pk for p in people], case__in=_visible_case_ids(self.request.user)
            ).values_list("case_id", "person_id")
        )
        return {case_id for case_id, _ in self._on_cases}

    def people_by_case(self, people):
        """Each person in each case of theirs this user may see; in none, on their own."""
        found: dict[int | None, list[int]] = {}
        for case_id, person_id in dict.fromkeys(self._on_cases):
            found.setdefault(case_id, []).append(person_id)
        placed = {person_id for _, person_id in self._on_cases}
        alone = [p.pk for p in people if p.pk not in placed]
        if alone:
            found[None] = alone
        return found

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
        request=PersonUpdateSerializer,
        responses={200: PersonSerializer, 409: OpenApiResponse(description=CONFLICT)},
        summary="Change a person's details",
    )
    def partial_update(self, request, pk=None):
        person = self.get_object()
        data = self.input(PersonUpdateSerializer, partial=True)
        person = services.person_update(actor=request.user, person=person, **data)
        return self.respond(person, "API changed person")

    @extend_schema(
        request=PersonMergeSerializer,
        responses=PersonSerializer,
        summary="Merge another record of this person into this one",
        description="Managers and business support. Everything recorded on the duplicate "
        "moves to this record; the duplicate is kept, marked merged into this one, and "
        "left out of searches and lists. Refused (400) for a record merged with itself or "
        "already merged, records whose dates of birth, NHS numbers or unique pupil numbers "
        "differ, and records on one case, or on a plan, at the same time.",
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        person = self.get_object()
        data = self.input(PersonMergeSerializer)
        kept = services.person_merge(
            actor=request.user, keep=person, duplicate=data["duplicate"], reason=data["reason"]
        )
        return self.respond(self.scoped_queryset().get(pk=kept.pk), "API merged people")


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
        responses={200: MembershipSerializer, 409: OpenApiResponse(description=CONFLICT)},
        summary="Correct the stay as it was recorded",
        description="Stays of one person on one case may not overlap. To record that "
        "they have moved in or out since, POST to household/; that they left, to end/.",
    )
    def partial_update(self, request, pk=None):
        membership = self.get_object()
        data = self.input(MembershipUpdateSerializer, partial=True)
        services.membership_update(actor=request.user, membership=membership, **data)
        return self.respond(self.get_object(), "API changed membership")

    @extend_schema(
        request=HouseholdSerializer,
        responses={200: MembershipSerializer, 409: OpenApiResponse(description=CONFLICT)},
        summary="Record that they have moved in or out of the household",
    )
    @action(detail=True, methods=["post"])
    def household(self, request, pk=None):
        membership = self.get_object()
        data = self.input(HouseholdSerializer)
        services.membership_set_household(actor=request.user, membership=membership, **data)
        return self.respond(self.get_object(), "API changed household")

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

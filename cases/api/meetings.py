"""Meetings about a family (/api/v1/meetings/)."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action

from accounts import policy
from accounts.models import Agency, User
from common.api import CONFLICT, ScopedPrimaryKeyField, version_input

from .. import services
from ..models import Escalation, Meeting
from .base import (
    CaseRecordFilter,
    CaseRecordViewSet,
    VisibleCaseField,
    _EndAndInErrorMixin,
    _in_error_schema,
    _text,
    _visible_case_ids,
)
from .serializers import MeetingSerializer


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


class MeetingUpdateSerializer(serializers.Serializer):
    """A correction of what the meeting recorded (give only what changes). Its kind and
    date change only if that changes no escalation it meets: otherwise mark it as
    recorded in error and record it again."""

    kind = serializers.ChoiceField(choices=Meeting.Kind.choices)
    held_on = serializers.DateField()
    chair = serializers.CharField(max_length=120)
    decisions = serializers.CharField(max_length=10000)
    actions = _text(10000)
    staff_attendees = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        many=True,
        help_text="Everyone from the staff who attended (user ids; replaces the list)",
    )
    agencies = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(),
        many=True,
        help_text="Every agency represented (ids; replaces the list)",
    )
    other_attendees = _text(2000, help_text="Family members and anyone else, one per line")
    version = version_input()


class MeetingFilter(CaseRecordFilter):
    kind = filters.ChoiceFilter(choices=Meeting.Kind.choices)

    class Meta:
        model = Meeting
        fields = ["case", "kind", "in_error"]


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

    @extend_schema(
        request=MeetingUpdateSerializer,
        responses={200: MeetingSerializer, 409: OpenApiResponse(description=CONFLICT)},
        summary="Correct what the meeting recorded",
    )
    def partial_update(self, request, pk=None):
        meeting = self.get_object()
        data = self.input(MeetingUpdateSerializer, partial=True)
        services.meeting_update(actor=request.user, meeting=meeting, **data)
        return self.respond(self.get_object(), "API changed meeting")

    @_in_error_schema(MeetingSerializer)
    @action(detail=True, methods=["post"])
    def in_error(self, request, pk=None):
        """The escalations it met are worked out again (open, overdue or met by another
        meeting)."""
        return self._in_error(request)

"""Output serializers of the case record: for reads only."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import version_output

from .. import queries, services
from ..models import (
    Address,
    Case,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    Person,
)
from .base import WorkerSerializer


class HazardSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.full_name", read_only=True, allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    version = version_output()

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
            "version",
        ]
        read_only_fields = fields

    def get_version(self, hazard) -> str:
        return services.hazard_version(hazard)


class EscalationSerializer(serializers.ModelSerializer):
    """An escalation and its deadline (R1-R4): what everyone who visits must know."""

    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    required_meeting_display = serializers.CharField(
        source="get_required_meeting_display", read_only=True
    )
    raised_by_name = serializers.SerializerMethodField()
    version = version_output()

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
            "trigger_withdrawn_at",
            "trigger_withdrawn_count",
            "kept_at",
            "kept_reason",
            "raised_by",
            "raised_by_name",
            "created_at",
            "met_by",
            "met_on",
            "overdue_at",
            "cancelled_by",
            "cancelled_reason",
            "closed_at",
            "version",
        ]
        read_only_fields = fields

    def get_version(self, escalation) -> str:
        return services.escalation_version(escalation)

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
    version = version_output()
    merged_from = serializers.PrimaryKeyRelatedField(
        source="merged_records",
        many=True,
        read_only=True,
        help_text="Other records of this person merged into this one (ids)",
    )

    class Meta:
        model = Person
        fields = ["id", "full_name", *services.PERSON_FIELDS, "merged_from", "version"]
        read_only_fields = fields

    def get_version(self, person) -> str:
        return services.person_version(person)


class MembershipSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.full_name", read_only=True)
    relationship_display = serializers.CharField(source="get_relationship_display", read_only=True)
    version = version_output()

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
            "version",
        ]
        read_only_fields = fields

    def get_version(self, membership) -> str:
        return services.membership_version(membership)


class AddressSerializer(serializers.ModelSerializer):
    version = version_output()

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
            "version",
        ]
        read_only_fields = fields

    def get_version(self, address) -> str:
        return services.address_version(address)


class PlanSerializer(serializers.ModelSerializer):
    child_name = serializers.CharField(source="child.full_name", read_only=True)
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    version = version_output()

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
            "version",
        ]
        read_only_fields = fields

    def get_version(self, plan) -> str:
        return services.plan_version(plan)


class MeetingListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        meetings = list(data.all() if hasattr(data, "all") else data)
        services.meetings_read_attendance(meetings)  # their versions, in two queries
        return super().to_representation(meetings)


class MeetingSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    escalations_met = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Escalations this meeting met (ids)"
    )
    version = version_output()

    class Meta:
        list_serializer_class = MeetingListSerializer
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
            "version",
        ]
        read_only_fields = fields

    def get_version(self, meeting) -> str:
        return services.meeting_version(meeting)

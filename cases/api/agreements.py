"""Written agreements with a family, and their breaches: read only (they are made,
corrected and ended on the case's pages)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from accounts import policy

from ..models import AgreementBreach, WrittenAgreement
from .base import CaseRecordFilter, CaseRecordViewSet


class AgreementBreachSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgreementBreach
        fields = [
            "id",
            "occurred_on",
            "what_happened",
            "visit",
            "in_error",
            "in_error_reason",
            "in_error_at",
        ]
        read_only_fields = fields


class WrittenAgreementSerializer(serializers.ModelSerializer):
    consequences_display = serializers.ListField(
        source="consequence_labels", child=serializers.CharField(), read_only=True
    )
    breaches = AgreementBreachSerializer(many=True, read_only=True)

    class Meta:
        model = WrittenAgreement
        fields = [
            "id",
            "case",
            "unacceptable_behaviour",
            "family_agrees",
            "consequences",
            "consequence_other",
            "consequences_display",
            "agreed_by",
            "agreed_on",
            "review_due",
            "ended_on",
            "end_reason",
            "in_error",
            "in_error_reason",
            "in_error_at",
            "breaches",
        ]
        read_only_fields = fields


class WrittenAgreementFilter(CaseRecordFilter):
    class Meta:
        model = WrittenAgreement
        fields = ["case", "in_error"]


@extend_schema_view(
    list=extend_schema(summary="Written agreements on cases you may see, with their breaches"),
    retrieve=extend_schema(summary="A written agreement, with its breaches"),
)
class WrittenAgreementViewSet(CaseRecordViewSet):
    """Written agreements with a family: read only here."""

    http_method_names = ["get", "head", "options"]
    serializer_class = WrittenAgreementSerializer
    filterset_class = WrittenAgreementFilter
    label = "written agreement"

    def people_by_case(self, objects) -> dict[int | None, list[int]]:
        """The people each agreement names as agreeing to it, in its case."""
        found: dict[int | None, list[int]] = {}
        for agreement in objects:
            people = found.setdefault(agreement.case_id, [])
            people.extend(p.pk for p in agreement.agreed_by.all() if p.pk not in people)
        return found

    def scoped_queryset(self):
        return policy.visible_related(
            self.request.user,
            WrittenAgreement.objects.prefetch_related("agreed_by", "breaches").order_by(
                "-agreed_on", "-id"
            ),
        )

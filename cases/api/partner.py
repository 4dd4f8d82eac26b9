"""What partner systems read, with an OAuth2 client credentials token (docs/DECISIONS.md,
"API credentials"). These views accept partner tokens only, and partner tokens are
accepted nowhere else.

`GET /api/v1/partner/escalations/` (scope `escalations:read`): the open and overdue
escalations of the teams granted to the client, so that a partner visiting a family
knows a meeting is due. Case reference, kind, dates and state only: no names, no text
anyone typed, nothing from restricted cases.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer

from accounts import services as account_services
from accounts.partners import IsActivePartner, partner_of

from ..models import Case, Escalation


class PartnerEscalationSerializer(serializers.ModelSerializer):
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    fired_on = serializers.DateField(
        source="trigger_date", read_only=True, help_text="Day 0: the event that fired it"
    )
    due_by = serializers.DateField(
        source="due_date", read_only=True, help_text="The end of this day is the deadline"
    )

    class Meta:
        model = Escalation
        fields = ["id", "case_reference", "kind", "required_meeting", "fired_on", "due_by", "state"]
        read_only_fields = fields


class PartnerPagination(PageNumberPagination):
    page_size = 100


class PartnerView(generics.GenericAPIView):
    """The base of every partner view: partner tokens only, each call logged, no caching."""

    authentication_classes = [OAuth2Authentication]  # bearer tokens from /oauth/token/
    permission_classes = [IsActivePartner, TokenHasScope]
    renderer_classes = [JSONRenderer]
    required_scopes: list[str] = []

    def partner(self):
        return partner_of(getattr(self.request.auth, "application", None))

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        partner = partner_of(getattr(getattr(request, "_auth", None), "application", None))
        if partner is not None:
            account_services.partner_call_record(
                client=partner, request=request, status=response.status_code, now=timezone.now()
            )
        return response


@extend_schema(tags=["partner"])
class PartnerEscalationList(PartnerView, generics.ListAPIView):
    """Open and overdue escalations of the teams granted to the calling partner system,
    earliest deadline first."""

    required_scopes = ["escalations:read"]
    serializer_class = PartnerEscalationSerializer
    pagination_class = PartnerPagination
    filter_backends: list = []

    def get_queryset(self):
        partner = self.partner()
        if partner is None:  # the permissions refused it already; never a wide query
            return Escalation.objects.none()
        return (
            Escalation.objects.filter(
                state__in=Escalation.ACTIVE_STATES,
                case__team__in=partner.teams.filter(active=True),
                case__status=Case.Status.OPEN,
                case__restricted=False,
            )
            .select_related("case")
            .order_by("due_date", "id")
        )

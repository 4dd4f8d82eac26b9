"""What the case record's endpoints share: the querysets and fields scoped by the
policy, the base viewset that writes the access log, and small input serializers."""

import datetime

from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers

from accounts import access, policy
from common.api import IdFilter, RecordViewSet

from .. import queries, services
from ..models import Case, Membership


def _visible_case_ids(user):
    return queries.cases_for(user).values("pk")


def _people_now_on_visible_cases(user, today: datetime.date):
    """Ids of people on a case this user may see today (hazards on them are shown)."""
    return Membership.objects.filter(
        Membership.active_on_q(today), case__in=_visible_case_ids(user)
    ).values("person_id")


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


class WorkerSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.username


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


def _text(max_length, **kwargs):
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class EndSerializer(serializers.Serializer):
    end_date = serializers.DateField()


class EndWithReasonSerializer(EndSerializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CaseRecordFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id", help_text="Case id")
    in_error = filters.BooleanFilter()


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

    def people_by_case(self, objects) -> dict[int | None, list[int]]:
        """The people each response names, by the case it names them in (None: in no
        case's context): a record's person or child."""
        found: dict[int | None, list[int]] = {}
        for obj in objects:
            person = getattr(obj, "person_id", None) or getattr(obj, "child_id", None)
            if person is not None:
                found.setdefault(getattr(obj, "case_id", None), []).append(person)
        return found

    def log(self, objects, what: str) -> None:
        """Note for the access log one row per person the response names, in the case
        named with them; a case named with nobody, one row."""
        ids = self.case_ids_of(objects)
        people = self.people_by_case(objects)
        for case in Case.objects.filter(pk__in=ids).only("pk", "reference"):
            access.record(
                self.request,
                case=case,
                what=what,
                via=access.Via.API,
                people=people.pop(case.pk, []),
            )
        elsewhere = [p for pids in people.values() for p in pids]
        if elsewhere:
            access.record(self.request, what=what, via=access.Via.API, people=elsewhere)

    def log_refused(self, pk) -> None:
        """A record asked for by id that the policy refused (404), the id kept."""
        access.refused(
            self.request,
            what=f"API refused {self.label} {str(pk)[:20]}",
            via=access.Via.API,
            case_id=pk if self.label == "case" else None,
            person_id=pk if self.label == "person" else None,
        )

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            self.log_refused(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field))
            raise


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

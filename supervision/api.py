"""Supervision over REST, under /api/v1/supervision/ (R9).

The same shape as cases/api.py: input serializers check what was sent, services
decide and write. Who sees what is `supervision.queries`: sessions (with the
worker's wellbeing), discussions and actions only for the supervisee, the
supervisor and their managers (and an action's owner); decisions for everyone who
may see the case, without anything from the session. Anything else is 404. Reads
that carry part of a case record are written to the access log.
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import policy
from accounts.models import User
from cases.api import CaseRecordViewSet, VisibleCaseField
from common.api import IdFilter, version_input, version_output

from . import queries, services
from .models import QUESTION_FIELDS, Action, CaseDiscussion, Decision, SupervisionSession

# --- Output serializers ---------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    version = version_output()

    class Meta:
        model = Decision
        fields = [
            "id",
            "case",
            "decision",
            "reasons",
            "decided_on",
            "created_at",
            "created_by",
            "version",
        ]
        read_only_fields = fields

    def get_version(self, record) -> str:
        return services.decision_version(record)


# Plain strings, not choice fields, for `status` and `kind`: the schema's enum names
# would collide with the case record's (the services check the values).
STATUS_HELP = ", ".join(Action.Status.values)


class ActionSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=STATUS_HELP)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    session = serializers.IntegerField(source="discussion.session_id", read_only=True)
    version = version_output()

    class Meta:
        model = Action
        fields = [
            "id",
            "session",
            "discussion",
            "case",
            "description",
            "owner",
            "due_date",
            "status",
            "status_display",
            "completed_at",
            "completed_by",
            "created_at",
            "created_by",
            "version",
        ]
        read_only_fields = fields

    def get_version(self, record) -> str:
        return services.action_version(record)


class DiscussionSerializer(serializers.ModelSerializer):
    decisions = DecisionSerializer(many=True, read_only=True)
    actions = ActionSerializer(many=True, read_only=True)

    class Meta:
        model = CaseDiscussion
        fields = [
            "id",
            "session",
            "case",
            "lived_experience",
            *[f for q in QUESTION_FIELDS for f in (q, f"{q}_not_discussed")],
            "decisions",
            "actions",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields


class SessionSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(
        read_only=True, help_text=", ".join(SupervisionSession.Kind.values)
    )
    status = serializers.CharField(
        read_only=True, help_text=", ".join(SupervisionSession.Status.values)
    )
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    discussions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    version = version_output()

    class Meta:
        model = SupervisionSession
        fields = [
            "id",
            "supervisee",
            "supervisor",
            "date",
            "kind",
            "kind_display",
            "status",
            "status_display",
            "cancelled_reason",
            "cancelled_at",
            "cancelled_by",
            "rearranged_as",
            "most_worried_case",
            "most_worried_why",
            "least_worried_case",
            "least_worried_why",
            "wellbeing_impact",
            "wellbeing_support",
            "held_at",
            "signed_off_at",
            "signed_off_by",
            "discussions",
            "created_at",
            "created_by",
            "version",
        ]
        read_only_fields = fields

    def get_version(self, record) -> str:
        return services.session_version(record)

    def to_representation(self, session):
        """As on the session page: a worry about a case the reader may not see is not
        named, and nor is the reason given for it."""
        data = super().to_representation(session)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for which in ("most", "least"):
            case = getattr(session, f"{which}_worried_case")
            if case is not None and not policy.can_view_case(user, case):
                data[f"{which}_worried_case"] = None
                data[f"{which}_worried_why"] = ""
        return data


# --- Input serializers ----------------------------------------------------------------


def _text(max_length, **kwargs):
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, default="", **kwargs
    )


class SessionCreateSerializer(serializers.Serializer):
    supervisee = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    date = serializers.DateField()
    kind = serializers.CharField(
        required=False,
        default=SupervisionSession.Kind.FORMAL,
        help_text=", ".join(SupervisionSession.Kind.values),
    )


class HoldSerializer(serializers.Serializer):
    date = serializers.DateField(required=False, allow_null=True, default=None)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)
    new_date = serializers.DateField()


class SessionUpdateSerializer(serializers.Serializer):
    most_worried_case = VisibleCaseField(required=False, allow_null=True)
    most_worried_why = _text(5000)
    least_worried_case = VisibleCaseField(required=False, allow_null=True)
    least_worried_why = _text(5000)
    wellbeing_impact = _text(5000)
    wellbeing_support = _text(5000)
    reason = _text(2000, help_text="Needed once the record is signed off")
    version = version_input(default="")


class DiscussionInputSerializer(serializers.Serializer):
    session = serializers.PrimaryKeyRelatedField(queryset=SupervisionSession.objects.none())
    case = VisibleCaseField()
    lived_experience = serializers.CharField(max_length=500)
    answers = serializers.DictField(
        child=serializers.CharField(max_length=5000, allow_blank=True),
        required=False,
        default=dict,
        help_text=f"Answers by question: {', '.join(QUESTION_FIELDS)}",
    )
    not_discussed = serializers.ListField(
        child=serializers.ChoiceField(choices=QUESTION_FIELDS), required=False, default=list
    )
    reason = _text(2000, help_text="Needed once the record is signed off")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["session"].queryset = queries.sessions_for(request.user)

    def validate_answers(self, answers):
        unknown = set(answers) - set(QUESTION_FIELDS)
        if unknown:
            raise exceptions.ValidationError(f"Unknown questions: {', '.join(sorted(unknown))}")
        return answers


class DecisionInputSerializer(serializers.Serializer):
    decision = serializers.CharField(max_length=5000)
    reasons = serializers.CharField(max_length=5000)
    reason = _text(2000, help_text="Needed once the record is signed off")


class ActionInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=2000)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    due_date = serializers.DateField()
    reason = _text(2000, help_text="Needed once the record is signed off")


class DecisionUpdateSerializer(serializers.Serializer):
    decision = serializers.CharField(max_length=5000, required=False)
    reasons = serializers.CharField(max_length=5000, required=False)
    reason = _text(2000, help_text="Needed once the record is signed off")
    version = version_input(default="")


class ActionUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=2000, required=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False
    )
    due_date = serializers.DateField(required=False)
    reason = _text(2000, help_text="Needed once the record is signed off")
    version = version_input(default="")


class ActionStatusSerializer(serializers.Serializer):
    status = serializers.CharField(help_text=STATUS_HELP)


# --- Viewsets -------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Supervision sessions you take part in or manage"),
    retrieve=extend_schema(
        summary="A supervision session, with the worker's wellbeing "
        "(404 unless you are its supervisee, supervisor or their "
        "manager)"
    ),
)
class SessionViewSet(CaseRecordViewSet):
    serializer_class = SessionSerializer
    label = "supervision session"

    def scoped_queryset(self):
        return queries.sessions_for(self.request.user).prefetch_related("discussions")

    def case_ids_of(self, objects):
        return {d.case_id for s in objects for d in s.discussions.all()}

    def fresh(self, session):
        return self.get_queryset().get(pk=session.pk)

    @extend_schema(
        request=SessionCreateSerializer,
        responses={201: SessionSerializer},
        summary="Arrange a session (you are the supervisor)",
    )
    def create(self, request):
        data = self.input(SessionCreateSerializer)
        session = services.session_create(actor=request.user, **data)
        return self.respond(
            self.fresh(session), "API arranged supervision", status.HTTP_201_CREATED
        )

    @extend_schema(
        request=SessionUpdateSerializer,
        responses=SessionSerializer,
        summary="Worries (most and least) and the worker's wellbeing",
    )
    def partial_update(self, request, pk=None):
        session = self.get_object()
        data = self.input(SessionUpdateSerializer, partial=True)
        services.session_update(actor=request.user, session=session, **data)
        return self.respond(self.fresh(session), "API changed supervision")

    @extend_schema(
        request=HoldSerializer, responses=SessionSerializer, summary="Record that it took place"
    )
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        session = self.get_object()
        data = self.input(HoldSerializer)
        services.session_hold(actor=request.user, session=session, date=data["date"])
        return self.respond(self.fresh(session), "API held supervision")

    @extend_schema(
        request=CancelSerializer,
        responses=SessionSerializer,
        summary="Cancel it: a reason and the new date are required",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        session = self.get_object()
        data = self.input(CancelSerializer)
        services.session_cancel(actor=request.user, session=session, **data)
        return self.respond(self.fresh(session), "API cancelled supervision")

    @extend_schema(
        request=None, responses=SessionSerializer, summary="Sign the record off (the supervisor)"
    )
    @action(detail=True, methods=["post"])
    def sign_off(self, request, pk=None):
        session = self.get_object()
        services.session_sign_off(actor=request.user, session=session)
        return self.respond(self.fresh(session), "API signed off supervision")


@extend_schema_view(
    list=extend_schema(summary="Case discussions in sessions you may see"),
    retrieve=extend_schema(summary="A case discussion with its decisions and actions"),
)
class DiscussionViewSet(CaseRecordViewSet):
    serializer_class = DiscussionSerializer
    label = "supervision discussion"

    def scoped_queryset(self):
        return queries.discussions_for(self.request.user).prefetch_related("decisions", "actions")

    @extend_schema(
        request=DiscussionInputSerializer,
        responses={201: DiscussionSerializer},
        summary="Discuss a case: each question answered or marked not discussed",
    )
    def create(self, request):
        data = self.input(DiscussionInputSerializer)
        session = data["session"]
        discussion = services.discussion_create(
            actor=request.user,
            session=session,
            case=data["case"],
            reason=data["reason"],
            data=services.Answers(
                lived_experience=data["lived_experience"],
                answers=data["answers"],
                not_discussed=set(data["not_discussed"]),
            ),
        )
        return self.respond(
            self.get_queryset().get(pk=discussion.pk),
            "API discussed case in supervision",
            status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=DecisionInputSerializer,
        responses={201: DecisionSerializer},
        summary="Record a decision with its reasons",
    )
    @action(detail=True, methods=["post"])
    def decisions(self, request, pk=None):
        discussion = self.get_object()
        data = self.input(DecisionInputSerializer)
        decision = services.decision_record(actor=request.user, discussion=discussion, **data)
        self.log([discussion], "API recorded supervision decision")
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ActionInputSerializer,
        responses={201: ActionSerializer},
        summary="Agree an action with an owner and a due date",
    )
    @action(detail=True, methods=["post"])
    def actions(self, request, pk=None):
        discussion = self.get_object()
        data = self.input(ActionInputSerializer)
        row = services.action_create(actor=request.user, discussion=discussion, **data)
        self.log([discussion], "API agreed supervision action")
        return Response(ActionSerializer(row).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Supervision actions you own or may see"),
    retrieve=extend_schema(summary="A supervision action"),
)
class ActionViewSet(CaseRecordViewSet):
    serializer_class = ActionSerializer
    label = "supervision action"

    def scoped_queryset(self):
        qs = queries.actions_for(self.request.user)
        if self.request.query_params.get("mine") in ("1", "true", "yes"):
            qs = qs.filter(owner=self.request.user)
        return qs

    @extend_schema(
        request=ActionUpdateSerializer,
        responses=ActionSerializer,
        summary="Change what needs doing, who will do it or when it is due",
    )
    def partial_update(self, request, pk=None):
        row = self.get_object()
        data = self.input(ActionUpdateSerializer, partial=True)
        services.action_update(
            actor=request.user,
            action=row,
            description=data.get("description", row.description),
            owner=data.get("owner", row.owner),
            due_date=data.get("due_date", row.due_date),
            reason=data.get("reason", ""),
            version=data.get("version"),
        )
        return self.respond(self.get_queryset().get(pk=row.pk), "API changed supervision action")

    @extend_schema(
        request=ActionStatusSerializer,
        responses=ActionSerializer,
        summary="Move it on; completing records who and when",
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        row = self.get_object()
        data = self.input(ActionStatusSerializer)
        services.action_set_status(actor=request.user, action=row, status=data["status"])
        return self.respond(self.get_queryset().get(pk=row.pk), "API changed supervision action")


class DecisionFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id", help_text="Case id")


@extend_schema_view(
    list=extend_schema(
        summary="Supervision decisions on cases you may see",
        description="Filter by case id with ?case=",
    ),
    retrieve=extend_schema(summary="A supervision decision (404 if you may not see its case)"),
)
class DecisionViewSet(CaseRecordViewSet):
    """Part of the case record: everyone who may see the case, nothing of the session."""

    serializer_class = DecisionSerializer
    filterset_class = DecisionFilter
    http_method_names = ["get", "patch", "head", "options"]
    label = "supervision decision"

    def scoped_queryset(self):
        return queries.decisions_for(self.request.user)

    @extend_schema(
        request=DecisionUpdateSerializer,
        responses=DecisionSerializer,
        summary="Change a decision or its reasons (whoever may record its session)",
    )
    def partial_update(self, request, pk=None):
        decision = self.get_object()
        data = self.input(DecisionUpdateSerializer, partial=True)
        services.decision_update(
            actor=request.user,
            decision=decision,
            text=data.get("decision", decision.decision),
            reasons=data.get("reasons", decision.reasons),
            reason=data.get("reason", ""),
            version=data.get("version"),
        )
        return self.respond(
            self.get_queryset().get(pk=decision.pk), "API changed supervision decision"
        )

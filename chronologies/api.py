"""The chronology over REST: /api/v1/cases/{case_pk}/chronology/ (list with filters, add
a manual entry, change significance, mark in error) and
/api/v1/cases/{case_pk}/chronology-exports/ (request, status, download). A redacted
export is only released once its requester has reviewed and approved it on the page.

The case comes first through the one policy (404 for anyone who may not see it), then
the input is checked; services decide and write. Every read and download is logged.
"""

import dataclasses

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import access
from accounts.models import Agency
from cases.api import CaseRecordViewSet, ReasonSerializer
from cases.models import Case, Person
from cases.queries import cases_for
from common.api import ID_PATTERN, MAX_ID, FileNegotiation, version_input, version_output

from . import queries, services
from .models import Category, ChronologyEntry, ChronologyExport, InformantType, Significance


class EntrySerializer(serializers.ModelSerializer):
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    source = serializers.CharField(source="source_label", read_only=True)
    date = serializers.CharField(source="date_label", read_only=True)
    recorded_in_error = serializers.BooleanField(source="is_struck", read_only=True)
    version = version_output()
    informant_type = serializers.ChoiceField(
        choices=InformantType.choices,
        allow_blank=True,
        read_only=True,
        help_text="Who gave the information, if a person did; blank otherwise",
    )

    class Meta:
        model = ChronologyEntry
        fields = [
            "id",
            "case",
            "occurred_on",
            "date_is_approximate",
            "date",
            "occurred_at",
            "category",
            "category_display",
            "source_type",
            "title",
            "details",
            "analysis",
            "action_taken",
            "children",
            "agency",
            "informant_type",
            "informant_name",
            "informant_address",
            "source",
            "significance",
            "recorded_in_error",
            "in_error",
            "in_error_reason",
            "source_in_error",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields

    def get_version(self, entry) -> str:
        return services.entry_version(entry)


class ManualEntrySerializer(serializers.Serializer):
    occurred_on = serializers.DateField()
    date_is_approximate = serializers.BooleanField(required=False, default=False)
    agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.filter(active=True), required=False, allow_null=True
    )
    informant_type = serializers.ChoiceField(
        choices=InformantType.choices, required=False, allow_blank=True, default=""
    )
    informant_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    informant_address = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    title = serializers.CharField(max_length=300)
    details = serializers.CharField(max_length=10000)
    analysis = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    action_taken = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    children = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), many=True, required=False, default=list
    )
    significance = serializers.ChoiceField(
        choices=Significance.choices, default=Significance.ROUTINE
    )


class EntryUpdateSerializer(serializers.Serializer):
    """A change to a manual entry: only the fields sent change. Sending an agency clears
    the kind of informant unless one is sent too, and the other way round."""

    occurred_on = serializers.DateField(required=False)
    date_is_approximate = serializers.BooleanField(required=False)
    agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(), required=False, allow_null=True
    )
    informant_type = serializers.ChoiceField(
        choices=InformantType.choices, required=False, allow_blank=True
    )
    informant_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    informant_address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    title = serializers.CharField(max_length=300, required=False)
    details = serializers.CharField(max_length=10000, required=False)
    analysis = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    action_taken = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    children = serializers.PrimaryKeyRelatedField(
        queryset=Person.objects.all(), many=True, required=False
    )
    significance = serializers.ChoiceField(choices=Significance.choices, required=False)
    version = version_input()


class SignificanceSerializer(serializers.Serializer):
    significance = serializers.ChoiceField(choices=Significance.choices)
    version = version_input()


class ExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    review_url = serializers.SerializerMethodField(
        help_text="A redacted export waits (status review) until the person who asked for "
        "it reviews and approves it on this page; null otherwise"
    )

    class Meta:
        model = ChronologyExport
        fields = [
            "id",
            "case",
            "format",
            "redacted",
            "in_error",
            "filters",
            "status",
            "progress",
            "rows",
            "pages",
            "requested_at",
            "finished_at",
            "expires_at",
            "download_url",
            "review_url",
        ]
        read_only_fields = fields

    def get_review_url(self, export) -> str | None:
        if not export.awaits_review:
            return None
        return reverse("chronologies:review", args=[export.case_id, export.pk])

    def get_download_url(self, export) -> str | None:
        if not export.is_ready:
            return None
        return f"/api/v1/cases/{export.case_id}/chronology-exports/{export.pk}/download/"


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=ChronologyExport.Format.choices)
    redacted = serializers.BooleanField(required=False, default=False)
    in_error = serializers.ChoiceField(
        choices=[("leave_out", "Leave out"), ("strike", "Strike through")],
        required=False,
        default="leave_out",
    )


SOURCE_PATTERN = (
    rf"^(?:{ChronologyEntry.RECORDED}|agency-{ID_PATTERN}"
    rf"|informant-(?:{'|'.join(InformantType.values)}))$"
)


class FilterSerializer(serializers.Serializer):
    """The chronology's filters in the query string: dates, ids and codes, never names.
    An empty value is no filter; anything else that is not one of these is a 400."""

    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    child = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Child (person) id"
    )
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    source = serializers.RegexField(
        SOURCE_PATTERN,
        required=False,
        max_length=40,
        help_text="recorded, agency-<id> or informant-<code>",
        error_messages={"invalid": "Give recorded, agency-<id> or informant-<code>"},
    )
    significance = serializers.ChoiceField(choices=Significance.choices, required=False)
    significant_only = serializers.BooleanField(required=False, default=False)

    def to_filters(self) -> queries.Filters:
        data = self.validated_data
        return queries.Filters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            child_id=data.get("child"),
            category=data.get("category", ""),
            source=data.get("source", ""),
            significance=data.get("significance", ""),
            significant_only=data["significant_only"],
        )


def filters_from(params) -> queries.Filters:
    serializer = FilterSerializer(data={k: v for k, v in params.items() if v != ""})
    serializer.is_valid(raise_exception=True)
    return serializer.to_filters()


class _CaseScoped(CaseRecordViewSet):
    def case(self) -> Case:
        try:
            return get_object_or_404(cases_for(self.request.user), pk=self.kwargs["case_pk"])
        except Http404:
            access.refused(
                self.request,
                what=f"API refused {self.label} of case",
                via=access.Via.API,
                case_id=self.kwargs["case_pk"],
            )
            raise


class ChronologyViewSet(_CaseScoped):
    serializer_class = EntrySerializer
    label = "chronology"

    def scoped_queryset(self):
        return queries.case_entries(self.case(), filters_from(self.request.query_params))

    def people_by_case(self, entries):
        """The children each entry concerns (read with the entries)."""
        found: dict[int | None, list[int]] = {}
        for entry in entries:
            found.setdefault(entry.case_id, []).extend(c.pk for c in entry.children.all())
        return found

    @extend_schema(parameters=[FilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ManualEntrySerializer, responses={201: EntrySerializer})
    def create(self, request, case_pk=None):
        case = self.case()
        data = self.input(ManualEntrySerializer)
        entry = services.entry_add_manual(
            actor=request.user, case=case, data=services.ManualEntryInput(**data)
        )
        return self.respond(entry, "API added chronology entry", status.HTTP_201_CREATED)

    def _entry(self, pk):
        return get_object_or_404(ChronologyEntry.objects.filter(case=self.case()), pk=pk)

    @extend_schema(request=EntryUpdateSerializer, responses=EntrySerializer)
    def partial_update(self, request, case_pk=None, pk=None):
        """Change a multi-agency entry typed in by hand (403 for an entry recorded from
        an event: change the record it came from)."""
        entry = self._entry(pk)
        data = dict(self.input(EntryUpdateSerializer, partial=True))
        version = data.pop("version", None)
        if data.get("agency") is not None and "informant_type" not in data:
            data["informant_type"] = ""
        if data.get("informant_type") and "agency" not in data:
            data["agency"] = None
        stored = services.entry_manual_input(entry)
        entry = services.entry_update(
            actor=request.user,
            entry=entry,
            data=dataclasses.replace(stored, **data),
            version=version,
        )
        return self.respond(self._entry(entry.pk), "API changed chronology entry")

    @extend_schema(request=ReasonSerializer, responses=EntrySerializer)
    @action(detail=True, methods=["post"], url_path="in-error")
    def in_error(self, request, case_pk=None, pk=None):
        entry = self._entry(pk)
        data = self.input(ReasonSerializer)
        entry = services.entry_mark_in_error(actor=request.user, entry=entry, reason=data["reason"])
        return self.respond(entry, "API marked chronology entry in error")

    @extend_schema(request=SignificanceSerializer, responses=EntrySerializer)
    @action(detail=True, methods=["post"])
    def significance(self, request, case_pk=None, pk=None):
        entry = self._entry(pk)
        data = self.input(SignificanceSerializer)
        entry = services.entry_set_significance(
            actor=request.user,
            entry=entry,
            significance=data["significance"],
            version=data.get("version"),
        )
        return self.respond(entry, "API changed chronology entry significance")


class ChronologyExportViewSet(_CaseScoped):
    serializer_class = ExportSerializer
    label = "chronology exports"

    def scoped_queryset(self):
        return ChronologyExport.objects.filter(case=self.case())

    def retrieve(self, request, case_pk=None, pk=None):
        export = get_object_or_404(self.get_queryset(), pk=pk)
        return self.respond(export, "API read chronology export status")

    @extend_schema(
        request=ExportRequestSerializer,
        responses={202: ExportSerializer},
        parameters=[FilterSerializer],
    )
    def create(self, request, case_pk=None):
        case = self.case()
        data = self.input(ExportRequestSerializer)
        filters = filters_from(request.query_params)
        export = services.export_request(
            actor=request.user, case=case, filters=filters.as_dict(), request=request, **data
        )
        if export.awaits_review:
            # Released only once reviewed and approved on the page (review_url): the API
            # offers no approval of its own, so what is shared has been read by a person.
            return Response(self.get_serializer(export).data, status=status.HTTP_202_ACCEPTED)
        if (
            queries.case_entries(case, filters).count()
            <= settings.CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES
        ):
            export = services.export_render(export.pk)
        else:
            services.export_send_to_worker(export.pk)
            export.refresh_from_db()  # failed at once if the worker could not be reached
        return Response(self.get_serializer(export).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The PDF (format pdf)"
            ),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="The CSV, UTF-8 (format csv)"
            ),
        },
        summary="The exported file, once it is ready (404 before, or once it has expired)",
    )
    @action(detail=True, methods=["get"], content_negotiation_class=FileNegotiation)
    def download(self, request, case_pk=None, pk=None):
        export = get_object_or_404(self.get_queryset(), pk=pk)
        path = services.export_dir() / export.file_name if export.file_name else None
        if not export.is_ready or path is None or not path.exists():
            raise Http404
        access.record(
            request,
            case=export.case,
            what=f"API downloaded chronology export {export.pk}",
            via=access.Via.EXPORT,
            people=[child.pk for child in queries.case_children(export.case)],
        )
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=export.download_name,
            content_type="application/pdf" if export.format == "pdf" else "text/csv; charset=utf-8",
        )

"""What every API viewset shares (DESIGN.md section 3).

Thin on purpose: an input serializer checks the shape of what was sent, a service
decides what is allowed and writes it; its ValidationError is a 400 with the field
names it gave, its PermissionDenied a 403. No put or delete: records are ended or
marked recorded in error through actions. JSON only. Querysets are narrowed for the
requesting user by `scoped_queryset`; every read and write goes through `log`, which
an app overrides to write its access log.
"""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .concurrency import EditConflict
from .errors import drf_validation_error

HTTP_METHODS = ["get", "post", "patch", "head", "options"]  # never put or delete

# An id in a URL or a query string: digits only, and few enough of them to fit every
# database's 64-bit integer (SQLite refuses a larger number outright). Anything else in
# a path is not a route (404); in a filter it is a 400.
MAX_ID = 10**18 - 1
ID_PATTERN = r"[0-9]{1,18}"
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


class IdConverter:
    """The `<id:...>` path converter (registered in safeguarding/api_urls.py)."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with the current state of the record"
    default_code = "conflict"


CONFLICT = "Someone changed the record after the `version` sent: nothing was saved"


def version_input(**kwargs: Any) -> serializers.CharField:
    """The `version` a PATCH may send back: the record's `version` as it was read."""
    return serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The record's `version` as you read it. If someone has changed the "
        "record since, nothing is saved and the answer is 409 saying who changed what; "
        "read it again and send the newer version to replace their change. Leave it out "
        "to change whatever is stored now.",
        **kwargs,
    )


def version_output() -> serializers.SerializerMethodField:
    """The record's `version` in a response; the serializer's `get_version` gives it."""
    return serializers.SerializerMethodField(
        help_text="Send it back with a PATCH to be told (409) if someone has changed the "
        "record since you read it"
    )


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A related id looked up in a queryset built for the requesting user."""

    def __init__(
        self, *, scope: Callable[[Any], QuerySet[Any]], model: type[Model], **kwargs: Any
    ) -> None:
        self.scope = scope
        # The model's queryset is for the schema only; lookups use get_queryset().
        super().__init__(queryset=model._default_manager.none(), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return self.scope(self.context["request"].user)


@extend_schema_field(ID_SCHEMA)
class IdFilter(filters.NumberFilter):
    """An id in the query string (never a name or a date of birth): a whole number from 1
    to MAX_ID, else 400."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class FileNegotiation(BaseContentNegotiation):
    """For an action that answers with a file (a Django FileResponse, not rendered): the
    file's type is not negotiable, and an error is JSON whatever the client accepts."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return (renderers[0], renderers[0].media_type)


class RecordViewSet(viewsets.GenericViewSet):
    http_method_names = HTTP_METHODS
    renderer_classes = [JSONRenderer]
    lookup_value_converter = "id"  # the router uses path converters
    label = "record"  # what the log says was read
    serializer_class: type[serializers.ModelSerializer[Any]]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, EditConflict):  # a stale `version`: who changed what
            exc = Conflict(exc.messages[0])
        elif isinstance(exc, DjangoValidationError):
            exc = drf_validation_error(exc)
        return super().handle_exception(exc)

    def scoped_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # building the schema
            # The stubs cannot type ModelSerializer.Meta.model (a type variable in a
            # nested class); it is a model class.
            model = cast(type[Model], self.serializer_class.Meta.model)
            return model._default_manager.none()
        return self.scoped_queryset()

    def log(self, objects: list[Any], what: str) -> None:
        """Write what was read or changed to the app's access log (nothing by default)."""

    def respond(self, obj: Model, what: str, status_code: int = status.HTTP_200_OK) -> Response:
        self.log([obj], what)
        return Response(self.get_serializer(obj).data, status=status_code)

    def input(
        self,
        serializer_class: type[serializers.BaseSerializer[Any]],
        *,
        partial: bool = False,
        **context: Any,
    ) -> dict[str, Any]:
        serializer = serializer_class(
            data=self.request.data,
            partial=partial,
            context={**self.get_serializer_context(), **context},
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        objects = list(page if page is not None else queryset)
        self.log(objects, f"API list {self.label}")
        data = self.get_serializer(objects, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.respond(self.get_object(), f"API read {self.label}")

"""The OpenAPI schema builds with no warnings, as `manage.py check --deploy` requires, and
says what the API really accepts and answers: choices, ids in paths, file downloads."""

import inspect
import json
from importlib import import_module

import pytest
import requests
from django.core.management import call_command
from django.db import models
from rest_framework import serializers
from rest_framework.test import APIClient
from schemathesis.core.transport import Response as SchemathesisResponse
from schemathesis.openapi import from_dict

from common.api import MAX_ID
from tests.factories import (
    AgencyFactory,
    CaseFactory,
    ChronologyEntryFactory,
    ChronologyExportFactory,
    VisitFactory,
)

API_MODULES = [
    "cases.api.base",
    "cases.api.cases",
    "cases.api.meetings",
    "cases.api.people",
    "cases.api.records",
    "cases.api.serializers",
    "visits.api",
    "chronologies.api",
    "supervision.api",
]


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(path),
    )
    return json.loads(path.read_text())


def test_it_builds_the_api_schema_without_warnings(schema):
    assert "/api/v1/visits/" in schema["paths"]


def _serializers():
    for module_name in API_MODULES:
        module = import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, serializers.Serializer) and cls.__module__ == module_name:
                yield cls


def _returns_or_accepts_blank(serializer, name, field) -> bool:
    if not field.read_only or field.allow_blank:
        return field.allow_blank
    # A read-only field built from a model field: blank when the model field may be.
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None:
        return False
    model_field = model._meta.get_field(field.source if field.source != "*" else name)
    return isinstance(model_field, models.CharField) and model_field.blank


def test_it_lists_a_blank_choice_exactly_where_a_serializer_accepts_or_returns_one(schema):
    components = schema["components"]["schemas"]
    checked = 0
    for cls in _serializers():
        component = components.get(cls.__name__.removesuffix("Serializer"))
        if component is None:
            continue
        for name, field in cls().fields.items():
            if not isinstance(field, serializers.ChoiceField) or name not in component.get(
                "properties", {}
            ):
                continue
            listed = "BlankEnum" in json.dumps(component["properties"][name])
            assert listed == _returns_or_accepts_blank(cls, name, field), (cls.__name__, name)
            checked += 1
    assert checked >= 10
    assert components["BlankEnum"]["enum"] == [""]


def test_it_types_every_id_in_a_path_as_an_integer_that_fits(schema):
    seen = set()
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["schema"] == {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_ID,
                    }, (path, parameter)
                    seen.add(parameter["name"])
    assert seen == {"id", "case_pk", "escalation_id"}


def test_it_documents_export_downloads_as_pdf_and_csv(schema):
    download = schema["paths"]["/api/v1/cases/{case_pk}/chronology-exports/{id}/download/"]
    content = download["get"]["responses"]["200"]["content"]

    assert set(content) == {"application/pdf", "text/csv"}
    assert content["application/pdf"]["schema"] == {"type": "string", "format": "binary"}


def test_it_documents_the_chronology_filters_as_the_api_checks_them(schema):
    for path, method in [
        ("/api/v1/cases/{case_pk}/chronology/", "get"),
        ("/api/v1/cases/{case_pk}/chronology-exports/", "post"),
    ]:
        params = {
            p["name"]: p["schema"]
            for p in schema["paths"][path][method]["parameters"]
            if p["in"] == "query"
        }
        assert (
            params["child"]["type"],
            params["child"]["minimum"],
            params["child"]["maximum"],
        ) == (
            "integer",
            1,
            MAX_ID,
        )
        assert params["date_from"] == {"type": "string", "format": "date"}
        assert params["source"]["pattern"].startswith("^(?:recorded|agency-")


def _conforms(schema, method, template, response):
    """Check a test client response against the schema with schemathesis's own validator."""
    request = requests.Request(method, "http://testserver" + response.request["PATH_INFO"])
    answer = SchemathesisResponse(
        status_code=response.status_code,
        headers={key: [value] for key, value in response.headers.items()},
        content=b"".join(response.streaming_content) if response.streaming else response.content,
        request=request.prepare(),
        elapsed=0.0,
        verify=True,
    )
    from_dict(schema)[template][method].validate_response(answer)


@pytest.mark.django_db
def test_responses_with_blank_choices_and_files_match_the_schema(schema, team, worker):
    case = CaseFactory(team=team)
    case.allocated_workers.add(worker)
    visit = VisitFactory(case=case, lead_worker=worker)  # planned: no default reason
    # From an agency, not a person: no informant type.
    entry = ChronologyEntryFactory(case=case, informant_type="", agency=AgencyFactory())
    export = ChronologyExportFactory(case=case, requested_by=worker)
    api = APIClient()
    api.force_login(worker)

    for template, url in [
        ("/api/v1/visits/", "/api/v1/visits/"),
        ("/api/v1/visits/{id}/", f"/api/v1/visits/{visit.pk}/"),
        ("/api/v1/cases/{case_pk}/chronology/", f"/api/v1/cases/{case.pk}/chronology/"),
        (
            "/api/v1/cases/{case_pk}/chronology/{id}/",
            f"/api/v1/cases/{case.pk}/chronology/{entry.pk}/",
        ),
        (
            "/api/v1/cases/{case_pk}/chronology-exports/{id}/download/",
            f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/download/",
        ),
    ]:
        response = api.get(url)
        assert response.status_code == 200, url
        _conforms(schema, "GET", template, response)
    assert api.get(f"/api/v1/visits/{visit.pk}/").json()["default_reason"] == ""

    # And the check can fail: a reason that is not one of the choices does not match.
    response = api.get(f"/api/v1/visits/{visit.pk}/")
    response.content = response.content.replace(
        b'"default_reason":""', b'"default_reason":"not a reason"'
    )
    with pytest.raises(Exception, match="not a reason"):  # noqa: B017 - a group of failures
        _conforms(schema, "GET", "/api/v1/visits/{id}/", response)

"""The OpenAPI schema builds with no warnings, as `manage.py check --deploy` requires."""

from django.core.management import call_command


def test_it_builds_the_api_schema_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert "/api/v1/visits/" in (tmp_path / "schema.yml").read_text()

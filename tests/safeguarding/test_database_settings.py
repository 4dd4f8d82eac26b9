"""The PostgreSQL settings the query plans in docs/PERFORMANCE.md rely on."""

import pytest
from django.db import connection


def test_postgresql_connects_without_jit_and_with_random_page_cost_for_ssd(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL settings")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"

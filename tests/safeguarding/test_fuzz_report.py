"""`make fuzz` (scripts/fuzz/): its own database name, and the summary it fails on."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "fuzz"


def load(name):
    spec = importlib.util.spec_from_file_location(f"fuzz_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scenario(label, *statuses):
    interactions = {
        str(i): {
            "request": {"method": label.split()[0], "uri": "http://127.0.0.1" + label.split()[1]},
            "response": None if status is None else {"status_code": status},
        }
        for i, status in enumerate(statuses)
    }
    return {"ScenarioFinished": {"recorder": {"label": label, "interactions": interactions}}}


def write_run(tmp_path, runs: dict[str, list[dict]]):
    (tmp_path / "roles.tsv").write_text("".join(f"{role}\tuser\ttoken\n" for role in runs))
    for role, events in runs.items():
        (tmp_path / f"{role}.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_it_counts_operations_requests_and_5xx_per_role(tmp_path, capsys):
    write_run(
        tmp_path,
        {
            "social_worker": [
                {"Initialize": {}},
                scenario("GET /api/v1/cases/", 200, 400, 404),
                scenario("POST /api/v1/visits/", 201),
                scenario("GET /api/v1/visits/", 200),
            ],
            "team_manager": [scenario("GET /api/v1/cases/", 200, 401)],
        },
    )

    code = load("report").main(str(tmp_path), str(tmp_path / "out.json"))

    assert code == 0
    figures = json.loads((tmp_path / "out.json").read_text())
    assert (figures["social_worker"]["operations"], figures["social_worker"]["requests"]) == (3, 5)
    assert figures["team_manager"]["5xx"] == 0
    assert "social_worker" in capsys.readouterr().out


@pytest.mark.parametrize("status", [500, 502, None])
def test_it_fails_on_a_5xx_or_a_request_with_no_response(tmp_path, capsys, status):
    write_run(tmp_path, {"business_support": [scenario("GET /api/v1/cases/", 200, status)]})
    (tmp_path / "web.log").write_text(
        "Bad Request: /api/v1/people/\n"
        "Internal Server Error: /api/v1/cases/\nTraceback (most recent call last):\n"
        '  File "x.py", line 1\nValueError: boom\n\n'
        "The above exception was the direct cause of the following exception:\n\n"
        'Traceback (most recent call last):\n  File "y.py", line 2\nTypeError: bang\n'
        "Not Found: /api/v1/visits/abc/\n[2026-12-07 10:00:00] [1] [INFO] next\n"
    )

    assert load("report").main(str(tmp_path), str(tmp_path / "out.json")) == 1
    out = capsys.readouterr().out
    assert "business_support: 1 responses of 5xx" in out
    assert "ValueError: boom" in out and "TypeError: bang" in out
    assert "Not Found" not in out and "Bad Request" not in out and "[INFO]" not in out


def test_it_fails_when_a_role_sent_nothing(tmp_path):
    write_run(tmp_path, {"service_manager": [{"Initialize": {}}]})

    assert load("report").main(str(tmp_path), str(tmp_path / "out.json")) == 1


def test_it_builds_a_database_of_its_own_beside_the_one_given():
    database = load("database")

    assert (
        database.fuzz_url("postgres://u:p@db:5432/safeguarding?sslmode=require")
        == "postgres://u:p@db:5432/safeguarding_fuzz?sslmode=require"
    )
    with pytest.raises(SystemExit):
        database.recreate("postgres://u:p@db:5432/safeguarding")  # never one it did not name

"""Give each role's fuzzing run data to act on (run by run.sh through `manage.py shell`).

For each demo user named in FUZZ_ROLES, writes `$FUZZ_DIR/<role>.toml`, a schemathesis
configuration whose dictionaries hold the ids that user may see (cases, people, visits,
chronology entries, exports, supervision records...), bound to the path, query and body
parameters that take them, so that most generated requests reach real records and the
rest are refused as they should be. Also writes `$FUZZ_DIR/roles.tsv`: role, username,
API token. Each role gets one CSV export of its case to download.
"""

import os
from pathlib import Path

from django.db.models import Count
from django.utils import timezone

from accounts.models import Agency, Team, User
from accounts.services import api_token_create
from cases import queries as case_queries
from cases.models import (
    Address,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    Person,
)
from chronologies import services as chronology_services
from chronologies.models import ChronologyEntry, ChronologyExport
from supervision import queries as supervision_queries
from visits.models import Visit

ROLES = [
    # role, demo username (seed_demo)
    ("social_worker", "amira.hussain"),
    ("team_manager", "grace.okafor"),
    ("practice_supervisor", "priya.shah"),
    ("business_support", "dave.morgan"),
    ("service_manager", "helen.price"),
]
PROBABILITY = 0.9  # the rest of the time the generated value is sent
MAX_VALUES = 200

out_dir = Path(os.environ.get("FUZZ_DIR", "var/fuzz"))
out_dir.mkdir(parents=True, exist_ok=True)
wanted = set(os.environ.get("FUZZ_ROLES", " ".join(r for r, _ in ROLES)).split())


def ids(queryset) -> list[int]:
    return list(queryset.order_by("-pk").values_list("pk", flat=True)[:MAX_VALUES])


def toml_list(values) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def bind(dictionary: str) -> str:
    return f'{{ dictionary = "{dictionary}", probability = {PROBABILITY} }}'


def config_for(user) -> str:
    cases = case_queries.cases_for(user)
    # The case with the most chronology is the one the nested endpoints act on.
    case = (
        cases.annotate(entries=Count("chronology_entries"))
        .order_by("-status", "-entries", "pk")  # open before closed
        .first()
    )
    on_cases = {"case__in": cases}
    people = Person.objects.filter(memberships__case__in=cases).distinct()
    escalation_case = (
        cases.filter(escalations__state__in=Escalation.ACTIVE_STATES).first()
        or cases.filter(escalations__isnull=False).first()
        or case
    )
    if case is not None:
        chronology_services.export_render(
            chronology_services.export_request(
                actor=user,
                case=case,
                format=ChronologyExport.Format.CSV,
                redacted=False,
                in_error="leave_out",
                filters={},
            ).pk
        )
    dictionaries = {
        "cases": ids(cases),
        "people": ids(people),
        "memberships": ids(Membership.objects.filter(**on_cases)),
        "addresses": ids(Address.objects.filter(**on_cases)),
        "plans": ids(ChildProtectionPlan.objects.filter(**on_cases)),
        "hazards": ids(Hazard.objects.filter(**on_cases)),
        "meetings": ids(Meeting.objects.filter(**on_cases)),
        "visits": ids(Visit.objects.filter(**on_cases)),
        "escalations": ids(Escalation.objects.filter(**on_cases)),
        "case_escalations": ids(Escalation.objects.filter(case=escalation_case)),
        "entries": ids(ChronologyEntry.objects.filter(case=case)),
        "exports": ids(ChronologyExport.objects.filter(case=case)),
        "users": ids(User.objects.filter(is_active=True)),
        "teams": ids(Team.objects.all()),
        "agencies": ids(Agency.objects.all()),
        "sessions": ids(supervision_queries.sessions_for(user)),
        "discussions": ids(supervision_queries.discussions_for(user)),
        "actions": ids(supervision_queries.actions_for(user)),
        "decisions": ids(supervision_queries.decisions_for(user)),
    }
    # schemathesis's cache (to replay a failure) stays with the run, not in the checkout.
    lines = ["[cache]", f'directory = "{(out_dir / "cache").resolve()}"', ""]
    # Every dictionary needs a value: an id no one has is still a request to make.
    lines.append("[dictionaries]")
    for name, values in dictionaries.items():
        lines.append(f"{name} = {{ values = {toml_list(values or [999999])} }}")

    parameters = {
        "path.case_pk": str(case.pk if case else 999999),
        "query.case": bind("cases"),
        "query.team": bind("teams"),
        "query.child": bind("people"),
        "query.person": bind("people"),
        "body.case": bind("cases"),
        "body.team": bind("teams"),
        "body.person": bind("people"),
        "body.child": bind("people"),
        "body.children[*]": bind("people"),
        "body.children[*].child": bind("people"),
        "body.observations[*].adult": bind("people"),
        "body.observations[*].child": bind("people"),
        "body.present_members[*]": bind("people"),
        "body.allocated_workers[*]": bind("users"),
        "body.workers[*]": bind("users"),
        "body.staff_attendees[*]": bind("users"),
        "body.lead_worker": bind("users"),
        "body.joint_worker": bind("users"),
        "body.owner": bind("users"),
        "body.supervisee": bind("users"),
        "body.agency": bind("agencies"),
        "body.joint_agency": bind("agencies"),
        "body.agencies[*]": bind("agencies"),
        "body.meets": bind("escalations"),
        "body.session": bind("sessions"),
        "body.most_worried_case": bind("cases"),
        "body.least_worried_case": bind("cases"),
    }
    lines += ["", "[parameters]"]
    lines += [f'"{key}" = {value}' for key, value in parameters.items()]

    # The id in each resource's path.
    by_path = [
        (r"^/api/v1/cases/\{id\}/escalations/\{escalation_id\}/", None),
        (r"^/api/v1/cases/\{id\}/", "cases"),
        (r"^/api/v1/cases/\{case_pk\}/chronology/\{id\}/", "entries"),
        (r"^/api/v1/cases/\{case_pk\}/chronology-exports/\{id\}/", "exports"),
        (r"^/api/v1/people/\{id\}/", "people"),
        (r"^/api/v1/memberships/\{id\}/", "memberships"),
        (r"^/api/v1/addresses/\{id\}/", "addresses"),
        (r"^/api/v1/cp-plans/\{id\}/", "plans"),
        (r"^/api/v1/hazards/\{id\}/", "hazards"),
        (r"^/api/v1/meetings/\{id\}/", "meetings"),
        (r"^/api/v1/visits/\{id\}/", "visits"),
        (r"^/api/v1/supervision/sessions/\{id\}/", "sessions"),
        (r"^/api/v1/supervision/discussions/\{id\}/", "discussions"),
        (r"^/api/v1/supervision/actions/\{id\}/", "actions"),
        (r"^/api/v1/supervision/decisions/\{id\}/", "decisions"),
    ]
    for regex, dictionary in by_path:
        lines += ["", "[[operations]]", f"include-path-regex = '{regex}'"]
        if dictionary is None:  # cancelling an escalation: the case that has them
            escalation_case_id = escalation_case.pk if escalation_case else 999999
            lines.append(
                f'parameters = {{ "path.id" = {escalation_case_id}, '
                f'"path.escalation_id" = {bind("case_escalations")} }}'
            )
        else:
            lines.append(f'parameters = {{ "path.id" = {bind(dictionary)} }}')
    return "\n".join(lines) + "\n"


rows = []
for role, username in ROLES:
    if role not in wanted:
        continue
    user = User.objects.get(username=username)
    (out_dir / f"{role}.toml").write_text(config_for(user))
    _, token = api_token_create(actor=user, owner=user, name="Fuzzing", now=timezone.now())
    rows.append(f"{role}\t{username}\t{token}")
(out_dir / "roles.tsv").write_text("\n".join(rows) + "\n")
print(f"Fuzzing as {len(rows)} roles: {', '.join(r.split(chr(9))[0] for r in rows)}")

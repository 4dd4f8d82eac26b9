"""Every edit form starts from what is stored: submitted unchanged, it changes nothing.

The URL list is read from the resolver, as the access matrix does: every page is an
edit form (it changes a record that exists, and has an entry in EDIT_FORMS saying how
to reach one), a form that adds a record or takes a step (NOT_EDIT_FORMS), or a page
with no form to submit (NO_FORM). A new page in none of them fails the first test, so
a new edit form cannot be added without this test covering it.

For each edit form, a person who may use it opens it, changes nothing and saves:
the page must accept it (a redirect), and no history row may be written anywhere,
which is what a changed record, or a record saved again, would leave behind.
"""

import datetime
import re

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from supervision import services as supervision_services
from tests.factories import (
    CaseFactory,
    MembershipFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from tests.form_html import form_data
from tests.test_access_matrix import project_urls

# Forms that add a record, or take one step in a record's life (close, end, mark in
# error, hold, sign off...): there is nothing stored for them to start from.
NOT_EDIT_FORMS = {
    "accounts:login",
    "cases:create",
    "cases:close",
    "cases:reopen",
    "cases:person_add",
    "cases:membership_end",
    "cases:address_add",
    "cases:address_end",
    "cases:plan_start",
    "cases:plan_end",
    "cases:hazard_add",
    "cases:hazard_end",
    "cases:mark_in_error",
    "cases:meeting_add",
    "cases:escalation_raise",
    "cases:escalation_cancel",
    "visits:log",
    "visits:plan",
    "visits:in_error",
    "chronologies:add",
    "chronologies:in_error",
    "chronologies:export_request",
    "supervision:create",
    "supervision:hold",
    "supervision:cancel",
    "supervision:sign_off",
    "supervision:discussion_add",
    "supervision:decision_add",
    "supervision:action_add",
    "supervision:action_status",
}
# Pages with nothing to submit (lists, records shown, dashboards) or whose posts are
# not records (sign out, the session clock, marking notifications read, filters).
NO_FORM = {
    "accounts:logout",
    "accounts:notifications",
    "accounts:notifications_read",
    "cases:list",
    "cases:escalations",
    "cases:detail",
    "cases:history",
    "visits:detail",
    "visits:list",
    "chronologies:list",
    "chronologies:analysis",
    "chronologies:entry",
    "chronologies:export",
    "chronologies:download",
    "supervision:home",
    "supervision:my_actions",
    "supervision:detail",
    "supervision_case:decisions",
    "dashboards:home",
    "dashboards:mine",
    "dashboards:team",
    "dashboards:team_detail",
    "dashboards:team_figure",
    "dashboards:service",
    "dashboards:service_figure",
    "dashboards:service_refresh",
}


@pytest.fixture
def world(db):
    team = TeamFactory(name="North Assessment", code="north")
    manager = UserFactory(username="tm", team=team, role=roles.TEAM_MANAGER)
    worker = UserFactory(username="sw", team=team)
    supervisor = UserFactory(username="ps", team=team, role=roles.PRACTICE_SUPERVISOR)
    case = CaseFactory(team=team, created_by=manager, opened_on=datetime.date(2026, 1, 5))
    case.allocated_workers.add(worker)
    child = MembershipFactory(
        case=case,
        person=PersonFactory(first_name="Amy", last_name="Carter", aliases="Amy Smith"),
        relationship="child",
    )
    return {
        "team": team,
        "manager": manager,
        "worker": worker,
        "supervisor": supervisor,
        "case": case,
        "child": child,
    }


def _session(world):
    session = supervision_services.session_create(
        actor=world["supervisor"],
        supervisee=world["worker"],
        date=datetime.date(2026, 3, 2),
    )
    return supervision_services.session_update(
        actor=world["supervisor"],
        session=session,
        most_worried_case=world["case"],
        most_worried_why="Four visits defaulted & no one has seen Amy alone",
        wellbeing_impact='Tired; the "Carter" case weighs on her',
    )


def _discussion(world):
    session = _session(world)
    answers = supervision_services.Answers(
        lived_experience="Amy is hungry at school <and> quiet",
        answers={"assumptions": 'That "mum" will engage; evidence: none'},
        not_discussed=set(supervision_services.QUESTION_FIELDS) - {"assumptions"},
    )
    discussion = supervision_services.discussion_create(
        actor=world["supervisor"], session=session, case=world["case"], data=answers
    )
    return {"session_pk": session.pk, "discussion_pk": discussion.pk}


def _visit(world):
    """A completed visit, with what Amy said and an observation."""
    from visits import services as visit_services

    when = timezone.now() - datetime.timedelta(hours=2)
    visit = visit_services.visit_plan(actor=world["worker"], case=world["case"], planned_for=when)
    return visit_services.visit_record(
        actor=world["worker"],
        visit=visit,
        data=visit_services.Outcome(
            outcome="completed",
            occurred_at=when,
            children=[
                visit_services.ChildSeenInput(
                    child=world["child"].person,
                    seen=True,
                    seen_alone=True,
                    bedroom_seen=True,
                    child_views="I like school dinners",
                    presentation="Chatty, clean clothes",
                )
            ],
            observations=[
                visit_services.ObservationInput(
                    what_was_seen="Mum picked Amy up when she cried", analysis="Warm"
                )
            ],
            parent_report="All fine, she said",
            notes="Kitchen tidy",
        ),
    )


# name: (who edits, the URL's arguments, built from the world)
EDIT_FORMS = {
    "cases:edit": ("worker", lambda w: {"pk": w["case"].pk}),
    "cases:person_edit": (
        "worker",
        lambda w: {"pk": w["case"].pk, "person_pk": w["child"].person_id},
    ),
    "cases:membership_change": (
        "worker",
        lambda w: {"pk": w["case"].pk, "membership_pk": w["child"].pk},
    ),
    "cases:allocate": ("manager", lambda w: {"pk": w["case"].pk}),
    "cases:restrict": ("manager", lambda w: {"pk": w["case"].pk}),
    "supervision:record": ("supervisor", lambda w: {"session_pk": _session(w).pk}),
    "supervision:discussion_edit": ("supervisor", _discussion),
    "visits:record": ("worker", lambda w: {"pk": w["case"].pk, "visit_pk": _visit(w).pk}),
}
# Edit forms that still save what they were given unchanged: each is a defect being
# fixed, and the test fails once it is fixed until it is taken out of here.
STILL_WRITING = {"supervision:discussion_edit", "supervision:record"}


def _pages():
    return {name: params for name, params in project_urls().items() if ":" in name}


def test_it_knows_every_form_in_the_project():
    unknown = set(_pages()) - set(EDIT_FORMS) - NOT_EDIT_FORMS - NO_FORM
    assert not unknown, (
        f"{sorted(unknown)}: say whether each is an edit form (and add it to EDIT_FORMS), "
        "a form that adds or takes a step (NOT_EDIT_FORMS), or has no form (NO_FORM)"
    )
    gone = (set(EDIT_FORMS) | NOT_EDIT_FORMS | NO_FORM) - set(_pages())
    assert not gone, f"{sorted(gone)} no longer exist: take them out of this test"


def _errors(response) -> list[str]:
    """The messages of the page's error summary, for the assertion's message."""
    html = response.content.decode()
    summary = re.search(r'govuk-error-summary__list">(.*?)</ul>', html, re.S)
    return re.findall(r"<a[^>]*>(.*?)</a>", summary.group(1), re.S) if summary else []


def _history_rows() -> int:
    """Rows in every history table (simple_history's, many-to-many ones included)."""
    return sum(
        model.objects.count()
        for model in apps.get_models()
        if any(field.name == "history_id" for field in model._meta.fields)
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="still writes"))
        if n in STILL_WRITING
        else n
        for n in sorted(EDIT_FORMS)
    ],
)
def test_an_unchanged_submit_changes_nothing(client, world, name):
    who, kwargs = EDIT_FORMS[name]
    url = reverse(name, kwargs=kwargs(world))
    client.force_login(world[who])
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = form_data(page.content.decode())
    before = _history_rows()

    response = client.post(url, data)

    assert response.status_code == 302, (response.status_code, _errors(response))
    assert _history_rows() == before, f"{name}: saving the form unchanged wrote history"

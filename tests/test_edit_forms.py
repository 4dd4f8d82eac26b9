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
from supervision.models import CaseDiscussion
from tests.factories import (
    AddressFactory,
    AgencyFactory,
    CaseFactory,
    EscalationFactory,
    HazardFactory,
    MeetingFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    TeamFactory,
    UserFactory,
    WrittenAgreementFactory,
)
from tests.form_html import form_data
from tests.test_access_matrix import project_urls

# Forms that add a record, or take one step in a record's life (close, end, mark in
# error, hold, sign off...): there is nothing stored for them to start from.
NOT_EDIT_FORMS = {
    "accounts:login",
    # Administration: adding, switching off and on, passwords, withdrawing, unlocking.
    "accounts:user_create",
    "accounts:user_deactivate",
    "accounts:user_reactivate",
    "accounts:user_password",
    "accounts:password_change",
    "accounts:team_create",
    "accounts:agency_create",
    "accounts:closure_day_create",
    "accounts:closure_day_withdraw",
    "accounts:sign_in_unlock",
    # API credentials: making and revoking a token; the OAuth2 endpoints take no page form.
    "accounts:api_tokens",
    "accounts:api_token_revoke",
    "accounts:user_identity",
    "accounts:user_identity_end",
    # A redacted export's review and its approval: steps before the file is released.
    "chronologies:review",
    "chronologies:approve",
    "cases:create",
    "cases:close",
    "cases:reopen",
    "cases:person_add",
    "cases:person_merge",
    "cases:membership_end",
    "cases:address_add",
    "cases:address_end",
    "cases:plan_start",
    "cases:plan_end",
    "cases:hazard_add",
    "cases:hazard_end",
    "cases:agreement_add",
    "cases:agreement_end",
    "cases:agreement_breach",
    "cases:mark_in_error",
    "cases:meeting_add",
    "cases:escalation_raise",
    "cases:escalation_cancel",
    "cases:escalation_keep",
    "visits:log",
    "visits:plan",
    "visits:in_error",
    # Lone working: checking in, extending, checking out and acknowledging are steps.
    "visits:check_in",
    "visits:lone_working_extend",
    "visits:lone_working_out",
    "visits:lone_working_acknowledge",
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
    "accounts:undelivered_email_resend",
    # The second factor: a code at sign-in, setting up an app, new recovery codes, a
    # reset (tests/accounts/test_second_factor.py).
    "accounts:second_factor_verify",
    "accounts:second_factor_enrol",
    "accounts:second_factor",
    "accounts:second_factor_reset",
}
# Pages with nothing to submit (lists, records shown, dashboards) or whose posts are
# not records (sign out, the session clock, marking notifications read, filters).
NO_FORM = {
    "accounts:logout",
    "accounts:administration",
    "accounts:users",
    "accounts:user_detail",
    "accounts:teams",
    "accounts:agencies",
    "accounts:closure_days",
    "accounts:sign_in_lockouts",
    "accounts:user_api_tokens",
    # The access log's pages filter by GET; nothing is saved there.
    "governance:access",
    "governance:access_child",
    "governance:access_user",
    "oauth2_provider:token",
    "oauth2_provider:revoke-token",
    "oauth2_provider:introspect",
    "accounts:notifications",
    "accounts:notifications_read",
    "accounts:undelivered_emails",
    "cases:list",
    "cases:escalations",
    "cases:detail",
    "cases:history",
    "visits:detail",
    "visits:list",
    "visits:lone_working",
    "chronologies:list",
    "chronologies:analysis",
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
    support = UserFactory(username="bs", team=team, role=roles.BUSINESS_SUPPORT)
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
        "support": support,
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


def _decision(world):
    ids = _discussion(world)
    decision = supervision_services.decision_record(
        actor=world["supervisor"],
        discussion=CaseDiscussion.objects.get(pk=ids["discussion_pk"]),
        decision="Unannounced visit <this week>",
        reasons='Announced visits find the home "tidied"',
    )
    return {**ids, "decision_pk": decision.pk}


def _action(world):
    ids = _discussion(world)
    action = supervision_services.action_create(
        actor=world["supervisor"],
        discussion=CaseDiscussion.objects.get(pk=ids["discussion_pk"]),
        description="Ring the school & the GP",
        owner=world["worker"],
        due_date=datetime.date(2026, 3, 20),
    )
    return {**ids, "action_pk": action.pk}


def _entry(world):
    """A manual entry from an agency no longer in use, about a child since recorded in
    error on the case, its date known only to the month: the form must still show it all."""
    from accounts.models import Agency
    from cases import services as case_services
    from chronologies import services as chronology_services

    agency = Agency.objects.create(name="St Mary's <Primary> School", kind="school")
    entry = chronology_services.entry_add_manual(
        actor=world["worker"],
        case=world["case"],
        data=chronology_services.ManualEntryInput(
            occurred_on=datetime.date(2026, 2, 1),
            date_is_approximate=True,
            title='School reports "bruising" to arm',
            details="Amy said <she fell>\nover the weekend",
            analysis="Second report & no explanation",
            action_taken="Strategy discussion requested",
            agency=agency,
            informant_name="Mrs Jones (DSL)",
            children=[world["child"].person],
            significance="significant",
        ),
    )
    Agency.objects.filter(pk=agency.pk).update(active=False)
    case_services.record_mark_in_error(
        actor=world["manager"], record=world["child"], reason="Wrong family"
    )
    return {"pk": world["case"].pk, "entry_pk": entry.pk}


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


def _address(world):
    address = AddressFactory(
        case=world["case"],
        line_1="12 <Mill> Lane",
        line_2='Flat "B"',
        town="Northtown",
        postcode="LS1 4AP",
        start_date=datetime.date(2026, 1, 5),
    )
    return {"pk": world["case"].pk, "address_pk": address.pk}


def _left(world):
    """A stay that has ended, so the form has the date they left and why."""
    stay = MembershipFactory(
        case=world["case"],
        relationship="partner",
        lives_in_household=False,
        start_date=datetime.date(2026, 1, 5),
        end_date=datetime.date(2026, 2, 1),
        end_reason="Moved out after an argument & did not return",
    )
    return {"pk": world["case"].pk, "membership_pk": stay.pk}


def _plan(world):
    plan = PlanFactory(
        case=world["case"],
        child=world["child"].person,
        category="emotional",
        start_date=datetime.date(2026, 2, 1),
    )
    return {"pk": world["case"].pk, "plan_pk": plan.pk}


def _hazard(world):
    hazard = HazardFactory(
        case=world["case"],
        kind="weapon",
        details='Knife <kept> in the "kitchen" drawer\nCall ahead',
        start_date=datetime.date(2026, 1, 5),
        end_date=datetime.date(2026, 6, 30),
        created_by=world["worker"],
    )
    return {"pk": world["case"].pk, "hazard_pk": hazard.pk}


def _agreement(world):
    """Agreed by someone no longer on the case, with another consequence: the form
    must keep both."""
    gone = MembershipFactory(
        case=world["case"],
        relationship="partner",
        start_date=datetime.date(2026, 1, 5),
        end_date=datetime.date(2026, 2, 1),
    ).person
    agreement = WrittenAgreementFactory(
        case=world["case"],
        unacceptable_behaviour='Shouting <at> staff & "threats"\nRefusing entry',
        consequences=["joint_visits", "other"],
        consequence_other="Letter before proceedings",
        created_by=world["worker"],
    )
    agreement.agreed_by.set([world["child"].person, gone])
    return {"pk": world["case"].pk, "agreement_pk": agreement.pk}


def _meeting(world):
    """Attended by someone who has since left the team and an agency no longer in use:
    the form must keep them."""
    meeting = MeetingFactory(
        case=world["case"],
        kind="strategy",
        other_attendees="Mum\nGran <maternal>",
        actions="Visit twice a week",
        created_by=world["manager"],
    )
    gone = UserFactory(username="gone", team=TeamFactory(code="gone"), is_active=False)
    meeting.staff_attendees.set([world["worker"], gone])
    meeting.agencies.set(
        [AgencyFactory(name="School"), AgencyFactory(name="Old health visiting", active=False)]
    )
    return {"pk": world["case"].pk, "meeting_pk": meeting.pk}


def _escalation(world):
    escalation = EscalationFactory(
        case=world["case"],
        kind="non_compliance",
        raised_by=world["worker"],
        reason='Mum says "all fine" & <refuses> entry',
    )
    return {"pk": world["case"].pk, "escalation_pk": escalation.pk}


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
    "cases:membership_edit": (
        "worker",
        lambda w: {"pk": w["case"].pk, "membership_pk": w["child"].pk},
    ),
    "cases:membership_edit (left)": ("worker", _left),
    "cases:address_edit": ("worker", _address),
    "cases:plan_edit": ("worker", _plan),
    "cases:hazard_edit": ("worker", _hazard),
    "cases:meeting_edit": ("worker", _meeting),
    "cases:agreement_edit": ("worker", _agreement),
    "cases:escalation_edit": ("worker", _escalation),
    "cases:allocate": ("manager", lambda w: {"pk": w["case"].pk}),
    "cases:restrict": ("manager", lambda w: {"pk": w["case"].pk}),
    "supervision:record": ("supervisor", lambda w: {"session_pk": _session(w).pk}),
    "supervision:discussion_edit": ("supervisor", _discussion),
    "supervision:decision_edit": ("supervisor", _decision),
    "supervision:action_edit": ("supervisor", _action),
    "chronologies:entry": ("worker", _entry),
    "chronologies:entry_edit": ("worker", _entry),
    "visits:record": ("worker", lambda w: {"pk": w["case"].pk, "visit_pk": _visit(w).pk}),
    "accounts:user_edit": ("support", lambda w: {"pk": w["worker"].pk}),
    "accounts:team_edit": ("support", lambda w: {"pk": w["team"].pk}),
    "accounts:agency_edit": (
        "support",
        lambda w: {"pk": AgencyFactory(name="Northshire Police").pk},
    ),
}
# Edit forms that still save what they were given unchanged: each is a defect being
# fixed, and the test fails once it is fixed until it is taken out of here.
STILL_WRITING: set[str] = set()


def _url_name(key: str) -> str:
    """EDIT_FORMS may reach one form more than once: "name (what differs)"."""
    return key.split(" (")[0]


def _pages():
    return {name: params for name, params in project_urls().items() if ":" in name}


def test_it_knows_every_form_in_the_project():
    edit_forms = {_url_name(key) for key in EDIT_FORMS}
    unknown = set(_pages()) - edit_forms - NOT_EDIT_FORMS - NO_FORM
    assert not unknown, (
        f"{sorted(unknown)}: say whether each is an edit form (and add it to EDIT_FORMS), "
        "a form that adds or takes a step (NOT_EDIT_FORMS), or has no form (NO_FORM)"
    )
    gone = (edit_forms | NOT_EDIT_FORMS | NO_FORM) - set(_pages())
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
    url = reverse(_url_name(name), kwargs=kwargs(world))
    client.force_login(world[who])
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = form_data(page.content.decode())
    before = _history_rows()

    response = client.post(url, data)

    assert response.status_code == 302, (response.status_code, _errors(response))
    assert _history_rows() == before, f"{name}: saving the form unchanged wrote history"

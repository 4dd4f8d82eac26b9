"""Every page and API endpoint, for every role, against three kinds of case.

The URL list is read from the resolver, so an endpoint added later is in the matrix
without anyone remembering to add it: a URL with a parameter this file cannot fill,
or one that is neither case-scoped nor listed as not about a case, fails the test.
"""

import datetime
import json

import pytest
from django.db.models.signals import pre_delete
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import roles
from accounts.models import AccessLog
from cases.models import Address, ChildProtectionPlan, Hazard, Membership
from tests.factories import (
    AddressFactory,
    CaseFactory,
    ChronologyEntryFactory,
    ChronologyExportFactory,
    DecisionFactory,
    EscalationFactory,
    HazardFactory,
    MeetingFactory,
    MembershipFactory,
    PlanFactory,
    TeamFactory,
    UserFactory,
    VisitFactory,
    WrittenAgreementFactory,
    api_token_for,
)

# URL names that are not about one case: checked for login only.
NOT_CASE_SCOPED = {
    "home",
    "healthz",
    "healthz_background",
    "accounts:login",
    "accounts:logout",
    "api-schema",
    "api-docs",
    "session-status",
    "session-extend",
    "api-root",
    # A user's own notifications: recipients are chosen through the policy when written.
    "accounts:notifications",
    "accounts:notifications_read",
    # Undelivered emails, for business support and superusers (tests/accounts/
    # test_email_delivery.py): staff and case references, no case's content.
    "accounts:undelivered_emails",
    "accounts:undelivered_email_resend",
    # Administration and one's own password (tests/accounts/test_administration*.py):
    # staff, teams, agencies and closure days, no case's content.
    "accounts:password_change",
    "accounts:administration",
    "accounts:users",
    "accounts:user_create",
    "accounts:user_detail",
    "accounts:user_edit",
    "accounts:user_deactivate",
    "accounts:user_reactivate",
    "accounts:user_password",
    "accounts:teams",
    "accounts:team_create",
    "accounts:team_edit",
    "accounts:agencies",
    "accounts:agency_create",
    "accounts:agency_edit",
    "accounts:closure_days",
    "accounts:closure_day_create",
    "accounts:closure_day_withdraw",
    # Single sign-on: the start and the provider's callback are for people not yet signed
    # in (tests/accounts/test_single_sign_on.py, tests/browser/test_sso_journey.py).
    "oidc_authentication_init",
    "oidc_authentication_callback",
    # Sign-in lockouts, for business support, system administrators and superusers
    # (tests/accounts/test_lockout.py): usernames and addresses, nothing of any case.
    "accounts:sign_in_lockouts",
    "accounts:sign_in_unlock",
    # The second factor (tests/accounts/test_second_factor.py): the code and setting up
    # an app at sign-in, your own second factor, and an administrator's reset.
    "accounts:second_factor_verify",
    "accounts:second_factor_enrol",
    "accounts:second_factor",
    "accounts:second_factor_reset",
    "accounts:user_identity",
    "accounts:user_identity_end",
    # API credentials (tests/accounts/test_api_tokens.py, test_partner_clients.py): a
    # user's own tokens, account administrators' view of anyone's; partner systems' OAuth2
    # endpoints and their escalations list (teams granted to the client, no case content).
    "accounts:api_tokens",
    "accounts:api_token_revoke",
    "accounts:user_api_tokens",
    "oauth2_provider:token",
    "oauth2_provider:revoke-token",
    "oauth2_provider:introspect",
    "partner-escalations",
}
# Supervision sessions are seen by the supervisee, the supervisor and their managers,
# not by everyone who may see a case: tests/supervision/test_privacy.py is their matrix.
SUPERVISION_SCOPED = {
    "supervision:home",
    "supervision:my_actions",
    "supervision:action_status",
    "supervision:create",
    "supervision:detail",
    "supervision:hold",
    "supervision:cancel",
    "supervision:record",
    "supervision:sign_off",
    "supervision:discussion_add",
    "supervision:discussion_edit",
    "supervision:decision_add",
    "supervision:action_add",
    "supervision:decision_edit",
    "supervision:action_edit",
}
# Lone-working check-ins are seen by the worker, their buddy, their team and service
# managers (even on a restricted case: those alerted must see where the worker is), not
# by everyone who may see the case: tests/visits/test_lone_working.py is their matrix.
LONE_WORKING_SCOPED = {
    "visits:lone_working",
    "visits:lone_working_extend",
    "visits:lone_working_out",
    "visits:lone_working_acknowledge",
}
# Dashboards are about the user's own work, team or service; every figure on them is
# scoped through the policy, tested in tests/safeguarding/dashboards/.
DASHBOARD_SCOPED = {"dashboards:home", "dashboards:mine"}
DASHBOARD_SCOPED |= {
    "dashboards:team",
    "dashboards:team_detail",
    "dashboards:team_figure",
    "dashboards:service",
    "dashboards:service_figure",
    "dashboards:service_refresh",
}
# The access log, for managers and information governance: its own policy matrix is in
# tests/safeguarding/test_governance.py.
DASHBOARD_SCOPED |= {"governance:access", "governance:access_child", "governance:access_user"}
SUPERVISION_API = {"supervisionsession", "supervisiondiscussion", "supervisionaction"}
# Case lists: the case must be listed for those who may see it and absent for others.
DOMAIN_APPS = {"accounts", "cases", "visits", "chronologies", "supervision", "auth"}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{p.namespace}:" if p.namespace else prefix
            yield from _walk(p.url_patterns, ns if p.namespace else prefix)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{prefix}{p.name}", p


def project_urls():
    names = {}
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.startswith("admin:") or "format" in pattern.pattern.regex.groupindex:
            continue
        names[name] = sorted(pattern.pattern.regex.groupindex)
    return names


# ---------------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    team_a = TeamFactory(name="Team A", code="a")
    team_b = TeamFactory(name="Team B", code="b")
    users = {
        "allocated_worker": UserFactory(username="alloc", team=team_a),
        "team_worker": UserFactory(username="tw", team=team_a),
        "team_manager": UserFactory(username="tm", team=team_a, role=roles.TEAM_MANAGER),
        "supervisor": UserFactory(username="ps", team=team_a, role=roles.PRACTICE_SUPERVISOR),
        "business_support": UserFactory(username="bs", team=team_a, role=roles.BUSINESS_SUPPORT),
        "service_manager": UserFactory(username="sm", team=team_b, role=roles.SERVICE_MANAGER),
        "other_worker": UserFactory(username="ow", team=team_b),
        "other_manager": UserFactory(username="om", team=team_b, role=roles.TEAM_MANAGER),
    }
    cases = {}
    for key, team, restricted in (
        ("own_team", team_a, False),
        ("other_team", team_b, False),
        ("restricted", team_a, True),
    ):
        case = CaseFactory(
            team=team,
            restricted=restricted,
            created_by=users["team_manager"],
            opened_on=datetime.date(2026, 1, 5),
        )
        if team == team_a:
            case.allocated_workers.add(users["allocated_worker"])
        if restricted:
            case.restricted_to.add(users["allocated_worker"])
        child = MembershipFactory(case=case, relationship="child")
        objects = {
            "case": case,
            "membership": child,
            "person": child.person,
            "address": AddressFactory(case=case),
            "plan": PlanFactory(case=case, child=child.person),
            "hazard": HazardFactory(case=case),
            "agreement": WrittenAgreementFactory(case=case),
            "visit": VisitFactory(case=case, lead_worker=users["team_manager"]),
            "escalation": EscalationFactory(case=case),
            "meeting": MeetingFactory(case=case, created_by=users["team_manager"]),
            "decision": DecisionFactory(case=case, discussion__case=case),
            "entry": ChronologyEntryFactory(case=case),
            "export": ChronologyExportFactory(case=case, requested_by=users["team_manager"]),
        }
        cases[key] = objects
    return users, cases


VISIBLE = {
    "own_team": {
        "allocated_worker",
        "team_worker",
        "team_manager",
        "supervisor",
        "business_support",
        "service_manager",
    },
    "other_team": {"service_manager", "other_worker", "other_manager"},
    "restricted": {"allocated_worker"},
}

API_BASENAMES = {
    "case": "case",
    "person": "person",
    "membership": "membership",
    "address": "address",
    "cpplan": "plan",
    "hazard": "hazard",
    "writtenagreement": "agreement",
    "visit": "visit",
    "meeting": "meeting",
    "chronology": "entry",
    "chronologyexport": "export",
}
API_BASENAMES["supervisiondecision"] = "decision"  # case record
# API actions that only read (GET): POST is refused with 405 for everyone.
READ_ONLY_ACTIONS = {"chronologyexport-download"}


def api_kwargs(name, params, objects):
    """The URL kwargs of an API route: `pk` is the object its basename names; a nested
    route's other ids come from the same case's objects."""
    basename = name.split("-")[0]
    values = {
        "pk": objects[API_BASENAMES[basename]].pk,
        "escalation_id": objects["escalation"].pk,
        "case_pk": objects["case"].pk,
    }
    missing = set(params) - set(values)
    assert not missing, f"{name}: the access matrix cannot fill {missing}; add them here"
    return {p: values[p] for p in params}


def page_kwargs(name, params, objects):
    values = {
        "pk": objects["case"].pk,
        "person_pk": objects["person"].pk,
        "membership_pk": objects["membership"].pk,
        "address_pk": objects["address"].pk,
        "plan_pk": objects["plan"].pk,
        "hazard_pk": objects["hazard"].pk,
        "agreement_pk": objects["agreement"].pk,
        "record_pk": objects["membership"].pk,
        "kind": "membership",
        "visit_pk": objects["visit"].pk,
        "escalation_pk": objects["escalation"].pk,
        "meeting_pk": objects["meeting"].pk,
        "entry_pk": objects["entry"].pk,
        "export_pk": objects["export"].pk,
    }
    missing = set(params) - set(values)
    assert not missing, f"{name}: the access matrix cannot fill {missing}; add them here"
    return {p: values[p] for p in params}


def classify(urls):
    pages, api_details, api_lists, other = [], [], [], []
    for name, params in urls.items():
        if (
            name in NOT_CASE_SCOPED
            or name in SUPERVISION_SCOPED
            or name in DASHBOARD_SCOPED
            or name in LONE_WORKING_SCOPED
        ):
            other.append(name)
        elif name.startswith(("cases:", "visits:", "supervision_case:", "chronologies:")):
            pages.append(name)
        elif "-" in name and name.split("-")[0] in SUPERVISION_API:
            other.append(name)
        elif "-" in name and name.split("-")[0] in API_BASENAMES:
            (api_details if params else api_lists).append(name)
        else:
            other.append(name)
            raise AssertionError(f"{name} is not in the access matrix: classify it")
    return pages, api_details, api_lists


def test_it_knows_every_url_in_the_project():
    pages, details, lists = classify(project_urls())
    assert "cases:detail" in pages
    assert "case-detail" in details and "case-list" in lists


@pytest.fixture
def no_deletes():
    deleted = []

    def record(sender, instance, **kwargs):
        # Sessions end by deletion; the domain's records never do.
        if sender._meta.app_label in DOMAIN_APPS:
            deleted.append(f"{sender.__name__} {instance.pk}")

    pre_delete.connect(record, weak=False, dispatch_uid="matrix-no-deletes")
    yield deleted
    pre_delete.disconnect(dispatch_uid="matrix-no-deletes")


@pytest.mark.parametrize(
    "user_key",
    [
        "allocated_worker",
        "team_worker",
        "team_manager",
        "supervisor",
        "business_support",
        "service_manager",
        "other_worker",
        "other_manager",
    ],
)
def test_it_applies_the_access_policy_to_every_page(client, world, user_key, no_deletes):
    users, cases = world
    user = users[user_key]
    client.force_login(user)
    pages, _, _ = classify(project_urls())
    for case_key, objects in cases.items():
        visible = user_key in VISIBLE[case_key]
        case = objects["case"]
        for name in pages:
            params = project_urls()[name]
            if not params:
                continue
            url = reverse(name, kwargs=page_kwargs(name, params, objects))
            response = client.get(url)
            if visible:
                assert response.status_code in (200, 403), (name, case_key, response.status_code)
            else:
                assert response.status_code == 404, (name, case_key, response.status_code)
                post = client.post(url, {})
                assert post.status_code == 404, (name, case_key, "POST", post.status_code)
        for listing_name in ("cases:list", "cases:escalations"):
            listing = client.get(reverse(listing_name) + "?scope=team")
            assert listing.status_code == 200
            assert (case.reference in listing.content.decode()) is visible, (case_key, listing_name)
    shown = AccessLog.objects.filter(user=user, outcome="shown")
    # (Rows of no case are people a search showed, the search being the policy's.)
    logged = set(shown.values_list("case_id", flat=True)) - {None}
    expected = {o["case"].pk for k, o in cases.items() if user_key in VISIBLE[k]}
    assert logged == expected
    # Every refusal is logged, with the case that was asked for (the cases seen too: an
    # action on them the policy refused, 403).
    refused = set(
        AccessLog.objects.filter(user=user, outcome="refused").values_list("case_id", flat=True)
    )
    hidden = {o["case"].pk for k, o in cases.items() if user_key not in VISIBLE[k]}
    assert hidden <= refused
    assert no_deletes == []


@pytest.mark.parametrize(
    "user_key",
    ["allocated_worker", "team_manager", "service_manager", "other_worker", "business_support"],
)
def test_it_applies_the_access_policy_to_every_api_endpoint(client, world, user_key, no_deletes):
    users, cases = world
    user = users[user_key]
    token = api_token_for(user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    urls = project_urls()
    _, details, lists = classify(urls)
    for case_key, objects in cases.items():
        visible = user_key in VISIBLE[case_key]
        for name in details:
            _, _, action = name.partition("-")
            url = reverse(name, kwargs=api_kwargs(name, urls[name], objects))
            if action == "detail" or action.endswith("-detail"):  # a record, nested or not
                response = client.get(url, **auth)
                assert response.status_code == (200 if visible else 404), (name, case_key)
                patch = client.patch(url, data="{}", content_type="application/json", **auth)
                if patch.status_code != 405:  # read-only endpoints refuse PATCH for all
                    assert (patch.status_code == 404) is not visible, (name, case_key, "PATCH")
            elif name in READ_ONLY_ACTIONS:
                assert (
                    client.post(url, data="{}", content_type="application/json", **auth).status_code
                    == 405
                ), (name, "POST")
                get = client.get(url, **auth)
                assert get.status_code == (200 if visible else 404), (name, case_key)
            else:
                response = client.post(url, data="{}", content_type="application/json", **auth)
                if visible:
                    assert response.status_code in (400, 403), (
                        name,
                        case_key,
                        response.status_code,
                    )
                else:
                    assert response.status_code == 404, (name, case_key, response.status_code)
                get = client.get(url, **auth)  # an action may also read (405 if it does not)
                assert get.status_code in ((200, 405) if visible else (404, 405)), (
                    name,
                    case_key,
                    "GET",
                    get.status_code,
                )
            assert client.delete(url, **auth).status_code in (404, 405), (name, "DELETE")
        for name in lists:
            basename = name.split("-")[0]
            obj = objects[API_BASENAMES[basename]]
            response = client.get(reverse(name), **auth)
            assert response.status_code == 200, name
            ids = {row["id"] for row in _all_rows(client, response, auth)}
            assert (obj.pk in ids) is visible, (name, case_key)
    assert no_deletes == []


def _all_rows(client, response, auth):
    body = json.loads(response.content)
    rows = list(body["results"])
    while body.get("next"):
        body = json.loads(client.get(body["next"], **auth).content)
        rows.extend(body["results"])
    return rows


def test_it_sends_anonymous_users_to_sign_in_from_every_url(client, world):
    _, cases = world
    objects = cases["own_team"]
    urls = project_urls()
    pages, details, lists = classify(urls)
    for name in pages:
        url = reverse(name, kwargs=page_kwargs(name, urls[name], objects))
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"], name
    # The API answers 401 with the challenge (token), so a client knows to authenticate.
    for name in details:
        url = reverse(name, kwargs=api_kwargs(name, urls[name], objects))
        for response in (client.get(url), client.post(url, {})):
            assert response.status_code == 401, name
            assert response["WWW-Authenticate"] == "Token", name
    for name in [*lists, "api-schema", "api-docs"]:
        response = client.get(reverse(name))
        assert response.status_code == 401, name
        assert response["WWW-Authenticate"] == "Token", name
        assert b"openapi" not in response.content.lower()


def test_it_models_keep_rows_rather_than_delete_them():
    # The recorded-in-error fields exist on every case record table that can be wrong.
    for model in (Membership, Address, ChildProtectionPlan, Hazard):
        assert {"in_error", "in_error_reason", "in_error_by"} <= {
            f.name for f in model._meta.get_fields()
        }

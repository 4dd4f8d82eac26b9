"""The one access policy (DESIGN.md section 3). Deny by default.

Every rule of who may see or do what is a named function here. Services ask them
before they write (and raise PermissionDenied when refused); pages, the API and
templates ask the same functions to decide what to show, so the page and the API
refuse the same things and a rule is written once.

Who may see a case: members of the case's team (its workers, supervisors, business
support and its managers), its allocated workers, and service managers. A
restricted case only the users named on it. Inactive users and users with no role
see nothing.

Supervision sessions, with the worker's wellbeing in them, are seen by their
supervisee, their supervisor and their managers (team managers of either's team,
and service managers).

The policy knows the field names of cases, people and supervision sessions but does
not import their models: accounts sits left of every other app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404

from . import roles

if TYPE_CHECKING:  # types only: the policy never imports the apps to its right
    from cases.models import Case, Escalation, Person
    from chronologies.models import ChronologyEntry, ChronologyExport
    from supervision.models import Action, CaseDiscussion, Decision, SupervisionSession

    from .models import Team, User

# Roles whose holders may be allocated cases: qualified social work staff.
CASE_HOLDING_ROLES = (roles.SOCIAL_WORKER, roles.PRACTICE_SUPERVISOR, roles.TEAM_MANAGER)
# Roles whose holders are supervised.
SUPERVISED_ROLES = (roles.SOCIAL_WORKER, roles.PRACTICE_SUPERVISOR, roles.TEAM_MANAGER)
# Roles whose holders give supervision.
SUPERVISING_ROLES = (roles.PRACTICE_SUPERVISOR, *roles.MANAGER_ROLES)


def is_staff_member(user: Any) -> bool:
    """Signed in, active and given a role: nobody else may see or do anything."""
    return (
        user is not None
        and user.is_authenticated
        and user.is_active
        and bool(getattr(user, "role_names", None))
    )


# --- Seeing cases ---------------------------------------------------------------------


def case_visibility_q(user: User | None, prefix: str = "") -> Q | None:
    """The filter on Case (or on a model reaching it through `prefix`) for this user.

    None means the user can see nothing.
    """
    if not is_staff_member(user):
        return None
    assert user is not None
    p = f"{prefix}__" if prefix else ""
    restricted_ok = Q(**{f"{p}restricted": False}) | Q(**{f"{p}restricted_to": user})
    if user.has_role(roles.SERVICE_MANAGER):
        return restricted_ok
    reach = Q(**{f"{p}allocated_workers": user})
    if user.team_id is not None:
        reach |= Q(**{f"{p}team_id": user.team_id})
    return reach & restricted_ok


def visible_cases(user: User | None, queryset: QuerySet) -> QuerySet:
    """Narrow a queryset of cases to those the user may see."""
    q = case_visibility_q(user)
    if q is None:
        return queryset.none()
    # The joins on allocated workers and named users can repeat a case; an id
    # subquery keeps the outer query free of DISTINCT so it can order and slice.
    ids = queryset.model.objects.filter(q).values("pk")
    return queryset.filter(pk__in=ids)


def visible_related(user: User | None, queryset: QuerySet, case_path: str = "case") -> QuerySet:
    """Narrow a queryset of things that belong to a case (plans, hazards, addresses)."""
    q = case_visibility_q(user)
    if q is None:
        return queryset.none()
    case_model = queryset.model._meta.get_field(case_path.split("__")[0]).related_model
    return queryset.filter(**{f"{case_path}__in": case_model.objects.filter(q).values("pk")})


def can_view_case(user: User | None, case: Case) -> bool:
    return visible_cases(user, type(case).objects.filter(pk=case.pk)).exists()


def get_case_for(user: User | None, queryset: QuerySet, pk: Any) -> Case:
    """The case if this user may see it; 404 whether it exists or not."""
    try:
        return visible_cases(user, queryset).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404("No case found") from exc


# --- Doing things on a case -------------------------------------------------------------


def can_edit_case(user: User | None, case: Case) -> bool:
    """Everyone who may see a case may add to its record and correct it (people,
    addresses, plans, hazards, visits, meetings, chronology); changes keep who made them."""
    return can_view_case(user, case)


def can_open_case_in(user: User | None, team: Team | None) -> bool:
    """Staff open cases in their own team; service managers in any active team."""
    if not is_staff_member(user) or team is None or not team.active:
        return False
    assert user is not None
    return user.is_service_manager or team.pk == user.team_id


def can_close_case(user: User, case: Case) -> bool:
    """Allocated workers and managers close a case; only managers reopen one."""
    return can_view_case(user, case) and (
        user.is_manager or case.allocated_workers.filter(pk=user.pk).exists()
    )


def can_reopen_case(user: User, case: Case) -> bool:
    return can_view_case(user, case) and user.is_manager


def can_allocate_case(user: User, case: Case) -> bool:
    return can_view_case(user, case) and user.is_manager


def case_holders_q(prefix: str = "") -> Q:
    """The users `can_hold_cases` allows, as a filter on User (for choice lists)."""
    p = f"{prefix}__" if prefix else ""
    return Q(**{f"{p}is_active": True, f"{p}groups__name__in": CASE_HOLDING_ROLES})


def can_hold_cases(user: User | None) -> bool:
    """Who may be allocated a case: active social work staff (social workers, practice
    supervisors and team managers), not business support or service managers."""
    return is_staff_member(user) and user is not None and user.has_role(*CASE_HOLDING_ROLES)


def can_manage_restriction(user: User, case: Case) -> bool:
    return can_view_case(user, case) and user.is_manager


def can_raise_escalation(user: User | None, case: Case) -> bool:
    """Workers, supervisors and managers raise escalations; business support does not."""
    return (
        user is not None
        and can_view_case(user, case)
        and user.has_role(roles.SOCIAL_WORKER, roles.PRACTICE_SUPERVISOR, *roles.MANAGER_ROLES)
    )


def can_cancel_escalation(user: User, escalation: Escalation) -> bool:
    """Managers who may see the case cancel an escalation, with a reason."""
    return user.is_manager and can_view_case(user, escalation.case)


def can_decide_withdrawn_trigger(user: User, escalation: Escalation) -> bool:
    """An escalation whose trigger was withdrawn is kept (with a reason) or cancelled by
    the managers who may cancel it."""
    return escalation.awaits_decision and can_cancel_escalation(user, escalation)


def can_edit_escalation(user: User | None, escalation: Escalation) -> bool:
    """The reason of an open or overdue non-compliance escalation is corrected by those
    who may raise one. A defaulted-visits escalation's reason is the rule's; a met or
    cancelled escalation stands as it was when it closed."""
    return (
        escalation.kind == "non_compliance"
        and escalation.state in ("open", "overdue")
        and can_raise_escalation(user, escalation.case)
    )


def can_add_hazard(
    user: User | None, *, case: Case | None = None, person: Person | None = None
) -> bool:
    """A hazard on a case, by whoever may add to its record; on a person, by whoever
    may change that person's details."""
    if case is not None:
        return can_edit_case(user, case)
    return person is not None and can_edit_person(user, person)


def can_edit_hazard(user: User | None, hazard: Any) -> bool:
    return can_add_hazard(user, case=hazard.case, person=hazard.person)


def can_mark_in_error(user: User | None, record: Any) -> bool:
    """A record kept but marked recorded in error, by whoever may change it: a hazard
    as `can_edit_hazard`; a membership, address, plan, meeting or visit as the case."""
    if record._meta.label == "cases.Hazard":
        return can_edit_hazard(user, record)
    return can_edit_case(user, record.case)


# --- People ---------------------------------------------------------------------------


def can_create_person(user: User | None) -> bool:
    return is_staff_member(user)


def can_view_person(user: User | None, person: Person) -> bool:
    """A person on a case the user may see, or one they recorded who is on no case yet."""
    if not is_staff_member(user):
        return False
    assert user is not None
    memberships = person.memberships.all()
    if not memberships.exists():
        return person.created_by_id == user.pk
    return visible_related(user, memberships).exists()


def can_edit_person(user: User | None, person: Person) -> bool:
    return can_view_person(user, person)


def can_link_person(user: User | None, person: Person) -> bool:
    """Who may be added to a case the user can see: search before create looks across
    the authority, because a duplicate person is the danger; someone known only on
    restricted cases the user cannot see is left out. A record merged into another is
    not added anywhere: the other one is."""
    return person.merged_into_id is None and _findable_person(user, person)


def _findable_person(user: User | None, person: Person) -> bool:
    """Someone search before create may show this user: anyone but those known only on
    restricted cases the user cannot see."""
    if not is_staff_member(user):
        return False
    assert user is not None
    memberships = person.memberships.all()
    if not memberships.exists():
        return True
    if memberships.filter(case__restricted=False).exists():
        return True
    return visible_related(user, memberships).exists()


def can_merge_people(user: User | None) -> bool:
    """Managers and business support merge two records of one person."""
    return (
        is_staff_member(user)
        and user is not None
        and user.has_role(roles.BUSINESS_SUPPORT, *roles.MANAGER_ROLES)
    )


def can_merge_person(user: User | None, person: Person) -> bool:
    """Merge this person's record with another (either way round): whoever may merge
    people, when the record is one search before create shows them and it is on no
    restricted case they cannot see: a merge changes every case the person is on."""
    if not can_merge_people(user) or not _findable_person(user, person):
        return False
    restricted = person.memberships.filter(case__restricted=True)
    return not restricted.exclude(pk__in=visible_related(user, restricted).values("pk")).exists()


# --- Dashboards ---------------------------------------------------------------------------


def can_view_team_dashboard(user: User | None, team: Team | None = None) -> bool:
    """Team managers see their own team's dashboard; service managers every team's.
    With no team: whether the user sees any team's dashboard at all."""
    if not is_staff_member(user):
        return False
    assert user is not None
    if user.is_service_manager:
        return True
    if not user.has_role(roles.TEAM_MANAGER):
        return False
    return team is None or team.pk == user.team_id


def can_view_service_dashboard(user: User | None) -> bool:
    return is_staff_member(user) and user is not None and user.is_service_manager


# --- Supervision ------------------------------------------------------------------------


def session_visibility_q(user: User | None, prefix: str = "") -> Q | None:
    """The filter on SupervisionSession (or a model reaching it through `prefix`)."""
    if not is_staff_member(user):
        return None
    assert user is not None
    p = f"{prefix}__" if prefix else ""
    if user.has_role(roles.SERVICE_MANAGER):
        return Q()
    q = Q(**{f"{p}supervisee": user}) | Q(**{f"{p}supervisor": user})
    if user.has_role(roles.TEAM_MANAGER) and user.team_id is not None:
        q |= Q(**{f"{p}supervisee__team_id": user.team_id})
        q |= Q(**{f"{p}supervisor__team_id": user.team_id})
    return q


def can_view_session(user: User | None, session: SupervisionSession) -> bool:
    q = session_visibility_q(user)
    if q is None:
        return False
    return type(session).objects.filter(q, pk=session.pk).exists()


def watches_supervision(user: User | None) -> bool:
    """Practice supervisors and managers arrange supervision and watch its frequency."""
    return is_staff_member(user) and user is not None and user.has_role(*SUPERVISING_ROLES)


def can_supervise(supervisor: User | None, supervisee: User | None) -> bool:
    """A practice supervisor or team manager supervises the social workers and practice
    supervisors of their own team; a service manager supervises anyone, team managers
    included."""
    if not watches_supervision(supervisor) or not is_staff_member(supervisee):
        return False
    assert supervisor is not None and supervisee is not None
    if supervisee.pk == supervisor.pk or not supervisee.has_role(*SUPERVISED_ROLES):
        return False
    if supervisor.is_service_manager:
        return True
    return (
        supervisor.team_id is not None
        and supervisor.team_id == supervisee.team_id
        and not supervisee.has_role(*roles.MANAGER_ROLES)
    )


def supervisees_q(supervisor: User | None) -> Q | None:
    """The users `can_supervise(supervisor, user)` allows, as a filter on User (for
    choice lists); None when the supervisor may supervise nobody."""
    if not watches_supervision(supervisor):
        return None
    assert supervisor is not None
    q = Q(is_active=True, groups__name__in=SUPERVISED_ROLES) & ~Q(pk=supervisor.pk)
    if supervisor.is_service_manager:
        return q
    if supervisor.team_id is None:
        return None
    # Within a team, managers are not supervised by their colleagues.
    return q & Q(team_id=supervisor.team_id) & ~Q(groups__name__in=roles.MANAGER_ROLES)


def can_record_supervision_for(
    user: User | None, supervisee: User | None, supervisor: User | None = None
) -> bool:
    """Arrange supervision of `supervisee`: given by the user, or by `supervisor` when
    a manager arranges it for someone else; each must be able to supervise them."""
    if user is None or supervisee is None:
        return False
    if supervisor is None or supervisor.pk == user.pk:
        return can_supervise(user, supervisee)
    return (
        user.is_manager
        and can_supervise(user, supervisee)
        and can_supervise(supervisor, supervisee)
    )


def can_record_session(user: User | None, session: SupervisionSession) -> bool:
    """The supervisor writes the record (a manager who sees it may stand in)."""
    if not is_staff_member(user):
        return False
    assert user is not None
    return user.pk == session.supervisor_id or (user.is_manager and can_view_session(user, session))


def can_sign_off_session(user: User | None, session: SupervisionSession) -> bool:
    """Only the supervisor signs the record off."""
    return is_staff_member(user) and user is not None and user.pk == session.supervisor_id


def can_edit_discussion(user: User | None, discussion: CaseDiscussion) -> bool:
    """A case discussion, and the decisions and actions agreed in it, are changed by
    whoever may record its session and may see its case."""
    return can_record_session(user, discussion.session) and can_view_case(user, discussion.case)


def can_edit_decision(user: User | None, decision: Decision) -> bool:
    return can_edit_discussion(user, decision.discussion)


def can_edit_action(user: User | None, action: Action) -> bool:
    """What an action is, who owns it and when it is due (its owner moves it on:
    `can_progress_action`)."""
    return can_edit_discussion(user, action.discussion)


def can_progress_action(user: User | None, action: Action) -> bool:
    """The owner of an action, or whoever may record its session, moves it on."""
    if not is_staff_member(user):
        return False
    assert user is not None
    return user.pk == action.owner_id or can_record_session(user, action.discussion.session)


# --- Chronology ---------------------------------------------------------------------------


def can_edit_chronology_entry(user: User | None, entry: ChronologyEntry) -> bool:
    """A multi-agency entry typed in by hand is changed, like the case record, by whoever
    may change the case. An entry recorded from an event is not edited by hand: its
    source is, and the entry follows it."""
    return entry.source_type == "manual" and can_edit_case(user, entry.case)


# --- Notifications ------------------------------------------------------------------------


def can_manage_notifications(user: User | None) -> bool:
    """Emails the system could not deliver, and those long overdue, are looked after by
    business support (who keep staff contact details) and by superusers (who run the
    system): they see them and send them again. The list names staff and case
    references, never what a case holds."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or (is_staff_member(user) and user.has_role(roles.BUSINESS_SUPPORT))


# --- Single sign-on: linking accounts at an identity provider ------------------------------


def can_link_external_identity(user: User | None, target: User | None) -> bool:
    """Recording (or ending) which person at the identity provider signs in as `target`
    decides who gets that user's roles and cases, so it is for the people who set up
    accounts: business support, system administrators and superusers. Nobody links
    their own account."""
    if user is None or target is None or not user.is_authenticated or not user.is_active:
        return False
    if user.pk == target.pk and not user.is_superuser:
        return False
    return can_administer(user)


# --- Administration: users, teams, agencies, closure days -------------------------------
#
# docs/DECISIONS.md ("Administration in the application") gives the reasons. In short:
# business support and system administrators (and superusers) run the administration
# pages. Business support manage users, teams, agencies and closure days, but neither
# grant the System administrator role nor touch the account of a system administrator
# or a superuser. Nobody administers their own account there: not their roles, not their
# team (which decides the cases they see), not whether it is active. Nobody is made a
# superuser in the application (only `manage.py createsuperuser` or the Django admin).

ADMINISTERING_ROLES = (roles.BUSINESS_SUPPORT, roles.SYSTEM_ADMINISTRATOR)


def _active(user: Any) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def can_administer(user: User | None) -> bool:
    """The administration area: business support, system administrators, superusers."""
    if not _active(user):
        return False
    assert user is not None
    return user.is_superuser or (is_staff_member(user) and user.has_role(*ADMINISTERING_ROLES))


def is_system_administrator(user: User | None) -> bool:
    """Superusers and holders of the System administrator role."""
    if not _active(user):
        return False
    assert user is not None
    return user.is_superuser or (
        is_staff_member(user) and user.has_role(roles.SYSTEM_ADMINISTRATOR)
    )


def can_manage_users(user: User | None) -> bool:
    """See the list of users and create new ones."""
    return can_administer(user)


def can_grant_role(user: User | None, role: str) -> bool:
    """Give (or take away) a role: System administrator only by a system administrator
    or a superuser; any other role by whoever administers."""
    if role not in roles.ALL_ROLES or not can_administer(user):
        return False
    return role != roles.SYSTEM_ADMINISTRATOR or is_system_administrator(user)


def can_view_user(user: User | None, target: User) -> bool:
    """An administrator sees every account, their own included."""
    return can_administer(user)


def can_edit_user(user: User | None, target: User) -> bool:
    """Change someone's details, team and role, or give them a temporary password: not
    one's own account; a superuser's only by a superuser; a system administrator's only
    by whoever may grant that role."""
    if not can_administer(user) or target.pk is None:
        return False
    assert user is not None
    if target.pk == user.pk:
        return False
    if target.is_superuser and not user.is_superuser:
        return False
    return not target.has_role(roles.SYSTEM_ADMINISTRATOR) or is_system_administrator(user)


def can_change_roles(user: User | None, target: User, role: str | None = None) -> bool:
    """Change `target`'s role (to `role` when given): who may edit them, and may take
    away each role they hold and grant the new one."""
    if not can_edit_user(user, target):
        return False
    held_ok = all(can_grant_role(user, name) for name in target.role_names)
    return held_ok and (role is None or can_grant_role(user, role))


def can_deactivate_user(user: User | None, target: User) -> bool:
    """Switch off an active account (never one's own)."""
    return target.is_active and can_edit_user(user, target)


def can_reactivate_user(user: User | None, target: User) -> bool:
    return not target.is_active and can_edit_user(user, target)


def can_set_password(user: User | None, target: User) -> bool:
    """Give someone a temporary password they must change at their next sign-in."""
    return target.is_active and can_edit_user(user, target)


def can_manage_teams(user: User | None) -> bool:
    return can_administer(user)


def can_manage_agencies(user: User | None) -> bool:
    return can_administer(user)


def can_manage_closure_days(user: User | None) -> bool:
    return can_administer(user)


# --- Sign-in lockouts -----------------------------------------------------------------------


def can_unlock_sign_in(user: User | None) -> bool:
    """A sign-in paused after too many failed attempts is ended early by business support
    (who take the calls from staff who cannot get in), system administrators (who run
    the accounts) and superusers. They see the usernames and addresses locked, nothing
    of any case."""
    return can_administer(user)


# --- Second factor ------------------------------------------------------------------------


def can_reset_second_factor(actor: User | None, user: User | None) -> bool:
    """Business support, system administrators and superusers reset the second factor
    of someone who lost their phone; never their own (that would let a stolen password
    replace the second factor), and only a superuser a superuser's."""
    if user is None or actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    if actor.pk == user.pk:
        return False
    if user.is_superuser and not actor.is_superuser:
        return False
    return can_administer(actor)


def can_set_up_second_factor(actor: User | None) -> bool:
    """Anyone with an active account sets up and looks after their own second factor
    (the first time, part way through signing in; the service refuses a second app)."""
    return actor is not None and actor.pk is not None and actor.is_active


# --- API credentials ------------------------------------------------------------------------


def _is_account_administrator(user: User | None) -> bool:
    """Business support and system administrators look after staff accounts; superusers
    run the system."""
    return can_administer(user)


def can_create_api_token(actor: User | None, owner: User | None) -> bool:
    """A token is made only by its owner, signed in to the web pages (so by whatever
    sign-in asks, never by a password alone), while the account is active. What the
    token may then do is what the owner may do: the API asks the policy as the pages do."""
    if actor is None or owner is None or actor.pk != owner.pk:
        return False
    return bool(owner.is_authenticated and owner.is_active)


def can_manage_api_tokens(actor: User | None, owner: User | None) -> bool:
    """Seeing and revoking someone's API tokens: the owner (any of their own, while
    active), or an account administrator (anyone's)."""
    if actor is None or owner is None or not actor.is_authenticated or not actor.is_active:
        return False
    return actor.pk == owner.pk or _is_account_administrator(actor)


def can_revoke_api_token(actor: User | None, token: Any) -> bool:
    return can_manage_api_tokens(actor, token.user)


def can_manage_partner_clients(actor: User | None) -> bool:
    """Registering and deactivating partner systems: system administrators and superusers."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    return actor.is_superuser or (
        is_staff_member(actor) and actor.has_role(roles.SYSTEM_ADMINISTRATOR)
    )


# --- The access log (who was shown which child) --------------------------------------------


def reads_whole_access_log(user: User | None) -> bool:
    """Information governance and service managers read every row (superusers too)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.has_role(roles.INFORMATION_GOVERNANCE, roles.SERVICE_MANAGER)


def can_read_access_log(user: User | None) -> bool:
    """Who may open the access log pages at all: those who read all of it, and team
    managers (for the children on their team's cases, see visible_access_log)."""
    if reads_whole_access_log(user):
        return True
    return (
        is_staff_member(user)
        and user is not None
        and user.team_id is not None
        and user.has_role(roles.TEAM_MANAGER)
    )


def visible_access_log(
    user: User | None, logs: QuerySet, *, cases: QuerySet, memberships: QuerySet
) -> QuerySet:
    """Narrow a queryset of AccessLog to the rows this user may read.

    A team manager reads the rows about their team's cases they may see (a restricted
    case only if named on it) and about the people on those cases, wherever those people
    were looked at. `cases` and `memberships` are Case and Membership querysets, passed
    in because the policy imports no model of the apps to its right.
    """
    if not can_read_access_log(user):
        return logs.none()
    if reads_whole_access_log(user):
        return logs
    assert user is not None
    team_cases = visible_cases(user, cases.filter(team_id=user.team_id)).values("pk")
    people = memberships.filter(case__in=team_cases).values("person_id")
    return logs.filter(Q(case_id__in=team_cases) | Q(person_id__in=people))


def can_read_access_log_of_person(user: User | None, person: Person, *, cases: QuerySet) -> bool:
    """Whether this user may read who looked at this person: anyone who reads the whole
    log; a team manager if the person is on a case of their team they may see. `cases` is
    a Case queryset (passed in: the policy imports no model to its right)."""
    if reads_whole_access_log(user):
        return True
    if not can_read_access_log(user):
        return False
    assert user is not None
    team_cases = visible_cases(user, cases.filter(team_id=user.team_id)).values("pk")
    return person.memberships.filter(case__in=team_cases).exists()


# --- Redaction review ---------------------------------------------------------------------


def can_review_redaction(user: User | None, export: ChronologyExport) -> bool:
    """A redacted chronology is reviewed and approved for release by the person who asked
    for it, while they may still see the case: the one who will share it answers for
    what it says."""
    return (
        user is not None
        and user.is_authenticated
        and export.requested_by_id == user.pk
        and can_view_case(user, export.case)
    )


# --- Lone working (R10): check-in and check-out ---------------------------------------------
# A check-in is seen by the worker, their buddy, the members of the worker's team and the
# service managers, even on a restricted case: those alerted for a worker's safety must
# see where the worker is (the address, times and case reference), not the case itself.


def can_check_in(user: User | None, case: Case) -> bool:
    """Case-holding staff who may work on the case check in before going to it."""
    return can_hold_cases(user) and can_edit_case(user, case)


def can_be_lone_working_buddy(buddy: User | None, worker: User | None) -> bool:
    """A buddy is another active member of the worker's team."""
    return (
        is_staff_member(buddy)
        and worker is not None
        and buddy is not None
        and buddy.pk != worker.pk
        and worker.team_id is not None
        and buddy.team_id == worker.team_id
    )


def lone_working_visibility_q(user: User | None, prefix: str = "") -> Q | None:
    """The filter on LoneWorkingCheckIn for this user; None: nothing."""
    if not is_staff_member(user):
        return None
    assert user is not None
    p = f"{prefix}__" if prefix else ""
    if user.is_service_manager:
        return Q()
    reach = Q(**{f"{p}worker": user}) | Q(**{f"{p}buddy": user})
    if user.team_id is not None:
        reach |= Q(**{f"{p}worker__team_id": user.team_id})
    return reach


def can_view_lone_working(user: User | None, check_in: Any) -> bool:
    if not is_staff_member(user):
        return False
    assert user is not None
    return (
        user.is_service_manager
        or check_in.worker_id == user.pk
        or check_in.buddy_id == user.pk
        or (user.team_id is not None and check_in.worker.team_id == user.team_id)
    )


def can_change_lone_working(user: User | None, check_in: Any) -> bool:
    """Only the worker extends their time or checks out, while checked in."""
    return is_staff_member(user) and user is not None and check_in.worker_id == user.pk


def can_acknowledge_lone_working(user: User | None, check_in: Any) -> bool:
    """Those alerted acknowledge an alert: the buddy, the worker's team managers and the
    service managers; never the worker."""
    if not is_staff_member(user) or user is None or check_in.worker_id == user.pk:
        return False
    return (
        check_in.buddy_id == user.pk
        or user.is_service_manager
        or (
            user.has_role(roles.TEAM_MANAGER)
            and user.team_id is not None
            and check_in.worker.team_id == user.team_id
        )
    )

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from accounts import roles
from cases import queries, services
from cases.models import Address, Case, ChildProtectionPlan, Membership
from cases.validators import validate_nhs_number, validate_postcode, validate_upn
from tests.factories import (
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    TeamFactory,
    UserFactory,
)

D = datetime.date


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, start_date=D(2026, 1, 5)).person


# --- Identifiers and postcodes --------------------------------------------------------


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "943-476-5919", "4010232137"])
def test_it_accepts_nhs_numbers_with_a_valid_check_digit(number):
    validate_nhs_number(number)


@pytest.mark.parametrize(
    "number", ["9434765918", "4857773456", "123456789", "94347659190", "abcdefghij", "0000000010"]
)
def test_it_rejects_nhs_numbers_with_a_wrong_check_digit_or_shape(number):
    with pytest.raises(ValidationError):
        validate_nhs_number(number)


@pytest.mark.parametrize("upn", ["H801200001001", "h801 2000 01001", "P820200112001"])
def test_it_accepts_upns_whose_check_letter_matches(upn):
    validate_upn(upn)


@pytest.mark.parametrize("upn", ["A801200001001", "I801200001001", "H80120000100", "1801200001001"])
def test_it_rejects_upns_with_a_wrong_check_letter_or_shape(upn):
    with pytest.raises(ValidationError):
        validate_upn(upn)


@pytest.mark.parametrize(
    "postcode",
    [
        "SW1A 1AA",
        "sw1a1aa",
        "M1 1AE",
        "B33 8TH",
        "CR2 6XH",
        "DN55 1PT",
        "LS11 5QP",
        "EC1A 1BB",
        "W1A 0AX",
    ],
)
def test_it_accepts_uk_postcodes(postcode):
    validate_postcode(postcode)


@pytest.mark.parametrize(
    "postcode", ["SW1A", "12345", "LS11 5Q", "QS1 1AA", "LS1 1AI", "", "<script>"]
)
def test_it_rejects_what_is_not_a_uk_postcode(postcode):
    with pytest.raises(ValidationError):
        validate_postcode(postcode)


def test_it_rejects_a_bad_nhs_number_when_creating_a_person(worker):
    with pytest.raises(ValidationError) as exc:
        services.person_create(actor=worker, last_name="Carter", nhs_number="9434765918")
    assert "nhs_number" in exc.value.message_dict


def test_it_refuses_a_second_person_with_the_same_nhs_number(worker):
    services.person_create(actor=worker, last_name="Carter", nhs_number="943 476 5919")
    with pytest.raises(ValidationError) as exc:
        services.person_create(actor=worker, last_name="Karter", nhs_number="9434765919")
    assert "already has this NHS number" in exc.value.message_dict["nhs_number"][0]


# --- Case references ------------------------------------------------------------------


def test_it_gives_cases_readable_references_in_sequence(worker):
    kwargs = dict(actor=worker, team=worker.team, summary="x", opened_on=D(2026, 3, 1))
    first = services.case_create(family_name="Carter", **kwargs)
    second = services.case_create(family_name="Walsh", **kwargs)
    assert first.reference == "SG-2026-00001"
    assert second.reference == "SG-2026-00002"
    assert (
        services.case_create(
            family_name="Doyle", **{**kwargs, "opened_on": D(2025, 12, 1)}
        ).reference
        == "SG-2025-00001"
    )


@pytest.mark.django_db(transaction=True)
def test_it_never_issues_the_same_reference_to_concurrent_cases():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    team = TeamFactory()
    user = UserFactory(team=team)
    references, errors = [], []
    barrier = threading.Barrier(8)

    def open_case(i):
        try:
            barrier.wait()
            with transaction.atomic():
                case = services.case_create(
                    actor=user, family_name=f"F{i}", team=team, summary="x", opened_on=D(2026, 2, 2)
                )
            references.append(case.reference)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_case, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(references) == [f"SG-2026-{n:05d}" for n in range(1, 9)]


# --- Membership -----------------------------------------------------------------------


def test_it_refuses_a_membership_that_ends_before_it_starts(worker, case):
    m = MembershipFactory(case=case, start_date=D(2026, 2, 1))
    with pytest.raises(ValidationError) as exc:
        services.membership_end(actor=worker, membership=m, end_date=D(2026, 1, 31))
    assert "end_date" in exc.value.message_dict


def test_it_enforces_membership_date_order_in_the_database(case):
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(case=case, start_date=D(2026, 2, 1), end_date=D(2026, 1, 1))


def test_it_keeps_a_partner_who_comes_and_goes_as_separate_periods(worker, case):
    partner = PersonFactory(first_name="Darren", sex="male")
    kw = dict(actor=worker, case=case, person=partner, relationship="partner")
    first = services.membership_add(start_date=D(2026, 1, 10), **kw)
    services.membership_end(actor=worker, membership=first, end_date=D(2026, 3, 1))
    with pytest.raises(ValidationError):
        services.membership_add(start_date=D(2026, 2, 1), **kw)  # overlaps the first stay
    second = services.membership_add(start_date=D(2026, 4, 1), **kw)
    stays = Membership.objects.filter(case=case, person=partner).order_by("start_date")
    assert list(stays) == [first, second]
    household = queries.household(case, today=D(2026, 5, 1))
    assert second in household["current"]
    assert first in household["past"]


def test_it_refuses_to_add_someone_to_a_closed_case(worker, case):
    case.status, case.closed_on, case.closure_reason = "closed", D(2026, 2, 1), "nfa"
    case.save()
    with pytest.raises(ValidationError):
        services.membership_add(
            actor=worker,
            case=case,
            person=PersonFactory(),
            relationship="child",
            start_date=D(2026, 2, 1),
        )


# --- Addresses ------------------------------------------------------------------------


def test_it_ends_the_previous_address_the_day_before_a_move(worker, case):
    first = services.address_add(
        actor=worker,
        case=case,
        line_1="1 Mill Lane",
        town="Leeds",
        postcode="ls11 5qp",
        start_date=D(2026, 1, 5),
    )
    second = services.address_add(
        actor=worker,
        case=case,
        line_1="2 Station Rd",
        town="Leeds",
        postcode="LS9 8AB",
        start_date=D(2026, 4, 1),
    )
    first.refresh_from_db()
    assert first.postcode == "LS11 5QP"
    assert first.end_date == D(2026, 3, 31)
    assert Address.objects.get(case=case, end_date__isnull=True) == second


def test_it_refuses_a_move_dated_before_the_current_address(worker, case):
    services.address_add(
        actor=worker,
        case=case,
        line_1="1 Mill Lane",
        town="Leeds",
        postcode="LS11 5QP",
        start_date=D(2026, 3, 1),
    )
    with pytest.raises(ValidationError) as exc:
        services.address_add(
            actor=worker,
            case=case,
            line_1="2 Station Rd",
            town="Leeds",
            postcode="LS9 8AB",
            start_date=D(2026, 3, 1),
        )
    assert "start_date" in exc.value.message_dict


# --- Child protection plans -----------------------------------------------------------


def test_it_allows_one_open_plan_per_child(worker, case, child):
    services.plan_start(
        actor=worker, case=case, child=child, category="neglect", start_date=D(2026, 2, 1)
    )
    with pytest.raises(ValidationError) as exc:
        services.plan_start(
            actor=worker, case=case, child=child, category="emotional", start_date=D(2026, 3, 1)
        )
    assert "already subject to a plan" in exc.value.message_dict["child"][0]


def test_it_enforces_one_open_plan_per_child_in_the_database(case, child):
    PlanFactory(case=case, child=child)
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanFactory(case=case, child=child, start_date=D(2026, 3, 1))


def test_it_allows_a_new_plan_after_the_last_one_ended(worker, case, child):
    plan = services.plan_start(
        actor=worker, case=case, child=child, category="neglect", start_date=D(2026, 2, 1)
    )
    services.plan_end(actor=worker, plan=plan, end_date=D(2026, 5, 1))
    with pytest.raises(ValidationError):
        services.plan_start(
            actor=worker, case=case, child=child, category="neglect", start_date=D(2026, 4, 1)
        )
    services.plan_start(
        actor=worker, case=case, child=child, category="emotional", start_date=D(2026, 6, 1)
    )
    assert ChildProtectionPlan.objects.filter(child=child).count() == 2


def test_it_refuses_a_plan_for_an_adult(worker, case):
    mother = MembershipFactory(case=case, relationship="mother").person
    with pytest.raises(ValidationError):
        services.plan_start(
            actor=worker, case=case, child=mother, category="neglect", start_date=D(2026, 2, 1)
        )


@pytest.mark.parametrize(
    "day, expected",
    [
        (D(2026, 1, 31), False),  # before the plan
        (D(2026, 2, 1), True),  # first day
        (D(2026, 4, 30), True),  # last day
        (D(2026, 5, 1), False),  # the day after it ended
    ],
)
def test_it_answers_whether_a_child_is_on_a_plan_on_a_date(case, child, day, expected):
    PlanFactory(case=case, child=child, start_date=D(2026, 2, 1), end_date=D(2026, 4, 30))
    assert queries.case_has_child_on_plan(case.pk, day) is expected


def test_it_counts_an_unborn_child_on_a_pre_birth_plan(worker, case):
    baby = services.person_create(
        actor=worker, last_name="Ahmed", expected_date_of_birth=D(2026, 9, 1)
    )
    services.membership_add(
        actor=worker, case=case, person=baby, relationship="child", start_date=D(2026, 3, 1)
    )
    services.plan_start(
        actor=worker, case=case, child=baby, category="neglect", start_date=D(2026, 4, 1)
    )
    assert queries.case_has_child_on_plan(case.pk, D(2026, 4, 2))


def test_it_ignores_plans_of_children_no_longer_on_the_case_or_recorded_in_error(worker, case):
    m = MembershipFactory(case=case, start_date=D(2026, 1, 5))
    plan = PlanFactory(case=case, child=m.person, start_date=D(2026, 2, 1))
    services.membership_end(actor=worker, membership=m, end_date=D(2026, 3, 1))
    assert queries.case_has_child_on_plan(case.pk, D(2026, 2, 15))
    assert not queries.case_has_child_on_plan(case.pk, D(2026, 3, 2))
    services.record_mark_in_error(actor=worker, record=plan, reason="Wrong child")
    assert not queries.case_has_child_on_plan(case.pk, D(2026, 2, 15))


def test_it_answers_the_plan_question_in_one_query(case, child, django_assert_num_queries):
    PlanFactory(case=case, child=child)
    with django_assert_num_queries(1):
        queries.case_has_child_on_plan(case.pk, D(2026, 3, 1))


# --- Hazards --------------------------------------------------------------------------


def test_it_shows_hazards_on_the_case_and_on_people_on_it(worker, case):
    partner = MembershipFactory(case=case, relationship="partner").person
    dog = services.hazard_add(
        actor=worker, case=case, kind="animal", details="Dog", start_date=D(2026, 1, 5)
    )
    threat = services.hazard_add(
        actor=worker,
        person=partner,
        kind="threats",
        details="Threatened a worker",
        start_date=D(2026, 2, 1),
    )
    services.hazard_add(
        actor=worker,
        case=case,
        kind="weapon",
        details="Old",
        start_date=D(2026, 1, 5),
        end_date=D(2026, 1, 20),
    )
    assert set(queries.active_hazards(case, today=D(2026, 3, 1))) == {dog, threat}
    assert queries.active_hazards(case, today=D(2026, 1, 10))[0].kind in {"animal", "weapon"}


def test_it_needs_a_hazard_to_be_about_a_case_or_a_person(worker, case):
    with pytest.raises(ValidationError):
        services.hazard_add(actor=worker, kind="animal", details="Dog", start_date=D(2026, 1, 5))


# --- Closing and reopening ------------------------------------------------------------


def test_it_refuses_to_close_a_case_with_an_open_plan(worker, case, child):
    PlanFactory(case=case, child=child)
    with pytest.raises(ValidationError):
        services.case_close(actor=worker, case=case, closed_on=D(2026, 6, 1), reason="nfa")


def test_it_lets_only_a_manager_reopen_a_case(worker, case):
    services.case_close(actor=worker, case=case, closed_on=D(2026, 6, 1), reason="nfa")
    with pytest.raises(PermissionDenied):
        services.case_reopen(actor=worker, case=case, reason="New referral")
    manager = UserFactory(team=case.team, role=roles.TEAM_MANAGER)
    services.case_reopen(actor=manager, case=case, reason="New referral from school")
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN and case.closed_on is None
    assert case.history.first().history_user == manager


def test_it_records_the_acting_user_on_every_history_row(worker, case, child):
    plan = services.plan_start(
        actor=worker, case=case, child=child, category="neglect", start_date=D(2026, 2, 1)
    )
    manager = UserFactory(team=case.team, role=roles.TEAM_MANAGER)
    services.plan_end(actor=manager, plan=plan, end_date=D(2026, 3, 1))
    users = [h.history_user for h in plan.history.order_by("history_date")]
    assert users == [worker, manager]


def test_an_allocation_is_never_empty_nor_to_someone_who_cannot_hold_cases(worker, case):
    from django.core.exceptions import ValidationError

    manager = UserFactory(team=case.team, role=roles.TEAM_MANAGER)
    clerk = UserFactory(team=case.team, role=roles.BUSINESS_SUPPORT)
    boss = UserFactory(team=case.team, role=roles.SERVICE_MANAGER)
    other_team = UserFactory()
    for workers, message in (
        ([], "Select at least one worker"),
        ([clerk], "cannot be allocated cases"),
        ([boss], "cannot be allocated cases"),
        ([other_team], "is not in"),
    ):
        with pytest.raises(ValidationError, match=message):
            services.case_allocate(actor=manager, case=case, workers=workers)
    assert list(case.allocated_workers.all()) == [worker]
    before = case.history.count()
    services.case_allocate(actor=manager, case=case, workers=[worker])  # the same again
    assert case.history.count() == before

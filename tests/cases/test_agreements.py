"""Written agreements with a family and their breaches (R10, R11)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import roles
from cases import services
from cases.models import AgreementBreach, WrittenAgreement
from chronologies.models import ChronologyEntry
from tests.factories import (
    CaseFactory,
    MembershipFactory,
    RecordedVisitFactory,
    TeamFactory,
    UserFactory,
)

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 12, 0))
C = WrittenAgreement.Consequence


@pytest.fixture
def mother(case):
    return MembershipFactory(case=case, relationship="parent", start_date=D(2026, 1, 5)).person


def _make(worker, case, **kw):
    values = {
        "actor": worker,
        "case": case,
        "unacceptable_behaviour": "Shouting at staff; refusing entry to the children's rooms",
        "family_agrees": "Let the worker see both children's bedrooms at each visit",
        "consequences": [C.JOINT_VISITS, C.PROTECTION_MEETING],
        "agreed_on": D(2026, 3, 2),
        "now": NOW,
    }
    values.update(kw)
    return services.agreement_create(**values)


def _entry(source_type, pk):
    return ChronologyEntry.objects.get(source_type=source_type, source_id=str(pk))


def test_it_records_an_agreement_with_history_and_a_chronology_entry(worker, case, mother):
    agreement = _make(worker, case, agreed_by=[mother])

    assert list(agreement.agreed_by.all()) == [mother]
    # The row of the people who agreed it follows the row of its creation.
    history = agreement.history.order_by("history_id")
    assert [h.history_type for h in history] == ["+", "~"]
    assert {h.history_user for h in history} == {worker}
    assert list(history.last().agreed_by.values_list("person_id", flat=True)) == [mother.pk]
    entry = _entry("agreement", agreement.pk)
    assert entry.category == "agreement"
    assert entry.occurred_on == D(2026, 3, 2)
    assert "Shouting at staff" in entry.details
    assert "Visits only by two workers together" in entry.details
    assert f"Agreed by: {mother.display_name}" in entry.details


def test_it_sets_the_review_in_working_days_over_a_bank_holiday(worker, case, settings):
    settings.WRITTEN_AGREEMENT_REVIEW_WORKING_DAYS = 5
    # Monday 30 March 2026: Good Friday (3 April) and Easter Monday (6 April) are skipped.
    agreement = _make(
        worker,
        case,
        agreed_on=D(2026, 3, 30),
        now=timezone.make_aware(datetime.datetime(2026, 3, 30, 12, 0)),
    )

    assert agreement.review_due == D(2026, 4, 8)


def test_it_writes_nothing_for_an_unchanged_edit(worker, case, mother):
    agreement = _make(worker, case, agreed_by=[mother])
    entry = _entry("agreement", agreement.pk)
    rows, entry_rows = agreement.history.count(), entry.history.count()

    services.agreement_update(
        actor=worker,
        agreement=agreement,
        version=services.agreement_version(agreement),
        unacceptable_behaviour=agreement.unacceptable_behaviour + "  ",
        family_agrees=agreement.family_agrees,
        consequences=list(agreement.consequences),
        agreed_on=agreement.agreed_on,
        agreed_by=[mother],
        now=NOW,
    )

    assert agreement.history.count() == rows
    assert entry.history.count() == entry_rows


def test_it_rewrites_the_chronology_entry_when_corrected(worker, case):
    agreement = _make(worker, case)

    services.agreement_update(
        actor=worker, agreement=agreement, family_agrees="Keep the dog outside", now=NOW
    )

    assert agreement.history.count() == 2
    assert "Keep the dog outside" in _entry("agreement", agreement.pk).details
    assert ChronologyEntry.objects.filter(source_type="agreement").count() == 1


def test_it_asks_for_the_other_consequence_when_other_is_chosen(worker, case):
    with pytest.raises(ValidationError) as exc:
        _make(worker, case, consequences=[C.OTHER])

    assert "consequence_other" in exc.value.message_dict
    assert not WrittenAgreement.objects.exists()


def test_it_ends_an_agreement_with_an_entry(worker, case):
    agreement = _make(worker, case)

    services.agreement_end(
        actor=worker, agreement=agreement, ended_on=D(2026, 3, 9), reason="Plan ended", now=NOW
    )

    agreement.refresh_from_db()
    assert agreement.ended_on == D(2026, 3, 9)
    assert services.agreement_in_force(case) is None
    assert _entry("agreement_ended", agreement.pk).details == "Plan ended"
    with pytest.raises(ValidationError):
        services.agreement_end(
            actor=worker, agreement=agreement, ended_on=D(2026, 3, 9), reason="Again", now=NOW
        )


def test_it_records_a_breach_by_hand_in_the_chronology(worker, case):
    agreement = _make(worker, case)

    breach = services.agreement_breach_record(
        actor=worker,
        agreement=agreement,
        occurred_on=D(2026, 3, 6),
        what_happened="Father shouted at the worker on the doorstep",
        now=NOW,
    )

    assert breach.history.get().history_user == worker
    entry = _entry("agreement_breach", breach.pk)
    assert entry.title == "Written agreement not kept (recorded by hand)"
    assert entry.details == "Father shouted at the worker on the doorstep"
    assert entry.significance == "significant"


def test_it_records_a_breach_from_a_visit_to_the_case(worker, case):
    agreement = _make(worker, case)
    visit = RecordedVisitFactory(case=case, outcome="completed", lead_worker=worker)

    breach = services.agreement_breach_record(
        actor=worker,
        agreement=agreement,
        occurred_on=D(2026, 3, 6),
        what_happened="Bedrooms not shown",
        visit=visit,
        now=NOW,
    )

    assert breach.visit == visit
    assert _entry("agreement_breach", breach.pk).title == (
        "Written agreement not kept (seen on a visit)"
    )


def test_it_refuses_a_breach_from_a_visit_to_another_case(worker, case):
    agreement = _make(worker, case)
    other = CaseFactory(team=case.team)
    visit = RecordedVisitFactory(case=other, outcome="completed")

    with pytest.raises(ValidationError) as exc:
        services.agreement_breach_record(
            actor=worker,
            agreement=agreement,
            occurred_on=D(2026, 3, 6),
            what_happened="x",
            visit=visit,
            now=NOW,
        )

    assert "visit" in exc.value.message_dict
    assert not AgreementBreach.objects.exists()


def test_it_refuses_a_breach_before_the_agreement_or_in_the_future(worker, case):
    agreement = _make(worker, case)
    for day in (D(2026, 3, 1), D(2026, 3, 11)):
        with pytest.raises(ValidationError) as exc:
            services.agreement_breach_record(
                actor=worker, agreement=agreement, occurred_on=day, what_happened="x", now=NOW
            )
        assert "occurred_on" in exc.value.message_dict


def test_it_marks_an_agreement_in_error_striking_its_breaches(worker, case):
    agreement = _make(worker, case)
    breach = services.agreement_breach_record(
        actor=worker, agreement=agreement, occurred_on=D(2026, 3, 6), what_happened="x", now=NOW
    )

    services.record_mark_in_error(actor=worker, record=agreement, reason="Wrong family", now=NOW)

    agreement.refresh_from_db()
    assert agreement.in_error and agreement.in_error_by == worker
    assert WrittenAgreement.objects.filter(pk=agreement.pk).exists()  # kept
    assert services.agreement_in_force(case) is None
    assert _entry("agreement", agreement.pk).source_in_error
    assert _entry("agreement_breach", breach.pk).source_in_error
    with pytest.raises(ValidationError):
        services.agreement_update(actor=worker, agreement=agreement, family_agrees="y", now=NOW)


def test_it_marks_a_breach_in_error(worker, case):
    agreement = _make(worker, case)
    breach = services.agreement_breach_record(
        actor=worker, agreement=agreement, occurred_on=D(2026, 3, 6), what_happened="x", now=NOW
    )

    services.record_mark_in_error(actor=worker, record=breach, reason="Other case", now=NOW)

    breach.refresh_from_db()
    assert breach.in_error
    assert _entry("agreement_breach", breach.pk).source_in_error
    assert not _entry("agreement", agreement.pk).source_in_error


def test_it_refuses_someone_outside_the_team(worker, case):
    outsider = UserFactory(team=TeamFactory(), role=roles.SOCIAL_WORKER)
    agreement = _make(worker, case)

    with pytest.raises(PermissionDenied):
        _make(outsider, case)
    for call in (
        lambda: services.agreement_update(
            actor=outsider, agreement=agreement, family_agrees="y", now=NOW
        ),
        lambda: services.agreement_end(
            actor=outsider, agreement=agreement, ended_on=D(2026, 3, 9), reason="r", now=NOW
        ),
        lambda: services.agreement_breach_record(
            actor=outsider, agreement=agreement, occurred_on=D(2026, 3, 6), what_happened="x"
        ),
        lambda: services.record_mark_in_error(actor=outsider, record=agreement, reason="r"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert WrittenAgreement.objects.count() == 1
    assert agreement.history.count() == 1


def test_it_refuses_people_who_are_not_on_the_case(worker, case):
    stranger = MembershipFactory(case=CaseFactory(team=case.team)).person

    with pytest.raises(ValidationError) as exc:
        _make(worker, case, agreed_by=[stranger])

    assert "agreed_by" in exc.value.message_dict

"""Working-day calendar: DESIGN.md section 2 examples and the counting rules."""

import bisect
import datetime

import pytest

from accounts.models import ClosureDay
from safeguarding.workdays import add_working_days, is_working_day, working_days_between

D = datetime.date


# --- DESIGN.md section 2: the four examples ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        # Thu 24 (1), [Fri 25 Christmas, Mon 28 Boxing Day substitute], Tue 29 (2), Wed 30 (3),
        # Thu 31 (4), [Fri 1 Jan], Mon 4 (5), Tue 5 (6), Wed 6 (7).
        pytest.param(D(2026, 12, 23), 7, D(2027, 1, 6), id="wed-23-dec-no-cp-plan"),
        pytest.param(D(2026, 12, 23), 3, D(2026, 12, 30), id="wed-23-dec-cp-plan"),
        # Mon 21 .. Thu 24 (1-4), Tue 29 (5), Wed 30 (6), Thu 31 (7).
        pytest.param(D(2026, 12, 18), 7, D(2026, 12, 31), id="fri-18-dec-no-cp-plan"),
        # [Sun 28, Mon 29 Easter Monday], Tue 30 (1), Wed 31 (2), Thu 1 Apr (3).
        pytest.param(D(2027, 3, 27), 3, D(2027, 4, 1), id="sat-27-mar-cp-plan-easter"),
    ],
)
def test_it_meets_the_design_examples(start, n, due):
    assert add_working_days(start, n) == due
    assert working_days_between(start, due) == n


def test_it_knows_the_example_weekdays():
    # Guard against a typo in the examples' dates: the DESIGN.md table names the weekday.
    assert D(2026, 12, 23).strftime("%a") == "Wed"
    assert D(2027, 1, 6).strftime("%a") == "Wed"
    assert D(2026, 12, 30).strftime("%a") == "Wed"
    assert D(2026, 12, 18).strftime("%a") == "Fri"
    assert D(2026, 12, 31).strftime("%a") == "Thu"
    assert D(2027, 3, 27).strftime("%a") == "Sat"
    assert D(2027, 4, 1).strftime("%a") == "Thu"


# --- the triggering day is day 0 whatever it is -------------------------------------------


@pytest.mark.django_db
def test_it_counts_from_a_saturday_trigger():
    assert add_working_days(D(2026, 12, 19), 1) == D(2026, 12, 21)


@pytest.mark.django_db
def test_it_counts_from_a_sunday_trigger():
    assert add_working_days(D(2026, 12, 20), 1) == D(2026, 12, 21)
    assert add_working_days(D(2026, 12, 20), 5) == D(2026, 12, 29)


@pytest.mark.django_db
def test_it_counts_from_a_bank_holiday_trigger():
    # Christmas Day 2026 (Fri): next working day skips the weekend and the Boxing Day substitute.
    assert add_working_days(D(2026, 12, 25), 1) == D(2026, 12, 29)
    # Easter Monday 2027.
    assert add_working_days(D(2027, 3, 29), 1) == D(2027, 3, 30)


@pytest.mark.django_db
@pytest.mark.parametrize("start", [D(2026, 12, 19), D(2026, 12, 25), D(2026, 12, 23)])
def test_it_returns_the_start_for_zero_days_without_a_query(start, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert add_working_days(start, 0) == start


def test_it_rejects_negative_days():
    with pytest.raises(ValueError):
        add_working_days(D(2026, 12, 23), -1)


def test_it_rejects_datetimes():
    with pytest.raises(TypeError):
        add_working_days(datetime.datetime(2026, 12, 23, 9, 0), 3)


def test_it_takes_region_only_by_keyword():
    with pytest.raises(TypeError):
        add_working_days(D(2026, 12, 23), 3, "SCT")


# --- bank holidays and their substitute days ----------------------------------------------


@pytest.mark.django_db
def test_it_skips_the_boxing_day_substitute_not_the_saturday():
    # 2026: Christmas Fri 25, Boxing Day Sat 26 -> substitute Mon 28.
    assert not is_working_day(D(2026, 12, 28))
    assert is_working_day(D(2026, 12, 29))
    assert add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 29)


@pytest.mark.django_db
def test_it_skips_both_substitutes_when_christmas_falls_on_saturday():
    # 2027: Christmas Sat 25, Boxing Day Sun 26 -> substitutes Mon 27 and Tue 28.
    assert not is_working_day(D(2027, 12, 27))
    assert not is_working_day(D(2027, 12, 28))
    assert add_working_days(D(2027, 12, 24), 1) == D(2027, 12, 29)
    assert working_days_between(D(2027, 12, 24), D(2027, 12, 29)) == 1


@pytest.mark.django_db
def test_it_uses_the_scottish_calendar_when_asked():
    # Scotland: 2 January 2027 (Sat) is a holiday, substitute Mon 4 January.
    start = D(2026, 12, 30)
    assert add_working_days(start, 2) == D(2027, 1, 4)
    assert add_working_days(start, 2, region="SCT") == D(2027, 1, 5)
    # Scotland has no Easter Monday bank holiday.
    assert add_working_days(D(2027, 3, 27), 3, region="SCT") == D(2027, 3, 31)


@pytest.mark.django_db
def test_it_reads_the_region_from_settings(settings):
    settings.WORKDAYS_REGION = "SCT"
    assert not is_working_day(D(2027, 1, 4))
    assert add_working_days(D(2026, 12, 30), 2) == D(2027, 1, 5)
    # An explicit region wins over the setting.
    assert add_working_days(D(2026, 12, 30), 2, region="ENG") == D(2027, 1, 4)


@pytest.mark.django_db
def test_it_treats_wales_like_england():
    for start in (D(2026, 12, 23), D(2026, 12, 18), D(2027, 3, 27)):
        for n in range(11):
            wales = add_working_days(start, n, region="WLS")
            assert wales == add_working_days(start, n, region="ENG")


# --- local closure days -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_skips_a_local_closure_day():
    assert add_working_days(D(2026, 12, 23), 3) == D(2026, 12, 30)
    ClosureDay.objects.create(date=D(2026, 12, 24), reason="Council Christmas closure")
    assert not is_working_day(D(2026, 12, 24))
    assert add_working_days(D(2026, 12, 23), 3) == D(2026, 12, 31)
    assert working_days_between(D(2026, 12, 23), D(2026, 12, 31)) == 3


@pytest.mark.django_db
def test_it_counts_from_a_closure_day_trigger():
    ClosureDay.objects.create(date=D(2026, 12, 24), reason="Council Christmas closure")
    assert add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 29)


@pytest.mark.django_db
def test_it_ignores_closure_days_outside_the_range():
    ClosureDay.objects.create(date=D(2026, 12, 22), reason="Before the trigger")
    ClosureDay.objects.create(date=D(2027, 2, 1), reason="Long after the deadline")
    assert add_working_days(D(2026, 12, 23), 3) == D(2026, 12, 30)


# --- working_days_between -----------------------------------------------------------------


@pytest.mark.django_db
def test_it_counts_between_with_a_sign():
    assert working_days_between(D(2026, 12, 23), D(2026, 12, 23)) == 0
    assert working_days_between(D(2026, 12, 23), D(2027, 1, 6)) == 7
    assert working_days_between(D(2027, 1, 6), D(2026, 12, 23)) == -7
    # Deadline Wed 30 Dec; on Mon 4 Jan the escalation is 2 working days overdue.
    assert working_days_between(D(2026, 12, 30), D(2027, 1, 4)) == 2
    # Non-working days in between add nothing.
    assert working_days_between(D(2026, 12, 24), D(2026, 12, 28)) == 0


@pytest.mark.django_db
def test_it_round_trips_between_and_add_for_every_day_of_2026_and_2027():
    ClosureDay.objects.create(date=D(2026, 8, 3), reason="Office move")
    ClosureDay.objects.create(date=D(2027, 12, 29), reason="Council Christmas closure")
    one_day = datetime.timedelta(days=1)
    # Oracle: walk the calendar one day at a time using is_working_day.
    working = []
    day = D(2026, 1, 1)
    while day <= D(2028, 1, 31):
        if is_working_day(day):
            working.append(day)
        day += one_day
    day = D(2026, 1, 1)
    while day <= D(2027, 12, 31):
        later = working[bisect.bisect_right(working, day) :][:10]
        for n in range(11):
            due = add_working_days(day, n)
            assert due == (later[n - 1] if n else day), (day, n)
            assert working_days_between(day, due) == n, (day, n, due)
        day += one_day


@pytest.mark.django_db
def test_it_agrees_with_is_working_day():
    ClosureDay.objects.create(date=D(2027, 1, 5), reason="Training day")
    start = D(2026, 12, 18)
    day, count = start, 0
    while day < D(2027, 2, 1):
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            count += 1
            assert add_working_days(start, count) == day
        assert working_days_between(start, day) == count


# --- efficiency ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_reads_closure_days_with_one_query(django_assert_max_num_queries):
    ClosureDay.objects.create(date=D(2026, 12, 24), reason="Council Christmas closure")
    ClosureDay.objects.create(date=D(2026, 12, 31), reason="Council Christmas closure")
    with django_assert_max_num_queries(1):
        assert add_working_days(D(2026, 12, 23), 7) == D(2027, 1, 8)
    with django_assert_max_num_queries(1):
        add_working_days(D(2026, 1, 1), 250)
    with django_assert_max_num_queries(1):
        assert working_days_between(D(2026, 1, 1), D(2027, 12, 31)) > 400
    with django_assert_max_num_queries(1):
        is_working_day(D(2026, 12, 29))


@pytest.mark.django_db
def test_it_keeps_queries_bounded_with_a_long_closure(django_assert_max_num_queries):
    first = D(2027, 6, 1)
    ClosureDay.objects.bulk_create(
        ClosureDay(date=first + datetime.timedelta(days=i), reason="Building closed")
        for i in range(60)
    )
    # Closed Tue 1 June to Fri 30 July 2027: day 1 is Mon 2 August.
    with django_assert_max_num_queries(3):
        assert add_working_days(D(2027, 5, 31), 1) == D(2027, 8, 2)


@pytest.mark.django_db
def test_it_needs_no_query_for_a_weekend_or_bank_holiday(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert not is_working_day(D(2026, 12, 26))
        assert not is_working_day(D(2026, 12, 25))


def test_a_calendar_counts_on_as_add_working_days_does_past_its_window(db):
    """WorkingDayCalendar (one read of closure days for many dates) agrees with
    add_working_days, also for dates outside the window it first read."""
    from accounts.models import ClosureDay
    from safeguarding.workdays import WorkingDayCalendar

    ClosureDay.objects.create(date=datetime.date(2026, 12, 29), reason="Christmas closure")
    calendar = WorkingDayCalendar(datetime.date(2027, 1, 10), datetime.date(2027, 1, 20))
    for start in (
        datetime.date(2026, 12, 18),
        datetime.date(2027, 1, 15),
        datetime.date(2027, 3, 26),
    ):
        for n in (0, 1, 3, 10, 20):
            assert calendar.add(start, n) == add_working_days(start, n), (start, n)
    assert not calendar.is_working_day(datetime.date(2026, 12, 29))
    assert calendar.is_working_day(datetime.date(2026, 12, 30))
    assert not calendar.is_working_day(datetime.date(2027, 3, 26))  # Good Friday


def test_a_calendar_for_many_starts_reads_once_and_agrees_with_add_working_days(db):
    """for_starts sizes the window from the dates it is given; a start it was not told
    of (a long closure between) is read as needed, with the same answer."""
    from accounts.models import ClosureDay
    from safeguarding.workdays import WorkingDayCalendar

    D = datetime.date
    ClosureDay.objects.create(date=D(2026, 12, 24), reason="Christmas closure")
    for day in range(1, 20):
        ClosureDay.objects.create(date=D(2027, 2, day), reason="A long closure")
    starts = [D(2026, 12, 18), D(2026, 12, 23), D(2027, 1, 29), D(2027, 3, 27), D(2026, 5, 1)]
    calendar = WorkingDayCalendar.for_starts(starts, 10)
    narrow = WorkingDayCalendar.for_starts([D(2026, 6, 1)], 1)
    for start in starts:
        for n in (0, 1, 3, 7, 10, 20, 40):
            expected = add_working_days(start, n)
            assert calendar.add(start, n) == expected, (start, n)
            assert narrow.add(start, n) == expected, (start, n)

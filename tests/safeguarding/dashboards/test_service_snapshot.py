"""The service dashboard reads figures kept per service manager: worked out by the
periodic task (and on demand), with the live page's queries and scoping, and never
older than the maximum age or from another day."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from accounts import roles
from safeguarding import tasks
from safeguarding.dashboards import queries_manager as q
from safeguarding.dashboards import snapshots
from safeguarding.dashboards.common import moment
from safeguarding.models import DashboardSnapshot
from tests.factories import CaseFactory, MembershipFactory, TeamFactory, UserFactory

NOW = datetime.datetime(2026, 3, 11, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def county(db, frozen):
    north = TeamFactory(name="North", code="n")
    south = TeamFactory(name="South", code="s")
    helen = UserFactory(username="helen", team=north, role=roles.SERVICE_MANAGER)
    other_sm = UserFactory(username="omar", team=south, role=roles.SERVICE_MANAGER)
    grace = UserFactory(username="grace", team=north, role=roles.TEAM_MANAGER)
    for team, n in ((north, 2), (south, 3)):
        for _ in range(n):
            MembershipFactory(
                case=CaseFactory(team=team, opened_on=datetime.date(2026, 1, 5)),
                start_date=datetime.date(2026, 1, 5),
            )
    return {"north": north, "south": south, "helen": helen, "other_sm": other_sm, "grace": grace}


def cell(html, team, key, value):
    url = reverse("dashboards:team_figure", args=[team.pk, key])
    return (
        f'href="{url}"><span class="govuk-visually-hidden">{team.name}, ' in html
        and f"</span>{value}</a>" in html.split(f'href="{url}">', 1)[1].split("</a>", 1)[0] + "</a>"
    )


def test_it_keeps_the_same_figures_as_working_them_out_live(county):
    snapshot = snapshots.service_snapshot_refresh(user=county["helen"])
    live = q.counts_by_team(county["helen"], moment())
    assert snapshots.service_counts(county["helen"], moment()).counts == live
    assert snapshot.computed_at == NOW
    assert live["cases-total"] == {county["north"].pk: 2, county["south"].pk: 3}


def test_the_task_works_them_out_for_every_active_service_manager_only(county):
    UserFactory(username="gone", role=roles.SERVICE_MANAGER, is_active=False)

    assert tasks.dashboards_refresh_service.apply().get() == 2

    assert set(DashboardSnapshot.objects.values_list("user__username", flat=True)) == {
        "helen",
        "omar",
    }
    entry = settings.CELERY_BEAT_SCHEDULE["dashboards-service-refresh"]
    assert entry["task"] == tasks.dashboards_refresh_service.name


def test_the_page_reads_the_snapshot_and_says_when_it_was_worked_out(client, county, frozen):
    snapshots.service_snapshot_refresh(user=county["helen"])
    # A case opened since: the page still shows the kept figures, as it says.
    CaseFactory(team=county["north"])
    frozen.shift(datetime.timedelta(minutes=4))
    client.force_login(county["helen"])

    html = client.get(reverse("dashboards:service")).content.decode()

    assert cell(html, county["north"], "cases-cin", 2)
    assert "Figures worked out at 12:00" in html and "every 5 minutes" in html
    assert DashboardSnapshot.objects.get(user=county["helen"]).computed_at == NOW


def test_refresh_now_works_them_out_again(client, county, frozen):
    snapshots.service_snapshot_refresh(user=county["helen"])
    CaseFactory(team=county["north"])
    frozen.shift(datetime.timedelta(minutes=1))
    client.force_login(county["helen"])

    assert client.get(reverse("dashboards:service_refresh")).status_code == 405
    response = client.post(reverse("dashboards:service_refresh"), follow=True)

    html = response.content.decode()
    assert cell(html, county["north"], "cases-cin", 3)
    assert "Figures worked out at 12:01" in html


@pytest.mark.parametrize(
    "age",
    [
        datetime.timedelta(seconds=15 * 60 + 1),  # older than the maximum age
        datetime.timedelta(hours=12, minutes=1),  # worked out yesterday (11:59 pm)
    ],
)
def test_figures_too_old_or_from_another_day_are_worked_out_again(client, county, age):
    with time_machine.travel(NOW - age, tick=False):
        snapshots.service_snapshot_refresh(user=county["helen"])
    CaseFactory(team=county["north"])
    client.force_login(county["helen"])

    html = client.get(reverse("dashboards:service")).content.decode()

    assert cell(html, county["north"], "cases-cin", 3)
    assert DashboardSnapshot.objects.get(user=county["helen"]).computed_at == NOW


def test_each_service_manager_has_their_own_figures(county):
    """Restricted cases count only for those named on them, so figures are per user."""
    restricted = CaseFactory(team=county["south"], restricted=True)
    restricted.restricted_to.add(county["helen"])

    mine = snapshots.service_counts(county["helen"], moment()).counts
    theirs = snapshots.service_counts(county["other_sm"], moment()).counts

    assert mine["cases-total"][county["south"].pk] == 4
    assert theirs["cases-total"][county["south"].pk] == 3


def test_only_service_managers_refresh(client, county):
    client.force_login(county["grace"])
    assert client.post(reverse("dashboards:service_refresh")).status_code == 403
    assert not DashboardSnapshot.objects.exists()

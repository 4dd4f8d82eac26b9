"""A worker signs in and lands on "My work": the child out of view stands out, every
item leads to its record, and the page works on a phone."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts import roles
from accounts.models import Notification
from tests.browser.signing_in import sign_in
from tests.factories import (
    CaseDiscussionFactory,
    CaseFactory,
    EscalationFactory,
    HazardFactory,
    MembershipFactory,
    PlanFactory,
    RecordedVisitFactory,
    SupervisionActionFactory,
    TeamFactory,
    UserFactory,
    VisitFactory,
)
from visits.models import ChildSeen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def at(day, hour):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


@pytest.fixture
def family():
    today = timezone.localdate()
    team = TeamFactory(name="North Assessment", code="north")
    amira = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    manager = UserFactory(username="grace", team=team, role=roles.TEAM_MANAGER)
    opened = today - datetime.timedelta(days=120)

    carter = CaseFactory(team=team, family_name="Carter", created_by=manager, opened_on=opened)
    carter.allocated_workers.add(amira)
    kayden = MembershipFactory(
        case=carter, start_date=opened, person__first_name="Kayden", person__last_name="Carter"
    ).person
    mia = MembershipFactory(
        case=carter, start_date=opened, person__first_name="Mia", person__last_name="Carter"
    ).person
    PlanFactory(case=carter, child=kayden, start_date=opened)
    # Kayden was last seen six weeks ago; Mia yesterday, on her own.
    for days_ago, seen in ((42, {kayden: True, mia: True}), (1, {mia: True})):
        visit = RecordedVisitFactory(
            case=carter,
            lead_worker=amira,
            outcome="completed",
            planned_for=at(today - datetime.timedelta(days=days_ago), 10),
        )
        for child, alone in seen.items():
            ChildSeen.objects.create(visit=visit, child=child, seen=True, seen_alone=alone)
    EscalationFactory(
        case=carter,
        state="overdue",
        trigger_date=today - datetime.timedelta(20),
        due_date=today - datetime.timedelta(days=3),
    )

    walsh = CaseFactory(team=team, family_name="Walsh", created_by=manager, opened_on=opened)
    walsh.allocated_workers.add(amira)
    tyler = MembershipFactory(
        case=walsh, start_date=opened, person__first_name="Tyler", person__last_name="Walsh"
    ).person
    visit = RecordedVisitFactory(
        case=walsh,
        lead_worker=amira,
        outcome="completed",
        planned_for=at(today - datetime.timedelta(days=2), 15),
    )
    ChildSeen.objects.create(
        visit=visit,
        child=tyler,
        seen=True,
        seen_alone=False,
        reason_not_seen="Mother would not leave the room",
    )
    HazardFactory(case=walsh, start_date=opened, details="Two large dogs loose in the garden")
    RecordedVisitFactory(
        case=walsh, lead_worker=amira, planned_for=at(today.replace(day=1), 9)
    )  # defaulted this month
    today_visit = VisitFactory(
        case=walsh, lead_worker=amira, planned_for=at(today, 16), announced=False
    )
    EscalationFactory(
        case=walsh, state="open", trigger_date=today, due_date=today + datetime.timedelta(days=9)
    )

    discussion = CaseDiscussionFactory(session__supervisee=amira, case=carter)
    SupervisionActionFactory(
        discussion=discussion,
        owner=amira,
        due_date=today - datetime.timedelta(days=5),
        description="Ask the health visitor about Kayden's weight",
    )
    Notification.objects.create(
        recipient=amira,
        event_key="test:1",
        channel=Notification.Channel.IN_APP,
        subject="Escalation on the Carter case is overdue",
        body="",
        link=f"/cases/{carter.pk}/",
        created_at=timezone.now(),
    )
    return {"carter": carter, "walsh": walsh, "today_visit": today_visit}


def test_it_shows_a_worker_their_work_and_the_child_out_of_view(
    page, axe, screenshot, password, family
):
    sign_in(page, "amira", password, lands_on="**/dashboards/mine/")

    assert page.url.endswith("/dashboards/mine/")
    mine = page.url
    assert page.get_by_role("heading", level=1).inner_text() == "My work"
    banner = page.get_by_role("region", name="1 child not seen in time")
    assert banner.is_visible()
    assert "Kayden Carter" in banner.inner_text()
    assert "Mia" not in banner.inner_text() and "Tyler" not in banner.inner_text()
    glance = page.get_by_role("list", name="At a glance").inner_text()
    assert re.search(r"1\s+of 3 children overdue a visit", glance)
    assert re.search(r"1\s+visit today", glance)
    assert re.search(r"2\s+open escalations, 1 overdue", glance)
    assert re.search(r"1\s+supervision action, 1 overdue", glance)
    axe.check(page, "my work")
    screenshot(page, "worker-dashboard")

    # The child who dropped out of view leads to the case, at the children seen.
    banner.get_by_role("link", name=re.compile("Kayden Carter")).click()
    assert page.url.endswith(f"/cases/{family['carter'].pk}/#seen")
    page.goto(mine)

    # Today's visit: the hazard and the record form are a tap away.
    visits = page.get_by_role("list", name="Today")
    assert "Hazard" in visits.inner_text() and "Unannounced" in visits.inner_text()
    visits.get_by_role("link", name=re.compile("Record what happened")).click()
    visit = family["today_visit"]
    assert page.url.endswith(f"/cases/{visit.case_id}/visits/{visit.pk}/outcome/")
    page.goto(mine)

    page.get_by_role("link", name=re.compile("Escalation on the Carter case")).click()
    assert page.url.endswith(f"/cases/{family['carter'].pk}/")
    page.goto(mine)

    # A worker on a phone: nothing wider than the screen, still clean for axe.
    page.set_viewport_size({"width": 360, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.get_by_role("region", name="1 child not seen in time").is_visible()
    axe.check(page, "my work at 360 px")
    screenshot(page, "worker-dashboard-360")
    assert page.console_errors == []

import datetime

from rest_framework.test import APIClient

from chronologies.models import ChronologyEntry
from supervision import services
from tests.factories import CaseFactory

from .conftest import NOW
from .test_services import ANSWERS

D = datetime.date


def test_it_puts_a_supervision_decision_in_the_case_chronology(people, cp_case, frozen):
    session = services.session_create(
        actor=people["supervisor"], supervisee=people["worker"], date=D(2026, 3, 10), now=NOW
    )
    discussion = services.discussion_create(
        actor=people["supervisor"], session=session, case=cp_case, data=ANSWERS, now=NOW
    )
    decision = services.decision_record(
        actor=people["supervisor"],
        discussion=discussion,
        decision="Convene a strategy discussion",
        reasons="Bruising seen by school",
        now=NOW,
    )
    entry = ChronologyEntry.objects.get(
        source_type="supervision_decision", source_id=str(decision.pk)
    )
    assert entry.case == cp_case and entry.category == "supervision"
    assert entry.details == "Convene a strategy discussion"
    assert entry.analysis == "Bruising seen by school"


def test_it_does_not_name_a_worry_about_a_case_the_reader_cannot_see(people, cp_case, frozen):
    hidden = CaseFactory(team=people["team"], restricted=True, opened_on=D(2025, 12, 1))
    hidden.restricted_to.add(people["worker"], people["supervisor"])
    session = services.session_create(
        actor=people["supervisor"], supervisee=people["worker"], date=D(2026, 3, 10), now=NOW
    )
    session.most_worried_case, session.most_worried_why = hidden, "Secret reason"
    session.least_worried_case, session.least_worried_why = cp_case, "Improving"
    session.save()
    client = APIClient()
    client.force_authenticate(people["manager"])  # sees the session, not the hidden case
    body = client.get(f"/api/v1/supervision/sessions/{session.pk}/").json()
    assert body["most_worried_case"] is None and body["most_worried_why"] == ""
    assert body["least_worried_case"] == cp_case.pk
    client.force_authenticate(people["supervisor"])
    body = client.get(f"/api/v1/supervision/sessions/{session.pk}/").json()
    assert body["most_worried_case"] == hidden.pk and body["most_worried_why"] == "Secret reason"

"""The filter chips of the chronology page, also printed on an export's cover."""

import datetime

from chronologies.presentation import filter_labels
from chronologies.queries import Filters
from tests.factories import AgencyFactory, CaseFactory, PersonFactory

D = datetime.date


def test_it_names_every_filter_in_words(db):
    case = CaseFactory()
    child = PersonFactory(first_name="Amira", last_name="Khan")
    school = AgencyFactory(name="Oakfield Primary <School>")

    assert filter_labels(case, Filters()) == []
    assert filter_labels(
        case,
        Filters(
            date_from=D(2026, 3, 1),
            date_to=D(2026, 4, 30),
            child_id=child.pk,
            category="visit",
            source=f"agency-{school.pk}",
            significant_only=True,
            significance="critical",
        ),
    ) == [
        "From 1 March 2026",
        "To 30 April 2026",
        "Child: Amira Khan",
        "Category: Visit",
        "Source: Oakfield Primary <School>",
        "Significant and critical only",
    ]
    assert filter_labels(
        case, Filters(source="informant-grandparent", significance="critical")
    ) == ["Source: Grandparent", "Significance: Critical"]
    assert filter_labels(case, Filters(source="recorded")) == ["Source: recorded by the service"]
    # a child or agency no longer found is named by what the filter holds
    assert filter_labels(case, Filters(child_id=999999, source="agency-999999")) == [
        "Child: 999999",
        "Source: agency-999999",
    ]

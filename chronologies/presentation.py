"""How the chronology's filters read on the page and on an export's cover (reads only)."""

from accounts.models import Agency
from cases.models import Person

from .models import Category, InformantType, Significance


def filter_labels(case, filters) -> list[str]:
    """The filters in words, one label each: the chips above the chronology and the
    "Filters" line of an export. A child or agency no longer found is named by what the
    filter holds."""
    labels = []
    if filters.date_from:
        labels.append(f"From {filters.date_from:%-d %B %Y}")
    if filters.date_to:
        labels.append(f"To {filters.date_to:%-d %B %Y}")
    if filters.child_id:
        p = Person.objects.filter(pk=filters.child_id).first()
        labels.append(f"Child: {p.display_name if p else filters.child_id}")
    if filters.category:
        labels.append(f"Category: {Category(filters.category).label}")
    if filters.source:
        src = filters.source
        if src.startswith("agency-"):
            a = Agency.objects.filter(pk=src[7:]).first() if src[7:].isdigit() else None
            labels.append(f"Source: {a.name if a else src}")
        elif src.startswith("informant-") and src[10:] in InformantType.values:
            labels.append(f"Source: {InformantType(src[10:]).label}")
        else:
            labels.append("Source: recorded by the service")
    if filters.significant_only:
        labels.append("Significant and critical only")
    elif filters.significance:
        labels.append(f"Significance: {Significance(filters.significance).label}")
    return labels

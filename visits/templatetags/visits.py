"""How the visit pages name the people on a visit."""

from django import template
from django.utils.dateformat import format as format_date

from cases.models import Person

register = template.Library()


def child_label(person: Person) -> str:
    """A child's name on the visit pages; an unborn baby with the day they are due:
    "Unborn baby (due 1 Jun 2026)", or "Lily Carter, unborn baby (due 1 Jun 2026)"
    once the parents have given a first name."""
    if not person.is_unborn:
        return person.display_name
    due = format_date(person.expected_date_of_birth, "j M Y")
    if person.first_name:
        return f"{person.full_name}, unborn baby (due {due})"
    return f"{Person.UNNAMED} (due {due})"


register.filter("visit_child_label", child_label)

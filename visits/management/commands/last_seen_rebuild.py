"""Work every child's last-seen row out again from the visits (visits.last_seen).

The rows follow every save of a visit or a child's part of it. Run this after changing
visits without saving the models (an SQL fix, a bulk update, loading data with
loaddata): it is safe to run at any time and any number of times."""

from django.core.management.base import BaseCommand
from django.db import transaction

from visits import last_seen


class Command(BaseCommand):
    help = "Work out every child's last seen, last seen alone and last three visits again"

    def handle(self, *args, **options):
        with transaction.atomic():
            n = last_seen.rebuild()
        self.stdout.write(f"{n} children's last-seen rows worked out from their visits")

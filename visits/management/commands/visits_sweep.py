import json

from django.core.management.base import BaseCommand

from common.management_now import add_now_argument, parse_now
from visits.services import visits_sweep


class Command(BaseCommand):
    help = (
        "Run the visits sweep now, by hand: the same code as the Celery task "
        "visits.tasks.visits_sweep that beat runs. Evaluates the defaulted-visits rule "
        "for every case whose evaluation request is waiting, however old, sets aside any "
        "that fails, and records the run for /healthz."
    )

    def add_arguments(self, parser):
        add_now_argument(parser)

    def handle(self, *args, **options):
        result = visits_sweep(now=parse_now(options["now"]))
        self.stdout.write(json.dumps(result, sort_keys=True))

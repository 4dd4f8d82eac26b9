import json

from django.core.management.base import BaseCommand

from cases.services import escalations_sweep
from common.management_now import add_now_argument, parse_now


class Command(BaseCommand):
    help = (
        "Run the escalations sweep now, by hand: the same code as the Celery task "
        "cases.tasks.escalations_sweep that beat runs. Recomputes every active "
        "escalation due within 14 days or past due (met, overdue, reminders), sets aside "
        "any that fails, and records the run for /healthz."
    )

    def add_arguments(self, parser):
        add_now_argument(parser)

    def handle(self, *args, **options):
        result = escalations_sweep(now=parse_now(options["now"]))
        self.stdout.write(json.dumps(result, sort_keys=True))

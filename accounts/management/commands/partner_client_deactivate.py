"""Stop a partner system: `manage.py partner_client_deactivate --client-id ... --by omar.reid`.
It gets no new token, and the tokens it holds end now."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import services
from accounts.models import PartnerClient, User


class Command(BaseCommand):
    help = "Deactivate a partner system (its tokens end now)."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--by", required=True, help="Username of the system administrator")

    def handle(self, *args, **options):
        actor = User.objects.filter(username=options["by"]).first()
        if actor is None:
            raise CommandError(f"No user {options['by']!r}")
        client = PartnerClient.objects.filter(application__client_id=options["client_id"]).first()
        if client is None:
            raise CommandError("No partner system with that client id")
        try:
            services.partner_client_deactivate(actor=actor, client=client, now=timezone.now())
        except PermissionDenied as exc:
            raise CommandError(str(exc) or "Not allowed") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Deactivated {client.name}")

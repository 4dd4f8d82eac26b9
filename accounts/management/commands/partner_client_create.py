"""Register a partner system for the OAuth2 client credentials grant.

    manage.py partner_client_create --name "Police CAIU" --teams north south \
        --scopes escalations:read --agency "Northshire Police" --by omar.reid

Prints the client id and the client secret once: the secret is stored hashed and is
never shown again (make a new client if it is lost, and deactivate the old one).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import services
from accounts.models import Agency, Team, User


class Command(BaseCommand):
    help = "Register a partner system (OAuth2 client credentials); prints its secret once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--teams", nargs="+", required=True, help="Team codes")
        parser.add_argument("--scopes", nargs="+", required=True)
        parser.add_argument("--agency", help="The agency's name, as recorded")
        parser.add_argument(
            "--by", required=True, help="Username of the system administrator registering it"
        )

    def handle(self, *args, **options):
        actor = User.objects.filter(username=options["by"]).first()
        if actor is None:
            raise CommandError(f"No user {options['by']!r}")
        teams = list(Team.objects.filter(code__in=options["teams"]))
        missing = set(options["teams"]) - {team.code for team in teams}
        if missing:
            raise CommandError(f"No team with the code {', '.join(sorted(missing))}")
        agency = None
        if options["agency"]:
            agency = Agency.objects.filter(name=options["agency"]).first()
            if agency is None:
                raise CommandError(f"No agency {options['agency']!r}")
        scopes = [s for item in options["scopes"] for s in item.replace(",", " ").split()]
        try:
            client, secret = services.partner_client_create(
                actor=actor,
                name=options["name"],
                teams=teams,
                scopes=scopes,
                agency=agency,
                now=timezone.now(),
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc) or "Not allowed") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Partner system: {client.name}")
        self.stdout.write(f"Teams: {', '.join(sorted(t.code for t in teams))}")
        self.stdout.write(f"Scopes: {client.scopes}")
        self.stdout.write(f"client_id: {client.application.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write("The secret is shown only now: it is stored hashed.")

"""Link a user to the person an identity provider knows by a stable subject, so that
person signs in as that user through single sign-on (or end the link with --end)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import services
from accounts.models import ExternalIdentity, User


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--subject",
            required=True,
            help="The value of the OIDC_USER_CLAIM claim for them (Entra ID: their object id)",
        )
        parser.add_argument(
            "--issuer", default="", help="The provider's issuer (default: OIDC_OP_ISSUER)"
        )
        parser.add_argument("--end", action="store_true", help="End this link instead")

    def handle(self, *args, username, subject, issuer, end, **options):
        issuer = issuer or settings.OIDC_OP_ISSUER
        if not issuer:
            raise CommandError("Give --issuer, or set OIDC_OP_ISSUER")
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}")
        now = timezone.now()
        if end:
            identity = ExternalIdentity.objects.filter(
                user=user, issuer=issuer, subject=subject.strip(), ended_at__isnull=True
            ).first()
            if identity is None:
                raise CommandError(f"{username} is not linked to that subject at {issuer}")
            services.external_identity_end(actor=None, identity=identity, now=now)
            self.stdout.write(f"Ended: {username} no longer signs in as {subject} at {issuer}")
            return
        try:
            services.external_identity_link(
                actor=None, user=user, issuer=issuer, subject=subject, now=now
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Linked: {subject} at {issuer} signs in as {username}")

"""Check the single sign-on settings: read the issuer's discovery document (as the first
sign-in would) and print the endpoints that will be used, given or discovered."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import oidc


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        if not settings.OIDC_ENABLED:
            raise CommandError("OIDC_ENABLED is off")
        self.stdout.write(f"issuer: {settings.OIDC_OP_ISSUER}")
        self.stdout.write(f"client id: {settings.OIDC_RP_CLIENT_ID}")
        self.stdout.write(f"matching claim: {settings.OIDC_USER_CLAIM}")
        try:
            for name in oidc.DISCOVERED:
                given = bool(getattr(settings, name, ""))
                value = oidc.setting(name) or "(none)"
                self.stdout.write(f"{name}: {value}{'' if given else ' (discovered)'}")
        except oidc.ProviderUnavailable as exc:
            raise CommandError(str(exc)) from exc

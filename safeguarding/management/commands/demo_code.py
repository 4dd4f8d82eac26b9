"""Print the code the demo users' authenticator app shows now.

    manage.py demo_code              the code for the demo secret (every demo user)
    manage.py demo_code amira.hussain  the code for that user's authenticator app

Refuses outside demo, debug or test settings, as seed_demo does.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp

from safeguarding.demo_second_factor import demo_code, secret_in_groups


class Command(BaseCommand):
    help = "Print the current sign-in code of the demo authenticator app (demo mode only)"

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="a user whose app's code to print")

    def handle(self, *args, username=None, **options):
        if not (settings.DEMO_MODE or settings.DEBUG or settings.TESTING):
            raise CommandError(
                "demo_code only runs with DEMO_MODE or DJANGO_DEBUG on: it prints codes "
                "that sign people in"
            )
        left = 30 - int(time.time()) % 30
        if username:
            from django_otp.plugins.otp_totp.models import TOTPDevice

            device = (
                TOTPDevice.objects.filter(user__username=username, confirmed=True)
                .order_by("-pk")
                .first()
            )
            if device is None:
                raise CommandError(f"{username} has no authenticator app set up")
            code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
            self.stdout.write(f"{code:0{device.digits}d}")
        else:
            self.stdout.write(demo_code())
        self.stderr.write(
            f"(good for {left} more seconds; each code signs a user in once. "
            f"Or add the key {secret_in_groups()} to an authenticator app.)"
        )

"""The demo's authenticator app: one fixed, published secret for every demo user.

Only seed_demo (which refuses to run outside demo, debug or test settings) gives it
to anyone, and `manage.py demo_code` (which refuses likewise) prints its current code.
Anyone can add the secret to an authenticator app, so it is as public as the demo
password: never use it, or demo users, on a real system.
"""

from base64 import b32encode

from django_otp.oath import totp

# 20 bytes, hex-encoded as django-otp keeps TOTP keys.
DEMO_TOTP_KEY = b"safeguarding-demo-26".hex()
DEMO_TOTP_SECRET = b32encode(bytes.fromhex(DEMO_TOTP_KEY)).decode().rstrip("=")
DEVICE_NAME = "Demo authenticator app"


def give_demo_authenticator(users) -> int:
    """A confirmed authenticator app with the demo secret for each user who has none."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    have = set(
        TOTPDevice.objects.filter(user__in=users, confirmed=True).values_list("user_id", flat=True)
    )
    made = TOTPDevice.objects.bulk_create(
        [
            TOTPDevice(user=user, name=DEVICE_NAME, key=DEMO_TOTP_KEY, confirmed=True)
            for user in users
            if user.pk not in have
        ]
    )
    return len(made)


def demo_code(*, drift: int = 0) -> str:
    return f"{totp(bytes.fromhex(DEMO_TOTP_KEY), drift=drift):06d}"


def secret_in_groups() -> str:
    return " ".join(DEMO_TOTP_SECRET[i : i + 4] for i in range(0, len(DEMO_TOTP_SECRET), 4))

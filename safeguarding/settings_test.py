"""Settings for the test suite: the real settings with a key and fast password hashing."""

import os

os.environ.setdefault("TESTING", "1")
os.environ.setdefault("SECURE_COOKIES", "false")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Throttles and the API's failed-authentication guard count per address, and every test
# request comes from 127.0.0.1: the suite's own rates are high enough never to trip them
# (tests of throttling set theirs). Each xdist worker keeps its counters under its own
# cache prefix, so parallel workers never share them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "1000000/min", "user": "1000000/min"},
}
API_AUTH_FAILURE_LIMIT = 1_000_000
CACHES["default"]["KEY_PREFIX"] = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # noqa: F405

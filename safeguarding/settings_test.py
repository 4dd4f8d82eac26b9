"""Settings for the test suite: the real settings with a key and fast password hashing."""

import os

os.environ.setdefault("TESTING", "1")
os.environ.setdefault("SECURE_COOKIES", "false")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

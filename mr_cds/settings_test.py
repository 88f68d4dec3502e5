"""Test settings: the production module plus fast hashing. DATABASE_URL/REDIS_URL still apply."""

import os

os.environ.setdefault("DEBUG", "true")

from .settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / ".test-media"  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
# API throttles out of the way of the suite (test_authentication_hardening sets its own).
RATES = {"user": "100000/min", "failed_token": "100000/min"}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = RATES  # noqa: F405

"""Settings for the Celery worker processes the worker tests start: the test settings,
with the test's MEDIA_ROOT and (optionally) a short broker visibility timeout so a new
worker takes over the unacknowledged job of a killed one within seconds."""

import os

from mr_cds.settings_test import *  # noqa: F403

MEDIA_ROOT = os.environ["MR_CDS_TEST_MEDIA_ROOT"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("MR_CDS_TEST_VISIBILITY_TIMEOUT", "600")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

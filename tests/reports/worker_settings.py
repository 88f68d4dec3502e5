"""Settings for the Celery worker processes the worker tests start: the test settings,
with the test's MEDIA_ROOT and (optionally) a broker visibility timeout shorter than
production's, so a new worker takes over a killed one's job within seconds."""

import os

from mr_cds.settings_test import *  # noqa: F403

MEDIA_ROOT = os.environ["MR_CDS_TEST_MEDIA_ROOT"]
if os.environ.get("MR_CDS_TEST_VISIBILITY_TIMEOUT"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "visibility_timeout": int(os.environ["MR_CDS_TEST_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
    }

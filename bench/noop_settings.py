"""Settings of the API benchmark's server only: the product's settings with a URL conf
that adds a no-op view (bench/noop_urls.py). Never used by the product."""

from mr_cds.settings import *  # noqa: F403

ROOT_URLCONF = "bench.noop_urls"

"""The Celery app. Without REDIS_URL, tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mr_cds.settings")

app = Celery("mr_cds")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task(name: str):
    """A registered task by name, e.g. ``task("assessments.tasks.report_generate_task")``:
    how a service enqueues work without importing the tasks module that imports it.
    The apps' task modules are imported on first use (a worker imports them at start; a
    web process or a test may not have yet)."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]

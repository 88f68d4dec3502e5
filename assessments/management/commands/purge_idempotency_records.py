from django.core.management.base import BaseCommand

from assessments.api.idempotency import idempotency_records_purge, window


class Command(BaseCommand):
    help = (
        "Delete idempotency records (stored first responses, patient data) older than "
        "MR_CDS_IDEMPOTENCY_HOURS; Celery beat does this hourly."
    )

    def handle(self, *args, **options):
        deleted = idempotency_records_purge()
        self.stdout.write(
            f"deleted {deleted} idempotency record(s) older than {window()}"
        )

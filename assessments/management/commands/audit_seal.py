"""``manage.py audit_seal``: chains the audit events not sealed yet (what the Celery beat
task ``audit_seal_task`` does every few seconds); safe to run at any time, alongside the
app and other sealers."""

from django.core.management.base import BaseCommand

from assessments.audit import audit_seal


class Command(BaseCommand):
    help = "Seal (hash-chain) the audit events not sealed yet."

    def handle(self, *args, **options):
        self.stdout.write(f"sealed {audit_seal()} audit events")

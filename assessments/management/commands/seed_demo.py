from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assessments.demo import DEFAULT_PASSWORD, USERS, demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo care sites, patients, assessments and users (idempotent). "
        "The password comes from MR_CDS_DEMO_PASSWORD (default 'mr-cds-demo', "
        "refused when DEBUG is off unless the variable is set)."
    )

    def handle(self, *args, **options):
        password = settings.MR_CDS_DEMO_PASSWORD
        if not password:
            if not settings.DEBUG:
                raise CommandError(
                    "Refusing to create demo users with the default password while DEBUG "
                    "is off: set MR_CDS_DEMO_PASSWORD."
                )
            password = DEFAULT_PASSWORD
        created = demo_seed(password=password)
        summary = ", ".join(f"{count} {what}" for what, count in created.items())
        self.stdout.write(f"Demo data ready (created: {summary}).")
        shown = password if password == DEFAULT_PASSWORD else "$MR_CDS_DEMO_PASSWORD"
        for user in USERS:
            self.stdout.write(f"  login: {user.username:<18} password: {shown}")

from django.core.management.base import BaseCommand

from guidelines.authoring import guidelines_load


class Command(BaseCommand):
    help = (
        "Make sure the shipped guideline rule sets exist and one version of each is "
        "active; load the vignettes as their test cases. Idempotent."
    )

    def handle(self, *args, **options):
        for message in guidelines_load():
            self.stdout.write(message)

from django.apps import AppConfig


class GuidelinesConfig(AppConfig):
    name = "guidelines"
    verbose_name = "Guideline rule sets"

    def ready(self):
        from . import checks  # noqa: F401  (registers guidelines.W001, E002, E003)

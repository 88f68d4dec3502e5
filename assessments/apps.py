from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = "Patients and assessments"

    def ready(self):
        from . import signals  # noqa: F401  (audit of sign-ins, token revocation)

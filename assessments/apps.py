from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = "Patients and assessments"

    def ready(self):
        from django.contrib.auth.signals import user_logged_out

        from . import signals  # noqa: F401  (audit of sign-ins, token revocation)

        user_logged_out.connect(_say_signed_out, dispatch_uid="mr_cds_signed_out")


def _say_signed_out(sender, request, user, **kwargs):
    """The login page after signing out says so (a message, not a side effect on data)."""
    from django.contrib import messages

    if request is not None and hasattr(request, "_messages"):
        messages.info(request, "You are signed out.")

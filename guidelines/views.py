"""Pages about the guideline content for clinicians (authenticated, like every page)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from .services import version_changelog


@require_GET
def changelog(request):
    """Each published version: date, editors, approver, reasons, changed outcomes."""
    return render(
        request, "guidelines/changelog.html", {"versions": version_changelog()}
    )

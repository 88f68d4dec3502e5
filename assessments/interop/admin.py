"""Guideline editors see which advice clinicians override: CDS Hooks feedback as
override rates per rule-set version and rule (aggregates only: no patient, no comment)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from .cds_hooks import override_rates
from .models import CdsFeedback

RATES_PERMISSION = "assessments.view_override_rates"


@admin.register(CdsFeedback)
class CdsFeedbackAdmin(admin.ModelAdmin):
    """The changelist is the override-rate table; single feedback rows are not shown."""

    def has_module_permission(self, request):
        return request.user.has_perm(RATES_PERMISSION)

    def has_view_permission(self, request, obj=None):
        return obj is None and request.user.has_perm(RATES_PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "CDS Hooks: override rates per rule",
            "rows": override_rates(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "interop/override_rates.html", context)

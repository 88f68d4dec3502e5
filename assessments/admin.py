"""The Django admin: a curated tool for support staff. Every view of patient data is
audited (changes with their old and new values), and staff who are not superusers see and
choose only the patients, encounters, assessments, clinicians and API tokens of their own
care sites (the selectors decide, as for the pages and the API). Care sites, memberships,
users and groups are the superuser's. Stored assessments are read-only: a correction is an
amendment (CONTRACT section 6), never an edit.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

from guidelines.vocabulary import sections, value_label

from . import admin_replay  # noqa: F401  (the replay page of rule-set versions)
from .audit import audit_record, field_changes
from .choices import AuditAction, AuditChannel, AuditOutcome, Role
from .models import (
    Assessment,
    AuditEvent,
    Encounter,
    Membership,
    Organization,
    Patient,
    PriorEcho,
)
from .selectors import (
    assessment_list_for_user,
    audit_events_for_patient,
    encounter_list_for_user,
    organization_list_for_user,
    patient_list_for_user,
    user_is_privacy_officer,
)

User = get_user_model()


def colleagues_of(user):
    """The users who share a care site with ``user`` (all users for a superuser)."""
    if user.is_superuser:
        return User.objects.all()
    return User.objects.filter(
        memberships__organization__in=organization_list_for_user(user)
    ).distinct()


class ScopedChoicesMixin:
    """Foreign-key choices limited to what the staff member may see: a patient of
    another site can be neither shown nor chosen (a forged id fails validation)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = {
            Organization: organization_list_for_user,
            Patient: patient_list_for_user,
            Encounter: encounter_list_for_user,
            Assessment: assessment_list_for_user,
            User: colleagues_of,
        }.get(db_field.related_model)
        if choices is not None:
            kwargs["queryset"] = choices(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AuditedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    """Records an audit event for every list, read, change and deletion of patient data.

    ``scope`` is the selector of the objects the user may see (one per object type).
    """

    scope = staticmethod(patient_list_for_user)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=self.scope(request.user).values("pk"))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        query = request.GET.urlencode()
        audit_record(
            user=request.user,
            action=AuditAction.READ,
            channel=AuditChannel.ADMIN,
            detail=f"{self.model._meta.verbose_name_plural} list"
            + (f"?{query}" if query else ""),
        )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.get_object(request, object_id) is None:
            self._audit_refusal(request, object_id)
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                audit_record(
                    user=request.user,
                    action=AuditAction.READ,
                    channel=AuditChannel.ADMIN,
                    obj=obj,
                )
        return response

    def _audit_refusal(self, request, object_id):
        """Another site's object (or none): the admin answers "does not exist"; the
        trail records whose record was tried."""
        try:
            tried = self.model.objects.filter(pk=int(object_id)).first()
        except (TypeError, ValueError):
            tried = None
        audit_record(
            user=request.user,
            action=AuditAction.READ,
            channel=AuditChannel.ADMIN,
            obj=tried,
            outcome=AuditOutcome.REFUSED,
            detail="" if tried else f"no {self.model._meta.verbose_name} {object_id}",
        )

    def save_model(self, request, obj, form, change):
        before = type(obj).objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        changes = field_changes(before, obj, form.changed_data) if change else ""
        audit_record(
            user=request.user,
            action=AuditAction.UPDATE if change else AuditAction.CREATE,
            channel=AuditChannel.ADMIN,
            obj=obj,
            detail=f"changed: {changes}" if changes else "",
        )

    def delete_model(self, request, obj):
        audit_record(
            user=request.user,
            action=AuditAction.DELETE,
            channel=AuditChannel.ADMIN,
            obj=obj,
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Care sites, memberships, users and groups decide who sees which patients: only a
    superuser changes them (a staff member cannot grant themself another site)."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request, *args):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Organization)
class OrganizationAdmin(SuperuserOnlyAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.memberships.count()


@admin.register(Membership)
class MembershipAdmin(SuperuserOnlyAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    readonly_fields = ["created_at"]


@admin.register(Patient)
class PatientAdmin(AuditedAdmin):
    list_display = [
        "mrn",
        "family_name",
        "given_name",
        "birth_date",
        "sex",
        "organization",
    ]
    list_filter = ["organization", "sex"]
    list_select_related = ["organization"]
    search_fields = ["mrn", "family_name", "given_name"]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["organization", "mrn"]}),
        ("Person", {"fields": ["given_name", "family_name", "birth_date", "sex"]}),
        ("Body", {"fields": ["height_cm", "weight_kg"]}),
        ("Provenance", {"fields": ["created_at"]}),
    ]

    def get_urls(self):
        report = self.admin_site.admin_view(self.access_report_view)
        return [
            path(
                "<int:pk>/access-report/",
                report,
                name="assessments_patient_access_report",
            ),
            *super().get_urls(),
        ]

    def access_report_view(self, request, pk):
        """Who saw or changed this patient's record, when (privacy officers and
        superusers only, for any care site's patient; the reading is audited too)."""
        if not user_is_privacy_officer(request.user):
            raise PermissionDenied
        patient = get_object_or_404(
            Patient.objects.select_related("organization"), pk=pk
        )
        events = list(audit_events_for_patient(patient))
        audit_record(
            user=request.user,
            action=AuditAction.READ,
            channel=AuditChannel.ADMIN,
            obj=patient,
            detail="access report",
        )
        context = {
            **self.admin_site.each_context(request),
            "patient": patient,
            "events": events,
            "title": f"Access report: {patient}",
        }
        return TemplateResponse(
            request, "admin/assessments/patient/access_report.html", context
        )


@admin.register(Encounter)
class EncounterAdmin(AuditedAdmin):
    list_display = ["occurred_at", "patient", "setting", "presentation", "clinician"]
    list_filter = ["setting", "presentation", "patient__organization"]
    list_select_related = ["patient", "clinician"]
    search_fields = ["patient__mrn", "patient__family_name"]
    date_hierarchy = "occurred_at"
    autocomplete_fields = ["patient"]  # clinicians: a plain list of colleagues
    readonly_fields = ["created_at"]
    scope = staticmethod(encounter_list_for_user)


class PriorEchoInline(admin.TabularInline):
    model = PriorEcho
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _assessment_fieldsets():
    fieldsets = [(None, {"fields": ["encounter", "result"]})]
    for section in sections():
        fieldsets.append(
            (section.title, {"fields": [spec.column for spec in section.fields]})
        )
    fieldsets.append(("Provenance", {"fields": ["created_by", "created_at"]}))
    return fieldsets


@admin.register(Assessment)
class AssessmentAdmin(AuditedAdmin):
    """Read-only: a stored assessment's input and result are never edited (nor added or
    deleted here); it is created through the pages or the API, which evaluate it, and
    corrected by amending or voiding it there."""

    scope = staticmethod(assessment_list_for_user)
    list_display = [
        "id",
        "patient",
        "encounter",
        "etiology",
        "echo_eroa_cm2",
        "echo_regurgitant_volume_ml",
        "echo_lvef_pct",
        "severity",
        "stage",
        "created_by",
        "created_at",
    ]
    list_filter = ["encounter__patient__organization", "etiology", "presentation"]
    list_select_related = ["encounter__patient", "created_by"]
    search_fields = ["encounter__patient__mrn", "encounter__patient__family_name"]
    fieldsets = _assessment_fieldsets()
    inlines = [PriorEchoInline]

    @admin.display(description="patient", ordering="encounter__patient__family_name")
    def patient(self, obj):
        return obj.encounter.patient

    @admin.display(description="MR severity")
    def severity(self, obj):
        return value_label("severity", (obj.result or {}).get("severity"))

    @admin.display(description="stage")
    def stage(self, obj):
        return value_label("stage", (obj.result or {}).get("stage"))

    def get_readonly_fields(self, request, obj=None):
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail can be searched and filtered, never edited."""

    list_display = [
        "at",
        "user",
        "action",
        "channel",
        "patient",
        "object_repr",
        "detail",
    ]
    list_filter = [
        "action",
        "channel",
        ("patient", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["user", "patient"]
    search_fields = ["user__username", "patient__mrn", "object_repr", "detail"]
    date_hierarchy = "at"

    def has_module_permission(self, request):
        return request.user.is_active and (
            request.user.is_superuser
            or request.user.has_perm("assessments.view_auditevent")
        )

    def get_queryset(self, request):
        """Superusers and privacy officers see the whole trail; other staff with the
        view permission only the events of their sites' patients."""
        queryset = super().get_queryset(request)
        if user_is_privacy_officer(request.user):
            return queryset
        return queryset.filter(patient__in=patient_list_for_user(request.user))

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- who may use the API, and as whom: scoped like the rest ----------------------------

admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ScopedAuthTokenAdmin(AuthTokenAdmin):
    """API tokens of the EHR integrations: a staff member sees (and may revoke) only the
    tokens of their own sites' API clients; tokens are issued by ``issue_api_token``."""

    list_display = ("token_key", "user", "created", "expiry")
    search_fields = ["token_key", "user__username"]
    readonly_fields = ("token_key", "user", "created", "expiry")
    fields = ("token_key", "user", "created", "expiry")

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            user__memberships__role=Role.API_CLIENT,
            user__memberships__organization__in=organization_list_for_user(
                request.user
            ),
        ).distinct()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class SuperuserOnlyUserAdmin(SuperuserOnlyAdmin, UserAdmin):
    """Users (their staff flag, groups and permissions): the superuser's alone."""


@admin.register(Group)
class SuperuserOnlyGroupAdmin(SuperuserOnlyAdmin, GroupAdmin):
    """Groups (integrations, privacy officers, guideline editors): the superuser's."""


from .interop import admin as _interop_admin  # noqa: E402, F401  (CDS Hooks override rates)

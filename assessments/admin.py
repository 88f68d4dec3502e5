"""The Django admin: a curated tool for support staff. Every view of patient data is audited,
and staff who are not superusers see only the patients of their own care sites."""

from django import forms
from django.contrib import admin

from guidelines.validation import InputError
from guidelines.vocabulary import sections

from . import admin_replay  # noqa: F401  (the replay page of rule-set versions)
from .audit import audit_record
from .choices import AuditAction, AuditChannel
from .models import (
    Assessment,
    AuditEvent,
    Encounter,
    Membership,
    Organization,
    Patient,
    PriorEcho,
)
from .records import patient_section_for_encounter
from .selectors import patient_list_for_user

PATIENT_COLUMNS = ("age_years", "sex", "height_cm", "weight_kg")


class AuditedAdmin(admin.ModelAdmin):
    """Records an audit event for every list, read, change and deletion of patient data.

    ``patient_path`` is the lookup from the model to its patient, used to scope
    the changelist to the user's care sites.
    """

    patient_path = ""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        key = f"{self.patient_path}__in" if self.patient_path else "pk__in"
        return queryset.filter(**{key: patient_list_for_user(request.user)})

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        query = request.GET.urlencode()
        audit_record(
            user=request.user, action=AuditAction.READ, channel=AuditChannel.ADMIN,
            detail=f"{self.model._meta.verbose_name_plural} list" + (f"?{query}" if query else ""),
        )  # fmt: skip
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                audit_record(
                    user=request.user, action=AuditAction.READ,
                    channel=AuditChannel.ADMIN, obj=obj,
                )  # fmt: skip
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = ", ".join(form.changed_data) if change else ""
        audit_record(
            user=request.user,
            action=AuditAction.UPDATE if change else AuditAction.CREATE,
            channel=AuditChannel.ADMIN, obj=obj,
            detail=f"changed: {changed}" if changed else "",
        )  # fmt: skip

    def delete_model(self, request, obj):
        audit_record(
            user=request.user, action=AuditAction.DELETE, channel=AuditChannel.ADMIN,
            obj=obj,
        )  # fmt: skip
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
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


@admin.register(Encounter)
class EncounterAdmin(AuditedAdmin):
    patient_path = "patient"
    list_display = ["occurred_at", "patient", "setting", "presentation", "clinician"]
    list_filter = ["setting", "presentation", "patient__organization"]
    list_select_related = ["patient", "clinician"]
    search_fields = ["patient__mrn", "patient__family_name"]
    date_hierarchy = "occurred_at"
    autocomplete_fields = ["patient", "clinician"]
    readonly_fields = ["created_at"]


class PriorEchoInline(admin.TabularInline):
    model = PriorEcho
    extra = 0


def _assessment_fieldsets():
    fieldsets = [(None, {"fields": ["encounter"]})]
    for section in sections():
        fieldsets.append(
            (section.title, {"fields": [spec.column for spec in section.fields]})
        )
    fieldsets.append(("Provenance", {"fields": ["created_by", "created_at"]}))
    return fieldsets


class AssessmentAdminForm(forms.ModelForm):
    """Patient values come from the patient record when left empty; contradictions are
    refused, as in ``assessment_create``."""

    class Meta:
        model = Assessment
        exclude = []  # noqa: DJ006 - every vocabulary column is editable here

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in PATIENT_COLUMNS:
            self.fields[f"patient_{name}"].required = False
            self.fields[f"patient_{name}"].help_text = "Empty: from the patient record."

    def clean(self):
        cleaned = super().clean()
        encounter = cleaned.get("encounter")
        if encounter is None:
            return cleaned
        given = {
            name: cleaned[f"patient_{name}"]
            for name in PATIENT_COLUMNS
            if cleaned.get(f"patient_{name}") not in (None, "")
        }
        try:
            merged = patient_section_for_encounter(encounter, given)
        except InputError as exc:
            for error in exc.errors:
                self.add_error(error.field.replace(".", "_"), error.message)
            return cleaned
        for name in PATIENT_COLUMNS:
            cleaned[f"patient_{name}"] = merged.get(name)
            setattr(self.instance, f"patient_{name}", merged.get(name))
        return cleaned


@admin.register(Assessment)
class AssessmentAdmin(AuditedAdmin):
    form = AssessmentAdminForm
    patient_path = "encounter__patient"
    list_display = [
        "id", "patient", "encounter", "etiology", "echo_eroa_cm2",
        "echo_regurgitant_volume_ml", "echo_lvef_pct", "created_by", "created_at",
    ]  # fmt: skip
    list_filter = ["encounter__patient__organization", "etiology", "presentation"]
    list_select_related = ["encounter__patient", "created_by"]
    search_fields = ["encounter__patient__mrn", "encounter__patient__family_name"]
    autocomplete_fields = ["encounter"]
    readonly_fields = ["created_by", "created_at"]
    fieldsets = _assessment_fieldsets()
    inlines = [PriorEchoInline]

    @admin.display(description="patient", ordering="encounter__patient__family_name")
    def patient(self, obj):
        return obj.encounter.patient

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


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
    list_filter = ["action", "channel", ("patient", admin.RelatedOnlyFieldListFilter),
                   ("user", admin.RelatedOnlyFieldListFilter)]  # fmt: skip
    list_select_related = ["user", "patient"]
    search_fields = ["user__username", "patient__mrn", "object_repr", "detail"]
    date_hierarchy = "at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

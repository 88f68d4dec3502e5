from django.urls import path

from . import views
from .echo_import import views as echo_import_views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", views.patient_list, name="patient_list"),
    path("about/", views.about, name="about"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path(
        "patients/<int:pk>/encounters/new/", views.encounter_new, name="encounter_new"
    ),
    path(
        "encounters/<int:pk>/assessments/new/",
        views.assessment_new,
        name="assessment_new",
    ),
    path(
        "encounters/<int:pk>/assessments/preview/",
        views.assessment_preview,
        name="assessment_preview",
    ),
    path("assessments/<int:pk>/", views.assessment_detail, name="assessment_detail"),
    path(
        "assessments/<int:pk>/amend/", views.assessment_amend, name="assessment_amend"
    ),
    path("assessments/<int:pk>/void/", views.assessment_void, name="assessment_void"),
    path(
        "assessments/<int:pk>/reevaluate/",
        views.assessment_reevaluate,
        name="assessment_reevaluate",
    ),
    path(
        "assessments/<int:pk>/compare/",
        views.assessment_compare,
        name="assessment_compare",
    ),
    path(
        "assessments/<int:pk>/report/",
        views.assessment_report,
        name="assessment_report",
    ),
    path(
        "assessments/<int:pk>/report/status/",
        views.assessment_report_status,
        name="assessment_report_status",
    ),
    path(
        "assessments/<int:pk>/report.pdf",
        views.assessment_report_pdf,
        name="assessment_report_pdf",
    ),
    path(
        "encounters/<int:pk>/echo-import/",
        echo_import_views.encounter_echo_import,
        name="encounter_echo_import",
    ),
]

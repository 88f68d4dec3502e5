"""URLs of the interop surfaces: the CDS Hooks service (``cds_urlpatterns``, at the
site root as the specification wants ``{baseUrl}/cds-services``) and the FHIR endpoints
(``api_v1_urlpatterns``, under /api/v1/)."""

from django.urls import path

from . import views

cds_urlpatterns = [
    path("cds-services", views.cds_discovery, name="cds_discovery"),
    path(
        "cds-services/mr-cds-patient-view",
        views.cds_patient_view,
        name="cds_patient_view",
    ),
    path(
        "cds-services/mr-cds-patient-view/feedback",
        views.cds_feedback,
        name="cds_feedback",
    ),
    path("cds-hooks/cards/<uuid:card_uuid>/", views.cds_card_detail, name="cds_card"),
]

api_v1_urlpatterns = [
    path("fhir/evaluate", views.FhirEvaluateApi.as_view(), name="fhir-evaluate"),
    path(
        "encounters/<str:pk>/assessments/fhir",
        views.FhirAssessmentCreateApi.as_view(),
        name="fhir-encounter-assessments",
    ),
    path(
        "assessments/<str:pk>/fhir",
        views.FhirAssessmentApi.as_view(),
        name="fhir-assessment",
    ),
]

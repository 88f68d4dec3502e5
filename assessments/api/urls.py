"""``/api/``: the v1 endpoints (CONTRACT section 4), the OpenAPI schema and its docs.

Everything here needs authentication (session or Bearer token), the docs included.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from ..echo_import.api import EchoImportApi
from . import views

app_name = "api"

v1 = [
    path("evaluate", views.EvaluateApi.as_view(), name="evaluate"),
    path("patients/", views.PatientCollectionApi.as_view(), name="patients"),
    path("patients/<int:pk>/", views.PatientItemApi.as_view(), name="patient"),
    path(
        "patients/<int:pk>/encounters/",
        views.EncounterCollectionApi.as_view(),
        name="patient-encounters",
    ),
    path("encounters/<int:pk>/", views.EncounterDetailApi.as_view(), name="encounter"),
    path(
        "encounters/<int:pk>/assessments/",
        views.AssessmentCreateApi.as_view(),
        name="encounter-assessments",
    ),
    path(
        "assessments/<int:pk>/", views.AssessmentDetailApi.as_view(), name="assessment"
    ),
    path(
        "assessments/<int:pk>/amend",
        views.AssessmentAmendApi.as_view(),
        name="assessment-amend",
    ),
    path(
        "assessments/<int:pk>/void",
        views.AssessmentVoidApi.as_view(),
        name="assessment-void",
    ),
    path(
        "assessments/<int:pk>/report",
        views.AssessmentReportCollectionApi.as_view(),
        name="assessment-report",
    ),
    path(
        "assessments/<int:pk>/report.pdf",
        views.AssessmentReportPdfApi.as_view(),
        name="assessment-report-pdf",
    ),
    path("guidelines/", views.GuidelineListApi.as_view(), name="guidelines"),
    path("echo-imports", EchoImportApi.as_view(), name="echo-imports"),
]


class SchemaApi(views.Api, SpectacularAPIView):
    permission_classes = [IsAuthenticated]


# A browser page: unlike the API views (DRF marks them login-not-required), it is left
# to LoginRequiredMiddleware, which sends anonymous visitors to the login page.
docs_view = SpectacularSwaggerSplitView.as_view(  # init script a file: CSP
    url_name="api:schema", permission_classes=[IsAuthenticated]
)
docs_view.login_required = True

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SchemaApi.as_view(), name="schema"),
    path("docs/", docs_view, name="docs"),
    re_path(r"", views.NotFoundApi.as_view()),  # last: JSON 404 for the rest of /api/
]

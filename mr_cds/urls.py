from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from assessments.interop.urls import api_v1_urlpatterns, cds_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("assessments.urls")),
    path("api/v1/", include(api_v1_urlpatterns)),  # FHIR R4 (before /api/'s catch-all)
    path("api/", include("assessments.api.urls")),
    path("", include("guidelines.urls")),
    path("", include(cds_urlpatterns)),  # CDS Hooks 2.0.1 at {baseUrl}/cds-services
]

# Errors under /api/ in the API's error shape (JSON), elsewhere Django's pages.
handler400 = "assessments.api.errors.bad_request"
handler500 = "assessments.api.errors.server_error"

"""The product's URL conf plus ``POST /bench/noop``: a DRF view that subclasses the API's
base view (the same token authentication, permission and middleware), parses the JSON
body and returns an empty object. bench/api.py measures the endpoints as a ratio of it:
the framework's own cost per request. Served only by bench/noop_settings.py."""

from django.urls import path
from rest_framework.response import Response

from assessments.api.views import Api
from mr_cds.urls import urlpatterns as product_urlpatterns


class NoopApi(Api):
    def post(self, request):
        request.data  # noqa: B018  (parse the body, as every POST endpoint does)
        return Response({})


urlpatterns = [*product_urlpatterns, path("bench/noop", NoopApi.as_view())]

from django.urls import path

from . import views

urlpatterns = [
    path("guidelines/changelog/", views.changelog, name="guideline_changelog"),
]

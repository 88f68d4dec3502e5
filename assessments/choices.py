"""Enumerations of the clinical record. Every choice has a human label."""

from django.db import models


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    API_CLIENT = "api_client", "API client (EHR integration)"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"


class Setting(models.TextChoices):
    OUTPATIENT = "outpatient", "Outpatient"
    INPATIENT = "inpatient", "Inpatient"
    EMERGENCY = "emergency", "Emergency"


class Presentation(models.TextChoices):
    CHRONIC = "chronic", "Chronic"
    ACUTE = "acute", "Acute"


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    EVALUATE = "evaluate", "Evaluate"
    EXPORT = "export", "Export"


class AuditChannel(models.TextChoices):
    PAGE = "page", "Clinician page"
    API = "api", "REST API"
    ADMIN = "admin", "Django admin"
    TASK = "task", "Background task"
    COMMAND = "command", "Management command"


class ReportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"

"""Enumerations of the clinical record. Every choice has a human label."""

from django.db import models

# The auth group of EHR integrations: only its members hold API tokens (leaving it
# revokes them), and its members are kept off the pages and the admin.
INTEGRATIONS_GROUP = "integrations"
# The auth group of privacy officers: they (and superusers) read the access report of
# any patient's record.
PRIVACY_OFFICERS_GROUP = "privacy officers"


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
    LOGIN = "login", "Sign-in"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    LOCKOUT = "lockout", "Locked out"
    LOGOUT = "logout", "Sign-out"


class AuditOutcome(models.TextChoices):
    """Whether the access was granted: HIPAA 164.312(b) asks for refusals as well."""

    SUCCESS = "success", "Allowed"
    REFUSED = "refused", "Refused"


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


class AssessmentStatus(models.TextChoices):
    """Where a stored assessment stands (CONTRACT section 6). Stored assessments are
    never edited: a correction is a new assessment that supersedes the old one."""

    FINAL = "final", "Final"
    AMENDED = "amended", "Amended (superseded by a correction)"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error (void)"

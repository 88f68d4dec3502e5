"""The clinical record: care sites, patients, encounters, assessments, and the audit trail.

One module per concern: ``records`` (who and where), ``assessment`` (what was measured,
one typed column per vocabulary field), ``audit`` (who read or changed what), ``report``
(the PDF summaries), ``replay_run`` (replays of a version over stored assessments) and
``idempotency`` (the API's memory of create requests).
"""

# CDS Hooks cards, feedback and used JWT ids (the interop package keeps its own models).
from ..interop.models import CdsCard, CdsFeedback, UsedJwtId  # noqa: E402, F401
from .assessment import Assessment, PriorEcho
from .audit import AuditEvent
from .idempotency import IdempotencyRecord
from .records import Encounter, Membership, Organization, Patient
from .replay_run import ReplayChunk, ReplayRun, ReplayRunStatus
from .report import Report

__all__ = [
    "Assessment",
    "AuditEvent",
    "Encounter",
    "IdempotencyRecord",
    "Membership",
    "Organization",
    "Patient",
    "PriorEcho",
    "ReplayChunk",
    "ReplayRun",
    "ReplayRunStatus",
    "Report",
]

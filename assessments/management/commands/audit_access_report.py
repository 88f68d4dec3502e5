"""``manage.py audit_access_report PATIENT_ID`` (or ``--mrn MRN [--site NAME]``): the
access report of one patient's record for a privacy officer: every audit event about it,
allowed or refused, newest first, one tab-separated line each (``--since DATE`` limits
it). The report itself is audited (channel "command")."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from assessments.audit import audit_record
from assessments.choices import AuditAction, AuditChannel
from assessments.models import Patient
from assessments.selectors import audit_events_for_patient

COLUMNS = [
    "at",
    "user",
    "action",
    "outcome",
    "status",
    "channel",
    "object",
    "source_address",
    "token_id",
    "detail",
]


class Command(BaseCommand):
    help = "Who saw or changed one patient's record, when (tab-separated)."

    def add_arguments(self, parser):
        parser.add_argument("patient_id", nargs="?", type=int)
        parser.add_argument("--mrn", help="The patient's medical record number")
        parser.add_argument("--site", help="Care site name, when the MRN is ambiguous")
        parser.add_argument(
            "--since",
            type=dt.date.fromisoformat,
            help="Only events from this day on (YYYY-MM-DD)",
        )

    def handle(self, *args, patient_id, mrn, site, since, **options):
        patient = self._patient(patient_id, mrn, site)
        events = audit_events_for_patient(patient)
        if since is not None:
            events = events.filter(at__date__gte=since)
        self.stdout.write(f"# access report of {patient} at {patient.organization}")
        self.stdout.write("\t".join(COLUMNS))
        for e in events.iterator():
            row = [
                e.at.isoformat(),
                str(e.user or "-"),
                e.action,
                e.outcome,
                str(e.status_code or ""),
                e.channel,
                e.object_repr or e.object_type,
                e.source_address or "",
                e.token_id,
                e.detail,
            ]
            self.stdout.write("\t".join(v.replace("\t", " ") for v in row))
        audit_record(
            user=None,
            action=AuditAction.READ,
            channel=AuditChannel.COMMAND,
            obj=patient,
            detail="access report",
        )

    @staticmethod
    def _patient(patient_id, mrn, site) -> Patient:
        patients = Patient.objects.select_related("organization")
        if patient_id is not None:
            found = patients.filter(pk=patient_id)
        elif mrn:
            found = patients.filter(mrn=mrn)
            if site:
                found = found.filter(organization__name=site)
        else:
            raise CommandError("Give a patient id or --mrn.")
        found = list(found[:2])
        if not found:
            raise CommandError("No such patient.")
        if len(found) > 1:
            raise CommandError("That MRN is used at several care sites: add --site.")
        return found[0]

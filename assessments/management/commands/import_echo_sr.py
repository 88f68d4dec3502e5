"""``manage.py import_echo_sr FILE``: print the partial input read from an echo SR."""

import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assessments.audit import audit_record
from assessments.choices import AuditAction, AuditChannel
from assessments.echo_import.api import import_audit_detail
from assessments.echo_import.services import EchoReportError, echo_import
from assessments.models import Encounter


class Command(BaseCommand):
    help = (
        "Read an echo DICOM Structured Report (TID 5200 / 5300) and print the partial "
        "assessment input, unmapped measurements, conflicts and warnings as JSON "
        "(CONTRACT section 6). Nothing is stored but the audit entry."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the DICOM SR file, or - for stdin.")
        parser.add_argument(
            "--encounter",
            type=int,
            help="Compare the report's patient with this encounter's patient record.",
        )
        parser.add_argument(
            "--confirm-patient-mismatch",
            action="store_true",
            help="Import although the report's patient differs from the record.",
        )

    def handle(self, *args, **options):
        limit = settings.ECHO_IMPORT_MAX_BYTES
        try:
            if options["file"] == "-":
                data = sys.stdin.buffer.read(limit + 1)
            else:
                with open(options["file"], "rb") as handle:
                    data = handle.read(limit + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        if len(data) > limit:
            raise CommandError(f"The file is larger than the limit of {limit} bytes.")
        encounter = None
        if options["encounter"] is not None:
            encounter = (
                Encounter.objects.select_related("patient")
                .filter(pk=options["encounter"])
                .first()
            )
            if encounter is None:
                raise CommandError(f"No encounter {options['encounter']}.")
        try:
            result = echo_import(
                data=data,
                patient=encounter.patient if encounter else None,
                confirm_patient_mismatch=options["confirm_patient_mismatch"],
            )
        except EchoReportError as exc:
            audit_record(
                user=None,
                action=AuditAction.READ,
                channel=AuditChannel.COMMAND,
                obj=encounter,
                detail=f"echo SR import refused: {exc}",
            )
            raise CommandError(str(exc)) from None
        audit_record(
            user=None,
            action=AuditAction.READ,
            channel=AuditChannel.COMMAND,
            obj=encounter,
            detail=import_audit_detail(result),
        )
        self.stdout.write(json.dumps(result, indent=2))

"""``manage.py audit_verify``: checks the audit trail's hash chain.

Each audit event's hash covers the previous event's hash and its own content, so an
event changed, removed or inserted out of turn breaks the chain from there on. Prints
the number of events and the hash of the last one (keep it elsewhere: a later run that
ends in another hash for the same count means the trail was rewritten); exits 1 naming
the first broken event.
"""

from django.core.management.base import BaseCommand, CommandError

from assessments.audit import audit_chain_verify
from assessments.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; name the first broken event."

    def handle(self, *args, **options):
        count, broken = audit_chain_verify()
        if broken is not None:
            raise CommandError(
                f"audit chain broken at event {broken.pk} (at {broken.at.isoformat()}, "
                f"{broken.action} via {broken.channel}): its hash does not follow "
                f"from the event before it; {count - 1} events before it verified."
            )
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        self.stdout.write(
            f"audit chain intact: {count} events, last hash {last or '-'}"
        )

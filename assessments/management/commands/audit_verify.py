"""``manage.py audit_verify``: seals the pending audit events, then checks the hash chain.

Each sealed audit event's hash covers the previous sealed event's hash and its own
content, and sealed events are numbered 1, 2, 3... in chain order, so an event changed,
removed or inserted out of turn breaks the chain from there on. Prints the number of
sealed and unsealed events (committed while it ran) and the hash of the last one (keep it
elsewhere: a later run that ends in another hash for the same count means the trail was
rewritten); exits 1 naming the first broken event.
"""

from django.core.management.base import BaseCommand, CommandError

from assessments.audit import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Seal pending audit events, verify the hash chain; name the first broken one."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-seal",
            action="store_true",
            help="Check the chain as it stands, without sealing pending events first.",
        )

    def handle(self, *args, **options):
        check = audit_chain_verify(seal=not options["no_seal"])
        if check.broken is not None:
            broken = check.broken
            raise CommandError(
                f"audit chain broken at event {broken.pk} (chain position "
                f"{broken.chain_position or '-'}, at {broken.at.isoformat()}, "
                f"{broken.action} via {broken.channel}): {check.reason}; "
                f"{max(check.sealed - 1, 0)} sealed events before it verified; "
                f"{check.unsealed} unsealed."
            )
        self.stdout.write(
            f"audit chain intact: {check.sealed} sealed events, {check.unsealed} "
            f"unsealed, last hash {check.last_hash or '-'}"
        )

"""Prove the safety invariants of a rule-set version for every input in range."""

from django.core.management.base import BaseCommand, CommandError

from guidelines.loaders import ruleset_load
from guidelines.models import RuleSetVersion
from guidelines.prover.publication import ruleset_proof, version_proof


class Command(BaseCommand):
    help = (
        "Prove the safety invariants of docs/guideline.md §6b for a rule set (the "
        "published version, another version, or the shipped data file): each is proved "
        "for every input in range, or a counterexample patient is shown in clinical "
        "words with the rules that fired. Exits with an error when one fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="Rule set code, e.g. acc_aha_2020.")
        # ``--version`` names the rule-set version here, not Django's version.
        for action in list(parser._actions):
            if "--version" in action.option_strings:
                parser._handle_conflict_resolve(action, [("--version", action)])
        parser.add_argument(
            "--version",
            dest="label",
            help="Version label to prove (default: the published version).",
        )
        parser.add_argument(
            "--data-file",
            action="store_true",
            help="Prove the shipped data file guidelines/data/CODE.toml instead.",
        )

    def handle(self, *args, code, label, data_file, **options):
        try:
            if data_file:
                report = ruleset_proof(ruleset_load(code))
            else:
                report = version_proof(code=code, label=label)
        except (RuleSetVersion.DoesNotExist, FileNotFoundError) as exc:
            raise CommandError(f"{code} {label or ''}: {exc}") from exc
        self.stdout.write(report.text())
        self.stdout.write(
            f"{len(report.outcomes)} invariants in {report.seconds:.1f} s"
        )
        if not report.ok:
            failed = ", ".join(o.key for o in report.failures)
            raise CommandError(f"safety invariants not proved: {failed}")

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from guidelines.services import (
    GuidelineError,
    guideline_evaluate,
    guideline_evaluate_from_files,
)
from guidelines.validation import InputError


class Command(BaseCommand):
    help = (
        "Evaluate one assessment input (a JSON object) or several (a JSON array) and "
        "print the result(s) as JSON on stdout. Exit code 2 on bad input."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", default="-",
            help="JSON file with one input object or an array of them; '-' for stdin",
        )  # fmt: skip
        parser.add_argument(
            "--guideline",
            help="Rule set code (acc_aha_2020, esc_eacts_2025) for inputs without one",
        )

    def handle(self, *args, **options):
        source = options["file"]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text()
            payload = json.loads(text)
        except (OSError, ValueError, RecursionError) as exc:
            # ValueError: bad JSON, or an integer of more than 4300 digits;
            # RecursionError: nesting deeper than the parser goes.
            self._fail(f"cannot read JSON input: {type(exc).__name__}: {exc}"[:500])
        inputs = payload if isinstance(payload, list) else [payload]
        results = []
        evaluate = guideline_evaluate
        for index, data in enumerate(inputs):
            prefix = f"[{index}] " if isinstance(payload, list) else ""
            try:
                try:
                    outcome = evaluate(data=data, guideline=options["guideline"])
                except (DatabaseError, GuidelineError) as exc:
                    if evaluate is guideline_evaluate_from_files:
                        raise
                    # Database not initialised (no migrate / load_guidelines yet): use
                    # the rule sets shipped in the repository's data files.
                    self.stderr.write(f"note: {exc}; using the shipped rule-set files")
                    evaluate = guideline_evaluate_from_files
                    outcome = evaluate(data=data, guideline=options["guideline"])
            except InputError as exc:
                self._fail(
                    "\n".join(f"{prefix}{e.field}: {e.message}" for e in exc.errors)
                )
            except GuidelineError as exc:
                raise CommandError(str(exc)) from exc
            results.append(outcome.result)
        output = results if isinstance(payload, list) else results[0]
        self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False))

    def _fail(self, message: str):
        self.stderr.write(f"invalid input: {message}")
        sys.exit(2)

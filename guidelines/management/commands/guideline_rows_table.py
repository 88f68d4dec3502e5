"""Write the table of every rule row into docs/guideline.md (between the row markers)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from guidelines.provenance import document_with_rows_table, rows_markdown, shipped_rows


class Command(BaseCommand):
    help = (
        "Generate the markdown table of every rule row of the shipped data files (rule "
        "set, key, code, class, level, evidence tag, section, verified from, what is "
        "still unverified) and write it into docs/guideline.md between "
        "<!-- rows:begin --> and <!-- rows:end -->."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--doc",
            default=str(Path(settings.BASE_DIR) / "docs" / "guideline.md"),
            help="The markdown file to update (default: docs/guideline.md).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; exit 1 when the file's table is out of step.",
        )

    def handle(self, *args, doc, check, **options):
        path = Path(doc)
        text = path.read_text(encoding="utf-8")
        try:
            updated = document_with_rows_table(text, rows_markdown(shipped_rows()))
        except ValueError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        if check:
            if updated != text:
                raise CommandError(
                    f"{path}: the row table is out of step with guidelines/data; run "
                    "manage.py guideline_rows_table"
                )
            self.stdout.write(f"{path}: the row table is in step")
            return
        path.write_text(updated, encoding="utf-8")
        self.stdout.write(
            f"{path}: row table written ({updated != text and 'changed' or 'unchanged'})"
        )

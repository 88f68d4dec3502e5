"""Stored results (~11 KB of JSON each) compressed with LZ4 rather than PostgreSQL's
default pglz where the server supports it: replay reads the outcome of every stored
result, and LZ4 decompresses about twice as fast. Values written before keep their
compression until rewritten. Nothing to do on other databases."""

from django.db import migrations


def result_lz4(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
            "WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute(
                "ALTER TABLE assessments_assessment "
                "ALTER COLUMN result SET COMPRESSION lz4"
            )


class Migration(migrations.Migration):
    dependencies = [("assessments", "0012_patient_site_by_name_index")]

    operations = [migrations.RunPython(result_lz4, migrations.RunPython.noop)]

"""Searching a care site's patients by part of a name or by MRN (the patient list page
and ``GET /api/v1/patients/?q=``) uses a trigram index on PostgreSQL instead of reading
all 100,000 rows of the site: ``UPPER(column) LIKE UPPER('%term%')`` (Django's
``icontains``) and ``UPPER(mrn) = UPPER(term)`` (``iexact``) are served by GIN
``gin_trgm_ops`` on the same expressions. pg_trgm ships with PostgreSQL and is a
trusted extension (the database owner may create it). Nothing to do on SQLite."""

from django.db import migrations

CREATE_SQL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE INDEX IF NOT EXISTS patient_name_search ON assessments_patient
       USING gin (UPPER(family_name::text) gin_trgm_ops,
                  UPPER(given_name::text) gin_trgm_ops,
                  UPPER(mrn::text) gin_trgm_ops)""",
)


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE_SQL:
            schema_editor.execute(statement)


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patient_name_search")


class Migration(migrations.Migration):
    dependencies = [("assessments", "0014_organization_patient_count")]

    operations = [migrations.RunPython(create_search_index, drop_search_index)]

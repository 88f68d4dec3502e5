"""Each care site's patient count, kept by the database: the patient list reports its
total (``count``) from it instead of counting a site's 100,000 patients per request.

Triggers on the patient table add, remove and move patients in the count within the
statement's own transaction, whichever code path writes (services, admin, bulk SQL), so
the count is exact in every snapshot. PostgreSQL counts per statement (transition
tables: one UPDATE per site for a bulk INSERT); SQLite per row."""

from django.db import migrations, models

POSTGRESQL_SQL = """
CREATE FUNCTION assessments_patient_count_added() RETURNS trigger AS $$
BEGIN
    UPDATE assessments_organization o SET patient_count = o.patient_count + n.patients
    FROM (SELECT organization_id, count(*) AS patients FROM added
          GROUP BY organization_id) n
    WHERE o.id = n.organization_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION assessments_patient_count_removed() RETURNS trigger AS $$
BEGIN
    UPDATE assessments_organization o SET patient_count = o.patient_count - n.patients
    FROM (SELECT organization_id, count(*) AS patients FROM removed
          GROUP BY organization_id) n
    WHERE o.id = n.organization_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION assessments_patient_count_moved() RETURNS trigger AS $$
BEGIN
    UPDATE assessments_organization SET patient_count = patient_count - 1
    WHERE id = OLD.organization_id;
    UPDATE assessments_organization SET patient_count = patient_count + 1
    WHERE id = NEW.organization_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION assessments_patient_count_truncated() RETURNS trigger AS $$
BEGIN
    UPDATE assessments_organization SET patient_count = 0 WHERE patient_count <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER patient_count_insert AFTER INSERT ON assessments_patient
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION assessments_patient_count_added();
CREATE TRIGGER patient_count_delete AFTER DELETE ON assessments_patient
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION assessments_patient_count_removed();
CREATE TRIGGER patient_count_move AFTER UPDATE OF organization_id ON assessments_patient
    FOR EACH ROW WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id)
    EXECUTE FUNCTION assessments_patient_count_moved();
CREATE TRIGGER patient_count_truncate AFTER TRUNCATE ON assessments_patient
    FOR EACH STATEMENT EXECUTE FUNCTION assessments_patient_count_truncated();
"""
POSTGRESQL_DROP_SQL = """
DROP TRIGGER IF EXISTS patient_count_insert ON assessments_patient;
DROP TRIGGER IF EXISTS patient_count_delete ON assessments_patient;
DROP TRIGGER IF EXISTS patient_count_move ON assessments_patient;
DROP TRIGGER IF EXISTS patient_count_truncate ON assessments_patient;
DROP FUNCTION IF EXISTS assessments_patient_count_added();
DROP FUNCTION IF EXISTS assessments_patient_count_removed();
DROP FUNCTION IF EXISTS assessments_patient_count_moved();
DROP FUNCTION IF EXISTS assessments_patient_count_truncated();
"""
SQLITE_SQL = (
    """CREATE TRIGGER patient_count_insert AFTER INSERT ON assessments_patient
    BEGIN
        UPDATE assessments_organization SET patient_count = patient_count + 1
        WHERE id = NEW.organization_id;
    END""",
    """CREATE TRIGGER patient_count_delete AFTER DELETE ON assessments_patient
    BEGIN
        UPDATE assessments_organization SET patient_count = patient_count - 1
        WHERE id = OLD.organization_id;
    END""",
    """CREATE TRIGGER patient_count_move AFTER UPDATE OF organization_id
    ON assessments_patient WHEN OLD.organization_id IS NOT NEW.organization_id
    BEGIN
        UPDATE assessments_organization SET patient_count = patient_count - 1
        WHERE id = OLD.organization_id;
        UPDATE assessments_organization SET patient_count = patient_count + 1
        WHERE id = NEW.organization_id;
    END""",
)
SQLITE_DROP_SQL = (
    "DROP TRIGGER IF EXISTS patient_count_insert",
    "DROP TRIGGER IF EXISTS patient_count_delete",
    "DROP TRIGGER IF EXISTS patient_count_move",
)
COUNT_EXISTING_SQL = """
UPDATE assessments_organization SET patient_count = (
    SELECT count(*) FROM assessments_patient
    WHERE assessments_patient.organization_id = assessments_organization.id)
"""


def count_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_SQL)
    elif vendor == "sqlite":
        for statement in SQLITE_SQL:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"no patient count triggers for {vendor}")
    schema_editor.execute(COUNT_EXISTING_SQL)


def drop_count_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP_SQL)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP_SQL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0013_assessment_result_lz4")]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="patient_count",
            field=models.PositiveIntegerField(
                default=0,
                editable=False,
                help_text="Patients of this care site (kept by the database).",
            ),
        ),
        migrations.RunPython(count_triggers, drop_count_triggers),
    ]

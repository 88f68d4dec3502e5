"""Guideline editors may see the CDS Hooks override rates per rule (aggregates only)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS_GROUP = "guideline editors"


def grant(apps, schema_editor):
    app_config = apps.get_app_config("assessments")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="assessments", codename="view_override_rates"
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0006_cds_hooks_cards_feedback_and_jwt_ids"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]

"""The "guideline editors" group with every permission of the guidelines app.

Editors draft, edit, check, compare, publish and roll back rule-set versions in the
admin (see guidelines/admin.py). Permissions are created here first because on a fresh
database Django creates them only after all migrations (post_migrate).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS_GROUP = "guideline editors"


def grant(apps, schema_editor):
    app_config = apps.get_app_config("guidelines")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="guidelines")
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name=EDITORS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("guidelines", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

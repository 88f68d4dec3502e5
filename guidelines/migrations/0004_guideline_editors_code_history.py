"""Give the "guideline editors" group the permissions of the models added since 0002
(the history of recommendation codes): the group keeps every guidelines permission."""

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


class Migration(migrations.Migration):
    dependencies = [("guidelines", "0003_recommendation_code_history")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]

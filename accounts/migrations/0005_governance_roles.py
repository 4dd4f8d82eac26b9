from django.db import migrations

ROLES = ["Information governance", "System administrator"]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_notification_delivery")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]

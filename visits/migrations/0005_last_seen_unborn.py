# A child's row of a visit made before their birth (an unborn baby) counts for nothing
# in the last-seen rows: work every row out again (visits.last_seen).

from django.db import migrations


def work_out(apps, schema_editor):
    from visits import last_seen

    last_seen.rebuild(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0002_historicalmeeting_meeting_and_more'),
        ('visits', '0004_child_last_seen'),
    ]

    operations = [
        migrations.RunPython(work_out, migrations.RunPython.noop),
    ]

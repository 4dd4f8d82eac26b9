# Each child's last seen, last seen alone and seen alone at the last three visits, kept
# on a row (visits.last_seen), and worked out for the visits already recorded.

import django.db.models.deletion
from django.db import migrations, models


def work_out(apps, schema_editor):
    from visits import last_seen

    last_seen.rebuild(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0002_historicalmeeting_meeting_and_more'),
        ('visits', '0003_visit_defaulted_by_time'),
    ]

    operations = [
        migrations.CreateModel(
            name='ChildLastSeen',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('last_seen_at', models.DateTimeField(null=True)),
                ('last_alone_at', models.DateTimeField(null=True)),
                ('alone_in_last_three', models.BooleanField(null=True)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='cases.case')),
                ('child', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='last_seen_rows', to='cases.person')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('case', 'child'), name='child_last_seen_once')],
            },
        ),
        migrations.RunPython(work_out, migrations.RunPython.noop),
    ]

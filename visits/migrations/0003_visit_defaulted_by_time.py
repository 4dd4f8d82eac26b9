# Indexes the managers' dashboards call for; see docs/PERFORMANCE.md ("Team dashboard").

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("visits", "0002_dashboard_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="visit",
            index=models.Index(condition=models.Q(("in_error", False), ("outcome", "defaulted")),
                               fields=["occurred_at"], include=("case", "id"),
                               name="visit_defaulted_by_time"),
        ),
    ]

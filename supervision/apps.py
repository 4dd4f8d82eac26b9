from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "supervision"

    def ready(self):
        from cases import panels

        from .views import case_panel

        panels.register(
            panels.Panel(
                key="supervision",
                template="supervision/_case_panel.html",
                context=case_panel,
                order=30,
            )
        )

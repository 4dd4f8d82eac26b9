from django.apps import AppConfig


class ChronologiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chronologies"

    def ready(self):
        from cases import panels

        from . import receivers
        from .views import case_panel

        receivers.connect()
        panels.register(
            panels.Panel(
                key="chronology",
                template="chronologies/_case_panel.html",
                context=case_panel,
                order=30,
            )
        )

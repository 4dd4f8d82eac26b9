from django.apps import AppConfig


class ChronologiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chronologies"

    def ready(self):
        from . import receivers

        receivers.connect()

from django.apps import AppConfig


class ChronologiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chronologies"

from django.apps import AppConfig


class VisitsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "visits"

    def ready(self):
        from cases import panels, signals

        from .receivers import reevaluate_when_escalation_closes

        signals.escalation_changed.connect(
            reevaluate_when_escalation_closes, dispatch_uid="visits-reevaluate-on-close"
        )

        from .views import case_panel

        panels.register(panels.Panel(key="visits", template="visits/_case_panel.html",
                                     context=case_panel, order=10))

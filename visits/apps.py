from django.apps import AppConfig


class VisitsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "visits"

    def ready(self):
        from django.db.models.signals import post_delete, post_init, post_save

        from cases import panels, signals
        from cases.models import Person

        from . import last_seen, merge
        from .models import ChildSeen, Visit
        from .receivers import reevaluate_when_escalation_closes

        signals.escalation_changed.connect(
            reevaluate_when_escalation_closes, dispatch_uid="visits-reevaluate-on-close"
        )
        signals.person_merged.connect(merge.person_merged, dispatch_uid="visits-person-merged")
        post_init.connect(
            last_seen.visit_loaded, sender=Visit, dispatch_uid="visits-last-seen-visit-loaded"
        )
        post_save.connect(
            last_seen.visit_saved, sender=Visit, dispatch_uid="visits-last-seen-visit"
        )
        post_init.connect(
            last_seen.child_seen_loaded,
            sender=ChildSeen,
            dispatch_uid="visits-last-seen-child-loaded",
        )
        post_save.connect(
            last_seen.child_seen_saved, sender=ChildSeen, dispatch_uid="visits-last-seen-child"
        )
        post_delete.connect(
            last_seen.child_seen_deleted,
            sender=ChildSeen,
            dispatch_uid="visits-last-seen-child-deleted",
        )
        post_init.connect(
            last_seen.person_loaded, sender=Person, dispatch_uid="visits-last-seen-person-loaded"
        )
        post_save.connect(
            last_seen.person_saved, sender=Person, dispatch_uid="visits-last-seen-person"
        )

        from .views import case_panel

        panels.register(
            panels.Panel(
                key="visits", template="visits/_case_panel.html", context=case_panel, order=10
            )
        )

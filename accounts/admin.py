from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin
from axes.admin import AccessLogAdmin as AxesAccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog
from axes.models import AccessLog as SignInLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import (
    AccessLog,
    Agency,
    ClosureDay,
    ExternalIdentity,
    RoleChange,
    SignInUnlock,
    Team,
    User,
)


class NoDeleteMixin:
    """Records here are never hard-deleted: deactivate or end them instead."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class StaffUserAdmin(NoDeleteMixin, UserAdmin, SimpleHistoryAdmin):
    list_display = ("username", "first_name", "last_name", "team", "is_active")
    list_filter = ("team", "groups", "is_active")
    fieldsets = UserAdmin.fieldsets + (("Team", {"fields": ("team", "job_title")}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("Team", {"fields": ("team", "job_title")}),)

    def save_model(self, request, obj, form, change):
        """An account switched off here is signed out everywhere, as in the application."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_sessions_end(user=obj)

    def save_related(self, request, form, formsets, change):
        """Roles (groups) changed here are recorded as in the application (RoleChange):
        daily administration is at /accounts/administration/, this is for superusers."""
        before = set(form.instance.groups.values_list("name", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        services.role_change_record(
            actor=request.user, user=form.instance, before=before, now=timezone.now()
        )


@admin.register(Team)
class TeamAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ("name", "code", "active")


@admin.register(Agency)
class AgencyAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")


@admin.register(ClosureDay)
class ClosureDayAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ("date", "reason", "withdrawn_at")


@admin.register(RoleChange)
class RoleChangeAdmin(admin.ModelAdmin):
    list_display = ("changed_at", "user", "before", "after", "changed_by")
    search_fields = ("user__username",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "user",
        "person_id",
        "case_reference",
        "via",
        "what",
        "ip_address",
        "outcome",
    )
    list_filter = ("via", "outcome")
    search_fields = ("case_reference", "user__username")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(SimpleHistoryAdmin):
    """Read only: links are made and ended through the service (`manage.py identity_link`,
    the user pages), which asks the policy and keeps who did it."""

    list_display = ("user", "issuer", "subject", "created_at", "last_sign_in_at", "ended_at")
    list_filter = ("issuer",)
    search_fields = ("user__username", "subject")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SignInUnlock)
class SignInUnlockAdmin(admin.ModelAdmin):
    """Lockouts ended early (on /accounts/lockouts/): read here, never changed."""

    list_display = ("unlocked_at", "username", "ip_address", "failures", "unlocked_by")
    search_fields = ("username", "ip_address", "unlocked_by__username")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# django-axes' records (AXES_ENABLE_ADMIN is off, so they are registered here): read,
# never deleted from the admin. Deleting a counter would unlock a sign-in with no record
# of who did it: that is done on /accounts/lockouts/ (SignInUnlock).
@admin.register(AccessAttempt)
class SignInAttemptAdmin(NoDeleteMixin, AccessAttemptAdmin):
    actions: list = []


@admin.register(AccessFailureLog)
class SignInFailureAdmin(NoDeleteMixin, AccessFailureLogAdmin):
    pass


@admin.register(SignInLog)
class SignInLogAdmin(NoDeleteMixin, AxesAccessLogAdmin):
    pass

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin
from axes.admin import AccessLogAdmin as AxesAccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog
from axes.models import AccessLog as SignInLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import AccessLog, Agency, ClosureDay, SignInUnlock, Team, User


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


@admin.register(Team)
class TeamAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ("name", "code", "active")


@admin.register(Agency)
class AgencyAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")


@admin.register(ClosureDay)
class ClosureDayAdmin(NoDeleteMixin, SimpleHistoryAdmin):
    list_display = ("date", "reason")


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "case_reference", "what", "ip_address")
    list_filter = ("what",)
    search_fields = ("case_reference", "user__username")

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

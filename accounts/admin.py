from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import AccessLog, Agency, ClosureDay, Team, User


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

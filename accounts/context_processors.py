from django.conf import settings


def session_limits(request):
    return {
        "session_idle_seconds": settings.SESSION_IDLE_SECONDS,
        "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
        "demo_mode": settings.DEMO_MODE,
    }


NAV_ITEMS = [
    ("dashboards", "/dashboards/", "Dashboard"),
    ("cases", "/cases/", "Cases"),
    ("escalations", "/cases/escalations/", "Escalations"),
    ("supervision", "/supervision/", "Supervision"),
    ("notifications", "/accounts/notifications/", "Notifications"),
    ("api", "/api/v1/docs/", "API"),
    ("api_tokens", "/accounts/api-tokens/", "API tokens"),
]
# For those who may read the access log (accounts.policy.can_read_access_log).
ACCESS_LOG_ITEM = ("governance", "/governance/access/", "Access log")


# The administration area (accounts/admin_views.py), for those the policy lets in; its
# pages live under these paths.
ADMINISTRATION_ITEM = ("administration", "/accounts/administration/", "Administration")
ADMINISTRATION_PATHS = ("/accounts/administration/", "/accounts/users/", "/accounts/lockouts/")


def navigation(request):
    """The service navigation: which section is current, and unread notifications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from . import policy
    from .models import Notification

    items = list(NAV_ITEMS)
    if policy.can_administer(user):
        items.append(ADMINISTRATION_ITEM)
    if policy.can_read_access_log(user):
        items.append(ACCESS_LOG_ITEM)
    # The most specific section the path is in: /cases/escalations/ is not "Cases".
    matches = [(len(href), key) for key, href, _ in items if request.path.startswith(href)]
    section = max(matches)[1] if matches else ""
    if request.path.startswith(ADMINISTRATION_PATHS):
        section = "administration"
    if request.path.startswith(ACCESS_LOG_ITEM[1]):
        section = "governance"

    unread = Notification.objects.filter(
        recipient=user, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).count()
    return {"nav_items": items, "nav_section": section, "unread_notifications": unread}

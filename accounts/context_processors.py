from django.conf import settings

from . import policy


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
]
# For those who may read the access log (accounts.policy.can_read_access_log).
ACCESS_LOG_ITEM = ("governance", "/governance/access/", "Access log")


def navigation(request):
    """The service navigation: which section is current, and unread notifications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .models import Notification

    # The most specific section the path is in: /cases/escalations/ is not "Cases".
    matches = [(len(href), key) for key, href, _ in NAV_ITEMS if request.path.startswith(href)]
    section = max(matches)[1] if matches else ""

    unread = Notification.objects.filter(
        recipient=user, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).count()
    items = NAV_ITEMS
    if policy.can_read_access_log(user):
        items = [*NAV_ITEMS, ACCESS_LOG_ITEM]
        section = "governance" if request.path.startswith(ACCESS_LOG_ITEM[1]) else section
    return {"nav_items": items, "nav_section": section, "unread_notifications": unread}

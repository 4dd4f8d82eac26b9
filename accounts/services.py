from django.utils import timezone

from .models import AccessLog


def client_ip(request) -> str | None:
    """The client address; behind the proxy the last hop it appended is trusted."""
    if request is None:
        return None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def access_log_record(*, user, case, what: str, request=None, now=None) -> AccessLog:
    """Write who viewed, exported or downloaded what of which case."""
    return AccessLog.objects.create(
        user=user,
        case_id=case.pk,
        case_reference=case.reference,
        what=what[:200],
        at=now or timezone.now(),
        ip_address=client_ip(request),
    )

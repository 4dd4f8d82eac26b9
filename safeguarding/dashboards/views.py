from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from accounts import roles


@login_required
def home(request):
    """Each role lands on the dashboard for its work."""
    user = request.user
    if user.has_role(roles.SERVICE_MANAGER):
        return redirect("dashboards:service")
    if user.has_role(roles.TEAM_MANAGER):
        return redirect("dashboards:team")
    if user.has_role(roles.SOCIAL_WORKER) or user.has_role(roles.PRACTICE_SUPERVISOR):
        return redirect("dashboards:mine")
    return redirect("cases:list")

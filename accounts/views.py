from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .forms import SignInForm
from .models import Notification


class SignInView(LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["timed_out"] = self.request.GET.get("timeout") == "1"
        return context


@require_POST
def sign_out(request):
    logout(request)
    return redirect("accounts:login")


@login_required
def notification_list(request):
    """Your in-app notifications, newest first. Links go to the case, where the policy
    decides again whether you may see it."""
    notes = Notification.objects.filter(
        recipient=request.user, channel=Notification.Channel.IN_APP
    ).order_by("-created_at", "-id")
    page = Paginator(notes, 30).get_page(request.GET.get("page"))
    return render(request, "accounts/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_mark_read(request):
    Notification.objects.filter(
        recipient=request.user, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).update(read_at=timezone.now())
    return redirect("accounts:notifications")

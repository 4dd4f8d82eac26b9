"""A social worker's "My work" dashboard."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

urlpatterns: list = []


@login_required
def my_work(request):
    return render(request, "dashboards/worker.html", {})
